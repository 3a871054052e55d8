/* Claim sets of access tokens (RFC 9068 §2.2, signed with the client's
 * access_token_signed_response_alg, ES256 by default) and ID tokens (OIDC Core §2, signed
 * with the client's id_token_signed_response_alg). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/jose.h"
#include "core/jsonout.h"
#include "flow/claims.h"
#include "flow/grant.h"
#include "flow/tokcache.h"
#include "flow/token_int.h"

/* "pwd otp" -> ["pwd","otp"] (RFC 8176 values). */
static json_t *
amr_array(const char *amr)
{
    json_t *arr = json_array();
    const char *s = amr ? amr : "";

    while (*s) {
        size_t n;
        while (*s == ' ')
            s++;
        n = strcspn(s, " ");
        if (n)
            json_array_append_new(arr, json_stringn(s, n));
        s += n;
    }
    return arr;
}

static void
add_session(json_t *o, const struct rtf *f)
{
    char acr[LOA_ACR_MAX];

    loa_format(f->loa, acr);
    json_object_set_new(o, "auth_time", json_integer(f->auth_time));
    json_object_set_new(o, "acr", json_string(acr));
    json_object_set_new(o, "amr", amr_array(f->amr));
    if (f->sid && *f->sid)
        json_object_set_new(o, "sid", json_string(f->sid));
}

/* Serializes o (consumed) and signs it with alg. A missing signing key for alg is a fault of
 * the deployment (policy names an algorithm the key set lacks): RC_INTERNAL. */
static enum rc
sign(struct issue *is, json_t *o, enum jose_alg alg, const char *typ, const char **token)
{
    char *s = jsonout_compact(o);
    struct span out;
    enum rc rc;

    json_decref(o);
    if (!s)
        return RC_NOMEM;
    rc = jose_sign(is->ks, alg, typ, span_str(s), is->a, &out, NULL);
    free(s);
    if (rc == RC_NOT_FOUND)
        rc = RC_INTERNAL;
    if (rc == RC_OK)
        *token = (const char *)out.p;
    return rc;
}

/* The client's access token algorithm (ES256 unless its policy says otherwise). */
static enum jose_alg
access_token_alg(const struct issue *is)
{
    return is->c->access_token_alg ? is->c->access_token_alg : JOSE_ES256;
}

/* Adds o's act claim (JSON text we produced) to claims; RC_MALFORMED if it is not an object. */
static enum rc
add_act(json_t *claims, const char *act)
{
    json_t *j = json_loads(act, JSON_REJECT_DUPLICATES, NULL);

    if (!json_is_object(j)) {
        json_decref(j);
        return RC_MALFORMED;
    }
    json_object_set_new(claims, "act", j);
    return RC_OK;
}

enum rc
token_issue_access(struct issue *is, const char *sub, const char *scope, const struct rtf *f,
                   const struct access_opts *ao, const char **token, const char **jti)
{
    int64_t exp = ao && ao->exp ? ao->exp : is->now + is->p->tokens.access_token_ttl;
    char id[TOKEN_JTI_LEN + 2];
    json_t *o;
    enum rc rc;

    if ((rc = grant_random_token(is->app, 16, id, sizeof(id))) != RC_OK)
        return rc;
    if (!(*jti = arena_strndup(is->a, id, strlen(id))))
        return RC_NOMEM;
    o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", is->app->cfg->issuer, "sub", sub,
                  "aud", ao && ao->aud ? ao->aud : is->c->id, "client_id", is->c->id, "iat",
                  (json_int_t)is->now, "exp", (json_int_t)exp, "jti", id);
    if (o && scope && *scope)
        json_object_set_new(o, "scope", json_string(scope));
    if (o && is->jkt) /* RFC 9449 §6.1 */
        json_object_set_new(o, "cnf", json_pack("{s:s}", "jkt", is->jkt));
    else if (o && is->x5t) /* RFC 8705 §3.1 */
        json_object_set_new(o, "cnf", json_pack("{s:s}", "x5t#S256", is->x5t));
    if (o && f) {
        add_session(o, f);
        json_object_set_new(o, "rtf", json_string(f->id));
    }
    if (o && ao && ao->act && (rc = add_act(o, ao->act)) != RC_OK) {
        json_decref(o);
        return rc;
    }
    if ((rc = sign(is, o, access_token_alg(is), "at+jwt", token)) == RC_OK)
        tokcache_put(is->app->tokcache, span_str(*token), exp);
    return rc;
}

/* The client's ID token algorithm (a client built in code rather than by policy_load has 0). */
static enum jose_alg
id_token_alg(const struct issue *is)
{
    return is->c->id_token_alg ? is->c->id_token_alg : JOSE_ES256;
}

enum rc
token_issue_id(struct issue *is, const char *sub, const struct rtf *f, const char *scope,
               const char *nonce, const char *access_token, const struct account *acct,
               bool *released_idn, const char **token)
{
    struct span at_hash;
    json_t *o;
    enum rc rc;

    *released_idn = false;
    if ((rc = jose_half_hash(id_token_alg(is), span_str(access_token), is->a, &at_hash))
        != RC_OK)
        return rc;
    o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", is->app->cfg->issuer, "sub", sub, "aud",
                  is->c->id, "iat", (json_int_t)is->now, "exp",
                  (json_int_t)(is->now + is->p->tokens.id_token_ttl), "at_hash",
                  (const char *)at_hash.p);
    if (!o)
        return RC_NOMEM;
    add_session(o, f);
    if (nonce && *nonce)
        json_object_set_new(o, "nonce", json_string(nonce));
    if (acct)
        claims_add_user(o, is->p, is->c, span_str(scope), acct, released_idn);
    return sign(is, o, id_token_alg(is), "JWT", token);
}
