/* The login and consent pages of a pending authorization request: what a page shows, its
 * CSRF token and the browser binding, and the two POSTs (the login through an
 * authenticator, flow/authn.h; approve or deny). Over flow/authorize_steps.c. */
#include <string.h>

#include "conf/policy.h"
#include "core/authz.h"
#include "core/uagent.h"
#include "flow/authn.h"
#include "flow/authorize_int.h"
#include "flow/clients.h"
#include "flow/csrf.h"
#include "flow/grant.h"
#include "flow/signins.h"

_Static_assert(AUTHZ_CSRF_LEN == CSRF_LEN, "the pages' CSRF tokens are flow/csrf's");

/* The page's token, bound to the pending request and the browser (flow/csrf.h). */
static enum rc
csrf_token(struct app *app, const char *form, struct span id, struct span bind,
           char out[AUTHZ_CSRF_LEN + 1])
{
    struct span bound[2] = {id, bind};

    return csrf_make(app, form, bound, 2, out);
}

static bool
csrf_ok(struct app *app, const char *form, struct span id, struct span bind, struct span got)
{
    struct span bound[2] = {id, bind};

    return bind.len == AUTHZ_BIND_LEN && csrf_check(app, form, bound, 2, got);
}

const char *
authorize_bind_new(struct app *app, struct arena *a, bool tls, const char **value)
{
    char v[AUTHZ_BIND_LEN + 1];

    if (grant_random_token(app, 32, v, sizeof(v)) != RC_OK || !(*value = arena_strndup(a, v, 43)))
        return NULL;
    return arena_printf(a, "%s%s=%s; Path=/; HttpOnly; SameSite=Lax%s", tls ? "__Host-" : "",
                        AUTHZ_BIND_COOKIE, v, tls ? "; Secure" : "");
}

/* The claim names of the requested scopes except openid, NULL-ended, in a. */
static const char *const *
claim_names(struct arena *a, const struct policy *p, const char *scope)
{
    const char **v = arena_alloc(a, (POLICY_MAX_LIST * 8 + 1) * sizeof(*v));
    size_t n = 0;

    for (size_t i = 0; v && i < p->nscopes; i++) {
        const struct policy_scope *sc = &p->scopes[i];
        if (strcmp(sc->name, "openid") == 0 || !authz_list_has(span_str(scope), sc->name))
            continue;
        for (size_t j = 0; j < sc->claims.n && n < POLICY_MAX_LIST * 8; j++)
            v[n++] = sc->claims.v[j];
    }
    return v;
}

enum rc
authorize_page_info(struct app *app, struct arena *a, struct span id, struct span bind,
                    const char *form, struct authorize_page *out)
{
    struct policy *p;
    const struct policy_client *cl;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = authz_pending_load(app, a, id, &out->req)) != RC_OK)
        return rc;
    if ((rc = csrf_token(app, form, id, bind, out->csrf)) != RC_OK)
        return rc;
    if (!(p = app_policy_get(app)))
        return RC_UNAVAILABLE;
    cl = client_resolve(app, p, span_str(out->req.client_id));
    out->client_name = arena_printf(a, "%s", cl && cl->name ? cl->name : out->req.client_id);
    out->claims = claim_names(a, p, out->req.scope);
    out->asks_id_number = authz_list_has(span_str(out->req.scope), "id_number");
    app_policy_put(p);
    return cl ? RC_OK : RC_NOT_FOUND;
}

/* The login form again, for an authenticator's refusal rc (out->why holds its reason). A
 * refusal without a reason is a wrong secret, as far as the page says (one answer whether
 * or not the number has an account), unless it is a limit or an outage. */
static enum rc
login_refused(struct authorize_result *out, enum rc rc)
{
    out->kind = AUTHORIZE_FORM;
    if (out->why.why == RC_WHY_NONE && rc != RC_UNAVAILABLE)
        out->why.why = rc == RC_LIMITED ? RC_WHY_RATE : RC_WHY_CREDENTIALS;
    return rc;
}

/* The authenticator a login POST names (default: the password, or for a client that
 * accepts the staff login and not the password, the staff login), if this request's
 * policy accepts it. */
static const struct authn *
login_authn(struct app *app, const struct authz_req *r, struct span name)
{
    const struct authn *m = name.len ? authn_find(name) : &authn_password;
    struct policy *p = m ? app_policy_get(app) : NULL;
    const struct policy_client *cl = p ? client_resolve(app, p, span_str(r->client_id)) : NULL;
    bool ok = p && authn_accepted(p, cl, r->scope, m);

    if (!ok && p && !name.len && authn_accepted(p, cl, r->scope, &authn_staff))
        ok = (m = &authn_staff) != NULL;

    app_policy_put(p);
    return ok ? m : NULL;
}

/* True when this request accepts a second factor that can raise a session at have (an aal0
 * session: a right password over the number's ceiling) to what it needs; otherwise such a
 * password is only slowed (docs/security.md, "Lockout and throttling"). */
static bool
second_factor_here(struct app *app, const struct authz_req *r, struct loa have)
{
    struct policy *p = app_policy_get(app);
    struct loa want = loa_max(r->min, (struct loa){IAL_NONE, AAL1});
    bool ok = p && authn_step_up(p, client_resolve(app, p, span_str(r->client_id)), r->scope,
                                 have, want);

    app_policy_put(p);
    return ok;
}

/* The pending request of a page's POST and its CSRF check; *out is the page otherwise. */
static enum rc
page_request(struct app *app, struct arena *a, const char *form, struct span pending,
             struct span bind, struct span csrf, struct authz_req *r, struct authorize_result *out)
{
    enum rc rc = authz_pending_load(app, a, pending, r);

    if (rc != RC_OK)
        return authz_page_error(out, rc, RC_WHY_PENDING, "authz", "unknown or expired");
    out->client_id = r->client_id;
    if (!csrf_ok(app, form, pending, bind, csrf))
        return authz_page_error(out, RC_DENIED, RC_WHY_CSRF, "csrf", "bad");
    return RC_OK;
}

enum rc
authorize_login(struct app *app, struct arena *a, const struct login_form *f,
                struct authorize_result *out)
{
    struct authz_req r;
    const struct authn *m = NULL;
    struct session cur, s;
    bool have = false;
    struct authn_input in = {f->id_number, f->secret, NULL, f->client_ip};
    struct authn_proof proof = {0};
    uint32_t retry = 0;
    char pid[AUTHZ_PENDING_LEN + 1], device[UA_SUMMARY_SIZE];
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = page_request(app, a, "login", f->pending, f->bind, f->csrf, &r, out)) != RC_OK)
        goto out;
    /* the browser's session: raised by a step-up, ended by a new login */
    have = f->session_cookie.len && session_load(app, a, f->session_cookie, &cur) == RC_OK;
    in.session = have ? &cur : NULL;
    if (!(m = login_authn(app, &r, f->authn)) || ((m->needs & AUTHN_NEEDS_SESSION) && !have)) {
        rc = authz_page_error(out, RC_DENIED, RC_WHY_PENDING, "authn", "not accepted here");
        goto out;
    }
    if ((m->needs & AUTHN_NEEDS_SESSION) && f->decline) { /* OIDC Core §3.1.2.6 */
        authz_pending_drop(app, a, arena_strndup(a, f->pending.p, f->pending.len));
        rc = authz_redirect_error(&r, RC_DENIED, r.rp_asked_acr ? RC_WHY_ACR_UNMET : RC_WHY_LEVEL,
                                  NULL, "the citizen declined the second factor", out);
        goto out;
    }
    if (f->challenge) {
        rc = m->challenge && have
                 ? m->challenge(app, a, cur.account_id, f->client_ip, &out->why, &retry)
                 : RC_DENIED;
        out->kind = AUTHORIZE_FORM; /* the page again: "sent", or why not */
        if (rc != RC_OK)
            login_refused(out, rc);
        out->retry_after_s = rc == RC_LIMITED ? (retry ? retry : 1) : 0;
        goto out;
    }
    rc = m->verify(app, a, &in, &proof, &out->why, &retry);
    if (rc != RC_OK && (m->needs & AUTHN_NEEDS_ID_NUMBER)) /* the account's failed attempts */
        signins_record_failure(app, a, f->id_number, r.client_id, f->client_ip, rc, &out->why);
    if (rc == RC_OK && proof.loa.aal == AAL_NONE && !second_factor_here(app, &r, proof.loa))
        rc = rc_fail(&out->why, RC_LIMITED, RC_WHY_RATE, NULL, "too many attempts on this number");
    if (rc != RC_OK) {
        login_refused(out, rc);
        out->retry_after_s = rc == RC_LIMITED ? (retry ? retry : 1) : 0;
        goto out;
    }
    ua_summary(f->user_agent, device);
    proof.client_id = r.client_id, proof.client_ip = f->client_ip, proof.device = device;
    rc = authn_complete(app, a, m, &proof, in.session, f->tls, &s, &out->set_cookie);
    if (rc != RC_OK) { /* a session that cannot be made is an outage */
        out->why = (struct rc_info){0};
        rc = login_refused(out, rc == RC_DENIED ? rc : RC_UNAVAILABLE);
        goto out;
    }
    r.login_sid = s.sid;
    memcpy(pid, f->pending.p, AUTHZ_PENDING_LEN);
    pid[AUTHZ_PENDING_LEN] = 0;
    rc = authz_continue(app, a, &r, pid, &s, out);
out:
    authz_log("login", out, rc);
    return rc;
}

/* The scopes granted on the consent page: id_number only with its own checkbox. */
static const char *
granted_scope(struct arena *a, const char *scope, bool share_id_number)
{
    struct buf b;
    size_t i = 0;
    struct span w;
    char *out;

    buf_init(&b, 0);
    while (span_next_word(span_str(scope), &i, &w))
        if (share_id_number || !span_eq_str(w, "id_number"))
            buf_printf(&b, "%s%.*s", b.len ? " " : "", (int)w.len, (const char *)w.p);
    out = arena_strndup(a, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return out;
}

enum rc
authorize_consent(struct app *app, struct arena *a, const struct consent_form *f,
                  struct authorize_result *out)
{
    struct authz_req r;
    struct session s;
    char pid[AUTHZ_PENDING_LEN + 1];
    const char *scope;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = page_request(app, a, "consent", f->pending, f->bind, f->csrf, &r, out)) != RC_OK)
        goto out;
    memcpy(pid, f->pending.p, AUTHZ_PENDING_LEN);
    pid[AUTHZ_PENDING_LEN] = 0;
    rc = session_load(app, a, f->session_cookie, &s);
    if (rc != RC_OK && rc != RC_NOT_FOUND) {
        rc = authz_redirect_error(&r, rc, RC_WHY_NONE, NULL, "try again later", out);
        goto out;
    }
    if (!authz_gate(app, a, &r, pid, rc == RC_OK ? &s : NULL, out, &rc))
        goto out;
    rc = authz_pending_drop(app, a, pid);
    if (!f->approve) {
        rc =
            authz_redirect_error(&r, RC_DENIED, RC_WHY_DECLINED, NULL, "the citizen declined", out);
        goto out;
    }
    if (rc != RC_OK) { /* a second POST of this page, racing the first: one code only */
        rc = authz_page_error(out, rc, RC_WHY_PENDING, "authz", "already completed");
        goto out;
    }
    if (!(scope = granted_scope(a, r.scope, f->share_id_number))) {
        rc = authz_page_error(out, RC_NOMEM, RC_WHY_NONE, NULL, "out of memory");
        goto out;
    }
    authz_consent_remember(app, a, &s, &r, scope);
    rc = authz_issue(app, a, &r, &s, scope, out); /* touches the session too */
out:
    authz_log("consent", out, rc);
    return rc;
}
