#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "flow/grant.h"
#include "conf/config.h"
#include "test.h"

TEST(grant_code_is_sealed_and_round_trips)
{
    char dir[] = "/tmp/authd-grant-XXXXXX", path[64], fam1[GRANT_FAMILY_LEN + 1],
         fam2[GRANT_FAMILY_LEN + 1];
    struct config cfg = {0};
    struct app app = {.cfg = &cfg, .clock = &clock_system, .rng = &rng_system};
    struct arena a;
    struct grant g = {.client_id = "demo-app", .redirect_uri = "http://127.0.0.1/cb",
                      .scope = "openid profile", .nonce = "n-0S6", .code_challenge = "abc",
                      .account_id = "acct1", .sid = "sid1", .amr = "pwd", .auth_time = 1700000000,
                      .issued_at = 1700000001, .loa = {IAL3, AAL1}},
                 out;
    struct span code, other;
    char *bad, *big;

    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/master.key", dir);
    REQUIRE(secrets_file_open(path, true, &app.secrets, NULL) == RC_OK);
    arena_init(&a, 0);
    CHECK_RC(grant_code_seal(&app, &a, &g, 60, &code), RC_OK);
    CHECK(code.len <= GRANT_CODE_MAX && strlen((const char *)code.p) == code.len);
    /* nothing of the grant shows in the code */
    CHECK(!strstr((const char *)code.p, "acct1") && !strstr((const char *)code.p, "demo-app"));
    CHECK_RC(grant_code_open(&app, &a, code, 1700000060, &out), RC_OK);
    CHECK_STR(out.client_id, "demo-app");
    CHECK_STR(out.nonce, "n-0S6");
    CHECK_STR(out.code_challenge, "abc");
    CHECK_STR(out.account_id, "acct1");
    CHECK_INT(out.auth_time, 1700000000);
    CHECK_INT(out.expires_at, 1700000061);
    CHECK_INT(out.loa.ial, IAL3);
    CHECK(out.claims == NULL);
    /* expired at its end */
    CHECK_RC(grant_code_open(&app, &a, code, 1700000061, &out), RC_NOT_FOUND);
    /* a changed byte, a cut code, no code */
    bad = arena_strndup(&a, (const char *)code.p, code.len);
    bad[code.len - 2] = bad[code.len - 2] == 'A' ? 'B' : 'A';
    CHECK_RC(grant_code_open(&app, &a, span_str(bad), 1700000002, &out), RC_NOT_FOUND);
    CHECK_RC(grant_code_open(&app, &a, span_of(code.p, code.len - 4), 1700000002, &out),
             RC_NOT_FOUND);
    CHECK_RC(grant_code_open(&app, &a, SPAN("short"), 1700000002, &out), RC_NOT_FOUND);
    CHECK_RC(grant_code_open(&app, &a, SPAN(""), 1700000002, &out), RC_NOT_FOUND);
    /* the family id: one per code, the shape of a drawn one */
    CHECK_RC(grant_code_seal(&app, &a, &g, 60, &other), RC_OK);
    CHECK(!span_eq(code, other));
    CHECK_RC(grant_code_family(&app, code, fam1), RC_OK);
    CHECK_INT(strlen(fam1), GRANT_FAMILY_LEN);
    CHECK_RC(grant_code_family(&app, code, fam2), RC_OK);
    CHECK_STR(fam1, fam2);
    CHECK_RC(grant_code_family(&app, other, fam2), RC_OK);
    CHECK(strcmp(fam1, fam2) != 0);
    /* the largest claims request /authorize takes fits in a code; more than a blob holds not */
    big = arena_alloc(&a, SEAL_PLAIN_MAX + 1);
    memset(big, 'x', SEAL_PLAIN_MAX);
    big[0] = '"';
    big[4094] = '"';
    big[4095] = 0;
    g.claims = big;
    CHECK_RC(grant_code_seal(&app, &a, &g, 60, &other), RC_OK);
    CHECK(other.len <= GRANT_CODE_MAX);
    CHECK_RC(grant_code_open(&app, &a, other, 1700000002, &out), RC_OK);
    CHECK_INT(strlen(out.claims), 4095);
    big[4095] = 'x';
    big[SEAL_PLAIN_MAX] = 0;
    g.claims = big;
    CHECK_RC(grant_code_seal(&app, &a, &g, 60, &other), RC_TOO_LARGE);
    CHECK_RC(grant_from_json(&a, SPAN("{\"client_id\":1}"), &out), RC_MALFORMED);
    CHECK_RC(grant_from_json(&a, SPAN("[]"), &out), RC_MALFORMED);
    arena_clear(&a);
    unlink(path);
    rmdir(dir);
    secrets_free(app.secrets);
}
