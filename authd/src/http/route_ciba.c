/* /ciba: the approval page of a CIBA request (OpenID CIBA Core 1.0, flow/ciba.h), opened
 * on the citizen's phone from the SMS link ISSUER/ciba?code=...
 *
 * GET /ciba?code=..[&lang=zh|en]: with the phone's SSO session of the citizen the request
 * names, which client asks (for a hotline agent's request also the agent's masked name,
 * employee number and the purpose), its binding message, the scopes and the session's
 * level, with
 * approve and deny buttons; without a session, to the login page through /authorize of the
 * client device_login_client and back here (the code in `state`), or "log in on this phone
 * first" when none is configured or the login did not give a session. POST /ciba (code,
 * csrf, action=approve|deny): the decision.
 *
 * Answers: 200 the page; 400 a wrong, used or expired link (ciba_bad_code); 401 a POST
 * without a session (ciba_login_first); 403 the session of another citizen
 * (ciba_other_citizen: nothing of the request is shown), a bad CSRF token (csrf_failed),
 * or a session below the client's level (ciba_level_low); 503 store unavailable. No
 * JavaScript; the security headers of every page (http_html). */
#include <string.h>

#include "core/form.h"
#include "flow/ciba.h"
#include "flow/session.h"
#include "http/approval.h"
#include "http/authz_ui.h"
#include "http/router.h"

static const struct http_error ciba_errors[] = {
    {RC_ANY, RC_WHY_CSRF, 403, "invalid_request", "csrf_failed", NULL},
    {RC_ANY, RC_WHY_PENDING, 400, NULL, "ciba_bad_code", NULL},
    {RC_ANY, RC_WHY_OTHER_CITIZEN, 403, NULL, "ciba_other_citizen", NULL},
    {RC_ANY, RC_WHY_LEVEL, 403, NULL, "ciba_level_low", NULL},
    {RC_ANY, RC_WHY_LOGIN_REQUIRED, 401, NULL, "ciba_login_first", NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", "login_unavailable", NULL},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", "error_title", NULL},
};

struct ciba_page {
    enum lang lang;
    int status;
    const char *message;       /* strings.tsv key, or NULL */
    const char *done;          /* strings.tsv key of a decision made, or NULL */
    struct span code;          /* the link's code */
    bool login_first;          /* no session */
    const struct ciba_view *v; /* the confirmation, or NULL */
    const char *csrf;
    const char *level;    /* the phone session's levels: what the client will get */
    bool back_from_login; /* /authorize sent the browser back (state, code or error) */
};

static void
render(struct http_req *r, struct http_resp *w, const struct ciba_page *pg)
{
    const struct ciba_view *v = pg->v;
    struct span code = pg->code.len <= CIBA_CODE_LEN ? pg->code : SPAN("");
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(pg->lang, "ciba_title"))},
        {"lang", span_str(authz_ui_lang_code(pg->lang))},
        {"lang_zh_url", span_str(approval_lang_url(r, CIBA_PATH, "code", code, "zh"))},
        {"lang_en_url", span_str(approval_lang_url(r, CIBA_PATH, "code", code, "en"))},
        {"message", span_str(pg->message ? tmpl_t(pg->lang, pg->message) : NULL)},
        {"done", span_str(pg->done ? tmpl_t(pg->lang, pg->done) : NULL)},
        {"login_first", pg->login_first ? SPAN("1") : SPAN("")},
        {"confirm", v ? SPAN("1") : SPAN("")},
        {"client_name", span_str(v ? v->client_name : NULL)},
        {"binding_message", span_str(v ? v->binding_message : NULL)},
        {"agent_name", span_str(v ? v->agent_name : NULL)},
        {"emp", span_str(v ? v->emp : NULL)},
        {"purpose_name",
         span_str(v ? (pg->lang == LANG_EN ? v->purpose_name_en : v->purpose_name) : NULL)},
        {"scopes_html", span_str(v ? approval_scopes_html(r, v->scope, pg->lang) : NULL)},
        {"level", span_str(v ? pg->level : NULL)},
        {"code", v ? code : SPAN("")},
        {"csrf", span_str(pg->csrf)},
    };
    authz_ui_page(r, w, pg->status, "ciba.html", pg->lang, vars, sizeof(vars) / sizeof(vars[0]));
}

/* A refusal: the row's status and message, nothing of the request. */
static void
refused(struct http_req *r, struct http_resp *w, struct ciba_page *pg, enum rc rc,
        const struct rc_info *ri)
{
    const struct http_error *e = http_error_find(HTTP_ERRORS(ciba_errors), rc, ri);

    pg->status = e->status ? e->status : rc_http_status(rc);
    pg->message = e->key;
    pg->v = NULL, pg->csrf = NULL;
    render(r, w, pg);
}

static void
show(struct http_req *r, struct http_resp *w, struct ciba_page *pg, const struct policy *p)
{
    struct ciba_view v;
    struct session s;
    struct span cookie;
    struct rc_info ri = {0};
    enum rc rc;

    pg->status = 200;
    if (!approval_session(r, &s, &cookie)) { /* nothing is looked up without a login */
        /* state: the code and the page's language ("CODE.zh"), so that both come back */
        const char *state = arena_printf(&r->arena, "%.*s.%s", (int)pg->code.len,
                                         (const char *)pg->code.p, authz_ui_lang_code(pg->lang));
        if (!pg->back_from_login && pg->code.len == CIBA_CODE_LEN && state
            && approval_to_login(r, w, CIBA_PATH, span_str(state), pg->lang))
            return;
        pg->login_first = true;
        render(r, w, pg);
        return;
    }
    if ((rc = ciba_lookup(r->app, &r->arena, p, pg->code, &s, &v, &ri)) != RC_OK) {
        refused(r, w, pg, rc, &ri);
        return;
    }
    http_set_client(r, v.client_id);
    pg->v = &v;
    pg->level = approval_level_text(r, s.loa, pg->lang);
    if (!(pg->csrf = approval_csrf(r, "ciba", pg->code, cookie))) {
        authz_ui_error(r, w, 500, "error_title", pg->lang);
        return;
    }
    render(r, w, pg);
}

static void
decide(struct http_req *r, struct http_resp *w, struct ciba_page *pg, const struct policy *p,
       const struct form *f)
{
    const struct span *csrf = form_get(f, "csrf"), *action = form_get(f, "action");
    bool approve = action && span_eq_str(*action, "approve");
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
    if (!approval_csrf_ok(r, "ciba", pg->code, cookie, csrf)) {
        refused(r, w, pg, rc_fail(&ri, RC_DENIED, RC_WHY_CSRF, "csrf", "missing or wrong"), &ri);
        return;
    }
    if ((rc = ciba_decide(r->app, &r->arena, p, pg->code, &s, approve, &ri)) != RC_OK) {
        refused(r, w, pg, rc, &ri);
        return;
    }
    pg->status = 200;
    pg->done = approve ? "ciba_approved" : "ciba_denied";
    render(r, w, pg);
}

static void
route_ciba(struct http_req *r, struct http_resp *w)
{
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    struct ciba_page pg = {0};
    struct policy *p;
    struct form f;

    if (form_parse(&r->arena, raw.p, raw.len, &f, NULL) != RC_OK) {
        authz_ui_error(r, w, 400, "ciba_bad_code", authz_ui_lang(r, NULL, NULL));
        return;
    }
    const struct span *code = form_get(&f, "code"), *state = form_get(&f, "state");
    struct span lang = {NULL, 0};
    /* back from the login page (approval_to_login): the link's code and the language
     * travelled in state ("CODE.zh"), and `code` is then the authorization code, left to
     * expire */
    pg.back_from_login = state && r->method != HTTP_POST;
    pg.code = pg.back_from_login ? *state : code ? *code : (struct span){NULL, 0};
    if (pg.back_from_login && pg.code.len > CIBA_CODE_LEN + 1
        && ((const char *)pg.code.p)[CIBA_CODE_LEN] == '.') {
        lang = span_of(pg.code.p + CIBA_CODE_LEN + 1, pg.code.len - CIBA_CODE_LEN - 1);
        pg.code.len = CIBA_CODE_LEN;
    }
    pg.lang = authz_ui_lang(r,
                            form_get(&f, "lang") ? form_get(&f, "lang")
                            : lang.p             ? &lang
                                                 : NULL,
                            NULL);
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

ROUTE(ciba, CIBA_PATH, HTTP_GET | HTTP_POST, route_ciba)
