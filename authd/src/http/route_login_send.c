/* POST /login/send: "send me a code" for a second factor with a challenge (the SMS code of
 * flow/authn_sms.c) on a pending request's step-up (flow/authorize.h
 * authorize_challenge).
 *
 * Parameters (form): authz (the pending request), csrf (the login page's token), authn (the
 * authenticator, "sms"), lang. Needs the browser's SSO session cookie.
 * Answers: 200, a page that says a code was sent and holds the code form (POST /login with
 * authz, csrf, authn and code; a button to send another); 429 with Retry-After
 * (RFC 6585 §4), the same page saying when to try again (an SMS limit, flow/sms.h);
 * 400 when the account has no verified phone number; 503 when the store or the SMS
 * gateway fails; the error page (AUTHZ_UI_PAGE_ERRORS) for an unknown or expired request,
 * a bad CSRF token (403), no session or an authenticator not accepted here. */
#include <openssl/crypto.h>
#include <string.h>

#include "core/form.h"
#include "flow/authorize.h"
#include "flow/session.h"
#include "http/authz_ui.h"
#include "http/router.h"

static const struct http_error send_errors[] = {
    {RC_OK, RC_WHY_ANY, 200, NULL, "sms_sent", NULL},
    {RC_ANY, RC_WHY_RATE, 429, NULL, "sms_limited", NULL}, /* RFC 6585 §4 */
    {RC_ANY, RC_WHY_NO_PHONE, 400, NULL, "sms_no_phone", NULL},
    {RC_UNAVAILABLE, RC_WHY_NONE, 503, "temporarily_unavailable", "sms_unavailable", NULL},
    AUTHZ_UI_PAGE_ERRORS,
    AUTHZ_UI_ERRORS,
};

/* The step's login page in another language (the pending request and the authenticator
 * were checked by the flow before any FORM answer). */
static const char *
back(struct http_req *r, const struct login_form *lf, const char *lang)
{
    return arena_printf(&r->arena, "/login?authz=%.*s&authn=%.*s&lang=%s", (int)lf->pending.len,
                        (const char *)lf->pending.p, (int)lf->authn.len, (const char *)lf->authn.p,
                        lang);
}

static void
page(struct http_req *r, struct http_resp *w, const struct login_form *lf,
     const struct http_error *e, uint32_t retry, enum lang lang)
{
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "sms_title"))},
        {"authz", lf->pending},
        {"csrf", lf->csrf},
        {"authn", lf->authn},
        {"lang", span_str(authz_ui_lang_code(lang))},
        {"message", span_str(authz_ui_wait_message(r, e->key, retry, lang))},
        {"failed", e->status == 200 ? (struct span){NULL, 0} : SPAN("1")},
        {"lang_zh_url", span_str(back(r, lf, "zh"))},
        {"lang_en_url", span_str(back(r, lf, "en"))},
    };
    struct buf b;

    if (e->status == 429)
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry ? retry : 60));
    buf_init(&b, 1u << 20);
    if (tmpl_render(&b, "sms_code.html", lang, vars, sizeof(vars) / sizeof(vars[0])) != RC_OK) {
        buf_clear(&b);
        authz_ui_error(r, w, 500, "error_title", lang);
        return;
    }
    http_html(r, w, e->status, &b);
}

static void
route_login_send(struct http_req *r, struct http_resp *w)
{
    static const struct span none = {(const uint8_t *)"", 0};
    struct form f;
    struct authorize_result res;
    const struct span *id, *csrf, *m;
    enum lang lang = authz_ui_lang(r, NULL, NULL);
    enum rc rc = form_parse(&r->arena, r->body.p, r->body.len, &f, NULL);

    if (rc != RC_OK) {
        authz_ui_pending_error(r, w, HTTP_ERRORS(send_errors), rc, lang);
        return;
    }
    lang = authz_ui_lang(r, form_get(&f, "lang"), NULL);
    id = form_get(&f, "authz"), csrf = form_get(&f, "csrf"), m = form_get(&f, "authn");
    struct login_form lf = {
        .pending = id ? *id : none,
        .csrf = csrf ? *csrf : none,
        .bind = span_str(http_cookie(r, AUTHZ_BIND_COOKIE)),
        .authn = m ? *m : none,
        .session_cookie = span_str(http_cookie(r, SESSION_COOKIE)),
        .client_ip = r->client_ip,
        .tls = r->secure_cookies,
    };
    rc = authorize_challenge(r->app, &r->arena, &lf, &res);
    if (res.kind != AUTHORIZE_FORM) {
        authz_ui_result(r, w, &res, rc, HTTP_ERRORS(send_errors), lang);
        return;
    }
    page(r, w, &lf, http_error_find(HTTP_ERRORS(send_errors), rc, &res.why), res.retry_after_s,
         lang);
}

ROUTE(login_send, "/login/send", HTTP_POST, route_login_send)
