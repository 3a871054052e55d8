/* /account: the citizen's account page (flow/account_page.h; docs/mfa.md, The account page).
 *
 *   GET  /account[?lang=zh|en]  the page; without an SSO session a redirect (302) to the
 *                               login of the page's own client, which comes back here
 *   POST /account  csrf, lang, action=end_session&sid=SID | action=revoke_consent&client=ID
 *                  303 to /account when done, 303 to the login when the session is not
 *                  fresh enough for a change (or is gone);
 *                  403 page: csrf missing or wrong (nothing changed);
 *                  400 page: an unknown action, a bad sid or client, the current session;
 *                  503 page: the store cannot answer.
 *
 * Factor links follow the convention of flow/account_page.h: /mfa/<authenticator
 * name>?return=/account for each authenticator that raises a session, and
 * /mfa/recovery?return=/account for the recovery codes. No JavaScript; the security
 * headers of every page (http/resp.c http_html). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/form.h"
#include "core/html.h"
#include "core/loa.h"
#include "flow/access_log.h"
#include "flow/account_page.h"
#include "http/authz_ui.h"
#include "http/router.h"
#include "port/store.h"
#include "util/num.h"

static const struct http_error account_errors[] = {
    {RC_DENIED, RC_WHY_CSRF, 403, NULL, "account_csrf_failed", NULL},
    {RC_ANY, RC_WHY_PARAM, 400, NULL, "account_bad_request", NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, NULL, "account_unavailable", NULL},
    {RC_ANY, RC_WHY_ANY, 500, NULL, "account_unavailable", NULL},
};

/* Beijing time (UTC+8, no daylight saving): what citizens read times in. */
static const char *
when(struct arena *a, int64_t t, enum lang lang)
{
    time_t bj = (time_t)(t + 8 * 3600);
    struct tm tm;
    char s[32];

    if (!gmtime_r(&bj, &tm) || strftime(s, sizeof(s), "%Y-%m-%d %H:%M", &tm) == 0)
        return "?";
    return arena_printf(a, "%s (%s)", s, tmpl_t(lang, "account_time_zone"));
}

struct page {
    struct http_req *r;
    struct buf b;
    enum lang lang;
    struct span csrf, lang_code;
};

static void
esc(struct page *p, const char *s)
{
    html_escape(&p->b, span_str(s ? s : ""));
}

static void
text(struct page *p, const char *key)
{
    html_escape(&p->b, span_str(tmpl_t(p->lang, key)));
}

/* One part of an item's meta line: " · " unless first, the label (key, may be NULL), the
 * value escaped. */
static void
meta(struct page *p, bool first, const char *key, const char *value)
{
    if (!first)
        buf_append_str(&p->b, " · ");
    if (key) {
        text(p, key);
        buf_append_str(&p->b, " ");
    }
    esc(p, value);
}

/* A one-button POST form of this page; name/value the item's field. */
static void
button(struct page *p, const char *action, const char *name, const char *value, const char *label)
{
    buf_append_str(&p->b, "<form method=\"post\" action=\"/account\">"
                          "<input type=\"hidden\" name=\"csrf\" value=\"");
    html_escape(&p->b, p->csrf);
    buf_append_str(&p->b, "\"><input type=\"hidden\" name=\"lang\" value=\"");
    html_escape(&p->b, p->lang_code);
    buf_printf(&p->b,
               "\"><input type=\"hidden\" name=\"action\" value=\"%s\">"
               "<input type=\"hidden\" name=\"%s\" value=\"",
               action, name);
    esc(p, value);
    buf_append_str(&p->b, "\"><button type=\"submit\" class=\"secondary\">");
    text(p, label);
    buf_append_str(&p->b, "</button></form>");
}

/* The fragment built so far, in the arena; the buffer starts again. */
static const char *
take(struct page *p)
{
    const char *s = arena_strndup(&p->r->arena, p->b.p ? (const char *)p->b.p : "", p->b.len);

    buf_reset(&p->b);
    return s;
}

static const char *
factors_html(struct page *p, const struct account_view *v)
{
    if (!v->second_factor)
        buf_printf(&p->b, "<p class=\"hint\" id=\"no-factor\">%s</p>",
                   tmpl_t(p->lang, "account_no_factor"));
    if (v->nfactors)
        buf_append_str(&p->b, "<ul class=\"items\">");
    for (size_t i = 0; i < v->nfactors; i++) {
        const struct account_factor *f = &v->factors[i];
        const char *key = arena_printf(&p->r->arena, "authn_%s", f->name);
        const char *label = key ? tmpl_t(p->lang, key) : NULL;
        buf_append_str(&p->b, "<li><span class=\"what\">");
        esc(p, label && strcmp(label, key) != 0 ? label : f->name);
        buf_append_str(&p->b, "</span> <span class=\"meta\">");
        text(p, f->enrolled ? "account_factor_on" : "account_factor_off");
        buf_append_str(&p->b, "</span>");
        if (f->page) {
            buf_append_str(&p->b, " <a href=\"");
            esc(p, f->page);
            buf_append_str(&p->b, "?return=%2Faccount\">");
            text(p, f->enrolled ? "account_factor_manage" : "account_factor_enrol");
            buf_append_str(&p->b, "</a>");
        }
        buf_append_str(&p->b, "</li>");
    }
    if (v->nfactors)
        buf_append_str(&p->b, "</ul>");
    return take(p);
}

static void
level(struct page *p, struct loa l)
{
    char acr[LOA_ACR_MAX];

    loa_format(l, acr);
    meta(p, false, "account_level",
         strncmp(acr, LOA_ACR_PREFIX, strlen(LOA_ACR_PREFIX)) == 0 ? acr + strlen(LOA_ACR_PREFIX)
                                                                   : acr);
}

static const char *
sessions_html(struct page *p, const struct account_view *v)
{
    struct app *app = p->r->app;

    for (size_t i = 0; i < v->nsessions; i++) {
        const struct session *s = &v->sessions[i];
        bool me = strcmp(s->sid, v->current.sid) == 0;
        buf_append_str(&p->b, "<li class=\"session\" data-sid=\"");
        esc(p, s->sid);
        buf_append_str(&p->b, "\"><span class=\"what\">");
        if (s->device && *s->device && strcmp(s->device, "?") != 0)
            esc(p, s->device);
        else
            text(p, "account_unknown_device");
        buf_append_str(&p->b, "</span>");
        if (me) {
            buf_append_str(&p->b, " <span class=\"this\">");
            text(p, "account_this_session");
            buf_append_str(&p->b, "</span>");
        }
        buf_append_str(&p->b, "<br><span class=\"meta\">");
        meta(p, true, "account_signed_in", when(&p->r->arena, s->auth_time, p->lang));
        meta(p, false, "account_last_seen", when(&p->r->arena, s->last_seen, p->lang));
        if (s->channel && *s->channel)
            meta(p, false, "account_via", account_page_client_name(app, &p->r->arena, s->channel));
        level(p, s->loa);
        buf_append_str(&p->b, "</span>");
        if (!me)
            button(p, "end_session", "sid", s->sid, "account_end_session");
        buf_append_str(&p->b, "</li>");
    }
    return take(p);
}

static const char *
consents_html(struct page *p, const struct account_view *v)
{
    for (size_t i = 0; i < v->nconsents; i++) {
        const struct consent *c = &v->consents[i];
        buf_append_str(&p->b, "<li class=\"consent\"><span class=\"what\">");
        esc(p, account_page_client_name(p->r->app, &p->r->arena, c->client_id));
        buf_append_str(&p->b, "</span><br><span class=\"meta\">");
        meta(p, true, "account_scopes", c->scope);
        buf_append_str(&p->b, "</span>");
        button(p, "revoke_consent", "client", c->client_id, "account_revoke");
        buf_append_str(&p->b, "</li>");
    }
    return take(p);
}

static const char *
signins_html(struct page *p, const struct account_view *v)
{
    for (size_t i = 0; i < v->nsignins; i++) {
        const struct signin *e = &v->signins[i];
        buf_printf(&p->b, "<li class=\"signin signin-%s\"><span class=\"%s\">",
                   e->ok ? "ok" : "failed", e->ok ? "what" : "failed");
        text(p, e->ok ? "account_signin_ok" : "account_signin_failed");
        buf_append_str(&p->b, "</span><br><span class=\"meta\">");
        meta(p, true, NULL, when(&p->r->arena, e->time, p->lang));
        if (*e->channel)
            meta(p, false, "account_via",
                 account_page_client_name(p->r->app, &p->r->arena, e->channel));
        meta(p, false, "account_from", e->addr);
        if (*e->acr) {
            struct loa l;
            if (loa_parse(span_str(e->acr), &l) == RC_OK)
                level(p, l);
        }
        buf_append_str(&p->b, "</span></li>");
    }
    return take(p);
}

static void
show(struct http_req *r, struct http_resp *w, const struct account_view *v, enum lang lang)
{
    struct page p = {r, {0}, lang, span_str(v->csrf), span_str(authz_ui_lang_code(lang))};

    buf_init(&p.b, 1u << 20);
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "account_title"))},
        {"fresh", span_str(v->fresh ? "1" : "")},
        {"factors_html", span_str(factors_html(&p, v))},
        {"sessions_html", span_str(sessions_html(&p, v))},
        {"consents_html", span_str(consents_html(&p, v))},
        {"signins_html", span_str(signins_html(&p, v))},
        {"lang_zh_url", SPAN("/account?lang=zh")},
        {"lang_en_url", SPAN("/account?lang=en")},
        {"access_url", span_str(arena_printf(&r->arena, "/account/access-log?lang=%s",
                                             authz_ui_lang_code(lang)))},
    };
    buf_clear(&p.b);
    authz_ui_page(r, w, 200, "account.html", lang, vars, sizeof(vars) / sizeof(vars[0]));
}

static void
answer(struct http_req *r, struct http_resp *w, const struct account_result *res, enum rc rc,
       enum lang lang)
{
    int redirect = r->method == HTTP_POST ? 303 : 302; /* RFC 9700 §4.11 */

    if (res->set_cookie)
        http_add_header(w, "Set-Cookie", res->set_cookie);
    if (res->kind == ACCOUNT_LOGIN)
        http_redirect(r, w, redirect, res->location);
    else if (res->kind == ACCOUNT_DONE)
        http_redirect(r, w, 303,
                      arena_printf(&r->arena, "/account?lang=%s", authz_ui_lang_code(lang)));
    else
        authz_ui_error_answer(r, w, HTTP_ERRORS(account_errors), rc, &res->why, lang);
}

static struct span
field(const struct form *f, const char *name)
{
    const struct span *v = form_get(f, name);

    return v ? *v : (struct span){(const uint8_t *)"", 0};
}

/* The form of the request (raw: its query or body), the browser's context and its language;
 * false when the form does not parse (a 400 page is answered). */
static bool
request(struct http_req *r, struct http_resp *w, struct span raw, struct form *f,
        struct account_ctx *ctx, enum lang *lang)
{
    enum rc rc;

    *ctx = (struct account_ctx){
        span_str(http_cookie(r, SESSION_COOKIE)), {0}, NULL, r->secure_cookies};
    if ((rc = form_parse(&r->arena, raw.p, raw.len, f, NULL)) != RC_OK) {
        struct rc_info ri = {0};
        rc_because(&ri, rc, RC_WHY_PARAM);
        authz_ui_error_answer(r, w, HTTP_ERRORS(account_errors), rc, &ri,
                              authz_ui_lang(r, NULL, NULL));
        return false;
    }
    *lang = authz_ui_lang(r, form_get(f, "lang"), NULL);
    ctx->lang = authz_ui_lang_code(*lang);
    ctx->bind = span_str(authz_ui_bind(r, w));
    return true;
}

static void
route_account(struct http_req *r, struct http_resp *w)
{
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    struct account_ctx ctx;
    struct account_result res;
    struct account_view v;
    struct form f;
    enum lang lang;
    enum rc rc;

    if (!request(r, w, raw, &f, &ctx, &lang))
        return;
    if (r->method == HTTP_POST) {
        struct account_change c = {field(&f, "csrf"), field(&f, "action"), field(&f, "sid"),
                                   field(&f, "client")};
        rc = account_page_change(r->app, &r->arena, &ctx, &c, &res);
    } else if ((rc = account_page_view(r->app, &r->arena, &ctx, &v, &res)) == RC_OK
               && res.kind == ACCOUNT_VIEW) {
        show(r, w, &v, lang);
        return;
    }
    answer(r, w, &res, rc, lang);
}

ROUTE(account, "/account", HTTP_GET | HTTP_POST, route_account)

/* ---- /account/access-log (flow/access_log.h) ------------------------------------------- */

/* A label whose string is keyed "<prefix><code>" (an outcome), else the code itself. */
static void
coded(struct page *p, bool first, const char *label, const char *prefix, const char *code)
{
    const char *key = arena_printf(&p->r->arena, "%s%s", prefix, code);
    const char *t = key ? tmpl_t(p->lang, key) : NULL;

    meta(p, first, label, t && strcmp(t, key) != 0 ? t : code);
}

static const char *const access_titles[] = {
    [ACCESS_LOOKUP] = "access_lookup",
    [ACCESS_CONSENT_REQUEST] = "access_consent_request",
    [ACCESS_CONSENT_ANSWER] = "access_consent_answer",
    [ACCESS_ACT] = "access_act",
    [ACCESS_RELEASE] = "access_release",
    [ACCESS_CARD_LOGIN] = "access_card_login",
    [ACCESS_OTHER] = "access_other",
};

static const char *const access_classes[] = {
    [ACCESS_LOOKUP] = "lookup",
    [ACCESS_CONSENT_REQUEST] = "consent-request",
    [ACCESS_CONSENT_ANSWER] = "consent-answer",
    [ACCESS_ACT] = "act",
    [ACCESS_RELEASE] = "release",
    [ACCESS_CARD_LOGIN] = "card-login",
    [ACCESS_OTHER] = "other",
};

static void
access_entry_html(struct page *p, const struct access_entry *e)
{
    buf_printf(&p->b, "<li class=\"access access-%s\" data-seq=\"%llu\"><span class=\"what\">",
               access_classes[e->kind], (unsigned long long)e->seq);
    text(p, access_titles[e->kind]);
    if (e->kind == ACCESS_OTHER) {
        buf_append_str(&p->b, " (");
        esc(p, e->ev);
        buf_append_str(&p->b, ")");
    }
    buf_append_str(&p->b, "</span><br><span class=\"meta\">");
    meta(p, true, NULL, when(&p->r->arena, e->ts, p->lang));
    if (e->agent_name || e->emp) {
        meta(p, false, "access_agent", e->agent_name ? e->agent_name : "");
        if (e->emp) {
            buf_append_str(&p->b, e->agent_name ? " (" : "(");
            text(p, "access_emp");
            buf_append_str(&p->b, " ");
            esc(p, e->emp);
            buf_append_str(&p->b, ")");
        }
    }
    if (e->service)
        meta(p, false, "access_service", e->service);
    if (e->audience)
        meta(p, false, "access_audience",
             account_page_client_name(p->r->app, &p->r->arena, e->audience));
    if (e->purpose)
        meta(p, false, "access_purpose", e->purpose);
    if (e->by)
        coded(p, false, "access_by", "access_by_", e->by);
    if (e->idn)
        meta(p, false, "access_number", e->idn);
    if (e->via)
        coded(p, false, "access_via", "access_via_", e->via);
    if (e->kiosk)
        meta(p, false, "access_kiosk", e->kiosk);
    if (e->location)
        meta(p, false, "access_location", e->location);
    if (e->outcome)
        coded(p, false, "access_outcome", "access_outcome_", e->outcome);
    buf_append_str(&p->b, "</span></li>");
}

static void
show_access(struct http_req *r, struct http_resp *w, const struct access_view *v, enum lang lang)
{
    struct page p = {r, {0}, lang, {0}, span_str(authz_ui_lang_code(lang))};
    const char *code = authz_ui_lang_code(lang), *html;

    buf_init(&p.b, 1u << 20);
    for (size_t i = 0; i < v->n; i++)
        access_entry_html(&p, &v->entries[i]);
    html = take(&p);
    buf_clear(&p.b);
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "access_title"))},
        {"access_html", span_str(html)},
        {"newer_url",
         span_str(v->first ? "" : arena_printf(&r->arena, "/account/access-log?lang=%s", code))},
        {"older_url",
         span_str(v->older ? arena_printf(&r->arena, "/account/access-log?lang=%s&before=%llu",
                                          code, (unsigned long long)v->older)
                           : "")},
        {"back_url", span_str(arena_printf(&r->arena, "/account?lang=%s", code))},
        {"lang_zh_url", SPAN("/account/access-log?lang=zh")},
        {"lang_en_url", SPAN("/account/access-log?lang=en")},
    };
    authz_ui_page(r, w, 200, "access_log.html", lang, vars, sizeof(vars) / sizeof(vars[0]));
}

/* GET /account/access-log[?lang=zh|en][&before=SEQ]: the citizen's access log, a page of 20
 * records older than SEQ (default: the newest); without an SSO session a redirect (302) to
 * the account page's login; 400 page: a before that is not a number; 503 page: the store. */
static void
route_access_log(struct http_req *r, struct http_resp *w)
{
    struct account_ctx ctx;
    struct account_result res;
    struct access_view v;
    const struct span *b;
    uint64_t before = 0;
    struct form f;
    enum lang lang;
    enum rc rc;
    struct rc_info ri = {0};

    if (!request(r, w, r->query, &f, &ctx, &lang))
        return;
    if ((b = form_get(&f, "before")) != NULL
        && num_parse_u64(*b, 1, (uint64_t)STORE_INDEX_SCORE_MAX, &before) != RC_OK) {
        rc_fail(&ri, RC_MALFORMED, RC_WHY_PARAM, "before", "not a record number");
        authz_ui_error_answer(r, w, HTTP_ERRORS(account_errors), RC_MALFORMED, &ri, lang);
        return;
    }
    if ((rc = access_log_view(r->app, &r->arena, &ctx, before, &v, &res)) == RC_OK
        && res.kind == ACCOUNT_VIEW) {
        show_access(r, w, &v, lang);
        return;
    }
    answer(r, w, &res, rc, lang);
}

ROUTE(account_access_log, "/account/access-log", HTTP_GET, route_access_log)
