/* /mfa/phone: verifying the phone number on the account record (flow/mfa_phone.h), so that
 * SMS codes become a second factor of the account. Needs the browser's SSO session.
 *
 * GET: the page: the number on record, masked ("138****0001"), whether it is verified, a
 * button that sends a code to it and the form to type the code.
 * POST (form): csrf, action=send | verify, code (verify), lang.
 * Answers: 200 the page (with "a code was sent" or "verified"); 401 the page asking to sign
 * in (no session, or one still waiting for its second factor); 403 a bad CSRF token; 400 a
 * wrong, expired, used or dead code (RC_WHY_CREDENTIALS), no number on record
 * (RC_WHY_NO_PHONE) or an unknown action; 429 with Retry-After (RFC 6585 §4) an SMS limit,
 * the page saying when to try again; 503 the store or the SMS gateway. */
#include <openssl/crypto.h>
#include <string.h>

#include "core/form.h"
#include "flow/mfa_phone.h"
#include "flow/session.h"
#include "http/authz_ui.h"
#include "http/router.h"

static const struct http_error phone_errors[] = {
    {RC_NOT_FOUND, RC_WHY_ANY, 401, NULL, "mfa_sign_in", NULL},
    {RC_DENIED, RC_WHY_CSRF, 403, NULL, "mfa_csrf_failed", NULL},
    {RC_ANY, RC_WHY_CREDENTIALS, 400, NULL, "sms_wrong_code", NULL},
    {RC_ANY, RC_WHY_NO_PHONE, 400, NULL, "sms_no_phone", NULL},
    {RC_ANY, RC_WHY_PARAM, 400, NULL, "mfa_bad_request", NULL},
    {RC_ANY, RC_WHY_RATE, 429, NULL, "sms_limited", NULL},
    {RC_ANY, RC_WHY_ANY, 503, NULL, "sms_unavailable", NULL}, /* the store or the gateway */
};

/* The page for the session (status and message key: the outcome of a POST, or none). */
static void
show(struct http_req *r, struct http_resp *w, int status, const char *key, bool failed,
     uint32_t retry, enum lang lang)
{
    struct mfa_phone_page pg;
    enum rc rc = mfa_phone_page(r->app, &r->arena, span_str(http_cookie(r, SESSION_COOKIE)), &pg);
    struct buf b;

    if (rc != RC_OK) {
        const struct http_error *e = http_error_find(HTTP_ERRORS(phone_errors), rc, NULL);
        authz_ui_error(r, w, e->status, e->key, lang);
        return;
    }
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "mfa_phone_title"))},
        {"phone", span_str(pg.phone_masked)},
        {"verified", pg.verified ? SPAN("1") : (struct span){NULL, 0}},
        {"csrf", span_str(pg.csrf)},
        {"lang", span_str(authz_ui_lang_code(lang))},
        {"message", span_str(authz_ui_wait_message(r, key, retry, lang))},
        {"failed", failed ? SPAN("1") : (struct span){NULL, 0}},
        {"lang_zh_url", SPAN("/mfa/phone?lang=zh")},
        {"lang_en_url", SPAN("/mfa/phone?lang=en")},
    };
    if (status == 429)
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry ? retry : 60));
    buf_init(&b, 1u << 20);
    if (tmpl_render(&b, "mfa_phone.html", lang, vars, sizeof(vars) / sizeof(vars[0])) != RC_OK) {
        buf_clear(&b);
        authz_ui_error(r, w, 500, "error_title", lang);
        return;
    }
    http_html(r, w, status, &b);
}

static void
post(struct http_req *r, struct http_resp *w, const struct form *f, enum lang lang)
{
    static const struct span none = {(const uint8_t *)"", 0};
    const struct span *csrf = form_get(f, "csrf"), *action = form_get(f, "action");
    const struct span *code = form_get(f, "code");
    struct rc_info ri = {0};
    uint32_t retry = 0;
    enum rc rc = mfa_phone_post(r->app, &r->arena, span_str(http_cookie(r, SESSION_COOKIE)),
                                csrf ? *csrf : none, action ? *action : none, code ? *code : none,
                                r->client_ip, authz_ui_lang_code(lang), &ri, &retry);
    const struct http_error *e;

    if (code) /* the decoded code lives in the arena: wipe it now */
        OPENSSL_cleanse((void *)code->p, code->len);
    if (rc == RC_OK) {
        bool sent = action && span_eq_str(*action, "send");
        show(r, w, 200, sent ? "sms_sent" : "mfa_phone_done", false, 0, lang);
        return;
    }
    e = http_error_find(HTTP_ERRORS(phone_errors), rc, &ri);
    if (e->status == 401 || e->status == 403) {
        authz_ui_error(r, w, e->status, e->key, lang);
        return;
    }
    show(r, w, e->status, e->key, true, retry, lang);
}

static void
route_mfa_phone(struct http_req *r, struct http_resp *w)
{
    struct form f;
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    enum lang lang = authz_ui_lang(r, NULL, NULL);

    if (form_parse(&r->arena, raw.p, raw.len, &f, NULL) != RC_OK) {
        authz_ui_error(r, w, 400, "mfa_bad_request", lang);
        return;
    }
    lang = authz_ui_lang(r, form_get(&f, "lang"), NULL);
    if (r->method == HTTP_POST)
        post(r, w, &f, lang);
    else
        show(r, w, 200, NULL, false, 0, lang);
}

ROUTE(mfa_phone, "/mfa/phone", HTTP_GET | HTTP_POST, route_mfa_phone)
