/* bench-validate: access tokens validated per second by libauthd-client on this thread.
 *
 *   bench-validate [SECONDS] [--federated]   (scripts/bench/client-validate pins it to one core)
 *
 * --federated: the token is issued by another province the client accepts
 * (federated_issuers, docs/federation.md "Cross-province tokens"), its province client
 * already resolved: the cost of choosing it on top of a local validation.
 *
 * A fresh ES256 key signs one realistic RFC 9068 token; its public JWKS is put straight into
 * the client's cache (no HTTP: the point is the per-token cost once keys are cached), then
 * authd_client_validate runs in a loop with a scope and an assurance requirement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_int.h"
#include "core/jose.h"

static double
mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A signing key set and the matching public one. */
static int
make_keys(struct jose_keyset **priv, struct jose_keyset **pub)
{
    struct buf jwk;
    int bad;

    buf_init(&jwk, 0);
    bad = jose_key_generate(JOSE_ES256, &jwk) != RC_OK || jose_keyset_new(priv) != RC_OK
          || jose_keyset_add_jwk(*priv, buf_span(&jwk), JOSE_KEY_SIGN, NULL) != RC_OK
          || jose_keyset_seal(*priv) != RC_OK
          || jose_keyset_parse_jwks(jose_keyset_jwks(*priv), pub, NULL) != RC_OK;
    buf_clear(&jwk);
    return bad;
}

static int
run(struct authd_client *c, const char *token, double seconds)
{
    const struct authd_validate_opts o = {.scope = "openid license.read",
                                          .acr = "urn:authd:acr:ial3:aal1"};
    struct authd_token_info info;
    long n = 0;
    double t0 = mono(), t;

    do {
        for (int i = 0; i < 200; i++, n++) {
            if (authd_client_validate(c, token, strlen(token), &o, &info) != AUTHD_OK) {
                fprintf(stderr, "bench-validate: token refused\n");
                return 1;
            }
            authd_token_info_clear(&info);
        }
    } while ((t = mono() - t0) < seconds);
    printf("validated %ld tokens in %.2f s: %.0f tokens/s\n", n, t, (double)n / t);
    return 0;
}

#define FOREIGN "https://id.bj.example.gov.cn"

/* The keys pub put in c's cache until now + a day, as a successful fetch would. */
static void
seed(struct authd_client *c, struct jose_keyset *pub, long now)
{
    c->jwks.ks = jose_keyset_retain(pub);
    c->jwks.fresh_until = c->jwks.usable_until = now + 86400;
}

/* --federated: a client of B accepting FOREIGN, whose province client is seeded. */
static int
federated(const char *const *aud, struct jose_keyset *pub, long now, struct authd_client **c)
{
    static const char *const fed[] = {FOREIGN, NULL};
    struct authd_client_config cfg = {.issuer = "https://id.example.gov.cn",
                                      .audiences = aud,
                                      .federated_issuers = fed,
                                      .trust_anchor = "https://ta.example.gov.cn"};
    struct authd_client_config pcfg = {.issuer = FOREIGN, .audiences = aud};
    struct authd_client *pc = NULL;

    if (authd_client_new(&cfg, c) != AUTHD_OK || authd_client_new(&pcfg, &pc) != AUTHD_OK)
        return 1;
    seed(pc, pub, now);
    if (fed_province_add(*c, FOREIGN, pc, now + 86400) != AUTHD_OK)
        return authd_client_free(pc), 1;
    return 0;
}

int
main(int argc, char **argv)
{
    const char *aud[] = {"license", NULL};
    struct authd_client_config cfg = {.issuer = "https://id.example.gov.cn", .audiences = aud};
    bool fed = argc > 2 && strcmp(argv[2], "--federated") == 0;
    struct jose_keyset *priv = NULL, *pub = NULL;
    struct authd_client *c = NULL;
    struct arena a;
    struct span tok;
    char claims[1024];
    long now = (long)time(NULL);
    int ret = 1;

    arena_init(&a, 0);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"license\",\"sub\":"
             "\"Zr3b9sQ0xGm1cC2nQe8u4Yb7hJk5Lp0Wd6Tf3Vr2Xs8\",\"client_id\":\"demo-portal\","
             "\"scope\":\"openid profile license.read\",\"acr\":\"urn:authd:acr:ial3:aal2\","
             "\"amr\":[\"pwd\",\"sms\"],\"auth_time\":%ld,\"iat\":%ld,\"exp\":%ld,\"jti\":"
             "\"b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6\"}",
             fed ? FOREIGN : "https://id.example.gov.cn", now, now, now + 3600);
    if (make_keys(&priv, &pub)
        || jose_sign(priv, JOSE_ES256, "at+jwt", span_str(claims), &a, &tok, NULL) != RC_OK
        || (fed ? federated(aud, pub, now, &c) : authd_client_new(&cfg, &c) != AUTHD_OK))
        goto out;
    if (!fed)
        seed(c, pub, now);
    ret = run(c, (const char *)tok.p, argc > 1 ? atof(argv[1]) : 3.0);
out:
    authd_client_free(c);
    jose_keyset_release(pub);
    jose_keyset_release(priv);
    arena_clear(&a);
    return ret;
}
