/* POST /token use cases: authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core
 * §3.1.3), refresh_token (RFC 6749 §6, RFC 9700 §4.14), client_credentials (RFC 6749
 * §4.4); token exchange (RFC 8693) is in token_exchange.c. Errors follow RFC 6749 §5.2. */
#include "flow/token.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/authz.h"
#include "core/jose.h"
#include "core/mask.h"
#include "core/pkce.h"
#include "flow/ciba.h"
#include "flow/claims.h"
#include "flow/device.h"
#include "flow/grant.h"
#include "flow/notify.h"
#include "flow/session.h"
#include "flow/subject.h"
#include "flow/token_int.h"
#include "log/log.h"
#include "port/keys.h"

/* The user's account (rc: how reading it went), refused when gone or disabled. */
static enum rc
usable_account(enum rc rc, const struct account *acct, struct rc_info *ri)
{
    if (rc == RC_NOT_FOUND || (rc == RC_OK && acct->disabled))
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "account", "no longer usable");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

/* Access token, then (if scope has openid) the ID token, for family f of account acct
 * (usable: checked by the caller). */
static enum rc
issue_user(struct issue *is, const struct rtf *f, struct account *acct, const char *scope,
           const char *nonce, struct token_resp *out, struct rc_info *ri)
{
    char sub[SUBJECT_MAX];
    const char *jti;
    bool idn = false;
    enum rc rc;

    if ((rc = subject_for(is->app, is->c, f->account_id, sub)) != RC_OK
        || (rc = token_issue_access(is, sub, scope, f, is->user_opts, &out->access_token, &jti))
               != RC_OK
        || (rc = notify_subject_remember(is->app, is->a, is->p, is->c, sub, f->account_id))
               != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (authz_list_has(span_str(scope), "openid")
        && (rc = token_issue_id(is, sub, f, scope, nonce, out->access_token, acct, &idn,
                                &out->id_token))
               != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (idn
        && (rc = claims_log_idn_release(is->app, is->c->id, f->account_id, acct->id_number,
                                        jti, "token"))
               != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE); /* not audited: not released */
    out->scope = scope;
    out->expires_in = is->p->tokens.access_token_ttl;
    if (is->user_opts && is->user_opts->exp > is->now)
        out->expires_in = (uint32_t)(is->user_opts->exp - is->now);
    return RC_OK;
}

/* RFC 6749 §4.1.3 (same client, same redirect_uri) and RFC 7636 §4.6 (PKCE). */
static enum rc
check_code_grant(const struct policy_client *c, const struct grant *g, const struct token_req *req,
                 struct rc_info *ri)
{
    if (!g->client_id || strcmp(g->client_id, c->id) != 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code", "issued to another client");
    if (g->redirect_uri
        && (!req->redirect_uri.p || !span_eq_str(req->redirect_uri, g->redirect_uri)))
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "redirect_uri",
                       "differs from the authorization request");
    if (g->code_challenge) {
        if (!req->code_verifier.p)
            return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code_verifier", "missing");
        if (pkce_verify(span_str(g->code_challenge), req->code_verifier) != RC_OK)
            return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code_verifier", "does not match");
    } else if (req->code_verifier.p) {
        /* RFC 9700 §4.8.2: a verifier without a challenge is a PKCE downgrade */
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code_verifier",
                       "the authorization request had no code_challenge");
    } else if (c->type == CLIENT_PUBLIC || c->pkce_required) {
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code_verifier", "PKCE is required");
    }
    return RC_OK;
}

/* A code redeemed before (its family fam exists): revoke what that issued (RFC 6749
 * §4.1.2, RFC 9700 §4.5). ttl_s: the code's life left. */
static enum rc
code_replayed(struct issue *is, struct span fam, uint32_t ttl_s, struct rc_info *ri)
{
    struct log_rec *lr;
    enum rc rc = rtf_revoke(is->app, is->a, is->p, fam);

    /* Gone meanwhile (the first redemption took it back: its account was not usable). A
     * revoked stand-in makes sure the code can no longer create it; if it just did, revoke. */
    if (rc == RC_NOT_FOUND && (rc = rtf_block(is->app, is->a, fam, ttl_s)) == RC_CONFLICT)
        rc = rtf_revoke(is->app, is->a, is->p, fam);
    if (rc != RC_OK && rc != RC_NOT_FOUND)
        return rc_because(ri, rc, RC_WHY_NONE);
    lr = log_begin(LOG_WARN, "token.code_reuse");
    log_str(lr, "client", is->c->id);
    log_span(lr, "rtf", fam);
    log_end(lr);
    return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code",
                   "already used; anything issued for it is revoked");
}

/* How the code's client joining its session went (rc: the answer of session_join_op's op).
 * RC_NOT_FOUND: the session is not under the code's tag any more: a step-up moved it (the
 * client joins it there) or it has ended (logout, expiry), and then the code is refused:
 * its tokens would outlive a logout no back-channel logout told the client of. */
static enum rc
joined(struct issue *is, const struct grant *code, enum rc rc, struct rc_info *ri)
{
    struct session s;

    if (rc == RC_NOT_FOUND && code->sid
        && (rc = session_find_by_sid(is->app, is->a, span_str(code->sid), &s)) == RC_OK)
        rc = session_add_rp(is->app, is->a, &s, is->c->id);
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code", "the login session has ended");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

/* The writes that create family f and the read of its account, in one store round trip
 * where the store allows (store_pipeline), then the account checked. code: the grant of
 * the code being redeemed, else NULL. The family of a code has an id derived from the code
 * (flow/grant.h) and outlives it: finding it already there means the code was redeemed
 * before. The code's client joins its session's :rps set in the same round trip, only
 * while the session lives (session_join_op). */
static enum rc
create_family(struct issue *is, struct rtf *f, const struct grant *code,
              char rt[REFRESH_TOKEN_LEN + 1], struct account *acct, struct rc_info *ri)
{
    struct store_call c[6] = {0};
    struct store_op ops[2], ix[2];
    uint32_t max = is->app->cfg->max_token_families_per_account;
    int64_t code_exp = code ? code->expires_at : 0;
    size_t n = 0, nc, join = 0;
    enum rc rc;

    if ((rc = rtf_create_ops(is->app, is->a, is->p, f, rt, ops, &n)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    for (size_t i = 0; i < n; i++) {
        if (code_exp > is->now && ops[i].ttl_s < code_exp - is->now + 1)
            ops[i].ttl_s = (uint32_t)(code_exp - is->now + 1);
        c[i].op = ops[i];
    }
    rc = account_get_op(is->a, f->account_id, &c[n].op);
    if (rc == RC_NOT_FOUND)
        return usable_account(rc, acct, ri);
    nc = n + 1;
    if (rc == RC_OK && max && (rc = rtf_index_ops(is->a, is->p, f, ix)) == RC_OK) {
        c[nc++].op = ix[0]; /* the account's index of families, in the same round trip */
        c[nc++].op = ix[1];
    }
    if (rc == RC_OK && code && code->sess_tag
        && (rc = session_join_op(is->app, is->a, code->sess_tag, code->sess_created, is->c->id,
                                 &c[nc].op))
               == RC_OK)
        join = nc++;
    if (rc != RC_OK || (rc = store_pipeline(is->app->store, is->a, c, nc)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (c[0].rc == RC_CONFLICT && code_exp) /* the code's family: redeemed before */
        return code_replayed(is, span_str(f->id),
                             code_exp > is->now ? (uint32_t)(code_exp - is->now + 1) : 1, ri);
    if (c[0].rc == RC_CONFLICT) /* a drawn id taken: 128 random bits, never seen */
        rc = rc_because(ri, RC_INTERNAL, RC_WHY_NONE);
    else if (c[0].rc != RC_OK || (n > 1 && c[1].rc != RC_OK))
        rc = rc_because(ri, c[0].rc != RC_OK ? c[0].rc : c[1].rc, RC_WHY_NONE);
    else
        rc = usable_account(account_from_call(is->app, is->a, f->account_id, &c[n], acct), acct, ri);
    if (rc == RC_OK && join)
        rc = joined(is, code, c[join].rc, ri);
    if (rc != RC_OK) {
        /* no tokens for it: take back what was written rather than leave it to expire; the
         * family of a code stays as a revoked stand-in for the code's life (it is spent) */
        if (c[0].rc == RC_OK && code_exp)
            (void)rtf_retire(is->app, is->a, span_str(f->id), (uint32_t)(code_exp - is->now + 1));
        else if (c[0].rc == RC_OK)
            (void)store_del(is->app->store, ops[0].key);
        if (n > 1 && c[1].rc == RC_OK)
            (void)store_set_rem(is->app->store, ops[1].key, ops[1].value);
    } else if (max && nc > n + 2 && c[n + 2].rc == RC_OK
               && rtf_account_bound(is->app, is->a, is->p, f->account_id, &c[n + 2].rec, max)
                      != RC_OK) {
        /* the new family stands; the next redemption of the account tries again */
        log_msg(LOG_WARN, "token.family_bound", "rc", "could not enforce");
    }
    return rc;
}

/* Creates family f (id drawn or derived already; code as create_family's) and issues its
 * tokens: access, ID token when the scope has openid, refresh token when f->refresh. */
static enum rc
issue_family(struct issue *is, struct rtf *f, const struct grant *code, const char *nonce,
             struct token_resp *out, struct rc_info *ri)
{
    char rt[REFRESH_TOKEN_LEN + 1] = "";
    struct account acct = {0};
    enum rc rc = create_family(is, f, code, rt, &acct, ri);

    if (rc == RC_OK)
        rc = issue_user(is, f, &acct, f->scope, nonce, out, ri);
    if (rc == RC_OK && f->refresh && !(out->refresh_token = arena_strndup(is->a, rt, strlen(rt))))
        rc = rc_because(ri, RC_NOMEM, RC_WHY_NONE);
    OPENSSL_cleanse(rt, sizeof(rt));
    OPENSSL_cleanse(acct.id_number, sizeof(acct.id_number));
    return rc;
}

static enum rc
grant_code(struct issue *is, const struct token_req *req, struct token_resp *out,
           struct rc_info *ri)
{
    const struct policy_client *c = is->c;
    struct rtf f = {0};
    struct grant g;
    enum rc rc;

    if (!(c->grants & GRANT_AUTHORIZATION_CODE))
        return rc_fail(ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "grant_type", "not registered");
    if (!req->code.p || req->code.len == 0)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "code", "missing");
    rc = grant_code_open(is->app, is->a, req->code, is->now, &g);
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_GRANT, "code", "unknown or expired");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    /* the family id from the code: a second redemption finds the first one's family */
    if ((rc = grant_code_family(is->app, req->code, f.id)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    rc = check_code_grant(c, &g, req, ri);
    /* RFC 9449 §10 */
    if (rc == RC_OK && g.dpop_jkt && (!is->jkt || strcmp(g.dpop_jkt, is->jkt) != 0))
        rc = rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code", "bound to another DPoP key");
    if (rc != RC_OK) { /* spent all the same: a revoked stand-in in its family's place */
        uint32_t left = (uint32_t)(g.expires_at - is->now + 1);
        struct rc_info used = {0};

        /* already redeemed: a second use revokes what the first issued, whoever sends it */
        if (rtf_block(is->app, is->a, span_str(f.id), left) == RC_CONFLICT)
            (void)code_replayed(is, span_str(f.id), left, &used);
        return rc;
    }
    f.client_id = c->id;
    f.account_id = g.account_id;
    f.sid = g.sid;
    f.scope = g.scope ? g.scope : "";
    f.amr = g.amr;
    f.loa = g.loa;
    f.auth_time = g.auth_time;
    f.refresh = (c->grants & GRANT_REFRESH_TOKEN) != 0;
    /* RFC 9449 §5: a public client's refresh tokens are bound to the key of its proof */
    f.jkt = c->type == CLIENT_PUBLIC ? is->jkt : NULL;
    if (!f.account_id)
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "code", "no account");
    return issue_family(is, &f, &g, g.nonce, out, ri);
}

/* A hotline agent's consented token (flow/hotline.h): act {"sub": the agent's sub at the
 * console, "emp", "client_id": the console} (RFC 8693 §4.1: the agent acts for the citizen,
 * the token's sub), and the lifetime of the purpose (never longer than access_token_ttl). */
static enum rc
agent_opts(struct issue *is, const struct pending *pd, struct access_opts *ao, struct rc_info *ri)
{
    const char *purpose = pending_attr(pd, "purpose"), *emp = pending_attr(pd, "emp");
    const struct policy_purpose *pp = purpose ? policy_purpose(is->p, span_str(purpose)) : NULL;
    uint32_t ttl = is->p->tokens.access_token_ttl;
    json_t *o;
    char *s;

    if (!pp) /* the purpose left the policy since the request */
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "auth_req_id", "the purpose is gone");
    if (pp->token_ttl < ttl)
        ttl = pp->token_ttl;
    ao->exp = is->now + ttl;
    /* client_id: the client whose pairwise sector sub is in (RFC 8693 §4.3) */
    o = json_pack("{s:s, s:s, s:s}", "sub", pending_attr(pd, "agent_sub"), "emp", emp ? emp : "",
                  "client_id", is->c->id);
    s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    ao->act = s ? arena_strndup(is->a, s, strlen(s)) : NULL;
    free(s);
    json_decref(o);
    return ao->act ? RC_OK : rc_because(ri, RC_NOMEM, RC_WHY_NONE);
}

/* The tokens of an approved decoupled interaction (device grant, CIBA): those of the
 * approving phone session's login (levels, amr, auth_time, sid: never raised). */
static enum rc
issue_approved(struct issue *is, const struct pending *pd, struct token_resp *out,
               struct rc_info *ri)
{
    struct rtf f = {0};
    enum rc rc;

    if ((rc = rtf_new_id(is->app, &f)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    f.client_id = is->c->id;
    f.account_id = pd->by.account_id;
    f.sid = pd->by.sid;
    f.scope = pd->scope ? pd->scope : "";
    f.amr = pd->by.amr;
    f.loa = pd->by.loa;
    f.auth_time = pd->by.auth_time;
    f.refresh = (is->c->grants & GRANT_REFRESH_TOKEN) != 0;
    if (pending_attr(pd, "agent_sub")) { /* a hotline agent's request (flow/hotline.h) */
        struct access_opts ao = {0};
        if ((rc = agent_opts(is, pd, &ao, ri)) != RC_OK)
            return rc;
        is->user_opts = &ao;
        f.refresh = false; /* the purpose's short lifetime, never renewed */
        rc = issue_family(is, &f, NULL, NULL, out, ri);
        is->user_opts = NULL;
        return rc;
    }
    return issue_family(is, &f, NULL, NULL, out, ri);
}

enum rc
token_issue_session(struct app *app, struct arena *a, const struct policy *p,
                    const struct policy_client *c, const struct session *s, const char *scope,
                    const char *x5t, struct token_resp *out, struct rc_info *ri)
{
    struct issue is = {app, a, p, c, NULL, clock_now(app->clock), NULL, .x5t = x5t};
    struct rtf f = {0};
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = keys_current(app->keys, &is.ks)) != RC_OK)
        return rc_because(ri, RC_UNAVAILABLE, RC_WHY_NONE);
    if ((rc = rtf_new_id(app, &f)) == RC_OK) {
        f.client_id = c->id;
        f.account_id = s->account_id;
        f.sid = s->sid;
        f.scope = scope;
        f.amr = s->amr;
        f.loa = s->loa;
        f.auth_time = s->auth_time;
        f.refresh = (c->grants & GRANT_REFRESH_TOKEN) != 0;
        rc = issue_family(&is, &f, NULL, NULL, out, ri);
    } else {
        rc = rc_because(ri, rc, RC_WHY_NONE);
    }
    jose_keyset_release(is.ks);
    return rc;
}

/* RFC 8628 §3.4, §3.5: a poll with a device code. The rules are flow/device.c's. */
static enum rc
grant_device(struct issue *is, const struct token_req *req, struct token_resp *out,
             struct rc_info *ri)
{
    struct pending pd;
    enum rc rc;

    if (!(is->c->grants & GRANT_DEVICE_CODE))
        return rc_fail(ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "grant_type", "not registered");
    if ((rc = device_poll(is->app, is->a, is->c, req->device_code, &pd, ri)) != RC_OK)
        return rc;
    return issue_approved(is, &pd, out, ri);
}

/* CIBA Core §10.1, §11: a poll with an auth_req_id (poll mode). The rules are
 * flow/ciba.c's. The ID token is the plain OIDC one of the token endpoint (CIBA Core
 * §10.1.1): urn:openid:params:jwt:claim:auth_req_id and rt_hash bind the ID token of a
 * token pushed to the client (push mode, §10.3.1), which authd does not offer. */
static enum rc
grant_ciba(struct issue *is, const struct token_req *req, struct token_resp *out,
           struct rc_info *ri)
{
    struct pending pd;
    enum rc rc;

    if (!(is->c->grants & GRANT_CIBA) || is->c->type != CLIENT_CONFIDENTIAL)
        return rc_fail(ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "grant_type", "not registered");
    if ((rc = ciba_poll(is->app, is->a, is->c, req->auth_req_id, &pd, ri)) != RC_OK)
        return rc;
    return issue_approved(is, &pd, out, ri);
}

static bool
scope_any(struct span w, void *ctx)
{
    (void)w, (void)ctx;
    return true;
}

/* RFC 6749 §6: the requested scope, normalised into *want, must not exceed what the
 * grant had. */
static enum rc
check_narrowing(struct issue *is, const struct token_req *req, const char **want,
                struct rc_info *ri)
{
    struct rtf f;
    size_t dropped;
    enum rc rc = authz_scope_filter(is->a, req->scope, scope_any, NULL, want, &dropped, ri);

    if (rc == RC_NOMEM)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (rc != RC_OK)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope",
                       rc == RC_TOO_LARGE ? "too long" : "malformed");
    if (**want == 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "empty");
    if (req->refresh_token.len != REFRESH_TOKEN_LEN
        || rtf_get(is->app, is->a, span_of(req->refresh_token.p, RTF_ID_LEN), &f) != RC_OK)
        return RC_OK; /* rtf_rotate gives the precise answer */
    if (!authz_scopes_covered(span_str(*want), span_str(f.scope)))
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "exceeds the original grant");
    return RC_OK;
}

static enum rc
grant_refresh(struct issue *is, const struct token_req *req, struct token_resp *out,
              struct rc_info *ri)
{
    char next[REFRESH_TOKEN_LEN + 1];
    const char *scope = NULL;
    struct account acct = {0};
    struct rtf f;
    enum rc rc;

    if (!(is->c->grants & GRANT_REFRESH_TOKEN))
        return rc_fail(ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "grant_type", "not registered");
    if (!req->refresh_token.p || req->refresh_token.len == 0)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "refresh_token", "missing");
    if (req->scope.p && (rc = check_narrowing(is, req, &scope, ri)) != RC_OK)
        return rc;
    rc = rtf_rotate(is->app, is->a, is->p, is->c->id, req->refresh_token, &f, next, ri);
    if (rc == RC_NOT_FOUND || rc == RC_EXPIRED || rc == RC_DENIED)
        return rc_because(ri, rc, RC_WHY_GRANT); /* ri says why (flow/refresh.h) */
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (f.jkt && (!is->jkt || strcmp(f.jkt, is->jkt) != 0))
        return rc_fail(ri, RC_DENIED, RC_WHY_GRANT, "refresh_token",
                       "bound to another DPoP key"); /* RFC 9449 §5 */
    if (!scope)
        scope = f.scope;
    if (!(out->refresh_token = arena_strndup(is->a, next, REFRESH_TOKEN_LEN)))
        rc = rc_because(ri, RC_NOMEM, RC_WHY_NONE);
    else if ((rc = usable_account(account_get(is->app, is->a, f.account_id, &acct), &acct, ri))
             == RC_OK)
        rc = issue_user(is, &f, &acct, scope, NULL, out, ri);
    OPENSSL_cleanse(next, sizeof(next));
    OPENSSL_cleanse(acct.id_number, sizeof(acct.id_number));
    return rc;
}

static bool
scope_registered(struct span w, void *ctx)
{
    const struct policy_client *c = ctx;

    return strlist_has(&c->scopes, w);
}

/* The scope of a client's own token (RFC 6749 §3.3): the requested values it is
 * registered for (others are left out, or invalid_scope with strict_scopes), or all its
 * scopes when it asks for none. RC_OK: *scope in is->a. RC_DENIED (RC_WHY_SCOPE),
 * RC_NOMEM. */
static enum rc
client_scope(struct issue *is, const struct token_req *req, const char **scope, struct rc_info *ri)
{
    struct buf b;
    const char *s = NULL;
    size_t i, dropped;
    enum rc rc;

    if (req->scope.p) {
        rc = authz_scope_filter(is->a, req->scope, scope_registered, (void *)is->c, &s, &dropped,
                                ri);
        if (rc == RC_NOMEM)
            return rc_because(ri, rc, RC_WHY_NONE);
        if (rc != RC_OK)
            return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope",
                           rc == RC_TOO_LARGE ? "too long" : "malformed");
        if (dropped && is->c->strict_scopes)
            return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "not registered for the client");
        if (*s == 0)
            return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "none registered for the client");
        *scope = s;
        return RC_OK;
    }
    buf_init(&b, 4096);
    for (i = 0; i < is->c->scopes.n; i++)
        buf_printf(&b, "%s%s", i ? " " : "", is->c->scopes.v[i]);
    s = arena_strndup(is->a, b.p ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    *scope = s;
    return s ? RC_OK : rc_because(ri, RC_NOMEM, RC_WHY_NONE);
}

static enum rc
grant_client(struct issue *is, const struct token_req *req, struct token_resp *out,
             struct rc_info *ri)
{
    const char *scope = NULL, *jti;
    enum rc rc;

    if (!(is->c->grants & GRANT_CLIENT_CREDENTIALS) || is->c->type != CLIENT_CONFIDENTIAL)
        return rc_fail(ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "grant_type", "not registered");
    if ((rc = client_scope(is, req, &scope, ri)) != RC_OK)
        return rc;
    if ((rc = token_issue_access(is, is->c->id, scope, NULL, NULL, &out->access_token, &jti))
        != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    out->scope = scope;
    out->expires_in = is->p->tokens.access_token_ttl;
    if (is->user_opts && is->user_opts->exp > is->now)
        out->expires_in = (uint32_t)(is->user_opts->exp - is->now);
    return RC_OK;
}

typedef enum rc (*grant_fn)(struct issue *is, const struct token_req *req, struct token_resp *out,
                            struct rc_info *ri);

/* The handler of each row of the grant table (conf/policy.h); NULL for none. */
static grant_fn
grant_handler(unsigned bit)
{
    switch (bit) {
    case GRANT_AUTHORIZATION_CODE:
        return grant_code;
    case GRANT_REFRESH_TOKEN:
        return grant_refresh;
    case GRANT_CLIENT_CREDENTIALS:
        return grant_client;
    case GRANT_TOKEN_EXCHANGE:
        return token_grant_exchange;
    case GRANT_DEVICE_CODE:
        return grant_device;
    case GRANT_CIBA:
        return grant_ciba;
    }
    return NULL;
}

bool
token_grant_served(unsigned bit)
{
    return grant_handler(bit) != NULL;
}

enum rc
token_grant(struct app *app, struct arena *a, const struct policy *p, const struct policy_client *c,
            const struct token_req *req, struct token_resp *out, struct rc_info *ri)
{
    struct issue is = {app, a, p, c, NULL, clock_now(app->clock), req->dpop_jkt, .x5t = req->x5t};
    struct span gt = req->grant_type;
    grant_fn handler;
    struct rc_info own = {0};
    struct log_rec *lr;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (!ri)
        ri = &own;
    if (!gt.p || gt.len == 0)
        rc = rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "grant_type", "missing");
    else if ((rc = keys_current(app->keys, &is.ks)) != RC_OK)
        rc = rc_because(ri, RC_UNAVAILABLE, RC_WHY_NONE);
    else if (!(handler = grant_handler(policy_grant_parse(gt))))
        rc = rc_fail(ri, RC_UNSUPPORTED, RC_WHY_GRANT_TYPE, "grant_type", "not supported");
    else
        rc = handler(&is, req, out, ri);
    jose_keyset_release(is.ks);
    if ((lr = log_begin(LOG_INFO, "token"))) {
        log_span(lr, "grant", gt.len <= 64 ? gt : SPAN("(long)"));
        log_str(lr, "client", c->id);
        log_str(lr, "rc", rc_name(rc));
        if (rc != RC_OK) {
            log_str(lr, "reason", rc_reason_name(ri->why));
            log_str(lr, "why", ri->msg);
        }
        if (rc == RC_OK)
            log_str(lr, "scope", out->scope); /* what was granted (RFC 6749 §3.3) */
        log_end(lr);
    }
    return rc;
}
