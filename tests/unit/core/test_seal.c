#include <string.h>

#include "core/seal.h"
#include "test.h"

static const uint8_t ikm[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t nonce[SEAL_NONCE_LEN] = {9, 8, 7};

static void
key_of(const char *kid, uint8_t key[SEAL_KEY_LEN])
{
    REQUIRE(seal_derive(ikm, sizeof(ikm), "authd totp v1", span_str(kid), key) == RC_OK);
}

TEST(seal_round_trip_names_its_key_id)
{
    struct arena a;
    uint8_t key[SEAL_KEY_LEN];
    struct span blob, kid, plain;

    arena_init(&a, 0);
    key_of("m1", key);
    REQUIRE(seal_seal(&a, key, SPAN("m1"), nonce, SPAN("acct:totp"), SPAN("12345678901234567890"),
                      &blob)
            == RC_OK);
    CHECK(strncmp((const char *)blob.p, "s1.m1.", 6) == 0);
    CHECK(memmem(blob.p, blob.len, "1234567890", 10) == NULL);
    REQUIRE(seal_kid(blob, &kid) == RC_OK);
    CHECK_SPAN(kid, "m1");
    REQUIRE(seal_open(&a, key, SPAN("m1"), SPAN("acct:totp"), blob, &plain) == RC_OK);
    CHECK_SPAN(plain, "12345678901234567890");
    arena_clear(&a);
}

TEST(seal_keys_differ_by_label_and_key_id)
{
    uint8_t k1[SEAL_KEY_LEN], k2[SEAL_KEY_LEN], k3[SEAL_KEY_LEN];

    key_of("m1", k1);
    key_of("m2", k2);
    REQUIRE(seal_derive(ikm, sizeof(ikm), "authd pii v1", SPAN("m1"), k3) == RC_OK);
    CHECK(memcmp(k1, k2, SEAL_KEY_LEN) != 0);
    CHECK(memcmp(k1, k3, SEAL_KEY_LEN) != 0);
    CHECK_RC(seal_derive(ikm, sizeof(ikm), "x", SPAN("bad kid"), k3), RC_MALFORMED);
    CHECK_RC(seal_derive(ikm, 0, "x", SPAN("m1"), k3), RC_MALFORMED);
}

TEST(seal_tampered_blob_other_aad_or_wrong_key_is_refused)
{
    struct arena a;
    uint8_t key[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
    struct span blob, plain;
    char *t;

    arena_init(&a, 0);
    key_of("m1", key);
    key_of("m2", other);
    REQUIRE(seal_seal(&a, key, SPAN("m1"), nonce, SPAN("acct"), SPAN("secret"), &blob) == RC_OK);
    /* every byte of the body changed in turn: never opens */
    for (size_t i = 6; i < blob.len; i++) {
        t = arena_strndup(&a, blob.p, blob.len);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        enum rc rc = seal_open(&a, key, SPAN("m1"), SPAN("acct"), span_str(t), &plain);
        CHECK(rc == RC_DENIED || rc == RC_MALFORMED);
    }
    CHECK_RC(seal_open(&a, key, SPAN("m1"), SPAN("acct2"), blob, &plain), RC_DENIED);
    CHECK_RC(seal_open(&a, other, SPAN("m1"), SPAN("acct"), blob, &plain), RC_DENIED);
    arena_clear(&a);
}

TEST(seal_wrong_key_id_is_refused_before_decrypting)
{
    struct arena a;
    uint8_t key[SEAL_KEY_LEN];
    struct span blob, plain;

    arena_init(&a, 0);
    key_of("m1", key);
    REQUIRE(seal_seal(&a, key, SPAN("m1"), nonce, SPAN(""), SPAN("secret"), &blob) == RC_OK);
    CHECK_RC(seal_open(&a, key, SPAN("m2"), SPAN(""), blob, &plain), RC_DENIED);
    arena_clear(&a);
}

TEST(seal_malformed_blobs_are_refused)
{
    struct arena a;
    uint8_t key[SEAL_KEY_LEN] = {0};
    struct span plain, kid;

    arena_init(&a, 0);
    CHECK_RC(seal_open(&a, key, SPAN("m1"), SPAN(""), SPAN(""), &plain), RC_MALFORMED);
    CHECK_RC(seal_open(&a, key, SPAN("m1"), SPAN(""), SPAN("s1.m1"), &plain), RC_MALFORMED);
    CHECK_RC(seal_open(&a, key, SPAN("m1"), SPAN(""), SPAN("s1.m1.AAAA"), &plain), RC_MALFORMED);
    CHECK_RC(seal_open(&a, key, SPAN("m1"), SPAN(""), SPAN("s1.m1.AA=A"), &plain), RC_MALFORMED);
    CHECK_RC(seal_open(&a, key, SPAN("m1"), SPAN(""), SPAN("s2.m1.AAAA"), &plain), RC_MALFORMED);
    CHECK_RC(seal_kid(SPAN("s1..AAAA"), &kid), RC_MALFORMED);
    CHECK_RC(seal_seal(&a, key, SPAN("m1"), nonce, SPAN(""),
                       (struct span){(const uint8_t *)"", SEAL_PLAIN_MAX + 1}, &plain),
             RC_TOO_LARGE);
    arena_clear(&a);
}
