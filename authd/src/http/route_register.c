/* Real-name registration: the page (GET/POST /register, works without JavaScript) and the
 * JSON API (POST /api/register). Both call account_register_ex; this file only parses,
 * checks the CSRF token of the page, and renders.
 *
 * CSRF (OWASP "synchronizer token", double-submit variant keyed on the server): GET sets a
 * random per-form nonce in a short-lived HttpOnly SameSite=Strict cookie and puts the
 * registration form's CSRF token bound to that nonce (flow/csrf.h) in the form; POST
 * recomputes it from the cookie and compares in constant time. The API takes only application/json, which a cross-site HTML form cannot
 * send without a CORS preflight we never grant. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>

#include "core/form.h"
#include "flow/account.h"
#include "flow/csrf.h"
#include "http/router.h"
#include "http/tmpl.h"

#define CSRF_COOKIE      "authd_reg"
#define CSRF_NONCE_BYTES 16
#define CSRF_MAX_AGE_S   1800
#define API_MAX_BODY     4096
#define RETURN_TO_MAX    2048
#define UI_LOCALES_MAX   64

enum { F_ID, F_NAME, F_PHONE, F_PW, F_PW2, F_CONSENT, F__COUNT };
static const char *const field_names[F__COUNT] = {"id_number", "name",      "phone",
                                                  "password",  "password2", "consent"};
static const char *const err_vars[F__COUNT] = {"err_id_number", "err_name",      "err_phone",
                                               "err_password",  "err_password2", "err_consent"};

/* Everything the form page shows. */
struct page {
    enum lang lang;
    struct span ui_locales, return_to; /* validated, may be empty */
    struct span v[3];                  /* kept values: id_number, name, phone */
    bool consent;
    const char *err[F__COUNT];
    const char *err_form;
};

static char *
hex(struct arena *a, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = arena_alloc(a, 2 * n + 1);

    for (size_t i = 0; s && i < n; i++)
        s[2 * i] = digits[p[i] >> 4], s[2 * i + 1] = digits[p[i] & 15];
    return s;
}

/* Makes a fresh nonce, sets its cookie, returns the token for the form (NULL on failure). */
static const char *
csrf_issue(struct http_req *r, struct http_resp *w)
{
    uint8_t raw[CSRF_NONCE_BYTES];
    char *nonce, *token = arena_alloc(&r->arena, 65);
    const char *cookie;

    if (!token || rng_bytes(r->app->rng, raw, sizeof(raw)) != RC_OK)
        return NULL;
    nonce = hex(&r->arena, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    if (!nonce || csrf_make(r->app, "register", &(struct span){(uint8_t *)nonce, 32}, 1, token))
        return NULL;
    /* under TLS: __Host-, which needs Secure and Path=/ (http_cookie reads that name) */
    cookie = r->secure_cookies
                 ? arena_printf(&r->arena,
                                HTTP_COOKIE_HOST CSRF_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; "
                                                             "SameSite=Strict; Secure",
                                nonce, CSRF_MAX_AGE_S)
                 : arena_printf(&r->arena,
                                CSRF_COOKIE "=%s; Path=/register; Max-Age=%d; HttpOnly; "
                                            "SameSite=Strict",
                                nonce, CSRF_MAX_AGE_S);
    if (!cookie || http_add_header(w, "Set-Cookie", cookie) != RC_OK)
        return NULL;
    return token;
}

/* True if the form's token is the registration form's, bound to the cookie's nonce
 * (flow/csrf.h). */
static bool
csrf_ok(struct http_req *r, const struct span *token)
{
    const char *nonce = http_cookie(r, CSRF_COOKIE);

    return nonce && strlen(nonce) == 2 * CSRF_NONCE_BYTES && token
           && csrf_check(r->app, "register", &(struct span){(const uint8_t *)nonce, strlen(nonce)},
                         1, *token);
}

static bool
starts(const struct span *v, const char *prefix)
{
    size_t n = strlen(prefix);

    return v->len >= n && memcmp(v->p, prefix, n) == 0;
}

/* return_to: kept only if it is a same-origin path to the authorization endpoint or to
 * the login page of a pending request (the login page's "register" link: after
 * registering, the citizen goes on with that login), so the success page can never link
 * elsewhere (no open redirect). */
static struct span
safe_return_to(const struct span *v)
{
    if (!v || v->len > RETURN_TO_MAX || !(starts(v, "/authorize?") || starts(v, "/login?authz=")))
        return (struct span){NULL, 0};
    for (size_t i = 0; i < v->len; i++)
        if (v->p[i] <= 0x20 || v->p[i] >= 0x7f || v->p[i] == '\\')
            return (struct span){NULL, 0};
    return *v;
}

static struct span
safe_ui_locales(const struct span *v)
{
    if (!v || v->len > UI_LOCALES_MAX)
        return (struct span){NULL, 0};
    for (size_t i = 0; i < v->len; i++)
        if (!((v->p[i] >= 'a' && v->p[i] <= 'z') || (v->p[i] >= 'A' && v->p[i] <= 'Z')
              || v->p[i] == '-' || v->p[i] == ' '))
            return (struct span){NULL, 0};
    return *v;
}

static const char *
lang_url(struct http_req *r, const struct page *pg, const char *tag)
{
    struct buf b;
    const char *s;

    buf_init(&b, 4 * RETURN_TO_MAX);
    buf_append_str(&b, "/register?");
    form_append(&b, "ui_locales", span_str(tag));
    if (pg->return_to.len)
        form_append(&b, "return_to", pg->return_to);
    s = b.p ? arena_strndup(&r->arena, b.p, b.len) : NULL;
    buf_clear(&b);
    return s ? s : "/register";
}

#define VAR(n, s) ((struct tmpl_var){n, (s)})

/* Renders the form with pg's values and errors, and a fresh CSRF token. */
static void
render_form(struct http_req *r, struct http_resp *w, int status, const struct page *pg)
{
    const char *csrf = csrf_issue(r, w);
    struct tmpl_var v[8 + 3 + F__COUNT];
    size_t n = 0;
    struct buf b;

    if (!csrf) {
        http_text(w, 500, "internal error\n");
        return;
    }
    v[n++] = VAR("title", span_str(tmpl_t(pg->lang, "register_title")));
    v[n++] = VAR("csrf", span_str(csrf));
    v[n++] = VAR("ui_locales", pg->ui_locales);
    v[n++] = VAR("return_to", pg->return_to);
    v[n++] = VAR("lang_zh_url", span_str(lang_url(r, pg, "zh-CN")));
    v[n++] = VAR("lang_en_url", span_str(lang_url(r, pg, "en")));
    v[n++] = VAR("err_form", span_str(pg->err_form));
    v[n++] = VAR("v_consent", pg->consent ? SPAN("1") : SPAN(""));
    v[n++] = VAR("v_id_number", pg->v[0]);
    v[n++] = VAR("v_name", pg->v[1]);
    v[n++] = VAR("v_phone", pg->v[2]);
    for (int f = 0; f < F__COUNT; f++)
        v[n++] = VAR(err_vars[f], span_str(pg->err[f]));
    buf_init(&b, 256 * 1024);
    if (tmpl_render(&b, "register.html", pg->lang, v, n) != RC_OK) {
        buf_clear(&b);
        http_text(w, 500, "internal error\n");
        return;
    }
    http_html(r, w, status, &b);
}

static void
route_register_get(struct http_req *r, struct http_resp *w)
{
    struct form q;
    struct page pg = {0};

    if (form_parse(&r->arena, r->query.p, r->query.len, &q, NULL) != RC_OK)
        memset(&q, 0, sizeof(q)); /* a bad query only loses its options */
    pg.ui_locales = safe_ui_locales(form_get(&q, "ui_locales"));
    pg.return_to = safe_return_to(form_get(&q, "return_to"));
    pg.lang = tmpl_lang(pg.ui_locales, http_header(r, "Accept-Language"));
    render_form(r, w, 200, &pg);
}

/* What the page shows for a refusal of account_register_ex, by (rc, reason): the status
 * and the message key (authd/templates/strings.tsv); the message goes next to the field
 * ri names, or at the top of the form. */
static const struct http_error page_errors[] = {
    {RC_MALFORMED, RC_WHY_IDNUM_LENGTH, 400, NULL, "reg_err_idnum_length", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_CHARACTER, 400, NULL, "reg_err_idnum_character", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_CHECK_DIGIT, 400, NULL, "reg_err_idnum_check_digit", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_DATE, 400, NULL, "reg_err_idnum_date", NULL},
    {RC_MALFORMED, RC_WHY_IDNUM_PROVINCE, 400, NULL, "reg_err_idnum_province", NULL},
    {RC_MALFORMED, RC_WHY_NAME, 400, NULL, "reg_err_name", NULL},
    {RC_MALFORMED, RC_WHY_PHONE, 400, NULL, "reg_err_phone", NULL},
    {RC_MALFORMED, RC_WHY_PW_SHORT, 400, NULL, "reg_err_pw_short", NULL},
    {RC_MALFORMED, RC_WHY_PW_LONG, 400, NULL, "reg_err_pw_long", NULL},
    {RC_MALFORMED, RC_WHY_PW_IDNUM, 400, NULL, "reg_err_pw_idnum", NULL},
    {RC_MALFORMED, RC_WHY_PW_BIRTH, 400, NULL, "reg_err_pw_birth", NULL},
    {RC_MALFORMED, RC_WHY_PW_PHONE, 400, NULL, "reg_err_pw_phone", NULL},
    {RC_MALFORMED, RC_WHY_PW_INVALID, 400, NULL, "reg_err_pw_invalid", NULL},
    {RC_MALFORMED, RC_WHY_ANY, 400, NULL, "reg_err_generic", NULL},
    {RC_DENIED, RC_WHY_ANY, 403, NULL, "reg_err_not_verified", NULL},
    {RC_CONFLICT, RC_WHY_ANY, 409, NULL, "reg_err_conflict", NULL},
    {RC_LIMITED, RC_WHY_ANY, 429, NULL, "reg_err_limited", NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, NULL, "reg_err_unavailable", NULL},
    {RC_ANY, RC_WHY_ANY, 500, NULL, "reg_err_generic", NULL},
};

static int
field_index(const char *field)
{
    for (int f = 0; field && f < F__COUNT; f++)
        if (strcmp(field, field_names[f]) == 0)
            return f;
    return -1;
}

/* Puts the failure of the flow on the page (page_errors); returns the HTTP status. */
static int
place_error(struct http_req *r, struct http_resp *w, struct page *pg, enum rc rc,
            const struct rc_info *ri, uint32_t retry)
{
    const struct http_error *e = http_error_find(HTTP_ERRORS(page_errors), rc, ri);
    const char *t = tmpl_t(pg->lang, e->key);
    int f = rc == RC_MALFORMED || rc == RC_CONFLICT ? field_index(ri->field) : -1;

    if (rc == RC_LIMITED) {
        t = arena_printf(&r->arena, "%s %u", t, retry);
        http_add_header(w, "Retry-After", arena_printf(&r->arena, "%u", retry));
    }
    if (f >= 0)
        pg->err[f] = t;
    else
        pg->err_form = t;
    return e->status;
}

static struct span
value(const struct form *f, const char *name)
{
    const struct span *v = form_get(f, name);

    return v ? *v : (struct span){(const uint8_t *)"", 0};
}

static void
render_done(struct http_req *r, struct http_resp *w, const struct page *pg)
{
    struct tmpl_var v[] = {
        VAR("title", span_str(tmpl_t(pg->lang, "reg_done_title"))),
        VAR("login_url", pg->return_to),
        VAR("lang_zh_url", span_str(lang_url(r, pg, "zh-CN"))),
        VAR("lang_en_url", span_str(lang_url(r, pg, "en"))),
    };
    struct buf b;

    buf_init(&b, 64 * 1024);
    if (tmpl_render(&b, "register_done.html", pg->lang, v, sizeof(v) / sizeof(v[0])) != RC_OK) {
        buf_clear(&b);
        http_text(w, 500, "internal error\n");
        return;
    }
    http_html(r, w, 200, &b);
}

/* The checks only the page has: CSRF token, second password, consent. Returns the status
 * to answer with, or 0 to go on. */
static int
page_checks(struct http_req *r, const struct form *f, struct page *pg)
{
    struct span pw = value(f, "password"), pw2 = value(f, "password2");

    if (!csrf_ok(r, form_get(f, "csrf"))) {
        pg->err_form = tmpl_t(pg->lang, "reg_err_csrf");
        return 403;
    }
    if (pw.len != pw2.len || CRYPTO_memcmp(pw.p, pw2.p, pw.len) != 0) {
        pg->err[F_PW2] = tmpl_t(pg->lang, "reg_err_pw_mismatch");
        return 400;
    }
    if (!pg->consent) {
        pg->err[F_CONSENT] = tmpl_t(pg->lang, "reg_err_consent");
        return 400;
    }
    return 0;
}

static void
route_register_post(struct http_req *r, struct http_resp *w)
{
    struct form f;
    struct page pg = {0};
    struct register_req req;
    struct account acct;
    struct rc_info ri = {0};
    uint32_t retry = 0;
    enum rc rc;
    int status;

    if (form_parse(&r->arena, r->body.p, r->body.len, &f, NULL) != RC_OK) {
        pg.lang = tmpl_lang(SPAN(""), http_header(r, "Accept-Language"));
        pg.err_form = tmpl_t(pg.lang, "reg_err_bad_request");
        render_form(r, w, 400, &pg);
        return;
    }
    pg.ui_locales = safe_ui_locales(form_get(&f, "ui_locales"));
    pg.return_to = safe_return_to(form_get(&f, "return_to"));
    pg.lang = tmpl_lang(pg.ui_locales, http_header(r, "Accept-Language"));
    req = (struct register_req){value(&f, "id_number"), value(&f, "name"), value(&f, "phone"),
                                value(&f, "password")};
    pg.v[0] = req.id_number, pg.v[1] = req.name, pg.v[2] = req.phone;
    pg.consent = span_eq_str(value(&f, "consent"), "yes");
    if ((status = page_checks(r, &f, &pg)) != 0) {
        render_form(r, w, status, &pg);
        return;
    }
    rc = account_register_ex(r->app, &r->arena, &req, r->client_ip, &acct, &ri, &retry);
    if (rc == RC_OK) {
        render_done(r, w, &pg);
        return;
    }
    status = place_error(r, w, &pg, rc, &ri, retry);
    render_form(r, w, status, &pg);
}

static void
route_register(struct http_req *r, struct http_resp *w)
{
    if (r->method == HTTP_POST)
        route_register_post(r, w);
    else
        route_register_get(r, w);
}

ROUTE(register, "/register", HTTP_GET | HTTP_POST, route_register)
