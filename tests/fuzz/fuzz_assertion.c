/* libFuzzer target: private_key_jwt client assertions (RFC 7523 §3, OIDC Core §9) through
 * client_auth_verify: the unverified `sub` lookup, JWS verification against the client's
 * registered JWKS (fixed below), the claims checks and the jti replay cache (a memory
 * store), at a fixed clock (1700000000). Odd-length inputs name the client in client_id;
 * even-length ones leave it to the assertion's `sub`. The valid_* seeds were signed with
 * the private half of the key below, which was not kept: to make new valid seeds, generate
 * a P-256 key (jwcrypto), put its public half here and sign iss = sub = "fz",
 * aud = "https://id.example/token", exp = 1700000100 and a jti with it. The valid_sm2_*
 * seeds were signed by the openssl CLI (`openssl dgst -sm3 -sigopt distid:1234567812345678`,
 * r‖s) with the SM2 key (kid fz-client-sm2), the one of tests/fuzz/fuzz_jws.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "flow/client_auth.h"
#include "port/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
    "[tokens]\nclock_leeway_s = 30\n"
    "[client fz]\ntype = confidential\nauth_method = private_key_jwt\n"
    "jwks = {\"keys\":[{\"crv\":\"P-256\",\"kid\":\"fz-client\",\"kty\":\"EC\","
    "\"x\":\"Tt6L148SFkkeOVYXprNVzV78oD-s8oTCfYfDQphTkG8\","
    "\"y\":\"UhdE3Di2USiuJWdXoNtH4T1miH5RwUibRce7ZujQx5k\"},"
    "{\"crv\":\"SM2\",\"kid\":\"fz-client-sm2\",\"kty\":\"EC\","
    "\"x\":\"jsOOVP7zkW8A6U5K4jKGxIDyg9sD-_RKOm9NWUr3OYQ\","
    "\"y\":\"GaJQpH08EJEFbsTwSFHp7ddrdEcxmzVDGkVgDPeYl7c\"}]}\n"
    "grant_types = client_credentials\nscopes = api.read\n";

static int64_t
fixed_now(const struct clock *c)
{
    (void)c;
    return 1700000000;
}

static int64_t
fixed_mono(const struct clock *c)
{
    (void)c;
    return 1700000000LL * 1000000;
}

static const struct clock fixed_clock = {fixed_now, fixed_mono, NULL};
static struct config cfg = {.issuer = "https://id.example"};
static struct app app;
static struct policy *pol;

static void
setup(void)
{
    static char dir[] = "/tmp/authd-fuzz-assert-XXXXXX";
    struct config_error err;
    char path[64];

    app.cfg = &cfg;
    app.clock = &fixed_clock;
    app.rng = &rng_system;
    pthread_mutex_init(&app.policy_mu, NULL);
    if (!mkdtemp(dir) || (size_t)snprintf(path, sizeof(path), "%s/master.key", dir) >= sizeof(path)
        || secrets_file_open(path, true, &app.secrets, NULL) != RC_OK
        || compose_store_open("memory:", NULL, &app.store, NULL) != RC_OK
        || policy_parse("fuzz.conf", policy_text, sizeof(policy_text) - 1, &pol, &err) != RC_OK)
        abort();
    unlink(path);
    rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct client_creds cr = {.method = AUTH_PRIVATE_KEY_JWT};
    const struct policy_client *c = NULL;
    struct arena a;
    enum rc rc;

    if (!pol)
        setup();
    if (size > CLIENT_ASSERTION_MAX)
        return 0; /* client_auth_parse refuses these before verification */
    arena_init(&a, 1 << 20);
    cr.assertion = span_of(data, size);
    if (size & 1)
        cr.id = SPAN("fz");
    rc = client_auth_verify(&app, &a, pol, &cr, "https://id.example/token", &c, NULL);
    if (rc == RC_OK && (!c || strcmp(c->id, "fz") != 0))
        abort();
    arena_clear(&a);
    return 0;
}
