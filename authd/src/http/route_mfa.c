/* The citizen's TOTP app and recovery codes (docs/mfa.md), for a browser with a session
 * (the `authd_session` cookie); without one, 401 and a page saying to sign in first.
 *
 * GET  /mfa/totp[?authz=ID][&lang=zh|en]
 *      Not enrolled: the enrolment page (an inline SVG QR code of the otpauth:// URI, the
 *      secret in text, a code field). Enrolled: buttons to regenerate the recovery codes
 *      and to remove the app. `authz` (a pending authorization request, from the
 *      second-factor page) is carried on so that the citizen goes back to it.
 * POST /mfa/totp  csrf, action=confirm, code[, authz]
 *      200 the recovery codes (shown once) and a link on: /login?authz=ID&authn=totp (the
 *      step-up, with a code of the new app) or /account; 400 mfa_failed (wrong, reused or
 *      malformed code: the enrolment page again), 400 mfa_enrol_expired, 409 mfa_already,
 *      429 login_limited (Retry-After), 503 login_unavailable.
 * POST /mfa/totp  csrf, action=remove
 *      200 removed; 403 mfa_reauth (the session is not aal2 within mfa_remove_max_age_s).
 * POST /mfa/recovery  csrf
 *      200 ten new recovery codes (the old ones stop working); 403 mfa_reauth; 409
 *      mfa_enrol_link (no app enrolled).
 * Every POST: 403 csrf_failed for a bad token (bound to the session), 400 for a body that
 * does not parse. Pages carry the security headers of every page (http_html). */
#include <openssl/crypto.h>
#include <string.h>

#include "core/form.h"
#include "core/html.h"
#include "core/qr.h"
#include "flow/authorize.h"
#include "flow/csrf.h"
#include "flow/session.h"
#include "flow/totp.h"
#include "http/authz_ui.h"
#include "http/router.h"
#include "log/log.h"

static const struct http_error confirm_errors[] = {
    {RC_DENIED, RC_WHY_ANY, 400, NULL, "mfa_failed", NULL},
    {RC_MALFORMED, RC_WHY_ANY, 400, NULL, "mfa_failed", NULL},
    {RC_EXPIRED, RC_WHY_ANY, 400, NULL, "mfa_enrol_expired", NULL},
    {RC_CONFLICT, RC_WHY_ANY, 409, NULL, "mfa_already", NULL},
    {RC_LIMITED, RC_WHY_ANY, 429, NULL, "login_limited", NULL}, /* RFC 6585 §4 */
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, NULL, "login_unavailable", NULL},
    {RC_ANY, RC_WHY_ANY, 500, NULL, "error_title", NULL},
};
static const struct http_error change_errors[] = {
    /* remove, regenerate */
    {RC_EXPIRED, RC_WHY_ANY, 403, NULL, "mfa_reauth", NULL},
    {RC_DENIED, RC_WHY_ANY, 409, NULL, "mfa_enrol_link", NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, NULL, "login_unavailable", NULL},
    {RC_ANY, RC_WHY_ANY, 500, NULL, "error_title", NULL},
};

/* One request to these pages: its session, language and form. */
struct mfa_call {
    struct http_req *r;
    struct http_resp *w;
    struct session s;
    enum lang lang;
    struct form f;
    struct span authz; /* a well-formed pending request id, or empty */
    char csrf[CSRF_LEN + 1];
};

static const char *
self_url(struct mfa_call *c, const char *lang)
{
    struct buf b;
    const char *s = NULL;

    buf_init(&b, 4096);
    if (buf_append_str(&b, "/mfa/totp?") == RC_OK
        && (!c->authz.len || form_append(&b, "authz", c->authz) == RC_OK)
        && form_append(&b, "lang", span_str(lang)) == RC_OK)
        s = arena_strndup(&c->r->arena, b.p, b.len);
    buf_clear(&b);
    return s;
}

/* Where the citizen goes on: back to the authorization request (its step-up) or to the
 * account page. */
static const char *
continue_url(struct mfa_call *c)
{
    if (!c->authz.len)
        return "/account";
    return arena_printf(&c->r->arena, "/login?authz=%.*s&authn=totp&lang=%s", (int)c->authz.len,
                        (const char *)c->authz.p, authz_ui_lang_code(c->lang));
}

/* The secret in groups of four, for typing by hand. */
static const char *
grouped(struct arena *a, const char *b32)
{
    size_t n = strlen(b32);
    char *out = arena_alloc(a, n + n / 4 + 1), *p = out;

    for (size_t i = 0; out && i < n; i++) {
        if (i && i % 4 == 0)
            *p++ = ' ';
        *p++ = b32[i];
    }
    if (out)
        *p = 0;
    return out;
}

/* The enrolment page (or, enrolled, the manage buttons), with message key msg. */
static void
show_totp(struct mfa_call *c, int status, const char *msg)
{
    struct totp_enrolment e;
    struct buf svg;
    const char *qr = NULL, *secret = NULL;
    enum rc rc = totp_enrol_begin(c->r->app, &c->r->arena, c->s.account_id, &e);

    if (rc != RC_OK && rc != RC_CONFLICT) {
        authz_ui_error(c->r, c->w, rc == RC_UNAVAILABLE ? 503 : 500,
                       rc == RC_UNAVAILABLE ? "login_unavailable" : "error_title", c->lang);
        return;
    }
    buf_init(&svg, 1u << 20);
    if (rc == RC_OK && qr_svg(&svg, span_str(e.uri), 4, tmpl_t(c->lang, "mfa_totp_step2")) == RC_OK)
        qr = arena_strndup(&c->r->arena, svg.p, svg.len);
    if (rc == RC_OK)
        secret = grouped(&c->r->arena, e.secret_b32);
    buf_clear(&svg);
    OPENSSL_cleanse(&e, sizeof(e));
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(c->lang, "mfa_totp_title"))},
        {"message", span_str(msg ? tmpl_t(c->lang, msg) : NULL)},
        {"qr_svg", span_str(qr)},
        {"secret", span_str(secret)},
        {"enrolled", span_str(rc == RC_CONFLICT ? "1" : NULL)},
        {"csrf", span_str(c->csrf)},
        {"lang", span_str(authz_ui_lang_code(c->lang))},
        {"authz", c->authz},
        {"continue_url", span_str(rc == RC_CONFLICT ? continue_url(c) : NULL)},
        {"lang_zh_url", span_str(self_url(c, "zh"))},
        {"lang_en_url", span_str(self_url(c, "en"))},
    };
    if (rc == RC_OK && !qr) {
        authz_ui_error(c->r, c->w, 500, "error_title", c->lang);
        return;
    }
    authz_ui_page(c->r, c->w, status, "mfa_totp.html", c->lang, vars,
                  sizeof(vars) / sizeof(vars[0]));
}

/* The codes page: each code as "abcde-fghij", escaped, then wiped. */
static void
show_codes(struct mfa_call *c, char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1])
{
    char shown[OTP_RECOVERY_LEN + 2];
    struct buf b;
    const char *html;

    buf_init(&b, 4096);
    for (size_t i = 0; i < TOTP_NCODES; i++) {
        otp_recovery_display(codes[i], shown);
        buf_append_str(&b, "<li><code>");
        html_escape(&b, span_str(shown));
        buf_append_str(&b, "</code></li>");
    }
    OPENSSL_cleanse(shown, sizeof(shown));
    OPENSSL_cleanse(codes, sizeof(char[TOTP_NCODES][OTP_RECOVERY_LEN + 1]));
    html = arena_strndup(&c->r->arena, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(c->lang, "mfa_codes_title"))},
        {"codes_html", span_str(html)},
        {"continue_url", span_str(continue_url(c))},
        {"lang_zh_url", span_str(self_url(c, "zh"))},
        {"lang_en_url", span_str(self_url(c, "en"))},
    };
    authz_ui_page(c->r, c->w, 200, "mfa_codes.html", c->lang, vars, sizeof(vars) / sizeof(vars[0]));
}

static void
log_event(const char *ev, enum rc rc)
{
    struct log_rec *rec = log_begin(rc == RC_OK ? LOG_INFO : LOG_WARN, ev);

    log_str(rec, "rc", rc_name(rc));
    log_end(rec);
}

/* The answer of row e for a change that failed: the page with the message, or for a 429
 * the same with Retry-After. */
static void
refused(struct mfa_call *c, const struct http_error *e, uint32_t retry_s)
{
    if (e->status == 429)
        http_add_header(c->w, "Retry-After",
                        arena_printf(&c->r->arena, "%u", retry_s ? retry_s : 60));
    if (e->status == 400 || e->status == 409 || e->status == 429 || e->status == 403) {
        show_totp(c, e->status, e->key);
        return;
    }
    authz_ui_error(c->r, c->w, e->status, e->key, c->lang);
}

static void
confirm(struct mfa_call *c)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    const struct span *code = form_get(&c->f, "code");
    uint32_t retry = 0;
    enum rc rc = totp_enrol_confirm(c->r->app, &c->r->arena, c->s.account_id,
                                    code ? *code : SPAN(""), codes, &retry);

    if (code)
        OPENSSL_cleanse((void *)code->p, code->len);
    log_event("mfa.totp.enrol", rc);
    if (rc != RC_OK) {
        refused(c, http_error_find(HTTP_ERRORS(confirm_errors), rc, NULL), retry);
        return;
    }
    show_codes(c, codes);
}

static void
change(struct mfa_call *c, bool regenerate)
{
    char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1];
    enum rc rc = regenerate ? totp_recovery_regenerate(c->r->app, &c->r->arena, &c->s, codes)
                            : totp_remove(c->r->app, &c->r->arena, &c->s);

    log_event(regenerate ? "mfa.recovery.regenerate" : "mfa.totp.remove", rc);
    if (rc != RC_OK) {
        refused(c, http_error_find(HTTP_ERRORS(change_errors), rc, NULL), 0);
        return;
    }
    if (regenerate) {
        show_codes(c, codes);
        return;
    }
    show_totp(c, 200, "mfa_totp_removed");
}

/* Parses the request, loads the session and computes the page's CSRF token. false: the
 * answer is written. */
static bool
begin(struct mfa_call *c, struct http_req *r, struct http_resp *w)
{
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    const struct span *id;
    struct span tag;
    enum rc rc;

    memset(c, 0, sizeof(*c));
    c->r = r, c->w = w;
    if (form_parse(&r->arena, raw.p, raw.len, &c->f, NULL) != RC_OK) {
        authz_ui_error(r, w, 400, "error_title", authz_ui_lang(r, NULL, NULL));
        return false;
    }
    c->lang = authz_ui_lang(r, form_get(&c->f, "lang"), NULL);
    id = form_get(&c->f, "authz");
    if (id && id->len == AUTHZ_PENDING_LEN && span_is_b64url(*id))
        c->authz = *id;
    rc = session_load(r->app, &r->arena, span_str(http_cookie(r, SESSION_COOKIE)), &c->s);
    if (rc != RC_OK) {
        authz_ui_error(r, w, rc == RC_UNAVAILABLE ? 503 : 401,
                       rc == RC_UNAVAILABLE ? "login_unavailable" : "mfa_signin", c->lang);
        return false;
    }
    tag = span_str(c->s.tag);
    if (csrf_make(r->app, "mfa", &tag, 1, c->csrf) != RC_OK) {
        authz_ui_error(r, w, 500, "error_title", c->lang);
        return false;
    }
    if (r->method != HTTP_POST)
        return true;
    id = form_get(&c->f, "csrf");
    if (!id || !csrf_check(r->app, "mfa", &tag, 1, *id)) {
        authz_ui_error(r, w, 403, "csrf_failed", c->lang);
        return false;
    }
    return true;
}

static void
route_mfa_totp(struct http_req *r, struct http_resp *w)
{
    struct mfa_call c;
    const struct span *action;

    if (!begin(&c, r, w))
        return;
    if (r->method != HTTP_POST) {
        show_totp(&c, 200, NULL);
        return;
    }
    action = form_get(&c.f, "action");
    if (action && span_eq_str(*action, "remove"))
        change(&c, false);
    else
        confirm(&c);
}

static void
route_mfa_recovery(struct http_req *r, struct http_resp *w)
{
    struct mfa_call c;

    if (begin(&c, r, w))
        change(&c, true);
}

ROUTE(mfa_totp, "/mfa/totp", HTTP_GET | HTTP_POST, route_mfa_totp)
ROUTE(mfa_recovery, "/mfa/recovery", HTTP_POST, route_mfa_recovery)
