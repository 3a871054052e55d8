/* private_key_jwt client assertions (RFC 7523 §3) through client_auth_verify, signed here
 * with a key generated per run: the accepted shape, then payloads that must be refused —
 * duplicate members (two parsers could read two different values), identifiers with an
 * embedded NUL (a C comparison would stop at it), a replayed jti. Each parse of the payload
 * (the unverified sub lookup, the claims check, the assertion's own claims) refuses
 * duplicates and NULs by itself, so none relies on another having run first. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "core/jose.h"
#include "fakes.h"
#include "flow/app.h"
#include "flow/client_auth.h"
#include "port/store.h"
#include "test.h"

#define T0 1700000000

static struct jose_keyset *signer;
static struct config cfg = {.issuer = "https://id.example"};
static struct app app;
static struct policy *pol;

static void
setup(void)
{
    static char dir[] = "/tmp/authd-test-assert-XXXXXX";
    struct config_error err;
    struct buf jwk, text;
    struct jose_keyset *pub = NULL;
    char path[64];

    if (pol)
        return;
    buf_init(&jwk, 0);
    buf_init(&text, 0);
    REQUIRE(jose_key_generate(JOSE_ES256, &jwk) == RC_OK);
    REQUIRE(jose_keyset_new(&signer) == RC_OK);
    REQUIRE(jose_keyset_add_jwk(signer, buf_span(&jwk), JOSE_KEY_SIGN, NULL) == RC_OK);
    REQUIRE(jose_keyset_seal(signer) == RC_OK);
    REQUIRE(jose_keyset_parse_jwks(jose_keyset_jwks(signer), &pub, NULL) == RC_OK);
    buf_printf(&text,
               "[tokens]\nclock_leeway_s = 30\n"
               "[client rp]\ntype = confidential\nauth_method = private_key_jwt\n"
               "jwks = %.*s\ngrant_types = client_credentials\nscopes = api.read\n",
               (int)jose_keyset_jwks(pub).len, (const char *)jose_keyset_jwks(pub).p);
    jose_keyset_release(pub);
    fake_now = T0;
    app.cfg = &cfg;
    app.clock = &fake_clock;
    app.rng = &rng_system;
    pthread_mutex_init(&app.policy_mu, NULL);
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/master.key", dir);
    REQUIRE(secrets_file_open(path, true, &app.secrets, NULL) == RC_OK);
    REQUIRE(compose_store_open("memory:", NULL, &app.store, NULL) == RC_OK);
    REQUIRE(policy_parse("t.conf", (const char *)text.p, text.len, &pol, &err) == RC_OK);
    unlink(path);
    rmdir(dir);
    buf_clear(&jwk);
    buf_clear(&text);
}

/* Signs payload (JSON text, used as is) with the client's key and verifies it as an
 * assertion of client "rp" at the token endpoint. */
static enum rc
assert_payload(const char *payload)
{
    struct client_creds cr = {.method = AUTH_PRIVATE_KEY_JWT, .id = SPAN("rp")};
    const struct policy_client *c = NULL;
    struct arena a;
    struct span jwt;
    enum rc rc;

    setup();
    arena_init(&a, 1 << 20);
    if (jose_sign(signer, JOSE_ES256, NULL, span_str(payload), &a, &jwt, NULL) != RC_OK)
        rc = RC_INTERNAL;
    else {
        cr.assertion = jwt;
        rc = client_auth_verify(&app, &a, pol, &cr, "https://id.example/token", &c, NULL);
        if (rc == RC_OK && (!c || strcmp(c->id, "rp") != 0))
            rc = RC_INTERNAL;
    }
    arena_clear(&a);
    return rc;
}

#define AUD "\"aud\":\"https://id.example/token\",\"exp\":1700000100"

TEST(client_assertion_well_formed_is_accepted_once)
{
    CHECK_RC(assert_payload("{\"iss\":\"rp\",\"sub\":\"rp\"," AUD ",\"jti\":\"j-ok\"}"), RC_OK);
    CHECK_RC(assert_payload("{\"iss\":\"rp\",\"sub\":\"rp\"," AUD ",\"jti\":\"j-ok\"}"),
             RC_DENIED);
}

TEST(client_assertion_duplicate_members_are_refused)
{
    CHECK_RC(assert_payload("{\"iss\":\"rp\",\"sub\":\"rp\",\"sub\":\"rp\"," AUD
                            ",\"jti\":\"j-dup1\"}"),
             RC_DENIED);
    CHECK_RC(assert_payload("{\"iss\":\"other\",\"iss\":\"rp\",\"sub\":\"rp\"," AUD
                            ",\"jti\":\"j-dup2\"}"),
             RC_DENIED);
    CHECK_RC(assert_payload("{\"iss\":\"rp\",\"sub\":\"rp\"," AUD ",\"exp\":1700000100"
                            ",\"jti\":\"j-dup3\"}"),
             RC_DENIED);
}

TEST(client_assertion_identifiers_with_embedded_nul_are_refused)
{
    CHECK_RC(assert_payload("{\"iss\":\"rp\\u0000x\",\"sub\":\"rp\"," AUD ",\"jti\":\"j-n1\"}"),
             RC_DENIED);
    CHECK_RC(assert_payload("{\"iss\":\"rp\",\"sub\":\"rp\\u0000x\"," AUD ",\"jti\":\"j-n2\"}"),
             RC_DENIED);
    CHECK_RC(assert_payload("{\"iss\":\"rp\",\"sub\":\"rp\",\"aud\":\"https://id.example/token"
                            "\\u0000x\",\"exp\":1700000100,\"jti\":\"j-n3\"}"),
             RC_DENIED);
    CHECK_RC(assert_payload("{\"iss\":\"rp\",\"sub\":\"rp\"," AUD ",\"jti\":\"j-n4\\u0000a\"}"),
             RC_DENIED);
}
