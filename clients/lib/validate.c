/* Local validation of JWT access tokens, RFC 9068 §4, with the cached JWKS. JOSE itself
 * (parsing, algorithm policy, signature) is core/jose's; this file maps its results to the
 * library's codes and adds the access-token rules (claims: tokinfo.c). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "client_int.h"
#include "core/dpop.h"
#include "core/jose.h"
#include "core/loa.h"

static bool
field_is(const struct rc_info *ri, const char *name)
{
    return ri->field && strcmp(ri->field, name) == 0;
}

/* core/jose's jose_verify results (see jose.h) to ours. */
static enum authd_status
map_verify(enum rc rc, const struct rc_info *ri)
{
    switch (rc) {
    case RC_OK:
        return AUTHD_OK;
    case RC_MALFORMED:
    case RC_TOO_LARGE:
        return AUTHD_ERR_MALFORMED;
    case RC_NOT_FOUND:
        return AUTHD_ERR_UNKNOWN_KEY;
    case RC_NOMEM:
        return AUTHD_ERR_NOMEM;
    case RC_DENIED:
        if (field_is(ri, "alg"))
            return AUTHD_ERR_ALGORITHM; /* none, HS256, or not the key's alg */
        if (field_is(ri, "typ"))
            return AUTHD_ERR_TYP;
        if (field_is(ri, "kid"))
            return AUTHD_ERR_UNKNOWN_KEY; /* no kid, and no single key to try */
        if (field_is(ri, "crit"))
            return AUTHD_ERR_MALFORMED;
        return AUTHD_ERR_SIGNATURE;
    default:
        return AUTHD_ERR_INTERNAL;
    }
}

/* Signature and header, refetching the JWKS once (at most once per interval) for an
 * unknown kid. AUTHD_OK: *payload in arena a. */
static enum authd_status
verify(struct authd_client *c, struct span token, struct arena *a, struct span *payload)
{
    const struct jose_verify_opts vo = {.algs = c->algs, .typ = c->typ};
    struct jose_keyset *ks = NULL;
    struct rc_info ri = {0};
    enum authd_status st;
    uint64_t gen;
    enum rc rc;

    if ((st = jwks_cache_get(c, &ks, &gen)) != AUTHD_OK)
        return st;
    rc = jose_verify(ks, &vo, token, a, payload, NULL, &ri);
    jose_keyset_release(ks);
    if (rc != RC_NOT_FOUND)
        return map_verify(rc, &ri);
    /* RFC 9068 §4 via OIDC Core §10.1.1: an unknown kid may mean a rotation: refetch. */
    if ((st = jwks_cache_unknown_kid(c, gen)) != AUTHD_OK
        || (st = jwks_cache_get(c, &ks, &gen)) != AUTHD_OK)
        return st == AUTHD_ERR_KEYS_UNAVAILABLE ? st : AUTHD_ERR_UNKNOWN_KEY;
    ri = (struct rc_info){0};
    rc = jose_verify(ks, &vo, token, a, payload, NULL, &ri);
    jose_keyset_release(ks);
    return map_verify(rc, &ri);
}

/* RFC 9068 §2.2: claims every access token carries (iss and exp: tokinfo_extract). */
static enum authd_status
check_required(const struct authd_token_info *t)
{
    if (!t->iss || !t->sub || !t->client_id || !t->jti || !t->iat)
        return AUTHD_ERR_MALFORMED;
    return AUTHD_OK;
}

/* RFC 9449 §7: a bound token needs a proof of its key for this request; a proof needs a
 * bound token. */
static enum authd_status
check_dpop(const struct authd_client *c, struct span token, const struct authd_dpop_request *req,
           struct authd_token_info *t)
{
    struct dpop_expect e;
    struct dpop_proof pr;
    struct arena *a = t->priv_;

    if (!req || !req->proof)
        return t->cnf_jkt ? AUTHD_ERR_DPOP : AUTHD_OK;
    if (!t->cnf_jkt || !req->method || !req->url)
        return AUTHD_ERR_DPOP;
    e = (struct dpop_expect){req->method,
                             req->url,
                             dpop_ath(token, a),
                             client_now(c),
                             req->max_age_s > 0 ? (uint32_t)req->max_age_s : 60,
                             (uint32_t)c->leeway};
    if (!e.ath)
        return AUTHD_ERR_NOMEM;
    if (dpop_proof_parse(span_str(req->proof), &e, a, &pr, NULL) != RC_OK
        || strcmp(pr.jkt, t->cnf_jkt) != 0)
        return AUTHD_ERR_DPOP;
    if (req->jti_seen
        && req->jti_seen(req->jti_arg, pr.jkt, pr.jti, (int64_t)e.max_age + 2 * c->leeway + 1))
        return AUTHD_ERR_DPOP;
    return AUTHD_OK;
}

/* RFC 8705 §3: a certificate-bound token only with that certificate (cert NULL: none). */
static enum authd_status
check_mtls(const struct authd_token_info *t, const unsigned char *cert, size_t len)
{
    unsigned char md[32];
    unsigned n = 0;
    struct span x5t;
    struct arena *a = t->priv_;

    if (!t->cnf_x5t)
        return AUTHD_OK;
    if (!cert || !len || EVP_Digest(cert, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32
        || jose_b64url_encode(span_of(md, 32), a, &x5t) != RC_OK)
        return AUTHD_ERR_CERT_BOUND;
    if (strlen(t->cnf_x5t) != x5t.len || CRYPTO_memcmp(t->cnf_x5t, x5t.p, x5t.len) != 0)
        return AUTHD_ERR_CERT_BOUND;
    return AUTHD_OK;
}

enum authd_status
authd_client_validate(struct authd_client *c, const char *token, size_t len,
                      const struct authd_validate_opts *o, struct authd_token_info *out)
{
    return authd_client_validate_dpop(c, token, len, NULL, o, out);
}

static enum authd_status validate_any(struct authd_client *c, const char *token, size_t len,
                                      const struct authd_dpop_request *req,
                                      const unsigned char *cert, size_t cert_len,
                                      const struct authd_validate_opts *o,
                                      struct authd_token_info *out);

enum authd_status
authd_client_validate_dpop(struct authd_client *c, const char *token, size_t len,
                           const struct authd_dpop_request *req,
                           const struct authd_validate_opts *o, struct authd_token_info *out)
{
    return validate_any(c, token, len, req, NULL, 0, o, out);
}

enum authd_status
authd_client_validate_mtls(struct authd_client *c, const char *token, size_t len,
                           const unsigned char *cert_der, size_t cert_len,
                           const struct authd_validate_opts *o, struct authd_token_info *out)
{
    return validate_any(c, token, len, NULL, cert_der, cert_len, o, out);
}

static enum authd_status
validate_any(struct authd_client *c, const char *token, size_t len,
             const struct authd_dpop_request *req, const unsigned char *cert, size_t cert_len,
             const struct authd_validate_opts *o, struct authd_token_info *out)
{
    struct span payload;
    struct loa want;
    enum authd_status st;

    memset(out, 0, sizeof(*out));
    if (!token || (o && o->acr && loa_parse(span_str(o->acr), &want) != RC_OK))
        return AUTHD_ERR_INVALID_ARGUMENT;
    /* One arena for the decoding and the result: the payload is decoded into it anyway. */
    if ((st = tokinfo_init(out)) != AUTHD_OK)
        goto out;
    if ((st = verify(c, span_of(token, len), out->priv_, &payload)) != AUTHD_OK)
        goto out;
    if ((st = tokinfo_extract(c, payload, true, out)) != AUTHD_OK)
        goto out;
    if ((st = check_required(out)) != AUTHD_OK)
        goto out;
    if ((st = check_dpop(c, span_of(token, len), req, out)) != AUTHD_OK)
        goto out;
    if ((st = check_mtls(out, cert, cert_len)) != AUTHD_OK)
        goto out;
    st = tokinfo_check_opts(out, o);
out:
    if (st != AUTHD_OK)
        authd_token_info_clear(out);
    return st;
}
