/* The secrets port over the master-key file: creation, derivation, refusals, and two sets
 * of keys alive at once (state of each struct app, not of the process). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "test.h"

TEST(secrets_create_derive_and_refuse_bad_files)
{
    char dir[] = "/tmp/authd-secrets-XXXXXX", path[64], hex1[65], hex2[65];
    struct span parts[2] = {SPAN("sector"), SPAN("acct")};
    struct secrets *s = NULL, *again = NULL;
    FILE *f;

    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/master.key", dir);
    CHECK_RC(secrets_file_open(path, false, &s, NULL), RC_NOT_FOUND); /* authctl never creates */
    CHECK_RC(secrets_file_open(path, true, &s, NULL), RC_OK);
    CHECK_RC(secrets_hmac_hex(s, SECRET_SUBJECT, parts, 2, hex1), RC_OK);
    CHECK_RC(secrets_file_open(path, false, &again, NULL), RC_OK); /* reloads the same key */
    CHECK_RC(secrets_hmac_hex(again, SECRET_SUBJECT, parts, 2, hex2), RC_OK);
    CHECK_STR(hex1, hex2);
    CHECK_RC(secrets_hmac_hex(s, SECRET_ACCOUNT, parts, 2, hex2), RC_OK);
    CHECK(strcmp(hex1, hex2) != 0); /* purposes are separated */
    parts[0] = SPAN("secto"), parts[1] = SPAN("racct");
    CHECK_RC(secrets_hmac_hex(s, SECRET_SUBJECT, parts, 2, hex2), RC_OK);
    CHECK(strcmp(hex1, hex2) != 0); /* parts are delimited */
    CHECK_RC(secrets_hmac_hex(s, SECRET__COUNT, parts, 2, hex2), RC_INTERNAL);
    CHECK_RC(secrets_hmac_hex(NULL, SECRET_SUBJECT, parts, 2, hex2), RC_INTERNAL);
    secrets_free(s);
    secrets_free(again);
    chmod(path, 0644);
    CHECK_RC(secrets_file_open(path, false, &s, NULL), RC_DENIED);
    CHECK(s == NULL);
    unlink(path);
    REQUIRE((f = fopen(path, "w")));
    fputs("short", f);
    fclose(f);
    chmod(path, 0600);
    CHECK_RC(secrets_file_open(path, false, &s, NULL), RC_MALFORMED);
    unlink(path);
    rmdir(dir);
}

/* Two deployments' keys in one process (two apps, or a test beside the daemon): each keeps
 * its own. With process-wide keys, opening the second replaced the first's. */
TEST(secrets_two_key_sets_live_side_by_side)
{
    char dir[] = "/tmp/authd-secrets-XXXXXX", p1[64], p2[64], h1[65], h1again[65], h2[65];
    struct span part = SPAN("110105194912310029");
    struct secrets *a = NULL, *b = NULL;

    REQUIRE(mkdtemp(dir));
    snprintf(p1, sizeof(p1), "%s/one.key", dir);
    snprintf(p2, sizeof(p2), "%s/two.key", dir);
    REQUIRE(secrets_file_open(p1, true, &a, NULL) == RC_OK);
    CHECK_RC(secrets_hmac_hex(a, SECRET_ACCOUNT, &part, 1, h1), RC_OK);
    REQUIRE(secrets_file_open(p2, true, &b, NULL) == RC_OK);
    CHECK_RC(secrets_hmac_hex(b, SECRET_ACCOUNT, &part, 1, h2), RC_OK);
    CHECK_RC(secrets_hmac_hex(a, SECRET_ACCOUNT, &part, 1, h1again), RC_OK);
    CHECK_STR(h1again, h1); /* a still has its own key */
    CHECK(strcmp(h1, h2) != 0);
    secrets_free(b);
    CHECK_RC(secrets_hmac_hex(a, SECRET_ACCOUNT, &part, 1, h1again), RC_OK);
    CHECK_STR(h1again, h1); /* freeing b left a alone */
    secrets_free(a);
    unlink(p1), unlink(p2), rmdir(dir);
}
