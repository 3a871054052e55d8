/* HMAC-SM3 for the keyed hashes of stored identifiers (identifier_hmac = sm3, docs/crypto.md):
 * the secrets port computes HMAC-SM3(HMAC-SM3(master, label), parts) exactly as OpenSSL's
 * one-shot HMAC with EVP_sm3 does, differs from the SHA-256 default, and the configuration
 * takes only sha256 or sm3. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "conf/config.h"
#include "test.h"

TEST(secrets_hmac_sm3_matches_openssl_and_differs_from_sha256)
{
    char dir[] = "/tmp/authd-secrets-XXXXXX", path[64];
    static const char label[] = "authd account v1";
    struct span parts[2] = {SPAN("110101"), SPAN("acct")};
    uint8_t master[32], sub[32], want[32], got[32], sha[32];
    unsigned int len = 0;
    struct secrets *s = NULL, *d = NULL;
    FILE *f;

    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/master.key", dir);
    CHECK_RC(secrets_file_open_digest(path, true, "SM3", &s, NULL), RC_OK);
    REQUIRE(s != NULL);
    REQUIRE((f = fopen(path, "rb")) != NULL);
    REQUIRE(fread(master, 1, 32, f) == 32);
    fclose(f);
    /* the expected value, computed independently with OpenSSL's one-shot HMAC */
    REQUIRE(HMAC(EVP_sm3(), master, 32, (const uint8_t *)label, strlen(label), sub, &len));
    REQUIRE(len == 32);
    REQUIRE(HMAC(EVP_sm3(), sub, 32, (const uint8_t *)"110101\0acct", 11, want, &len));
    CHECK_RC(secrets_hmac(s, SECRET_ACCOUNT, parts, 2, got), RC_OK);
    CHECK(memcmp(got, want, 32) == 0);
    CHECK_RC(secrets_file_open(path, false, &d, NULL), RC_OK); /* the default: SHA-256 */
    CHECK_RC(secrets_hmac(d, SECRET_ACCOUNT, parts, 2, sha), RC_OK);
    CHECK(memcmp(got, sha, 32) != 0);
    secrets_free(d);
    d = NULL;
    CHECK_RC(secrets_file_open_digest(path, false, "MD5", &d, NULL), RC_UNSUPPORTED);
    CHECK(d == NULL);
    secrets_free(s);
    unlink(path);
    rmdir(dir);
}

TEST(config_identifier_hmac_is_sha256_or_sm3)
{
    struct config *c = NULL;
    struct config_error err;

    memset(&err, 0, sizeof(err));
    REQUIRE(config_parse("t.conf", "", 0, "/etc/authd", &c, &err) == RC_OK);
    CHECK_STR(c->identifier_hmac, "sha256");
    config_free(c);
    REQUIRE(config_parse("t.conf", "identifier_hmac = sm3\n", 22, "/etc/authd", &c, &err) == RC_OK);
    CHECK_STR(c->identifier_hmac, "sm3");
    config_free(c);
    c = NULL;
    CHECK_RC(config_parse("t.conf", "identifier_hmac = md5\n", 22, "/etc/authd", &c, &err),
             RC_MALFORMED);
    CHECK(c == NULL);
}
