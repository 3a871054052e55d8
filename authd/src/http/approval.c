/* The approval pages' shared pieces (approval.h). */
#include "http/approval.h"

#include <stdio.h>
#include <string.h>

#include "core/form.h"
#include "core/html.h"
#include "flow/csrf.h"
#include "flow/grant.h"

const char *
approval_scopes_html(struct http_req *r, const char *scope, enum lang lang)
{
    struct buf b;
    struct span w;
    size_t i = 0;
    const char *s;

    buf_init(&b, 65536);
    while (span_next_word(span_str(scope), &i, &w)) {
        const char *key = arena_printf(&r->arena, "scope_%.*s", (int)w.len, (const char *)w.p);
        const char *t = key ? tmpl_t(lang, key) : NULL;
        buf_append_str(&b, "<li>");
        html_escape(&b, t && strcmp(t, key) != 0 ? span_str(t) : w);
        buf_append_str(&b, "</li>");
    }
    s = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return s;
}

const char *
approval_level_text(struct http_req *r, struct loa l, enum lang lang)
{
    char acr[LOA_ACR_MAX], ki[16], ka[16];

    loa_format(l, acr);
    snprintf(ki, sizeof(ki), "loa_ial%d", (int)l.ial);
    snprintf(ka, sizeof(ka), "loa_aal%d", (int)l.aal);
    return arena_printf(&r->arena, "%s · %s (%s)", tmpl_t(lang, ki), tmpl_t(lang, ka), acr);
}

bool
approval_session(struct http_req *r, struct session *s, struct span *cookie)
{
    *cookie = span_str(http_cookie(r, SESSION_COOKIE));
    return cookie->len && session_cookie_valid(*cookie)
           && session_load(r->app, &r->arena, *cookie, s) == RC_OK;
}

bool
approval_to_login(struct http_req *r, struct http_resp *w, const char *path, struct span state,
                  enum lang lang)
{
    const struct config *cfg = r->app->cfg;
    char challenge[48];
    struct buf b;
    const char *loc;

    if (!cfg->device_login_client
        || grant_random_token(r->app, 32, challenge, sizeof(challenge)) != RC_OK)
        return false;
    buf_init(&b, 8192);
    buf_append_str(&b, "/authorize?");
    form_append(&b, "client_id", span_str(cfg->device_login_client));
    form_append(&b, "response_type", SPAN("code"));
    form_append(&b, "scope", SPAN("openid"));
    form_append(&b, "redirect_uri", span_str(arena_printf(&r->arena, "%s%s", cfg->issuer, path)));
    form_append(&b, "state", state);
    form_append(&b, "code_challenge", span_str(challenge));
    form_append(&b, "code_challenge_method", SPAN("S256"));
    form_append(&b, "ui_locales", span_str(lang == LANG_EN ? "en" : "zh-CN"));
    loc = b.p ? arena_strndup(&r->arena, (const char *)b.p, b.len) : NULL;
    buf_clear(&b);
    if (!loc)
        return false;
    http_redirect(r, w, 302, loc);
    return true;
}

const char *
approval_csrf(struct http_req *r, const char *purpose, struct span what, struct span cookie)
{
    struct span bound[2] = {what, cookie};
    char *t = arena_alloc(&r->arena, CSRF_LEN + 1);

    return t && csrf_make(r->app, purpose, bound, 2, t) == RC_OK ? t : NULL;
}

bool
approval_csrf_ok(struct http_req *r, const char *purpose, struct span what, struct span cookie,
                 const struct span *token)
{
    struct span bound[2] = {what, cookie};

    return what.len && token && csrf_check(r->app, purpose, bound, 2, *token);
}

const char *
approval_lang_url(struct http_req *r, const char *path, const char *param, struct span code,
                  const char *lang)
{
    struct buf b;
    const char *s;

    buf_init(&b, 4096);
    buf_append_str(&b, path);
    buf_append(&b, "?", 1);
    if (code.len)
        form_append(&b, param, code);
    form_append(&b, "lang", span_str(lang));
    s = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return s;
}
