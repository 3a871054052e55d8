#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flow/secrets.h"
#include "test.h"

TEST(secrets_create_derive_and_refuse_bad_files)
{
    char dir[] = "/tmp/authd-secrets-XXXXXX", path[64], hex1[65], hex2[65];
    struct span parts[2] = {SPAN("sector"), SPAN("acct")};
    FILE *f;

    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/master.key", dir);
    CHECK_RC(secrets_init(path, NULL), RC_OK);
    CHECK_RC(secrets_hmac_hex(SECRET_SUBJECT, parts, 2, hex1), RC_OK);
    CHECK_RC(secrets_init(path, NULL), RC_OK); /* reloads the same key */
    CHECK_RC(secrets_hmac_hex(SECRET_SUBJECT, parts, 2, hex2), RC_OK);
    CHECK_STR(hex1, hex2);
    CHECK_RC(secrets_hmac_hex(SECRET_ACCOUNT, parts, 2, hex2), RC_OK);
    CHECK(strcmp(hex1, hex2) != 0); /* purposes are separated */
    parts[0] = SPAN("secto"), parts[1] = SPAN("racct");
    CHECK_RC(secrets_hmac_hex(SECRET_SUBJECT, parts, 2, hex2), RC_OK);
    CHECK(strcmp(hex1, hex2) != 0); /* parts are delimited */
    chmod(path, 0644);
    CHECK_RC(secrets_init(path, NULL), RC_DENIED);
    unlink(path);
    REQUIRE((f = fopen(path, "w")));
    fputs("short", f);
    fclose(f);
    chmod(path, 0600);
    CHECK_RC(secrets_init(path, NULL), RC_MALFORMED);
    unlink(path);
    rmdir(dir);
    secrets_clear();
}
