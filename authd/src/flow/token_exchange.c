/* Token exchange (RFC 8693 §2) for relying modules: a module presents a citizen's access
 * token that was issued to it (subject_token) with its own client authentication and asks
 * for an access token towards another module (audience). Policy decides: the caller needs
 * the token-exchange grant (else unauthorized_client) and must list the audience in its
 * exchange_audiences (else invalid_target, §2.2.2).
 *
 * The issued token keeps the subject token's sub and assurance (acr, amr, auth_time) and
 * its token family (rtf), so revoking the citizen's grant or logging out revokes every
 * token derived from it; aud is the audience, client_id the caller, and act names the
 * caller (§4.1), nesting the subject token's act when it had one. sub is NOT recomputed
 * for the audience: the audience acts for the same citizen as the caller, inside one chain
 * of delegation, and must be able to answer the caller about that citizen; the sub is in
 * the pairwise sector of the client the citizen logged in to. A module that needs a
 * stable identity across channels gets it from introspection (id_number, for modules
 * whose policy allows it), not from sub. The token never outlives the subject token.
 * Its scope is the subject token's (or the requested part of it) narrowed to what the
 * audience is registered for (exchange_scope): a module never holds more than its own
 * policy gives it, whatever the caller's token carried.
 *
 * Refusals: a subject token that is invalid, expired, revoked, not issued to the caller
 * (its aud) or not a citizen's is invalid_request, as §2.2.2 requires ("if either the
 * subject_token or actor_token are invalid for any reason ... MUST ... invalid_request");
 * error_description says which. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/authz.h"
#include "flow/claims.h"
#include "flow/clients.h"
#include "flow/audit.h"
#include "flow/notify.h"
#include "flow/token_int.h"
#include "log/log.h"

#define ACT_MAX_DEPTH 4 /* nested act claims: a longer chain of delegation is refused */

/* The parameters, before any store access (RFC 8693 §2.1). */
static enum rc
check_params(const struct token_req *req, struct rc_info *ri)
{
    if (!req->subject_token.p || req->subject_token.len == 0)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "subject_token", "missing");
    if (!req->subject_token_type.p)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "subject_token_type", "missing");
    if (!span_eq_str(req->subject_token_type, TOKEN_TYPE_ACCESS))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "subject_token_type",
                       "only urn:ietf:params:oauth:token-type:access_token is accepted");
    if (req->requested_token_type.p && !span_eq_str(req->requested_token_type, TOKEN_TYPE_ACCESS))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "requested_token_type",
                       "only urn:ietf:params:oauth:token-type:access_token is issued");
    if (req->actor_token.p || req->actor_token_type.p)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "actor_token",
                       "not supported: the authenticated client is the actor");
    if (req->resource.p)
        return rc_fail(ri, RC_DENIED, RC_WHY_TARGET, "resource",
                       "not supported: name the module in audience");
    if (!req->audience.p || req->audience.len == 0)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "audience", "missing");
    return RC_OK;
}

/* The caller's right to the audience (policy exchange_audiences, an existing client). */
static enum rc
check_target(struct issue *is, struct span audience, const struct policy_client **target,
             struct rc_info *ri)
{
    if (!strlist_has(&is->c->exchange_audiences, audience))
        return rc_fail(ri, RC_DENIED, RC_WHY_TARGET, "audience",
                       "not allowed for this client by policy");
    if (!(*target = client_resolve(is->app, is->p, audience)))
        return rc_fail(ri, RC_DENIED, RC_WHY_TARGET, "audience", "no such module");
    return RC_OK;
}

/* Verifies the subject token and that it is a citizen's token issued to the caller. */
static enum rc
check_subject(struct issue *is, struct span tok, struct token_claims *tc, struct rc_info *ri)
{
    enum rc rc = token_access_verify(is->app, is->a, is->p, tok, tc, NULL);

    if (rc == RC_EXPIRED)
        return rc_fail(ri, RC_EXPIRED, RC_WHY_SUBJECT_TOKEN, "subject_token", "expired");
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_SUBJECT_TOKEN, "subject_token", "revoked");
    if (rc == RC_UNAVAILABLE || rc == RC_NOMEM || rc == RC_INTERNAL)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (rc != RC_OK)
        return rc_fail(ri, RC_DENIED, RC_WHY_SUBJECT_TOKEN, "subject_token", "invalid");
    /* RFC 8693 §5: only the party a token was issued to may trade it */
    if (!tc->aud || strcmp(tc->aud, is->c->id) != 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_SUBJECT_TOKEN, "subject_token",
                       "not issued to this client");
    if (!tc->rtf || !tc->account_id)
        return rc_fail(ri, RC_DENIED, RC_WHY_SUBJECT_TOKEN, "subject_token",
                       "not a citizen's token");
    return RC_OK;
}

static int
act_depth(json_t *act)
{
    int d = 0;

    while (json_is_object(act) && d <= ACT_MAX_DEPTH) {
        d++;
        act = json_object_get(act, "act");
    }
    return d;
}

/* {"sub": caller} with the subject token's act nested inside (RFC 8693 §4.1). RC_OK: *act
 * in is->a. RC_DENIED for a chain longer than ACT_MAX_DEPTH. */
static enum rc
make_act(struct issue *is, const char *prev, const char **act)
{
    json_t *o = json_pack("{s:s}", "sub", is->c->id), *p = NULL;
    enum rc rc = RC_NOMEM;
    char *s = NULL;

    if (!o)
        return RC_NOMEM;
    if (prev) {
        if (!(p = json_loads(prev, 0, NULL)) || act_depth(p) >= ACT_MAX_DEPTH) {
            rc = RC_DENIED;
            goto out;
        }
        json_object_set(o, "act", p);
    }
    if ((s = json_dumps(o, JSON_COMPACT)) && (*act = arena_strndup(is->a, s, strlen(s))))
        rc = RC_OK;
out:
    free(s);
    json_decref(p);
    json_decref(o);
    return rc;
}

struct xscope {
    struct span have;                   /* the subject token's scope */
    const struct policy_client *target; /* the audience */
    size_t beyond;                      /* requested values the subject token lacks */
};

/* A value the new token keeps: the subject token has it and the audience is registered
 * for it (id_number only with id_number_allowed: the citizen's consent to share it was
 * given to one client and travels only to modules whose policy may receive it). */
static bool
exchange_keeps(struct span w, void *ctx)
{
    struct xscope *x = ctx;

    if (!authz_scopes_covered(w, x->have)) {
        x->beyond++;
        return false;
    }
    return strlist_has(&x->target->scopes, w)
           && (!span_eq_str(w, "id_number") || x->target->id_number_allowed);
}

/* The scope of the new token (RFC 8693 §2.1, RFC 6749 §3.3): the requested values, or
 * the subject token's when none are asked, narrowed to what the audience is registered
 * for. A requested value beyond the subject token's scope is invalid_scope (RFC 6749
 * §5.2: it exceeds what the citizen granted); one the audience is not registered for is
 * left out, or invalid_scope when the caller's policy has strict_scopes; nothing left is
 * invalid_scope. RC_OK: *scope in is->a. RC_DENIED (RC_WHY_SCOPE), RC_NOMEM. */
static enum rc
exchange_scope(struct issue *is, struct span want, const struct token_claims *tc,
               const struct policy_client *target, const char **scope, struct rc_info *ri)
{
    struct xscope x = {span_str(tc->scope ? tc->scope : ""), target, 0};
    const char *s = NULL;
    size_t dropped;
    enum rc rc =
        authz_scope_filter(is->a, want.p ? want : x.have, exchange_keeps, &x, &s, &dropped, ri);

    if (rc == RC_NOMEM)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (rc != RC_OK)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope",
                       rc == RC_TOO_LARGE ? "too long" : "malformed");
    if (x.beyond)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "exceeds the subject token's scope");
    if (want.p && dropped && is->c->strict_scopes)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "not registered for the audience");
    if (*s == 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope",
                       want.p ? "none registered for the audience"
                              : "the subject token has no scope the audience is registered for");
    *scope = s;
    return RC_OK;
}

/* Issues the exchanged token for subject tc towards target. */
static enum rc
issue_exchanged(struct issue *is, const struct token_claims *tc, const char *scope,
                const struct policy_client *target, struct token_resp *out, struct rc_info *ri)
{
    struct access_opts ao = {.aud = target->id};
    const char *jti;
    struct rtf f;
    enum rc rc;

    if ((rc = make_act(is, tc->act, &ao.act)) == RC_DENIED)
        return rc_fail(ri, RC_DENIED, RC_WHY_SUBJECT_TOKEN, "subject_token",
                       "delegation chain too long");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if ((rc = rtf_get(is->app, is->a, span_str(tc->rtf), &f)) == RC_NOT_FOUND)
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_SUBJECT_TOKEN, "subject_token", "revoked");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    ao.exp = is->now + is->p->tokens.access_token_ttl;
    if (ao.exp > tc->exp)
        ao.exp = tc->exp; /* the delegation never outlives the citizen's token */
    if ((rc = token_issue_access(is, tc->sub, scope, &f, &ao, &out->access_token, &jti)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    /* lets the audience notify the citizen later by this sub (flow/notify.h) */
    if ((rc = notify_subject_remember(is->app, is->a, is->p, target, tc->sub, tc->account_id))
        != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    out->scope = scope;
    out->expires_in = ao.exp > is->now ? (uint32_t)(ao.exp - is->now) : 0;
    out->issued_token_type = TOKEN_TYPE_ACCESS;
    return RC_OK;
}

/* token.act (docs/audit.md): the citizen's account, the agent (the innermost actor's sub:
 * the person who first acted for the citizen), the client exchanging, the audience. */
static enum rc
audit_act(struct issue *is, const struct token_claims *tc, const struct policy_client *target)
{
    json_t *act = json_loads(tc->act, 0, NULL), *o = act, *in;
    const char *agent;
    enum rc rc;

    while ((in = json_object_get(o, "act")) && json_is_object(in))
        o = in;
    agent = json_string_value(json_object_get(o, "sub"));
    const char *kv[] = {"acct",   tc->account_id, "agent",    agent ? agent : "",
                        "client", is->c->id,      "audience", target->id};
    rc = audit_append(is->app, "token.act", kv, 8);
    json_decref(act);
    return rc;
}

enum rc
token_grant_exchange(struct issue *is, const struct token_req *req, struct token_resp *out,
                     struct rc_info *ri)
{
    const struct policy_client *target;
    struct token_claims tc;
    const char *scope = NULL;
    enum rc rc;

    if (!(is->c->grants & GRANT_TOKEN_EXCHANGE) || is->c->type != CLIENT_CONFIDENTIAL)
        return rc_fail(ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "grant_type",
                       "token exchange is not registered for this client");
    if ((rc = check_params(req, ri)) != RC_OK
        || (rc = check_target(is, req->audience, &target, ri)) != RC_OK
        || (rc = check_subject(is, req->subject_token, &tc, ri)) != RC_OK)
        return rc;
    if ((rc = exchange_scope(is, req->scope, &tc, target, &scope, ri)) != RC_OK)
        return rc;
    /* a token someone acts with (a hotline agent's, flow/hotline.h): on the record before
     * it is handed out */
    if (tc.act && (rc = audit_act(is, &tc, target)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if ((rc = issue_exchanged(is, &tc, scope, target, out, ri)) != RC_OK)
        return rc;
    if (ri) {
        /* the token event (token.c) logs the outcome; this names the parties */
        struct log_rec *lr = log_begin(LOG_INFO, "token.exchange");
        log_str(lr, "client", is->c->id);
        log_str(lr, "aud", target->id);
        log_str(lr, "subject_jti", tc.jti);
        log_end(lr);
    }
    return RC_OK;
}
