#include "http/authz_ui.h"

#include <string.h>

#include "flow/ratelimit.h"

enum lang
authz_ui_lang(const struct http_req *r, const struct span *choice, const char *ui_locales)
{
    if (choice && (span_eq_str(*choice, "zh") || span_eq_str(*choice, "en")))
        return span_eq_str(*choice, "en") ? LANG_EN : LANG_ZH;
    return tmpl_lang(span_str(ui_locales), http_header(r, "Accept-Language"));
}

const char *
authz_ui_lang_code(enum lang l)
{
    return l == LANG_EN ? "en" : "zh";
}

void
authz_ui_error(struct http_req *r, struct http_resp *w, int status, const char *message,
               enum lang lang)
{
    struct tmpl_var v[] = {
        {"title", span_str(tmpl_t(lang, "authz_error_title"))},
        {"message", span_str(tmpl_t(lang, message ? message : "error_title"))},
    };
    struct buf b;

    buf_init(&b, 1u << 20);
    if (tmpl_render(&b, "error.html", lang, v, 2) != RC_OK) {
        buf_clear(&b);
        http_text(w, 500, "internal error\n");
        return;
    }
    http_html(r, w, status, &b);
}

void
authz_ui_page(struct http_req *r, struct http_resp *w, int status, const char *name, enum lang lang,
              const struct tmpl_var *vars, size_t n)
{
    struct buf b;

    buf_init(&b, 1u << 20);
    if (tmpl_render(&b, name, lang, vars, n) != RC_OK) {
        buf_clear(&b);
        authz_ui_error(r, w, 500, "error_title", lang);
        return;
    }
    http_html(r, w, status, &b);
}

void
authz_ui_error_answer(struct http_req *r, struct http_resp *w, const struct http_error *t, size_t n,
                      enum rc rc, const struct rc_info *ri, enum lang lang)
{
    const struct http_error *e = http_error_find(t, n, rc, ri);

    authz_ui_error(r, w, e->status ? e->status : rc_http_status(rc),
                   e->key ? e->key : http_error_desc(r, e, ri), lang);
}

void
authz_ui_pending_error(struct http_req *r, struct http_resp *w, const struct http_error *t,
                       size_t n, enum rc rc, enum lang lang)
{
    struct rc_info ri = {0};

    rc = rc_because(&ri, rc == RC_OK ? RC_NOMEM : rc, RC_WHY_PENDING);
    authz_ui_error_answer(r, w, t, n, rc, &ri, lang);
}

/* An ERROR result: to the client's redirect URI with the OAuth error of res's row. */
static void
client_error(struct http_req *r, struct http_resp *w, const struct authorize_result *res,
             enum rc rc, const struct http_error *t, size_t n, enum lang lang)
{
    static const struct rc_info oom = {"out of memory", NULL, RC_WHY_NONE};
    const struct http_error *e = http_error_find(t, n, rc, &res->why);
    const char *loc =
        authorize_error_location(r->app, &r->arena, res, e->error ? e->error : rc_oauth_error(rc),
                                 http_error_desc(r, e, &res->why));

    if (loc)
        http_redirect(r, w, r->method == HTTP_POST ? 303 : 302, loc);
    else
        authz_ui_error_answer(r, w, t, n, RC_NOMEM, &oom, lang);
}

void
authz_ui_result(struct http_req *r, struct http_resp *w, const struct authorize_result *res,
                enum rc rc, const struct http_error *t, size_t n, enum lang lang)
{
    if (res->set_cookie)
        http_add_header(w, "Set-Cookie", res->set_cookie);
    if (res->client_id)
        http_set_client(r, res->client_id);
    switch (res->kind) {
    case AUTHORIZE_ERROR:
        client_error(r, w, res, rc, t, n, lang);
        return;
    case AUTHORIZE_REDIRECT:
    case AUTHORIZE_LOGIN:
    case AUTHORIZE_CONSENT:
        if (res->location) {
            http_redirect(r, w, r->method == HTTP_POST ? 303 : 302, res->location);
            return;
        }
        authz_ui_error(r, w, 500, "error_title", lang);
        return;
    case AUTHORIZE_PAGE:
    case AUTHORIZE_FORM:
        authz_ui_error_answer(r, w, t, n, rc, &res->why, lang);
        return;
    }
}

const char *
authz_ui_bind(struct http_req *r, struct http_resp *w)
{
    const char *v = http_cookie(r, AUTHZ_BIND_COOKIE), *set;

    if (v && strlen(v) == AUTHZ_BIND_LEN)
        return v;
    if (!(set = authorize_bind_new(r->app, &r->arena, r->secure_cookies, &v)))
        return NULL;
    http_add_header(w, "Set-Cookie", set);
    return v;
}

bool
authz_ui_rate_ok(struct http_req *r, struct http_resp *w, const char *name, uint32_t limit,
                 enum lang lang)
{
    struct ratelimit rl = {name, span_str(r->client_ip ? r->client_ip : ""), limit};
    uint32_t retry = 0;
    enum rc rc = ratelimit_take(r->app, &r->arena, &rl, 1, &retry, NULL);

    return authz_ui_rate_answer(r, w, rc, retry, lang); /* retry read once it is set */
}

bool
authz_ui_rate_answer(struct http_req *r, struct http_resp *w, enum rc rc, uint32_t retry,
                     enum lang lang)
{
    if (rc == RC_OK)
        return true;
    if (rc == RC_LIMITED) {
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry));
        authz_ui_error(r, w, 429, "login_limited", lang);
    } else {
        http_add_header(w, "Retry-After", "1");
        authz_ui_error(r, w, 503, "login_unavailable", lang);
    }
    return false;
}

const char *
authz_ui_wait_message(struct http_req *r, const char *key, uint32_t n, enum lang lang)
{
    const char *m = key ? tmpl_t(lang, key) : NULL, *s;

    if (!m || n == 0)
        return m;
    s = arena_printf(&r->arena, "%s (%s %u %s)", m, tmpl_t(lang, "limit_retry_in"),
                     n < 60 ? n : (n + 59) / 60,
                     tmpl_t(lang, n < 60 ? "limit_seconds" : "limit_minutes"));
    return s ? s : m;
}
