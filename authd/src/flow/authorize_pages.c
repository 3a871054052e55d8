/* The steps between /authorize and the code: the session decision, the login and consent
 * pages' POSTs, remembered consent, CSRF tokens and the browser binding. */
#include <openssl/crypto.h>
#include <string.h>

#include "conf/policy.h"
#include "core/authz.h"
#include "flow/account.h"
#include "flow/authorize_int.h"
#include "flow/grant.h"
#include "flow/logout.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"

static void
pending_drop(struct app *app, struct arena *a, const char *id)
{
    if (id)
        store_del(app->store, store_key(a, "authz", span_str(id), NULL));
}

/* Saves r as pending (keeping its id) and sends the browser to page?authz=ID. */
static enum rc
to_page(struct app *app, struct arena *a, const struct authz_req *r, const char *pending_id,
        const char *page, enum authorize_kind kind, struct authorize_result *out)
{
    char id[AUTHZ_PENDING_LEN + 1] = "";
    enum rc rc;

    if (pending_id && strlen(pending_id) == AUTHZ_PENDING_LEN)
        memcpy(id, pending_id, sizeof(id));
    if ((rc = authz_pending_save(app, a, r, id)) != RC_OK)
        return authz_redirect_error(app, a, r, "temporarily_unavailable", "try again later", rc,
                                    out);
    out->kind = kind;
    out->client_id = r->client_id;
    out->location = arena_printf(a, "%s?authz=%s", page, id);
    return out->location ? RC_OK : RC_NOMEM;
}

/* The session decision. true: go on with s; false: *out says where to, *rc why. */
static bool
gate(struct app *app, struct arena *a, const struct authz_req *r, const char *pending_id,
     const struct session *s, struct authorize_result *out, enum rc *rc)
{
    struct authz_need need = {r->prompt,
                              r->max_age,
                              r->min,
                              AUTHZ_PASSWORD_REACH,
                              s && r->login_sid && strcmp(s->sid, r->login_sid) == 0,
                              r->rp_asked_acr};
    struct authz_have have = {s != NULL, s ? s->loa : (struct loa){0}, s ? s->auth_time : 0};

    switch (authz_decide(&need, &have, clock_now(app->clock))) {
    case AUTHZ_PROCEED:
        return true;
    case AUTHZ_LOGIN:
        *rc = to_page(app, a, r, pending_id, "/login", AUTHORIZE_LOGIN, out);
        return false;
    case AUTHZ_LOGIN_REQUIRED: /* OIDC Core §3.1.2.6 */
        *rc = authz_redirect_error(app, a, r, "login_required", "no usable login session",
                                   RC_DENIED, out);
        break;
    case AUTHZ_UNMET: /* never a login loop, never a silent downgrade */
        *rc = authz_redirect_error(
            app, a, r, r->rp_asked_acr ? "unmet_authentication_requirements" : "access_denied",
            "the required level of assurance cannot be reached with a password login", RC_DENIED,
            out);
        break;
    }
    pending_drop(app, a, pending_id);
    return false;
}

static struct span
consent_key(struct arena *a, const char *account_id, const char *client_id)
{
    char *suffix = arena_printf(a, ":%s", client_id);

    return suffix ? store_key(a, "consent", span_str(account_id), suffix) : (struct span){NULL, 0};
}

/* Whether the consent page must be shown: prompt=consent, or a third-party or public
 * client without a remembered consent covering the scopes, or id_number (always explicit,
 * even for first-party clients: a sensitive personal datum). A public client is never
 * treated as first-party: any local process can claim its loopback redirect URI (RFC 8252
 * §8.6), so a code without a user interaction needs this citizen's earlier approval of
 * this client. RC_UNAVAILABLE. */
static enum rc
consent_needed(struct app *app, struct arena *a, const struct authz_req *r, const struct session *s,
               bool *needed)
{
    struct policy *p = app_policy_get(app);
    const struct policy_client *cl = p ? policy_client(p, span_str(r->client_id)) : NULL;
    bool first = cl && cl->first_party && cl->type != CLIENT_PUBLIC;
    struct span have;
    enum rc rc = RC_OK;

    app_policy_put(p);
    *needed = true;
    if (r->prompt & AUTHZ_PROMPT_CONSENT)
        return RC_OK;
    if (first && !authz_list_has(span_str(r->scope), "id_number")) {
        *needed = false;
        return RC_OK;
    }
    rc = store_get(app->store, a, consent_key(a, s->account_id, r->client_id), &have);
    if (rc == RC_OK)
        *needed = !authz_scopes_covered(span_str(r->scope), have);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc
authz_continue(struct app *app, struct arena *a, const struct authz_req *r, const char *pending_id,
               const struct session *s, struct authorize_result *out)
{
    struct session t;
    bool needed;
    enum rc rc = RC_OK;

    if (!gate(app, a, r, pending_id, s, out, &rc))
        return rc;
    if ((rc = consent_needed(app, a, r, s, &needed)) != RC_OK)
        return authz_redirect_error(app, a, r, "temporarily_unavailable", "try again later", rc,
                                    out);
    if (needed && (r->prompt & AUTHZ_PROMPT_NONE)) {
        pending_drop(app, a, pending_id);
        return authz_redirect_error(app, a, r, "consent_required", "consent is needed", RC_DENIED,
                                    out);
    }
    if (needed)
        return to_page(app, a, r, pending_id, "/consent", AUTHORIZE_CONSENT, out);
    t = *s;
    session_touch(app, a, &t); /* best effort: the session is good, we checked it */
    pending_drop(app, a, pending_id);
    return authz_issue(app, a, r, &t, r->scope, out);
}

static enum rc
csrf_token(struct app *app, const char *form, struct span id, struct span bind,
           char out[AUTHZ_CSRF_LEN + 1])
{
    struct span parts[3] = {span_str(form), id, bind};

    return secrets_hmac_hex(app->secrets, SECRET_CSRF, parts, 3, out);
}

/* Constant-time check of a posted CSRF token (equal lengths only). */
static bool
csrf_ok(struct app *app, const char *form, struct span id, struct span bind, struct span got)
{
    char want[AUTHZ_CSRF_LEN + 1];
    bool ok;

    if (bind.len != AUTHZ_BIND_LEN || got.len != AUTHZ_CSRF_LEN
        || csrf_token(app, form, id, bind, want) != RC_OK)
        return false;
    ok = CRYPTO_memcmp(want, got.p, AUTHZ_CSRF_LEN) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return ok;
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
    cl = policy_client(p, span_str(out->req.client_id));
    out->client_name = arena_printf(a, "%s", cl && cl->name ? cl->name : out->req.client_id);
    out->claims = claim_names(a, p, out->req.scope);
    out->asks_id_number = authz_list_has(span_str(out->req.scope), "id_number");
    app_policy_put(p);
    return cl ? RC_OK : RC_NOT_FOUND;
}

/* The login form's answer for an account_login failure. */
static enum rc
login_refused(struct authorize_result *out, enum rc rc, const struct rc_info *ri)
{
    out->kind = AUTHORIZE_FORM;
    switch (rc) {
    case RC_LIMITED:
        out->status = 429, out->message = "login_limited";
        break;
    case RC_UNAVAILABLE:
        out->status = 503, out->message = "login_unavailable";
        break;
    case RC_MALFORMED:
        out->status = 400;
        out->message =
            ri->field && strcmp(ri->field, "id_number") == 0 ? "login_bad_idnum" : "login_failed";
        break;
    default: /* one message whether or not the number has an account */
        out->status = 401, out->message = "login_failed";
    }
    return rc;
}

/* Another citizen logs in where old was: that is a logout of old, through the path
 * /end_session takes (token families revoked, back-channel logouts queued). Front-channel
 * frames cannot be shown on the way to the client: relying parties that need to hear of
 * it register a back-channel logout URI. RC_UNAVAILABLE: old could not be ended. */
static enum rc
replace_other(struct app *app, struct arena *a, const struct session *old, bool tls)
{
    struct logout_result lr;
    enum rc rc = logout_session_end(app, a, old, tls, &lr);
    struct log_rec *rec = log_begin(rc == RC_OK ? LOG_INFO : LOG_ERROR, "logout.replaced");

    log_str(rec, "rc", rc_name(rc));
    log_int(rec, "ended", lr.ended);
    log_end(rec);
    return rc;
}

/* The same citizen logged in again: the token families of the old session go to the new
 * one too (authd:sidfam), so that a later logout of the new session revokes them. Best
 * effort, like the clients handed on. */
static void
carry_families(struct app *app, struct arena *a, const char *old_sid, const char *new_sid)
{
    struct policy *p = app_policy_get(app);
    uint32_t ttl = p ? p->tokens.refresh_token_ttl : 0;
    struct span from = store_key(a, "sidfam", span_str(old_sid), NULL);
    struct span to = store_key(a, "sidfam", span_str(new_sid), NULL), *fam = NULL;
    size_t n = 0;

    app_policy_put(p);
    if (!ttl || !from.p || !to.p || store_set_members(app->store, a, from, &fam, &n) != RC_OK)
        return;
    for (size_t i = 0; i < n; i++)
        store_set_add(app->store, to, fam[i], ttl);
}

/* A new session for acct; the old one (if any) ends: handing its clients on when it was
 * the same citizen's (so that logout still reaches them), logged out when it was another
 * citizen's (issue 13 #4: the first citizen's tokens must not outlive the switch). */
static enum rc
login_session(struct app *app, struct arena *a, const struct login_form *f,
              const struct account *acct, struct session *s, struct authorize_result *out)
{
    struct session_login l = {acct->id, {acct->ial, AAL1}, "pwd", clock_now(app->clock)};
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session old;
    struct span *rps = NULL;
    size_t n = 0;
    enum rc rc;

    if (f->session_cookie.len && session_load(app, a, f->session_cookie, &old) == RC_OK) {
        if (strcmp(old.account_id, acct->id) == 0)
            session_end(app, a, &old, &rps, &n);
        else if ((rc = replace_other(app, a, &old, f->tls)) != RC_OK)
            return rc; /* fail closed: never two citizens' tokens from one browser */
    }
    if ((rc = session_create(app, a, &l, cookie, s)) != RC_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        session_add_rp(app, a, s, arena_span_dup(a, rps[i]));
    if (n)
        carry_families(app, a, old.sid, s->sid);
    out->set_cookie = session_cookie(a, cookie, f->tls);
    OPENSSL_cleanse(cookie, sizeof(cookie));
    return out->set_cookie ? RC_OK : RC_NOMEM;
}

enum rc
authorize_login(struct app *app, struct arena *a, const struct login_form *f,
                struct authorize_result *out)
{
    struct authz_req r;
    struct account acct;
    struct session s;
    struct rc_info ri = {0};
    uint32_t retry = 0;
    char pid[AUTHZ_PENDING_LEN + 1];
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = authz_pending_load(app, a, f->pending, &r)) != RC_OK)
        rc = rc == RC_UNAVAILABLE
                 ? authz_page_error(out, 503, "temporarily_unavailable", "login_unavailable", rc)
                 : authz_page_error(out, 400, "invalid_request", "login_expired", rc);
    else if ((out->client_id = r.client_id), !csrf_ok(app, "login", f->pending, f->bind, f->csrf))
        rc = authz_page_error(out, 403, "invalid_request", "csrf_failed", RC_DENIED);
    if (rc != RC_OK)
        goto out;
    rc = account_login_ex(app, a, f->id_number, f->password, f->client_ip, &acct, &ri, &retry);
    if (rc != RC_OK) {
        login_refused(out, rc, &ri);
        out->retry_after_s = rc == RC_LIMITED ? (retry ? retry : 1) : 0;
        goto out;
    }
    if ((rc = login_session(app, a, f, &acct, &s, out)) != RC_OK) {
        login_refused(out, RC_UNAVAILABLE, &ri);
        goto out;
    }
    r.login_sid = s.sid;
    memcpy(pid, f->pending.p, AUTHZ_PENDING_LEN);
    pid[AUTHZ_PENDING_LEN] = 0;
    rc = authz_continue(app, a, &r, pid, &s, out);
out:
    OPENSSL_cleanse(&acct, sizeof(acct));
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

static void
remember_consent(struct app *app, struct arena *a, const struct session *s,
                 const struct authz_req *r, const char *scope)
{
    struct policy *p = app_policy_get(app);
    uint32_t ttl = p ? p->tokens.consent_ttl : 0;

    app_policy_put(p);
    if (ttl) /* best effort: without it the citizen is asked again next time */
        store_put(app->store, consent_key(a, s->account_id, r->client_id), span_str(scope), ttl, 0);
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
    if ((rc = authz_pending_load(app, a, f->pending, &r)) != RC_OK)
        rc = rc == RC_UNAVAILABLE
                 ? authz_page_error(out, 503, "temporarily_unavailable", "login_unavailable", rc)
                 : authz_page_error(out, 400, "invalid_request", "login_expired", rc);
    else if ((out->client_id = r.client_id), !csrf_ok(app, "consent", f->pending, f->bind, f->csrf))
        rc = authz_page_error(out, 403, "invalid_request", "csrf_failed", RC_DENIED);
    if (rc != RC_OK)
        goto out;
    memcpy(pid, f->pending.p, AUTHZ_PENDING_LEN);
    pid[AUTHZ_PENDING_LEN] = 0;
    rc = session_load(app, a, f->session_cookie, &s);
    if (rc != RC_OK && rc != RC_NOT_FOUND) {
        rc =
            authz_redirect_error(app, a, &r, "temporarily_unavailable", "try again later", rc, out);
        goto out;
    }
    if (!gate(app, a, &r, pid, rc == RC_OK ? &s : NULL, out, &rc))
        goto out;
    pending_drop(app, a, pid);
    if (!f->approve) {
        rc = authz_redirect_error(app, a, &r, "access_denied", "the citizen declined", RC_DENIED,
                                  out);
        goto out;
    }
    if (!(scope = granted_scope(a, r.scope, f->share_id_number))) {
        rc = authz_page_error(out, 500, "server_error", "out of memory", RC_NOMEM);
        goto out;
    }
    remember_consent(app, a, &s, &r, scope);
    session_touch(app, a, &s);
    rc = authz_issue(app, a, &r, &s, scope, out);
out:
    authz_log("consent", out, rc);
    return rc;
}
