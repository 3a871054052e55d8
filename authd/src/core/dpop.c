/* DPoP proofs (RFC 9449 §4.2, §4.3). */
#include "core/dpop.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "core/jose.h"

static enum rc
bad(struct rc_info *ri, enum rc rc, const char *field, const char *msg)
{
    return rc_fail(ri, rc, RC_WHY_DPOP_PROOF, field, msg);
}

/* A string claim of at most max bytes, copied into a; NULL (and RC_OK) when absent and
 * optional. */
static enum rc
claim_str(json_t *o, const char *name, size_t max, bool required, struct arena *a, const char **out,
          struct rc_info *ri)
{
    json_t *v = json_object_get(o, name);

    *out = NULL;
    if (!v)
        return required ? bad(ri, RC_MALFORMED, name, "missing") : RC_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
        return bad(ri, RC_MALFORMED, name, "not a string of the allowed length");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return bad(ri, RC_MALFORMED, name, "holds a NUL byte");
    *out = arena_strndup(a, json_string_value(v), json_string_length(v));
    return *out ? RC_OK : RC_NOMEM;
}

/* §4.3 point 9: htu equals the request's URL, query and fragment left out. */
static bool
htu_matches(const char *htu, const char *want)
{
    size_t n = strcspn(htu, "?#");

    return n == strlen(want) && memcmp(htu, want, n) == 0;
}

/* Equal strings, in constant time over their (public) length. */
static bool
same(const char *a, const char *b)
{
    size_t n = strlen(a);

    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

static enum rc
check_claims(json_t *c, const struct dpop_expect *e, struct arena *a, struct dpop_proof *out,
             struct rc_info *ri)
{
    const char *htm, *htu, *ath;
    json_t *iat = json_object_get(c, "iat");
    enum rc rc;

    if ((rc = claim_str(c, "jti", DPOP_JTI_MAX, true, a, &out->jti, ri)) != RC_OK
        || (rc = claim_str(c, "htm", 16, true, a, &htm, ri)) != RC_OK
        || (rc = claim_str(c, "htu", 2048, true, a, &htu, ri)) != RC_OK
        || (rc = claim_str(c, "ath", 128, false, a, &ath, ri)) != RC_OK
        || (rc = claim_str(c, "nonce", DPOP_NONCE_MAX, false, a, &out->nonce, ri)) != RC_OK)
        return rc;
    if (!json_is_integer(iat))
        return bad(ri, RC_MALFORMED, "iat", "missing or not an integer");
    out->iat = (int64_t)json_integer_value(iat);
    if (strcmp(htm, e->htm) != 0)
        return bad(ri, RC_DENIED, "htm", "not the method of the request");
    if (!htu_matches(htu, e->htu))
        return bad(ri, RC_DENIED, "htu", "not the URL of the request");
    if (out->iat > e->now + (int64_t)e->leeway)
        return bad(ri, RC_DENIED, "iat", "in the future");
    if (out->iat < e->now - (int64_t)e->max_age - (int64_t)e->leeway)
        return bad(ri, RC_EXPIRED, "iat", "too old");
    if (e->ath && (!ath || !same(ath, e->ath)))
        return bad(ri, RC_DENIED, "ath", ath ? "not the hash of the access token" : "missing");
    return RC_OK;
}

enum rc
dpop_proof_parse(struct span proof, const struct dpop_expect *e, struct arena *a,
                 struct dpop_proof *out, struct rc_info *ri)
{
    /* every algorithm of the table is asymmetric; none and HS* are not in it (§4.3 point 5) */
    struct jose_verify_opts o = {JOSE_ALGS_DPOP, DPOP_TYP};
    struct span hdr, payload;
    struct rc_info vi = {0};
    json_t *c;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (proof.len > DPOP_PROOF_MAX)
        return bad(ri, RC_TOO_LARGE, "DPoP", "proof too large");
    if ((rc = jose_verify_jwk_cached(&o, e->keys, proof, a, &hdr, &payload, out->jkt, &vi))
        != RC_OK)
        return rc == RC_NOMEM ? rc : bad(ri, rc == RC_NOT_FOUND ? RC_DENIED : rc, vi.field, vi.msg);
    c = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(c))
        rc = bad(ri, RC_MALFORMED, "DPoP", "payload is not a JSON object");
    else
        rc = check_claims(c, e, a, out, ri);
    json_decref(c);
    return rc;
}

const char *
dpop_ath(struct span access_token, struct arena *a)
{
    uint8_t h[32];
    unsigned int n = 0;
    struct span out;

    if (!EVP_Digest(access_token.p, access_token.len, h, &n, EVP_sha256(), NULL) || n != 32)
        return NULL;
    return jose_b64url_encode(span_of(h, 32), a, &out) == RC_OK ? (const char *)out.p : NULL;
}
