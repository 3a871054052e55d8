/* core/seal, the "s2." blob: SM4-CTR + HMAC-SM3, encrypt-then-MAC. Round trip, what does
 * not open (another key id, AAD, key, a changed byte of the ciphertext or the tag, a blob of
 * the other version relabelled), and an independent rebuild of a sealed value with the openssl
 * command line: `openssl kdf ... HKDF` derives the two keys from the 32-byte key, `openssl
 * enc -sm4-ctr -K -iv` gives the ciphertext, `openssl mac -digest SM3 ... HMAC` the tag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jose.h"
#include "core/seal.h"
#include "test.h"

static const uint8_t key[SEAL_KEY_LEN] = {0x42, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                          11,   12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                          22,   23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t nonce[SEAL_NONCE_LEN] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
                                              0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};
#define PLAIN "张三 110105199003071234 and then some more bytes past one SM4 block"
#define AAD   "0123abcd\0name"

static struct span
aad(void)
{
    return span_of(AAD, sizeof(AAD) - 1);
}

TEST(seal_sm4_round_trip_and_refusals)
{
    struct arena a;
    struct span blob, plain, kid, raw, b64;
    uint8_t other[SEAL_KEY_LEN];
    enum seal_cipher c;
    char *s;

    arena_init(&a, 0);
    REQUIRE(
        seal_seal_with(&a, SEAL_SM4_CTR_HMAC_SM3, key, SPAN("m7"), nonce, aad(), SPAN(PLAIN), &blob)
        == RC_OK);
    CHECK(strncmp((const char *)blob.p, "s2.m7.", 6) == 0);
    CHECK(seal_cipher_of(blob, &c) && c == SEAL_SM4_CTR_HMAC_SM3);
    REQUIRE(seal_kid(blob, &kid) == RC_OK);
    CHECK_SPAN(kid, "m7");
    REQUIRE(seal_open(&a, key, SPAN("m7"), aad(), blob, &plain) == RC_OK);
    CHECK_SPAN(plain, PLAIN);
    CHECK_RC(seal_open(&a, key, SPAN("m8"), aad(), blob, &plain), RC_DENIED);
    CHECK_RC(seal_open(&a, key, SPAN("m7"), SPAN("0123abcd\0phone"), blob, &plain), RC_DENIED);
    memcpy(other, key, sizeof(other));
    other[0] ^= 1;
    CHECK_RC(seal_open(&a, other, SPAN("m7"), aad(), blob, &plain), RC_DENIED);
    /* a changed byte of the body (ciphertext, then tag) */
    REQUIRE(jose_b64url_decode(span_of(blob.p + 6, blob.len - 6), &a, &raw) == RC_OK);
    for (size_t at = SEAL_NONCE_LEN; at < raw.len; at += raw.len - SEAL_NONCE_LEN - 1) {
        uint8_t *r = arena_alloc(&a, raw.len);
        memcpy(r, raw.p, raw.len);
        r[at] ^= 0x80;
        REQUIRE(jose_b64url_encode(span_of(r, raw.len), &a, &b64) == RC_OK);
        s = arena_printf(&a, "s2.m7.%.*s", (int)b64.len, (const char *)b64.p);
        CHECK_RC(seal_open(&a, key, SPAN("m7"), aad(), span_str(s), &plain), RC_DENIED);
    }
    /* the other version's prefix on this body: not a GCM blob that opens */
    s = arena_printf(&a, "s1.%.*s", (int)blob.len - 3, (const char *)blob.p + 3);
    CHECK_RC(seal_open(&a, key, SPAN("m7"), aad(), span_str(s), &plain), RC_DENIED);
    CHECK_RC(seal_open(&a, key, SPAN("m7"), aad(), SPAN("s2.m7.AAAA"), &plain), RC_MALFORMED);
    CHECK(seal_cipher_by_name("sm4-ctr-hmac-sm3", &c) && c == SEAL_SM4_CTR_HMAC_SM3);
    CHECK(seal_cipher_by_name("aes-256-gcm", &c) && c == SEAL_AES_256_GCM);
    CHECK(!seal_cipher_by_name("sm4-gcm", &c));
    arena_clear(&a);
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* Runs cmd; its standard output (trailing white space cut) into out. */
static bool
run(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    size_t n;

    if (!f)
        return false;
    n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = 0;
    return pclose(f) == 0;
}

static bool
write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(p, 1, n, f) == n;

    if (f)
        fclose(f);
    return ok;
}

/* The hex of a file. */
static void
file_hex(const char *path, char *out, size_t cap)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "od -An -v -tx1 '%s' | tr -d ' \\n'", path);
    REQUIRE(run(cmd, out, cap));
}

TEST(seal_sm4_blob_is_rebuilt_by_the_openssl_command_line)
{
    char dir[] = "/tmp/seal-sm4-XXXXXX", path[256], cmd[1024], keyhex[65], enc[80], mac[80];
    char ivhex[40], got[512], want[512];
    uint8_t ke[SEAL_SM4_KEY_LEN], km[SEAL_MAC_LEN], head[3 + 1 + 2 + 4];
    struct arena a;
    struct span blob, raw;
    size_t n = sizeof(PLAIN) - 1;
    FILE *f;

    arena_init(&a, 0);
    REQUIRE(mkdtemp(dir) != NULL);
    REQUIRE(
        seal_seal_with(&a, SEAL_SM4_CTR_HMAC_SM3, key, SPAN("m7"), nonce, aad(), SPAN(PLAIN), &blob)
        == RC_OK);
    REQUIRE(jose_b64url_decode(span_of(blob.p + 6, blob.len - 6), &a, &raw) == RC_OK);
    REQUIRE(raw.len == SEAL_NONCE_LEN + n + SEAL_MAC_LEN);
    CHECK(memcmp(raw.p, nonce, SEAL_NONCE_LEN) == 0);
    /* the two keys: HKDF-SM3 by the command line, as seal.h says */
    hex(key, sizeof(key), keyhex);
    snprintf(cmd, sizeof(cmd),
             "openssl kdf -keylen 16 -kdfopt digest:SM3 -kdfopt hexkey:%s -kdfopt "
             "'info:authd seal s2 enc' HKDF | tr -d ':' | tr A-F a-f",
             keyhex);
    REQUIRE(run(cmd, enc, sizeof(enc)));
    snprintf(cmd, sizeof(cmd),
             "openssl kdf -keylen 32 -kdfopt digest:SM3 -kdfopt hexkey:%s -kdfopt "
             "'info:authd seal s2 mac' HKDF | tr -d ':' | tr A-F a-f",
             keyhex);
    REQUIRE(run(cmd, mac, sizeof(mac)));
    REQUIRE(seal_sm4_keys(key, ke, km) == RC_OK);
    hex(ke, sizeof(ke), got);
    CHECK_STR(got, enc);
    hex(km, sizeof(km), got);
    CHECK_STR(got, mac);
    /* the ciphertext: SM4-CTR, iv = nonce || 00000000 */
    snprintf(path, sizeof(path), "%s/plain", dir);
    REQUIRE(write_file(path, PLAIN, n));
    hex(nonce, SEAL_NONCE_LEN, ivhex);
    strcat(ivhex, "00000000");
    snprintf(cmd, sizeof(cmd), "openssl enc -sm4-ctr -K %s -iv %s -in '%s' -out '%s/ct'", enc,
             ivhex, path, dir);
    REQUIRE(system(cmd) == 0);
    snprintf(path, sizeof(path), "%s/ct", dir);
    file_hex(path, want, sizeof(want));
    hex(raw.p + SEAL_NONCE_LEN, n, got);
    CHECK_STR(got, want);
    /* the tag: HMAC-SM3 over "s2" 0 || 2 "m7" || len(aad) aad || nonce || ciphertext */
    memcpy(head, "s2\0\2m7\0\0\0", 10);
    head[9] = (uint8_t)aad().len;
    snprintf(path, sizeof(path), "%s/macin", dir);
    REQUIRE((f = fopen(path, "wb")) != NULL);
    fwrite(head, 1, sizeof(head), f);
    fwrite(aad().p, 1, aad().len, f);
    fwrite(raw.p, 1, SEAL_NONCE_LEN + n, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "openssl mac -digest SM3 -macopt hexkey:%s -in '%s' HMAC | tr A-F a-f", mac, path);
    REQUIRE(run(cmd, want, sizeof(want)));
    hex(raw.p + SEAL_NONCE_LEN + n, SEAL_MAC_LEN, got);
    CHECK_STR(got, want);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    arena_clear(&a);
}
