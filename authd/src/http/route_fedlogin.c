/* Brokered login (docs/federation.md "Brokered login", flow/fed_broker.h):
 *
 * POST /federation/login  authz, csrf, lang, and either
 *     id_number (from the login page's "registered in another province" button, with the
 *     login page's CSRF token): the chooser page, the provinces the anchor lists, the one
 *     whose region code starts the ID number suggested (selected);
 *     or province (from the chooser, with its own CSRF token "fedlogin"): 303 to the home
 *     province's authorization endpoint.
 *   Refusals on the chooser page: 403 csrf_failed (bad token), 400 login_expired (unknown
 *   pending request), 503 fed_unreachable (the anchor or the province cannot be reached),
 *   403 fed_refused (the province's chain is refused: fed_statement, fed_expired, fed_policy,
 *   fed_constraint, fed_trust_mark, fed_anchor), 404 when brokering is off.
 * GET /federation/callback?state&code|error: the home province's answer; on success as
 *   after a login (a new session, then the code for the client, or consent); refusals on
 *   the chooser page: 403 fed_acr (an acr above the cap), 400 fed_failed (an error answer,
 *   a bad ID token, a lost or reused state: fed_login), 503 fed_unreachable, 403
 *   fed_refused, 403 csrf_failed (another browser).
 * POST /federation/backchannel_logout logout_token (OIDC Back-Channel Logout §2.5): 200,
 *   400 invalid_request (a bad token), 503 (the store, or the province's chain). */
#include <openssl/crypto.h>
#include <string.h>

#include "core/form.h"
#include "core/html.h"
#include "flow/authorize.h"
#include "flow/fed_broker.h"
#include "flow/session.h"
#include "http/authz_ui.h"
#include "http/router.h"

/* clang-format off */
static const struct http_error fedlogin_errors[] = {
    AUTHZ_UI_PAGE_ERRORS,
    {RC_ANY, RC_WHY_FED_UNREACHABLE, 503, "temporarily_unavailable", "fed_unreachable", NULL},
    {RC_ANY, RC_WHY_FED_ACR, 403, "access_denied", "fed_acr", NULL},
    {RC_ANY, RC_WHY_FED_LOGIN, 400, "access_denied", "fed_failed", NULL},
    {RC_ANY, RC_WHY_FED_STATEMENT, 403, "access_denied", "fed_refused", NULL},
    {RC_ANY, RC_WHY_FED_EXPIRED, 403, "access_denied", "fed_refused", NULL},
    {RC_ANY, RC_WHY_FED_POLICY, 403, "access_denied", "fed_refused", NULL},
    {RC_ANY, RC_WHY_FED_CONSTRAINT, 403, "access_denied", "fed_refused", NULL},
    {RC_ANY, RC_WHY_FED_TRUST_MARK, 403, "access_denied", "fed_refused", NULL},
    {RC_ANY, RC_WHY_FED_ANCHOR, 403, "access_denied", "fed_refused", NULL},
    {RC_ANY, RC_WHY_DISABLED, 403, "access_denied", "login_failed", NULL},
    {RC_NOT_FOUND, RC_WHY_NONE, 404, "not_found", "login_unavailable", NULL},
    {RC_UNAVAILABLE, RC_WHY_NONE, 503, "temporarily_unavailable", "login_unavailable", NULL},
    AUTHZ_UI_ERRORS,
};
/* clang-format on */

struct fed_view {
    struct span id;          /* pending request id */
    const struct span *lang; /* explicit choice, or NULL */
    struct span typed;       /* the ID number typed on the login page, for the suggestion */
    const char *message;     /* strings.tsv key, or NULL */
    int status;
};

/* <option>s of the provinces, the one of the ID number's region selected; *suggested the
 * name of that one. In r's arena. */
static const char *
options(struct http_req *r, const struct fed_province *pv, size_t n, struct span typed,
        const char **suggested)
{
    struct buf b;
    const char *s;

    buf_init(&b, 64 * 1024);
    for (size_t i = 0; i < n; i++) {
        const char *name = pv[i].name;
        bool sel =
            typed.len >= 2 && strlen(pv[i].region) == 2 && memcmp(typed.p, pv[i].region, 2) == 0;
        buf_append_str(&b, "<option value=\"");
        html_escape(&b, span_str(pv[i].entity_id));
        buf_append_str(&b, sel ? "\" selected>" : "\">");
        html_escape(&b, span_str(name));
        buf_append_str(&b, "</option>");
        if (sel && !*suggested)
            *suggested = name;
    }
    s = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return s;
}

static void
show(struct http_req *r, struct http_resp *w, const struct fed_view *v)
{
    struct authorize_page pg;
    const char *bind = authz_ui_bind(r, w), *opts = "", *sugg = NULL, *login;
    struct fed_province *pv = NULL;
    size_t n = 0;
    struct rc_info ri = {0};
    const char *msg = v->message;
    int status = v->status;
    enum lang lang;
    enum rc rc;
    struct buf b;

    rc = authorize_page_info(r->app, &r->arena, v->id, span_str(bind), "fedlogin", &pg);
    lang = authz_ui_lang(r, v->lang, rc == RC_OK ? pg.req.ui_locales : NULL);
    if (rc != RC_OK || !bind) {
        authz_ui_pending_error(r, w, HTTP_ERRORS(fedlogin_errors), rc, lang);
        return;
    }
    http_set_client(r, pg.req.client_id);
    if ((rc = fed_broker_provinces(r->app, &r->arena, &pv, &n, &ri)) != RC_OK) {
        const struct http_error *e = http_error_find(HTTP_ERRORS(fedlogin_errors), rc, &ri);
        if (!msg)
            msg = e->key, status = e->status;
    } else
        opts = options(r, pv, n, v->typed, &sugg);
    buf_init(&b, 4096);
    buf_append_str(&b, "/login?");
    form_append(&b, "authz", v->id);
    login = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    /* the language links go back to the login page (this page answers POSTs only) */
    const char *zh = arena_printf(&r->arena, "%s&lang=zh", login ? login : "/login");
    const char *en = arena_printf(&r->arena, "%s&lang=en", login ? login : "/login");
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "fed_title"))},
        {"client_name", span_str(pg.client_name)},
        {"authz", v->id},
        {"csrf", span_str(pg.csrf)},
        {"lang", span_str(authz_ui_lang_code(lang))},
        {"message", span_str(msg ? tmpl_t(lang, msg) : NULL)},
        {"options_html", span_str(opts)},
        {"suggested", span_str(sugg)},
        {"login_url", span_str(login)},
        {"lang_zh_url", span_str(zh)},
        {"lang_en_url", span_str(en)},
    };
    authz_ui_page(r, w, status ? status : 200, "fedlogin.html", lang, vars,
                  sizeof(vars) / sizeof(vars[0]));
}

/* True when got is the CSRF token of form `form` for pending id and this browser. */
static bool
csrf_ok(struct http_req *r, const char *form, struct span id, const struct span *got)
{
    struct authorize_page pg;
    const char *bind =
        span_str(http_cookie(r, AUTHZ_BIND_COOKIE)).p ? http_cookie(r, AUTHZ_BIND_COOKIE) : NULL;

    if (!got || !bind || got->len != AUTHZ_CSRF_LEN)
        return false;
    if (authorize_page_info(r->app, &r->arena, id, span_str(bind), form, &pg) != RC_OK)
        return false;
    return CRYPTO_memcmp(pg.csrf, got->p, AUTHZ_CSRF_LEN) == 0;
}

static void
refuse(struct http_req *r, struct http_resp *w, struct fed_view *v, enum rc rc,
       const struct rc_info *ri)
{
    const struct http_error *e = http_error_find(HTTP_ERRORS(fedlogin_errors), rc, ri);

    v->message = e->key, v->status = e->status;
    if (!e->key) { /* not a message of the chooser: the error page */
        authz_ui_error_answer(r, w, HTTP_ERRORS(fedlogin_errors), rc, ri,
                              authz_ui_lang(r, v->lang, NULL));
        return;
    }
    show(r, w, v);
}

static void
route_fed_login(struct http_req *r, struct http_resp *w)
{
    struct form f;
    const struct span *id, *csrf, *prov, *idn;
    struct fed_view v = {0};
    struct rc_info ri = {0};
    const char *loc = NULL;
    enum rc rc;

    if (form_parse(&r->arena, r->body.p, r->body.len, &f, NULL) != RC_OK
        || !(id = form_get(&f, "authz"))) {
        rc_fail(&ri, RC_NOT_FOUND, RC_WHY_PENDING, "authz", "missing");
        authz_ui_pending_error(r, w, HTTP_ERRORS(fedlogin_errors), RC_NOT_FOUND,
                               authz_ui_lang(r, NULL, NULL));
        return;
    }
    csrf = form_get(&f, "csrf"), prov = form_get(&f, "province"), idn = form_get(&f, "id_number");
    v.id = *id, v.lang = form_get(&f, "lang");
    if (idn)
        v.typed = *idn;
    if (!csrf_ok(r, prov ? "fedlogin" : "login", *id, csrf)) {
        rc_fail(&ri, RC_DENIED, RC_WHY_CSRF, "csrf", "bad");
        refuse(r, w, &v, RC_DENIED, &ri);
        return;
    }
    if (!prov) { /* from the login page: the chooser */
        show(r, w, &v);
        return;
    }
    rc = fed_broker_start(r->app, &r->arena, *id, arena_span_dup(&r->arena, *prov),
                          span_str(http_cookie(r, AUTHZ_BIND_COOKIE)), &loc, &ri);
    if (rc != RC_OK) {
        refuse(r, w, &v, rc, &ri);
        return;
    }
    http_redirect(r, w, 303, loc);
}

static void
route_fed_callback(struct http_req *r, struct http_resp *w)
{
    struct form f;
    const struct span *state, *code, *err;
    struct authorize_result res;
    const char *pending = NULL;
    struct fed_view v = {0};
    enum rc rc;

    if (form_parse(&r->arena, r->query.p, r->query.len, &f, NULL) != RC_OK) {
        authz_ui_pending_error(r, w, HTTP_ERRORS(fedlogin_errors), RC_NOT_FOUND,
                               authz_ui_lang(r, NULL, NULL));
        return;
    }
    state = form_get(&f, "state"), code = form_get(&f, "code"), err = form_get(&f, "error");
    const struct span *iss = form_get(&f, "iss");
    struct fed_broker_cb cb = {
        .state = state ? *state : (struct span){0},
        .code = code ? *code : (struct span){0},
        .error = err ? *err : (struct span){0},
        .iss = iss ? *iss : (struct span){0},
        .bind = span_str(http_cookie(r, AUTHZ_BIND_COOKIE)),
        .session_cookie = span_str(http_cookie(r, SESSION_COOKIE)),
        .client_ip = r->client_ip,
        .user_agent = span_str(http_header(r, "User-Agent")),
        .tls = r->secure_cookies,
    };
    rc = fed_broker_finish(r->app, &r->arena, &cb, &pending, &res);
    if (res.kind == AUTHORIZE_FORM && rc != RC_OK) {
        if (!pending) { /* no request to go back to */
            authz_ui_error_answer(r, w, HTTP_ERRORS(fedlogin_errors), rc, &res.why,
                                  authz_ui_lang(r, NULL, NULL));
            return;
        }
        v.id = span_str(pending);
        refuse(r, w, &v, rc, &res.why);
        return;
    }
    authz_ui_result(r, w, &res, rc, HTTP_ERRORS(fedlogin_errors), authz_ui_lang(r, NULL, NULL));
}

static void
route_fed_bclogout(struct http_req *r, struct http_resp *w)
{
    struct form f;
    const struct span *tok;
    struct rc_info ri = {0};
    enum rc rc;

    if (form_parse(&r->arena, r->body.p, r->body.len, &f, NULL) != RC_OK
        || !(tok = form_get(&f, "logout_token"))) {
        http_oauth_error(r, w, 400, "invalid_request", "logout_token missing");
        return;
    }
    rc = fed_broker_bclogout(r->app, &r->arena, *tok, &ri);
    if (rc == RC_OK) {
        http_add_header(w, "Cache-Control", "no-store");
        http_text(w, 200, "");
    } else if (rc == RC_UNAVAILABLE)
        http_oauth_error(r, w, 503, "temporarily_unavailable", "try again later");
    else if (rc == RC_NOT_FOUND && ri.why == RC_WHY_NONE && ri.field
             && strcmp(ri.field, "federation") == 0)
        http_oauth_error(r, w, 404, "not_found", "not a broker");
    else
        http_oauth_error(r, w, 400, "invalid_request", "bad logout_token");
}

ROUTE(fed_login, "/federation/login", HTTP_POST, route_fed_login)
ROUTE(fed_callback, "/federation/callback", HTTP_GET, route_fed_callback)
ROUTE(fed_bclogout, "/federation/backchannel_logout", HTTP_POST, route_fed_bclogout)
