/* /staff/enrol: a staff member sets the password of the account `authctl staff add` made
 * (flow/staff.h), from the enrolment link it printed, ISSUER/staff/enrol?t=TOKEN. TOTP is
 * set up at the first login to the console (the console asks for aal2: the step-up page
 * offers the authenticator app).
 *
 * GET ?t=..[&lang=zh|en]: the employee number, the masked name and the form. POST (t, csrf,
 * password, password2): the password is set and the link used up.
 *
 * Answers: 200 the page or "done"; 400 a wrong, used or expired link (staff_enrol_bad_link),
 * two passwords that differ (staff_enrol_mismatch), a password the policy refuses
 * (staff_enrol_weak); 403 a bad CSRF token (csrf_failed); 503 the store unavailable. No
 * JavaScript; the security headers of every page. */
#include <openssl/crypto.h>
#include <string.h>

#include "core/form.h"
#include "core/mask.h"
#include "flow/csrf.h"
#include "flow/staff.h"
#include "http/authz_ui.h"
#include "http/router.h"

static const struct http_error enrol_errors[] = {
    {RC_ANY, RC_WHY_CSRF, 403, "invalid_request", "csrf_failed", NULL},
    {RC_ANY, RC_WHY_PENDING, 400, NULL, "staff_enrol_bad_link", NULL},
    {RC_ANY, RC_WHY_PARAM, 400, NULL, "staff_enrol_mismatch", NULL},
    {RC_MALFORMED, RC_WHY_ANY, 400, NULL, "staff_enrol_weak", NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", "login_unavailable", NULL},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", "error_title", NULL},
};

static void
render(struct http_req *r, struct http_resp *w, enum lang lang, int status, const char *message,
       const struct staff *s, struct span t, const char *csrf, bool done)
{
    char masked[MASK_NAME_SIZE] = "";

    if (s)
        mask_name(span_str(s->name), masked);
    struct tmpl_var vars[] = {
        {"title", span_str(tmpl_t(lang, "staff_enrol_title"))},
        {"lang", span_str(authz_ui_lang_code(lang))},
        {"message", span_str(message ? tmpl_t(lang, message) : NULL)},
        {"done", done ? SPAN("1") : SPAN("")},
        {"form", s ? SPAN("1") : SPAN("")},
        {"emp", span_str(s ? s->emp : NULL)},
        {"name", span_str(s ? masked : NULL)},
        {"t", s ? t : SPAN("")},
        {"csrf", span_str(csrf)},
    };
    authz_ui_page(r, w, status, "staff_enrol.html", lang, vars, sizeof(vars) / sizeof(vars[0]));
}

static void
refused(struct http_req *r, struct http_resp *w, enum lang lang, enum rc rc,
        const struct rc_info *ri)
{
    const struct http_error *e = http_error_find(HTTP_ERRORS(enrol_errors), rc, ri);

    render(r, w, lang, e->status ? e->status : rc_http_status(rc), e->key, NULL, SPAN(""), NULL,
           false);
}

static void
route_staff_enrol(struct http_req *r, struct http_resp *w)
{
    struct span raw = r->method == HTTP_POST ? r->body : r->query;
    struct rc_info ri = {0};
    char csrf[CSRF_LEN + 1];
    struct staff s;
    struct form f;
    enum lang lang;
    enum rc rc;

    if (form_parse(&r->arena, raw.p, raw.len, &f, NULL) != RC_OK) {
        authz_ui_error(r, w, 400, "staff_enrol_bad_link", authz_ui_lang(r, NULL, NULL));
        return;
    }
    const struct span *t = form_get(&f, "t"), *pw = form_get(&f, "password");
    const struct span *pw2 = form_get(&f, "password2");
    struct span tok = t && t->len == STAFF_ENROL_TOK_LEN ? *t : SPAN("");
    lang = authz_ui_lang(r, form_get(&f, "lang"), NULL);
    if (r->method != HTTP_POST) {
        if ((rc = staff_enrol_find(r->app, &r->arena, tok, &s)) != RC_OK) {
            refused(r, w, lang, rc,
                    rc == RC_NOT_FOUND ? &(struct rc_info){.why = RC_WHY_PENDING} : NULL);
            return;
        }
        if (csrf_make(r->app, "staff_enrol", &tok, 1, csrf) != RC_OK) {
            authz_ui_error(r, w, 500, "error_title", lang);
            return;
        }
        render(r, w, lang, 200, NULL, &s, tok, csrf, false);
        return;
    }
    if (!form_get(&f, "csrf") || !csrf_check(r->app, "staff_enrol", &tok, 1, *form_get(&f, "csrf")))
        rc = rc_fail(&ri, RC_DENIED, RC_WHY_CSRF, "csrf", "missing or wrong");
    else if (!pw || !pw2 || pw->len != pw2->len || CRYPTO_memcmp(pw->p, pw2->p, pw->len) != 0)
        rc = rc_fail(&ri, RC_MALFORMED, RC_WHY_PARAM, "password2", "differs");
    else
        rc = staff_enrol(r->app, &r->arena, tok, *pw, &ri);
    if (pw)
        OPENSSL_cleanse((void *)pw->p, pw->len);
    if (pw2)
        OPENSSL_cleanse((void *)pw2->p, pw2->len);
    if (rc != RC_OK) {
        refused(r, w, lang, rc, &ri);
        return;
    }
    render(r, w, lang, 200, NULL, NULL, SPAN(""), NULL, true);
}

ROUTE(staff_enrol, STAFF_ENROL_PATH, HTTP_GET | HTTP_POST, route_staff_enrol)
