/* authctl keys bench [--seconds N] [--alg ALG]: signs/s and verifies/s of ALG (ES256 by
 * default; any algorithm authd signs with) through core/jose on one core, with an
 * access-token-sized claim set, to compare with `openssl speed ecdsap256` (or `sm2`).
 * Uses a fresh in-memory key; needs no config. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/jose.h"
#include "util/num.h"

static const char claims[] =
    "{\"iss\":\"https://id.example.gov.cn\",\"sub\":\"3f2a9c1e7b6d4a0c8e5f1b2d3c4a5e6f\","
    "\"aud\":\"demo-module\",\"client_id\":\"demo-portal\",\"scope\":\"openid profile\","
    "\"jti\":\"b7c1e0a4f2d94c3a8e6b5d7f1a2c3e4b\",\"iat\":1700000000,\"exp\":1700000900,"
    "\"acr\":\"urn:authd:acr:ial3:aal1\",\"amr\":[\"pwd\"],\"auth_time\":1700000000}";

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs sign (or verify of tok) for about seconds; returns operations per second, or -1. */
static double
run(struct jose_keyset *ks, enum jose_alg alg, struct span tok, double seconds)
{
    const struct jose_verify_opts o = {alg, "at+jwt"};
    double t0 = now_s(), t;
    long n = 0;

    do {
        for (int i = 0; i < 256; i++, n++) {
            struct arena a;
            struct span out;
            enum rc rc;
            arena_init(&a, 0);
            rc = tok.len ? jose_verify(ks, &o, tok, &a, &out, NULL, NULL)
                         : jose_sign(ks, alg, "at+jwt", SPAN(claims), &a, &out, NULL);
            arena_clear(&a);
            if (rc != RC_OK)
                return -1;
        }
        t = now_s() - t0;
    } while (t < seconds);
    return (double)n / t;
}

int keys_bench(int argc, char **argv);

int
keys_bench(int argc, char **argv)
{
    struct jose_keyset *ks = NULL;
    struct buf jwk;
    struct arena a;
    struct span tok;
    uint64_t secs = 3;
    enum jose_alg alg = JOSE_ES256;
    double s, v;

    for (int i = 2; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0
            && num_parse_u64(span_str(argv[i + 1]), 1, 600, &secs) != RC_OK)
            return 2;
        if (strcmp(argv[i], "--alg") == 0 && !(alg = jose_alg_parse(span_str(argv[i + 1]))))
            return 2;
    }
    buf_init(&jwk, 0);
    arena_init(&a, 0);
    if (jose_key_generate(alg, &jwk) != RC_OK || jose_keyset_new(&ks) != RC_OK
        || jose_keyset_add_jwk(ks, buf_span(&jwk), JOSE_KEY_SIGN, NULL) != RC_OK
        || jose_keyset_seal(ks) != RC_OK
        || jose_sign(ks, alg, "at+jwt", SPAN(claims), &a, &tok, NULL) != RC_OK) {
        fprintf(stderr, "authctl keys bench: setup failed\n");
        return 1;
    }
    buf_clear(&jwk);
    s = run(ks, alg, (struct span){0}, (double)secs);
    v = run(ks, alg, tok, (double)secs);
    printf("{\"alg\": \"%s\", \"seconds\": %llu, \"claims_bytes\": %zu, \"token_bytes\": %zu, "
           "\"signs_per_s\": %.0f, \"verifies_per_s\": %.0f}\n",
           jose_alg_name(alg), (unsigned long long)secs, sizeof(claims) - 1, tok.len, s, v);
    arena_clear(&a);
    jose_keyset_release(ks);
    return s > 0 && v > 0 ? 0 : 1;
}
