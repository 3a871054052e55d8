/* /login?authz=ID: the ID number + password form of a pending authorization request
 * (GET shows it, POST checks it through flow/authorize); with &authn=NAME of a
 * session-raising authenticator, the second-factor page of a step-up (http/page_stepup.h:
 * POST authn, code | challenge=1 | decline=1). */
#include <openssl/crypto.h>
#include <string.h>

#include "core/form.h"
#include "flow/authn.h"
#include "flow/authorize.h"
#include "flow/clients.h"
#include "flow/session.h"
#include "http/authz_ui.h"
#include "http/page_stepup.h"
#include "http/router.h"

/* The answers of /login's refusals: the login form again (status and message), the error
 * page, or the OAuth error sent to the client. */
static const struct http_error login_errors[] = {
    AUTHZ_UI_PAGE_ERRORS,
    {RC_ANY, RC_WHY_RATE, 429, NULL, "login_limited", NULL}, /* RFC 6585 §4 */
    {RC_ANY, RC_WHY_LOCKED, 429, NULL, "login_limited", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_LENGTH, 400, NULL, "login_bad_idnum", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_CHARACTER, 400, NULL, "login_bad_idnum", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_CHECK_DIGIT, 400, NULL, "login_bad_idnum", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_DATE, 400, NULL, "login_bad_idnum", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_PROVINCE, 400, NULL, "login_bad_idnum", NULL},
    {RC_MALFORMED, RC_WHY_CREDENTIALS, 400, NULL, "login_failed", NULL},
    {RC_ANY, RC_WHY_CREDENTIALS, 401, NULL, "login_failed", NULL}, /* number or password */
    {RC_ANY, RC_WHY_DISABLED, 401, NULL, "login_failed", NULL},    /* the same answer */
    {RC_UNAVAILABLE, RC_WHY_NONE, 503, "temporarily_unavailable", "login_unavailable", NULL},
    AUTHZ_UI_ERRORS,
};

struct login_view {
    struct span id;          /* pending request id */
    const struct span *lang; /* explicit language choice, or NULL */
    struct span typed;       /* the ID number typed, shown again (escaped) */
    const char *message;     /* strings.tsv key, or NULL */
    int status;
    uint32_t retry_after_s; /* 429: the wait, said on the page */
    struct span authn;      /* a session-raising authenticator: the second-factor page */
};

/* The message of v in lang, with the wait appended when there is one. */
static const char *
message(struct http_req *r, const struct login_view *v, enum lang lang)
{
    return authz_ui_wait_message(r, v->message, v->retry_after_s, lang);
}

static const char *
self_url(struct http_req *r, const char *page, struct span id, const char *lang)
{
    struct buf b;
    const char *s;

    buf_init(&b, 4096);
    buf_append_str(&b, page);
    buf_append_str(&b, "?");
    form_append(&b, "authz", id);
    if (lang)
        form_append(&b, "lang", span_str(lang));
    s = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return s;
}

/* The hotline's staff console: the number field takes an employee number
 * (flow/authn.h authn_staff_login). */
static bool
staff_login(struct http_req *r, const struct authorize_page *pg)
{
    struct policy *p = app_policy_get(r->app);
    bool staff = p && authn_staff_login(p, client_resolve(r->app, p, span_str(pg->req.client_id)),
                                        pg->req.scope);

    app_policy_put(p);
    return staff;
}

static void
show(struct http_req *r, struct http_resp *w, const struct login_view *v)
{
    struct authorize_page pg;
    const char *bind = authz_ui_bind(r, w), *reg;
    enum lang lang;
    enum rc rc;

    rc = authorize_page_info(r->app, &r->arena, v->id, span_str(bind), "login", &pg);
    lang = authz_ui_lang(r, v->lang, rc == RC_OK ? pg.req.ui_locales : NULL);
    if (rc != RC_OK || !bind) {
        authz_ui_pending_error(r, w, HTTP_ERRORS(login_errors), rc, lang);
        return;
    }
    http_set_client(r, pg.req.client_id);
    if (stepup_page_wanted(v->authn)) {
        struct stepup_view sv = {v->id, v->authn, v->message,
                                 v->retry_after_s ? message(r, v, lang) : NULL, v->status};
        stepup_page_show(r, w, &pg, &sv, lang);
        return;
    }
    struct buf ret;
    buf_init(&ret, 4096);
    form_append(&ret, "return_to", span_str(self_url(r, "/login", v->id, NULL)));
    reg = arena_printf(&r->arena, "/register?%s", ret.p ? (const char *)ret.p : "");
    buf_clear(&ret);
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "login_title"))},
        {"client_name", span_str(pg.client_name)},
        {"authz", v->id},
        {"csrf", span_str(pg.csrf)},
        {"lang", span_str(authz_ui_lang_code(lang))},
        {"id_number", v->typed.len ? v->typed : span_str(pg.req.login_hint)},
        {"message", span_str(message(r, v, lang))},
        {"register_url", span_str(reg)},
        {"lang_zh_url", span_str(self_url(r, "/login", v->id, "zh"))},
        {"lang_en_url", span_str(self_url(r, "/login", v->id, "en"))},
        /* brokered login offered (docs/federation.md): the "another province" button */
        {"fed", span_str(r->app->fed && r->app->cfg->federation_broker ? "1" : "")},
        {"staff", staff_login(r, &pg) ? SPAN("1") : SPAN("")},
    };
    authz_ui_page(r, w, v->status ? v->status : 200, "login.html", lang, vars,
                  sizeof(vars) / sizeof(vars[0]));
}

/* The one-time code field, for an authenticator that asks for one instead of a password. */
static struct span
secret_or_none(const struct span *code)
{
    return code ? *code : (struct span){(const uint8_t *)"", 0};
}

static void
post(struct http_req *r, struct http_resp *w, const struct form *f)
{
    static const struct span none = {(const uint8_t *)"", 0};
    const struct span *id = form_get(f, "authz"), *csrf = form_get(f, "csrf");
    const struct span *idn = form_get(f, "id_number"), *pw = form_get(f, "password");
    const struct span *m = form_get(f, "authn"), *code = form_get(f, "code");
    struct login_form lf = {
        .pending = id ? *id : none,
        .csrf = csrf ? *csrf : none,
        .bind = span_str(http_cookie(r, AUTHZ_BIND_COOKIE)),
        .authn = m ? *m : none,
        .id_number = idn ? *idn : none,
        .secret = pw ? *pw : secret_or_none(code),
        .session_cookie = span_str(http_cookie(r, SESSION_COOKIE)),
        .client_ip = r->client_ip,
        .user_agent = span_str(http_header(r, "User-Agent")),
        .tls = r->secure_cookies,
        .decline = form_get(f, "decline") != NULL,
        .challenge = form_get(f, "challenge") != NULL,
    };
    struct authorize_result res;
    enum rc rc = authorize_login(r->app, &r->arena, &lf, &res);

    if (pw) /* the decoded secret lives in the arena: wipe it now */
        OPENSSL_cleanse((void *)pw->p, pw->len);
    if (code)
        OPENSSL_cleanse((void *)code->p, code->len);
    if (res.kind == AUTHORIZE_FORM) {
        const struct http_error *e = http_error_find(HTTP_ERRORS(login_errors), rc, &res.why);
        struct login_view v = {lf.pending, form_get(f, "lang"), lf.id_number, e->key,
                               e->status,  res.retry_after_s,   lf.authn};
        if (rc == RC_OK) /* a challenge sent: the page again, saying so */
            v.message = "mfa_code_sent", v.status = 200;
        if (e->status == 429) /* RFC 6585 §4 */
            http_add_header(
                w, "Retry-After",
                arena_printf(&r->arena, "%u", res.retry_after_s ? res.retry_after_s : 60));
        show(r, w, &v);
        return;
    }
    authz_ui_result(r, w, &res, rc, HTTP_ERRORS(login_errors),
                    authz_ui_lang(r, form_get(f, "lang"), NULL));
}

static void
route_login(struct http_req *r, struct http_resp *w)
{
    struct form f;
    struct span raw = r->method == HTTP_POST ? r->body : r->query;

    enum rc rc;

    if ((rc = form_parse(&r->arena, raw.p, raw.len, &f, NULL)) != RC_OK) {
        authz_ui_pending_error(r, w, HTTP_ERRORS(login_errors), rc, authz_ui_lang(r, NULL, NULL));
        return;
    }
    if (r->method == HTTP_POST) {
        post(r, w, &f);
        return;
    }
    const struct span *id = form_get(&f, "authz");
    const struct span *m = form_get(&f, "authn");
    struct login_view v = {id ? *id : (struct span){0}, form_get(&f, "lang")};
    v.authn = m ? *m : (struct span){0};
    show(r, w, &v);
}

ROUTE(login, "/login", HTTP_GET | HTTP_POST, route_login)
