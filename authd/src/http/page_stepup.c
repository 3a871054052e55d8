/* The second-factor page (see page_stepup.h). */
#include "http/page_stepup.h"

#include <string.h>

#include "core/form.h"
#include "core/html.h"
#include "flow/authn.h"
#include "flow/session.h"
#include "http/authz_ui.h"

bool
stepup_page_wanted(struct span name)
{
    const struct authn *m = name.len ? authn_find(name) : NULL;

    return m && (m->needs & AUTHN_NEEDS_SESSION);
}

/* "/login?authz=ID&authn=NAME&lang=L" or "/mfa/totp?authz=ID&lang=L", in the arena. */
static const char *
page_url(struct http_req *r, const char *path, struct span id, const char *authn, const char *lang)
{
    struct buf b;
    const char *s = NULL;

    buf_init(&b, 4096);
    if (buf_append_str(&b, path) == RC_OK && buf_append_str(&b, "?") == RC_OK
        && form_append(&b, "authz", id) == RC_OK
        && (!authn || form_append(&b, "authn", span_str(authn)) == RC_OK)
        && form_append(&b, "lang", span_str(lang)) == RC_OK)
        s = arena_strndup(&r->arena, b.p, b.len);
    buf_clear(&b);
    return s;
}

/* <li> links to the other factors the account has, escaped, in the arena. */
static const char *
others_html(struct http_req *r, const struct authorize_factors *f, struct span id, const char *lang)
{
    struct buf b;
    const char *s;

    buf_init(&b, 16384);
    for (size_t i = 0; i < f->nother; i++) {
        const char *u = page_url(r, "/login", id, f->other[i], lang);
        buf_append_str(&b, "<li><a href=\"");
        html_escape(&b, span_str(u ? u : ""));
        buf_append_str(&b, "\">");
        html_escape(&b, span_str(f->other[i]));
        buf_append_str(&b, "</a></li>");
    }
    s = arena_strndup(&r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return s;
}

void
stepup_page_show(struct http_req *r, struct http_resp *w, const struct authorize_page *pg,
                 const struct stepup_view *v, enum lang lang)
{
    struct authorize_factors f;
    const char *code = authz_ui_lang_code(lang), *msg = v->retry;

    if (authorize_factors(r->app, &r->arena, &pg->req, span_str(http_cookie(r, SESSION_COOKIE)),
                          v->authn, &f)
            != RC_OK
        || !f.asked) {
        authz_ui_error(r, w, 400, "login_expired", lang);
        return;
    }
    if (!msg && v->message) /* a wrong code is not a wrong password */
        msg = tmpl_t(lang, strcmp(v->message, "login_failed") == 0 ? "mfa_failed" : v->message);
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "mfa_stepup_title"))},
        {"client_name", span_str(pg->client_name)},
        {"authz", v->id},
        {"authn", span_str(f.asked)},
        {"csrf", span_str(pg->csrf)},
        {"lang", span_str(code)},
        {"message", span_str(msg)},
        {"enrolled", span_str(f.asked_enrolled ? "1" : "")},
        {"challenge", span_str(f.asked_challenge ? "1" : "")},
        {"factor_hint", span_str(tmpl_t(lang, strcmp(f.asked, "totp") == 0 ? "mfa_factor_totp"
                                                                           : "mfa_factor_other"))},
        {"enrol_url", span_str(page_url(r, "/mfa/totp", v->id, NULL, code))},
        {"others_html", span_str(others_html(r, &f, v->id, code))},
        {"lang_zh_url", span_str(page_url(r, "/login", v->id, f.asked, "zh"))},
        {"lang_en_url", span_str(page_url(r, "/login", v->id, f.asked, "en"))},
    };
    authz_ui_page(r, w, v->status ? v->status : 200, "stepup.html", lang, vars,
                  sizeof(vars) / sizeof(vars[0]));
}
