/* SM2SM3 signing keys in the keys directory: created by init, rotated in two phases beside the
 * ES256 key, published, and a token signed before the rotation still verifying after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/keys_file.h"
#include "core/jose.h"
#include "port/keys.h"
#include "test.h"

#define T0 1700000000

static const struct jose_verify_opts sm2 = {JOSE_SM2SM3, NULL};

static int
count(const struct keys_state *st, enum jose_alg alg, enum keys_status s)
{
    int n = 0;

    for (size_t i = 0; i < st->n; i++)
        n += st->e[i].alg == alg && st->e[i].status == s;
    return n;
}

TEST(keys_sm2_init_rotate_publish)
{
    char tmpl[] = "/tmp/authd-keys-XXXXXX", dir[256], kid0[JOSE_MAX_KID + 1], cmd[300];
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct keys_state st;
    struct jose_keyset *ks = NULL;
    struct keys_rotate_opts o = {T0 + 10, 60, 3600};
    struct arena a;
    struct span t_old, p, jwks;
    bool changed, reloaded;

    REQUIRE(mkdtemp(tmpl) != NULL);
    snprintf(dir, sizeof(dir), "%s/keys", tmpl);
    arena_init(&a, 0);
    CHECK_RC(keys_file_init(dir, T0, JOSE_SM2SM3, &changed, &err), RC_OK);
    CHECK_RC(keys_file_state_read(dir, &st, &err), RC_OK);
    CHECK_INT(count(&st, JOSE_SM2SM3, KEYS_CURRENT), 1);
    CHECK_INT(count(&st, JOSE_ES256, KEYS_CURRENT), 1); /* ES256 is always there */
    REQUIRE(keys_open(dir, &k, &err) == RC_OK);
    REQUIRE(keys_current(k, &ks) == RC_OK);
    strcpy(kid0, jose_keyset_signing_kid(ks, JOSE_SM2SM3));
    REQUIRE(jose_sign(ks, JOSE_SM2SM3, NULL, SPAN("{\"n\":0}"), &a, &t_old, NULL) == RC_OK);
    CHECK_RC(keys_published(k, &a, &jwks), RC_OK);
    CHECK(memmem(jwks.p, jwks.len, "\"crv\":\"SM2\"", 11) != NULL);
    CHECK(!memmem(jwks.p, jwks.len, "\"d\"", 3));
    jose_keyset_release(ks);

    CHECK_RC(keys_file_rotate(dir, &o, &st, &err), RC_OK); /* phase 1: next keys */
    CHECK_INT(count(&st, JOSE_SM2SM3, KEYS_NEXT), 1);
    o.now = T0 + 70;
    CHECK_RC(keys_file_rotate(dir, &o, &st, &err), RC_OK); /* phase 2: promoted */
    CHECK_INT(count(&st, JOSE_SM2SM3, KEYS_PREVIOUS), 1);
    CHECK_RC(keys_maybe_reload(k, &reloaded, &err), RC_OK);
    CHECK(reloaded);
    REQUIRE(keys_current(k, &ks) == RC_OK);
    CHECK(strcmp(jose_keyset_signing_kid(ks, JOSE_SM2SM3), kid0) != 0);
    CHECK_RC(jose_verify(ks, &sm2, t_old, &a, &p, NULL, NULL), RC_OK); /* previous verifies */
    jose_keyset_release(ks);
    keys_free(k);
    arena_clear(&a);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpl);
}
