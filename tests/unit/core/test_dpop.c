/* core/dpop: DPoP proofs (RFC 9449 §4.3) signed with cjose (dpop_sign.h), each rule broken
 * once. */
#include <cjose/cjose.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dpop.h"
#include "core/jose.h"
#include "dpop_sign.h"
#include "test.h"

#define NOW 1740787200
#define HTU "https://id.example/token"

static const char *
claims(const char *jti, const char *htm, const char *htu, long long iat, const char *more)
{
    static char c[1024];

    snprintf(c, sizeof(c), "{\"jti\":\"%s\",\"htm\":\"%s\",\"htu\":\"%s\",\"iat\":%lld%s}", jti,
             htm, htu, iat, more ? more : "");
    return c;
}

/* The proof-key cache the checks use (NULL: none). */
static struct jose_key_cache *cache;

static enum rc
check(const char *proof, const char *ath, struct dpop_proof *out, struct rc_info *ri)
{
    static struct arena a;
    struct dpop_expect e = {"POST", HTU, ath, NOW, 60, 5, cache};

    arena_clear(&a);
    arena_init(&a, 1 << 16);
    memset(ri, 0, sizeof(*ri));
    return dpop_proof_parse(span_str(proof), &e, &a, out, ri);
}

TEST(dpop_good_proof_gives_the_key_thumbprint)
{
    const char *k = key_json(false);
    struct dpop_proof p;
    struct rc_info ri;
    struct arena a;
    struct span tp;
    char *pub;

    REQUIRE(k);
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL, claims("j1", "POST", HTU, NOW, NULL)),
                   NULL, &p, &ri),
             RC_OK);
    CHECK_STR(p.jti, "j1");
    CHECK(p.nonce == NULL && p.iat == NOW);
    arena_init(&a, 4096);
    pub = public_of(k);
    REQUIRE(jose_jwk_thumbprint(span_str(pub), &a, &tp) == RC_OK);
    CHECK(strlen(p.jkt) == DPOP_JKT_LEN && memcmp(p.jkt, tp.p, DPOP_JKT_LEN) == 0);
    free(pub);
    arena_clear(&a);
    /* query and fragment are not part of htu (§4.3 point 9); a nonce is read */
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL,
                             claims("j2", "POST", HTU "?a=1#f", NOW - 60, ",\"nonce\":\"n1\"")),
                   NULL, &p, &ri),
             RC_OK);
    CHECK_STR(p.nonce, "n1");
}

static void
each_broken_rule(void)
{
    const char *k = key_json(false), *other = key_json(true);
    char *opub = public_of(other), priv[4096];
    struct dpop_proof p;
    struct rc_info ri;

    REQUIRE(k && other && opub);
    snprintf(priv, sizeof(priv), "%s", k);
    CHECK_RC(check(sign_with(k, "JWT", "ES256", NULL, claims("j", "POST", HTU, NOW, NULL)), NULL,
                   &p, &ri),
             RC_DENIED);
    CHECK(ri.why == RC_WHY_DPOP_PROOF);
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL, claims("j", "GET", HTU, NOW, NULL)),
                   NULL, &p, &ri),
             RC_DENIED);
    CHECK_STR(ri.field, "htm");
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL,
                             claims("j", "POST", "https://id.example/userinfo", NOW, NULL)),
                   NULL, &p, &ri),
             RC_DENIED);
    CHECK_STR(ri.field, "htu");
    CHECK_RC(
        check(sign_with(k, "dpop+jwt", "ES256", NULL, claims("j", "POST", HTU, NOW - 66, NULL)),
              NULL, &p, &ri),
        RC_EXPIRED);
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL, claims("j", "POST", HTU, NOW + 6, NULL)),
                   NULL, &p, &ri),
             RC_DENIED);
    CHECK_STR(ri.field, "iat");
    /* a private key in the header */
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", priv, claims("j", "POST", HTU, NOW, NULL)),
                   NULL, &p, &ri),
             RC_DENIED);
    CHECK_STR(ri.field, "jwk");
    /* signed by k, the header names another key */
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", opub, claims("j", "POST", HTU, NOW, NULL)),
                   NULL, &p, &ri),
             RC_DENIED);
    /* ath: required when expected, must match */
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL, claims("j", "POST", HTU, NOW, NULL)),
                   "abc", &p, &ri),
             RC_DENIED);
    CHECK_STR(ri.field, "ath");
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL,
                             claims("j", "POST", HTU, NOW, ",\"ath\":\"abd\"")),
                   "abc", &p, &ri),
             RC_DENIED);
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL,
                             claims("j", "POST", HTU, NOW, ",\"ath\":\"abc\"")),
                   "abc", &p, &ri),
             RC_OK);
    /* missing claims, wrong types */
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL,
                             "{\"htm\":\"POST\",\"htu\":\"" HTU "\",\"iat\":1740787200}"),
                   NULL, &p, &ri),
             RC_MALFORMED);
    CHECK_STR(ri.field, "jti");
    CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL,
                             "{\"jti\":\"j\",\"htm\":\"POST\",\"htu\":\"" HTU "\",\"iat\":\"1\"}"),
                   NULL, &p, &ri),
             RC_MALFORMED);
    free(opub);
}

TEST(dpop_each_broken_rule_is_refused)
{
    each_broken_rule();
}

TEST(dpop_key_cache_changes_no_answer)
{
    const char *k = key_json(false), *other = key_json(true);
    char *opub = public_of(other);
    struct dpop_proof p, q;
    struct rc_info ri;
    uint64_t hits, misses;

    REQUIRE(k && other && opub);
    REQUIRE((cache = jose_key_cache_new(1)) != NULL); /* one slot: every other key evicts */
    for (int round = 0; round < 3; round++) {
        each_broken_rule(); /* the same refusals with the keys cached */
        CHECK_RC(
            check(sign_with(other, "dpop+jwt", "ES256", NULL, claims("o", "POST", HTU, NOW, NULL)),
                  NULL, &q, &ri),
            RC_OK);
        /* the header names the cached key of `other`, k signed: refused, cache or not */
        CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", opub, claims("j", "POST", HTU, NOW, NULL)),
                       NULL, &p, &ri),
                 RC_DENIED);
        CHECK_RC(check(sign_with(k, "dpop+jwt", "ES256", NULL, claims("k", "POST", HTU, NOW, NULL)),
                       NULL, &p, &ri),
                 RC_OK);
        CHECK_RC(
            check(sign_with(k, "dpop+jwt", "ES256", NULL, claims("k2", "POST", HTU, NOW, NULL)),
                  NULL, &p, &ri),
            RC_OK);
        CHECK(strcmp(p.jkt, q.jkt) != 0);
    }
    jose_key_cache_stats(cache, &hits, &misses);
    CHECK(hits > 0 && misses > 0);
    jose_key_cache_free(cache);
    cache = NULL;
    free(opub);
}

TEST(dpop_alg_none_hs256_and_garbage_are_refused)
{
    struct dpop_proof p;
    struct rc_info ri;
    /* {"typ":"dpop+jwt","alg":"none","jwk":{...}} . claims . (empty) */
    static const char none[] =
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6Im5vbmUiLCJqd2siOnsia3R5IjoiRUMiLCJjcnYiOiJQLTI1NiIsIngi"
        "OiJsOHRGcmh4LTM0dFYzaFJJQ1JEWTl6Q2tEbHBCaEY0MlVRVWZXVkFXQkZzIiwieSI6IjlWRTRqZl9Pa19vNjR6"
        "YlRUbGN1TkphakhtdDZ2OVREVnJVMENkdkdSREEifX0.eyJqdGkiOiJqIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0"
        "dHBzOi8vaWQuZXhhbXBsZS90b2tlbiIsImlhdCI6MTc0MDc4NzIwMH0.";
    static const char hs[] =
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkhTMjU2IiwiandrIjp7Imt0eSI6Im9jdCIsImsiOiJhYWFhIn19."
        "eyJqdGkiOiJqIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vaWQuZXhhbXBsZS90b2tlbiIsImlhdCI6MTc0"
        "MDc4NzIwMH0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl";
    char big[DPOP_PROOF_MAX + 2];

    CHECK_RC(check(none, NULL, &p, &ri), RC_DENIED);
    CHECK_STR(ri.field, "alg");
    CHECK_RC(check(hs, NULL, &p, &ri), RC_DENIED);
    CHECK_STR(ri.field, "alg");
    CHECK_RC(check("a.b", NULL, &p, &ri), RC_MALFORMED);
    CHECK_RC(check("", NULL, &p, &ri), RC_MALFORMED);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK_RC(check(big, NULL, &p, &ri), RC_TOO_LARGE);
    CHECK(ri.why == RC_WHY_DPOP_PROOF);
}

TEST(dpop_ath_is_the_sha256_of_the_token)
{
    struct arena a;

    arena_init(&a, 4096);
    /* base64url(SHA-256("abc")) */
    CHECK_STR(dpop_ath(SPAN("abc"), &a), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    arena_clear(&a);
}
