/* /end_session (GET query or POST form, OpenID Connect RP-Initiated Logout 1.0 §2): parse,
 * call flow/logout, answer with the confirmation page, a redirect to the client's
 * registered post-logout URI, or the logged-out page (with front-channel iframes). */
#include <string.h>

#include "core/html.h"
#include "flow/logout.h"
#include "flow/session.h"
#include "http/authz_ui.h"
#include "http/router.h"

/* The answers of /end_session's refusals (flow/logout.h: the reasons it gives). */
static const struct http_error logout_errors[] = {
    {RC_DENIED, RC_WHY_CSRF, 403, NULL, "logout_csrf_failed", NULL},
    {RC_ANY, RC_WHY_CSRF, 500, NULL, "error_title", NULL}, /* the token cannot be made */
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, NULL, "logout_unavailable", NULL},
    {RC_ANY, RC_WHY_PARAM, 400, NULL, "logout_bad_request", NULL},
    {RC_ANY, RC_WHY_ANY, 503, NULL, "logout_unavailable", NULL}, /* the store failed */
};

static void
confirm_page(struct http_req *r, struct http_resp *w, const struct logout_req *q,
             const struct logout_result *res, enum lang lang)
{
    struct tmpl_var v[] = {
        {"title", span_str(tmpl_t(lang, "logout_confirm_title"))},
        {"client_name", span_str(res->client_name)},
        {"csrf", span_str(res->csrf)},
        {"id_token_hint", q->id_token_hint},
        {"client_id", q->client_id},
        {"post_logout_redirect_uri", q->post_logout_redirect_uri},
        {"state", q->state},
        {"ui_locales", q->ui_locales},
    };

    authz_ui_page(r, w, 200, "logout_confirm.html", lang, v, sizeof(v) / sizeof(v[0]));
}

/* The iframes, each URL escaped (core/html). NULL when out of memory. */
static const char *
frames_html(struct http_req *r, const struct logout_result *res, enum lang lang)
{
    struct buf b;
    const char *out;

    buf_init(&b, 1u << 16);
    for (size_t i = 0; i < res->nframes; i++) {
        buf_append_str(&b, "<iframe class=\"fcl\" src=\"");
        html_escape(&b, span_str(res->frames[i]));
        buf_append_str(&b, "\" title=\"");
        html_escape(&b, span_str(tmpl_t(lang, "logout_frame_title")));
        buf_append_str(&b, "\" width=\"0\" height=\"0\" style=\"display:none\"></iframe>\n");
    }
    out = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return out;
}

static void
done_page(struct http_req *r, struct http_resp *w, const struct logout_result *res, enum lang lang)
{
    struct tmpl_var v[] = {
        {"title", span_str(tmpl_t(lang, "logout_title"))},
        {"client_name", span_str(res->client_name)},
        {"redirect", span_str(res->redirect)},
        {"frames_html", span_str(frames_html(r, res, lang))},
    };

    authz_ui_page(r, w, 200, "logged_out.html", lang, v, sizeof(v) / sizeof(v[0]));
}

static void
route_logout(struct http_req *r, struct http_resp *w)
{
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    struct logout_req q;
    struct logout_result res;
    struct logout_ctx ctx = {span_str(http_cookie(r, SESSION_COOKIE)), {0}, r->secure_cookies};
    struct rc_info ri = {0};
    struct form f;
    const char *ui;
    enum lang lang;
    enum rc rc;

    if (!authz_ui_rate_ok(r, w, "end_session:ip", r->app->cfg->rate_end_session_per_ip,
                          authz_ui_lang(r, NULL, NULL)))
        return;
    if ((rc = form_parse(&r->arena, raw.p, raw.len, &f, &ri)) != RC_OK
        || (rc = logout_parse(&f, &q, &ri)) != RC_OK) {
        authz_ui_error_answer(r, w, HTTP_ERRORS(logout_errors), rc_because(&ri, rc, RC_WHY_PARAM),
                              &ri, authz_ui_lang(r, NULL, NULL));
        return;
    }
    ui = q.ui_locales.p ? arena_span_dup(&r->arena, q.ui_locales) : NULL;
    lang = authz_ui_lang(r, NULL, ui);
    ctx.bind = span_str(authz_ui_bind(r, w)); /* the confirmation's CSRF token is bound to it */
    rc = logout_request(r->app, &r->arena, &q, &ctx, &res);
    http_set_client(r, res.client_id);
    if (res.set_cookie)
        http_add_header(w, "Set-Cookie", res.set_cookie);
    if (res.kind == LOGOUT_ERROR)
        authz_ui_error_answer(r, w, HTTP_ERRORS(logout_errors), rc, &res.why, lang);
    else if (res.kind == LOGOUT_CONFIRM)
        confirm_page(r, w, &q, &res, lang);
    else if (res.redirect && res.nframes == 0) /* frames need the page to load first */
        http_redirect(r, w, r->method == HTTP_POST ? 303 : 302, res.redirect);
    else
        done_page(r, w, &res, lang);
}

ROUTE(end_session, "/end_session", HTTP_GET | HTTP_POST, route_logout)
