/* Checking our own access tokens for /userinfo, /introspect and /revoke: signature and
 * claims (RFC 9068 §4), then revocation (a marker per jti, the family's flag). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/jose.h"
#include "core/jsonget.h"
#include "flow/refresh.h"
#include "flow/token.h"
#include "flow/tokcache.h"
#include "port/keys.h"
#include "port/store.h"

static enum rc
parse_claims(struct arena *a, struct span payload, struct token_claims *out)
{
    json_t *o = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL), *aud;
    enum rc rc = RC_MALFORMED;

    memset(out, 0, sizeof(*out));
    if (!o)
        return RC_MALFORMED;
    aud = json_object_get(o, "aud");
    if (json_is_array(aud))
        aud = json_array_get(aud, 0);
    out->jti = jsonget_str(a, o, "jti");
    out->sub = jsonget_str(a, o, "sub");
    out->client_id = jsonget_str(a, o, "client_id");
    out->scope = jsonget_str(a, o, "scope");
    out->iss = jsonget_str(a, o, "iss");
    out->acr = jsonget_str(a, o, "acr");
    out->rtf = jsonget_str(a, o, "rtf");
    out->jkt = jsonget_str(a, json_object_get(o, "cnf"), "jkt");
    out->x5t = jsonget_str(a, json_object_get(o, "cnf"), "x5t#S256");
    out->aud = json_is_string(aud)
                   ? arena_strndup(a, json_string_value(aud), json_string_length(aud))
                   : NULL;
    if (json_is_object(json_object_get(o, "act"))) {
        char *act = json_dumps(json_object_get(o, "act"), JSON_COMPACT | JSON_SORT_KEYS);
        out->act = act ? arena_strndup(a, act, strlen(act)) : NULL;
        free(act);
        if (!out->act) {
            json_decref(o);
            return RC_NOMEM;
        }
    }
    out->exp = json_integer_value(json_object_get(o, "exp"));
    out->iat = json_integer_value(json_object_get(o, "iat"));
    if (out->jti && out->sub && out->client_id && out->exp > 0 && strlen(out->jti) <= 64)
        rc = RC_OK;
    json_decref(o);
    return rc;
}

/* RC_OK if neither the token nor its family was revoked; RC_NOT_FOUND if one was. */
static enum rc
check_revoked(struct app *app, struct arena *a, struct token_claims *tc)
{
    struct span v;
    struct rtf f;
    enum rc rc = store_get(app->store, a, store_key(a, "atrev", span_str(tc->jti), NULL), &v);

    if (rc == RC_OK)
        return RC_NOT_FOUND;
    if (rc != RC_NOT_FOUND)
        return rc;
    if (!tc->rtf)
        return RC_OK;
    if ((rc = rtf_get(app, a, span_str(tc->rtf), &f)) != RC_OK)
        return rc;
    /* an exchanged token (with act) names the exchanging module as client_id; its family
     * is still the citizen's grant to the first client, whose revocation revokes it too */
    if (f.revoked || (!tc->act && strcmp(f.client_id, tc->client_id) != 0))
        return RC_NOT_FOUND;
    tc->account_id = f.account_id;
    return RC_OK;
}

enum rc
token_access_verify(struct app *app, struct arena *a, const struct policy *p, struct span token,
                    struct token_claims *out, struct rc_info *ri)
{
    static const struct jose_verify_opts vo = {JOSE_ALGS_ISSUED, "at+jwt"};
    struct jose_keyset *ks = NULL;
    struct span payload;
    struct jose_claims_opts co = {
        .iss = app->cfg->issuer, .now = clock_now(app->clock), .leeway = p->tokens.clock_leeway_s};
    enum rc rc;

    bool known = tokcache_hit(app->tokcache, token, co.now);

    if (known) {
        /* these exact bytes were signed or verified here before: skip the ECDSA check */
        if ((rc = jose_payload_unverified(token, a, &payload)) != RC_OK)
            return rc_set(ri, RC_MALFORMED, "token", "not a JWS");
    } else {
        if ((rc = keys_current(app->keys, &ks)) != RC_OK)
            return rc;
        rc = jose_verify(ks, &vo, token, a, &payload, NULL, ri);
        jose_keyset_release(ks);
        if (rc == RC_NOT_FOUND || rc == RC_TOO_LARGE)
            return rc_set(ri, RC_DENIED, "token", rc == RC_NOT_FOUND ? "unknown key" : "too long");
        if (rc != RC_OK)
            return rc;
    }
    if ((rc = jose_claims_check(payload, &co, ri)) != RC_OK)
        return rc;
    if ((rc = parse_claims(a, payload, out)) != RC_OK)
        return rc == RC_NOMEM ? rc : rc_set(ri, RC_MALFORMED, "token", "not an access token");
    if (!known)
        tokcache_put(app->tokcache, token, out->exp);
    if ((rc = check_revoked(app, a, out)) == RC_NOT_FOUND)
        return rc_set(ri, RC_NOT_FOUND, "token", "revoked");
    return rc;
}

enum rc
token_access_revoke(struct app *app, struct arena *a, const struct token_claims *tc)
{
    int64_t ttl = tc->exp - clock_now(app->clock) + 300; /* beyond any configured leeway */

    if (ttl < 1)
        return RC_OK;
    return store_put(app->store, store_key(a, "atrev", span_str(tc->jti), NULL), SPAN("1"),
                     (uint32_t)ttl, 0);
}
