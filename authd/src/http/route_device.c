/* /device: the verification page of the device grant (RFC 8628 §3.3), opened on the
 * citizen's phone from the kiosk's QR code (verification_uri_complete) or typed.
 *
 * GET /device[?user_code=..][&lang=zh|en]: without a code, a form to type it; with a code
 * and the phone's SSO session, which client (and kiosk location) asks for which scopes at
 * which level, with approve and deny buttons; without a session, to the login page through
 * /authorize of the client device_login_client and back here (the code in `state`), or
 * "log in on this phone first" when none is configured or the login did not give a
 * session. POST /device (user_code, csrf, action=approve|deny): the decision.
 *
 * Answers: 200 the page; 400 a wrong, expired or decided code (device_bad_code, the form
 * again); 429 with Retry-After over the guessing limits (device_limited); 401 a POST
 * without a session (device_login_first); 403 a bad CSRF token (csrf_failed) or a session
 * below the client's level (device_level_low); 503 store unavailable. No JavaScript; the
 * security headers of every page (http_html). */
#include <string.h>

#include "core/form.h"
#include "flow/device.h"
#include "flow/session.h"
#include "http/approval.h"
#include "http/authz_ui.h"
#include "http/router.h"

static const struct http_error device_errors[] = {
    {RC_ANY, RC_WHY_CSRF, 403, "invalid_request", "csrf_failed", NULL},
    {RC_ANY, RC_WHY_RATE, 429, NULL, "device_limited", NULL}, /* RFC 6585 §4 */
    {RC_ANY, RC_WHY_USER_CODE, 400, NULL, "device_bad_code", NULL},
    {RC_ANY, RC_WHY_LEVEL, 403, NULL, "device_level_low", NULL},
    {RC_ANY, RC_WHY_LOGIN_REQUIRED, 401, NULL, "device_login_first", NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", "login_unavailable", NULL},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", "error_title", NULL},
};

struct device_page {
    enum lang lang;
    int status;
    const char *message;         /* strings.tsv key, or NULL */
    uint32_t retry_after_s;      /* 429 */
    const char *done;            /* strings.tsv key of a decision made, or NULL */
    struct span typed;           /* shown again in the form */
    bool login_first, enter;     /* which parts show */
    const struct device_view *v; /* the confirmation, or NULL */
    const char *csrf;
    const char *level;    /* the phone session's levels: what the kiosk will get */
    bool back_from_login; /* /authorize sent the browser back (state, code or error) */
};

static void
render(struct http_req *r, struct http_resp *w, const struct device_page *pg)
{
    const struct device_view *v = pg->v;
    struct span typed = pg->typed.len <= USERCODE_INPUT_MAX ? pg->typed : SPAN("");
    struct span code = v ? span_str(v->user_code) : typed;
    const char *msg = authz_ui_wait_message(r, pg->message, pg->retry_after_s, pg->lang);
    struct buf b;

    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(pg->lang, "device_title"))},
        {"lang", span_str(authz_ui_lang_code(pg->lang))},
        {"lang_zh_url", span_str(approval_lang_url(r, DEVICE_PATH, "user_code", code, "zh"))},
        {"lang_en_url", span_str(approval_lang_url(r, DEVICE_PATH, "user_code", code, "en"))},
        {"message", span_str(msg)},
        {"done", span_str(pg->done ? tmpl_t(pg->lang, pg->done) : NULL)},
        {"login_first", pg->login_first ? SPAN("1") : SPAN("")},
        {"enter", pg->enter ? SPAN("1") : SPAN("")},
        {"typed", typed},
        {"confirm", v ? SPAN("1") : SPAN("")},
        {"client_name", span_str(v ? v->client_name : NULL)},
        {"location", span_str(v ? v->location : NULL)},
        {"user_code", span_str(v ? v->user_code : NULL)},
        {"scopes_html", span_str(v ? approval_scopes_html(r, v->scope, pg->lang) : NULL)},
        {"level", span_str(v ? pg->level : NULL)},
        {"csrf", span_str(pg->csrf)},
    };
    if (pg->retry_after_s)
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", pg->retry_after_s));
    buf_init(&b, 1u << 20);
    if (tmpl_render(&b, "device.html", pg->lang, vars, sizeof(vars) / sizeof(vars[0])) != RC_OK) {
        buf_clear(&b);
        authz_ui_error(r, w, 500, "error_title", pg->lang);
        return;
    }
    http_html(r, w, pg->status, &b);
}

/* A refusal: the row's status and message, the code form again. */
static void
refused(struct http_req *r, struct http_resp *w, struct device_page *pg, enum rc rc,
        const struct rc_info *ri)
{
    const struct http_error *e = http_error_find(HTTP_ERRORS(device_errors), rc, ri);

    pg->status = e->status ? e->status : rc_http_status(rc);
    pg->message = e->key;
    pg->v = NULL, pg->csrf = NULL;
    pg->enter = ri->why == RC_WHY_USER_CODE || ri->why == RC_WHY_RATE;
    if (ri->why != RC_WHY_RATE)
        pg->retry_after_s = 0;
    render(r, w, pg);
}

static void
show(struct http_req *r, struct http_resp *w, struct device_page *pg, const struct policy *p)
{
    struct device_view v;
    struct session s;
    struct span cookie;
    struct rc_info ri = {0};
    enum rc rc;

    pg->status = 200;
    if (!pg->typed.len) {
        pg->enter = true;
        render(r, w, pg);
        return;
    }
    if (!approval_session(r, &s, &cookie)) { /* no lookup without a login: no anonymous guesses */
        if (!pg->back_from_login && pg->typed.len <= USERCODE_INPUT_MAX
            && approval_to_login(r, w, DEVICE_PATH, pg->typed, pg->lang))
            return;
        pg->login_first = true;
        render(r, w, pg);
        return;
    }
    rc = device_lookup(r->app, &r->arena, p, pg->typed, span_str(r->client_ip), &v,
                       &pg->retry_after_s, &ri);
    if (rc != RC_OK) {
        refused(r, w, pg, rc, &ri);
        return;
    }
    http_set_client(r, v.client_id);
    pg->v = &v;
    pg->level = approval_level_text(r, s.loa, pg->lang);
    if (!(pg->csrf = approval_csrf(r, "device", span_str(v.user_code), cookie))) {
        authz_ui_error(r, w, 500, "error_title", pg->lang);
        return;
    }
    render(r, w, pg);
}

static void
decide(struct http_req *r, struct http_resp *w, struct device_page *pg, const struct policy *p,
       const struct form *f)
{
    const struct span *csrf = form_get(f, "csrf"), *action = form_get(f, "action");
    bool approve = action && span_eq_str(*action, "approve");
    char code[USERCODE_LEN + 1], shown[USERCODE_SHOWN_LEN + 1];
    struct rc_info ri = {0};
    struct session s;
    struct span cookie;
    enum rc rc;

    if (!approval_session(r, &s, &cookie)) {
        rc = rc_fail(&ri, RC_DENIED, RC_WHY_LOGIN_REQUIRED, "session", "none");
        pg->login_first = true;
        refused(r, w, pg, rc, &ri);
        return;
    }
    /* the token is bound to the code as shown and to this session's cookie */
    if (usercode_normalise(pg->typed, code) == RC_OK)
        usercode_format(code, shown);
    else
        shown[0] = 0;
    if (!approval_csrf_ok(r, "device", span_str(shown), cookie, csrf)) {
        rc = rc_fail(&ri, RC_DENIED, RC_WHY_CSRF, "csrf", "missing or wrong");
        refused(r, w, pg, rc, &ri);
        return;
    }
    rc = device_decide(r->app, &r->arena, p, pg->typed, span_str(r->client_ip), &s, approve,
                       &pg->retry_after_s, &ri);
    if (rc != RC_OK) {
        refused(r, w, pg, rc, &ri);
        return;
    }
    pg->status = 200;
    pg->done = approve ? "device_approved" : "device_denied";
    render(r, w, pg);
}

static void
route_device(struct http_req *r, struct http_resp *w)
{
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    struct device_page pg = {0};
    struct policy *p;
    struct form f;

    if (form_parse(&r->arena, raw.p, raw.len, &f, NULL) != RC_OK) {
        authz_ui_error(r, w, 400, "device_bad_code", authz_ui_lang(r, NULL, NULL));
        return;
    }
    const struct span *typed = form_get(&f, "user_code"), *state = form_get(&f, "state");
    pg.lang = authz_ui_lang(r, form_get(&f, "lang"), NULL);
    /* back from the login page (to_login): the code typed travelled in state */
    pg.back_from_login = !typed && state && r->method != HTTP_POST;
    pg.typed = typed ? *typed : pg.back_from_login ? *state : (struct span){NULL, 0};
    if (!(p = app_policy_get(r->app))) {
        authz_ui_error(r, w, 503, "login_unavailable", pg.lang);
        return;
    }
    if (r->method == HTTP_POST)
        decide(r, w, &pg, p, &f);
    else
        show(r, w, &pg, p);
    app_policy_put(p);
}

ROUTE(device, DEVICE_PATH, HTTP_GET | HTTP_POST, route_device)
