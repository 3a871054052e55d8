/* /consent?authz=ID: the claims a client asks for, with allow/deny buttons (GET shows,
 * POST answers through flow/authorize). */
#include <string.h>

#include "core/form.h"
#include "core/html.h"
#include "flow/authorize.h"
#include "flow/session.h"
#include "http/authz_ui.h"
#include "http/router.h"

/* The answers of /consent's refusals: the error page, or the OAuth error (a denial
 * included) sent to the client. */
static const struct http_error consent_errors[] = {AUTHZ_UI_PAGE_ERRORS, AUTHZ_UI_ERRORS};

/* <li> per claim, names translated (claim_<name> in strings.tsv) and escaped. */
static const char *
claims_html(struct http_req *r, const struct authorize_page *pg, enum lang lang)
{
    struct buf b;
    const char *s;

    buf_init(&b, 65536);
    for (size_t i = 0; pg->claims && pg->claims[i]; i++) {
        char key[80];
        if (strcmp(pg->claims[i], "sub") == 0 || strcmp(pg->claims[i], "id_number") == 0)
            continue; /* sub is not personal data; id_number has its own checkbox */
        if ((size_t)snprintf(key, sizeof(key), "claim_%s", pg->claims[i]) >= sizeof(key))
            continue;
        buf_append_str(&b, "<li>");
        html_escape(&b, span_str(tmpl_t(lang, key)));
        buf_append_str(&b, "</li>");
    }
    s = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return s;
}

static const char *
lang_url(struct http_req *r, struct span id, const char *lang)
{
    struct buf b;
    const char *s;

    buf_init(&b, 4096);
    buf_append_str(&b, "/consent?");
    form_append(&b, "authz", id);
    form_append(&b, "lang", span_str(lang));
    s = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return s;
}

static void
show(struct http_req *r, struct http_resp *w, struct span id, const struct span *choice)
{
    struct authorize_page pg;
    const char *bind = authz_ui_bind(r, w);
    enum rc rc = authorize_page_info(r->app, &r->arena, id, span_str(bind), "consent", &pg);
    enum lang lang = authz_ui_lang(r, choice, rc == RC_OK ? pg.req.ui_locales : NULL);
    struct buf b;

    if (rc != RC_OK || !bind) {
        authz_ui_pending_error(r, w, HTTP_ERRORS(consent_errors), rc, lang);
        return;
    }
    http_set_client(r, pg.req.client_id);
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "consent_title"))},
        {"client_name", span_str(pg.client_name)},
        {"authz", id},
        {"csrf", span_str(pg.csrf)},
        {"lang", span_str(authz_ui_lang_code(lang))},
        {"claims_html", span_str(claims_html(r, &pg, lang))},
        {"asks_id_number", pg.asks_id_number ? SPAN("1") : SPAN("")},
        {"lang_zh_url", span_str(lang_url(r, id, "zh"))},
        {"lang_en_url", span_str(lang_url(r, id, "en"))},
    };
    buf_init(&b, 1u << 20);
    if (tmpl_render(&b, "consent.html", lang, vars, sizeof(vars) / sizeof(vars[0])) != RC_OK) {
        buf_clear(&b);
        authz_ui_error(r, w, 500, "error_title", lang);
        return;
    }
    http_html(r, w, 200, &b);
}

static void
route_consent(struct http_req *r, struct http_resp *w)
{
    static const struct span none = {(const uint8_t *)"", 0};
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    struct authorize_result res;
    struct form f;
    enum rc rc;

    if ((rc = form_parse(&r->arena, raw.p, raw.len, &f, NULL)) != RC_OK) {
        authz_ui_pending_error(r, w, HTTP_ERRORS(consent_errors), rc, authz_ui_lang(r, NULL, NULL));
        return;
    }
    const struct span *id = form_get(&f, "authz"), *csrf = form_get(&f, "csrf");
    const struct span *action = form_get(&f, "action"), *share = form_get(&f, "share_id_number");
    if (r->method != HTTP_POST) {
        show(r, w, id ? *id : none, form_get(&f, "lang"));
        return;
    }
    struct consent_form cf = {
        .pending = id ? *id : none,
        .csrf = csrf ? *csrf : none,
        .bind = span_str(http_cookie(r, AUTHZ_BIND_COOKIE)),
        .session_cookie = span_str(http_cookie(r, SESSION_COOKIE)),
        .approve = action && span_eq_str(*action, "approve"),
        .share_id_number = share && span_eq_str(*share, "1"),
    };
    rc = authorize_consent(r->app, &r->arena, &cf, &res);
    authz_ui_result(r, w, &res, rc, HTTP_ERRORS(consent_errors),
                    authz_ui_lang(r, form_get(&f, "lang"), NULL));
}

ROUTE(consent, "/consent", HTTP_GET | HTTP_POST, route_consent)
