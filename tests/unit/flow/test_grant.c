#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "flow/grant.h"
#include "port/store.h"
#include "test.h"

TEST(grant_code_is_redeemed_once_and_round_trips)
{
    char dir[] = "/tmp/authd-grant-XXXXXX", path[64], code[GRANT_CODE_LEN + 1];
    struct app app = {.clock = &clock_system, .rng = &rng_system};
    struct arena a;
    struct grant g = {.client_id = "demo-app", .redirect_uri = "http://127.0.0.1/cb",
                      .scope = "openid profile", .nonce = "n-0S6", .code_challenge = "abc",
                      .account_id = "acct1", .sid = "sid1", .amr = "pwd", .auth_time = 1700000000,
                      .issued_at = 1700000001, .loa = {IAL3, AAL1}},
                 out;
    struct span fam;

    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/master.key", dir);
    REQUIRE(secrets_file_open(path, true, &app.secrets, NULL) == RC_OK);
    REQUIRE(compose_store_open("memory:", NULL, &app.store, NULL) == RC_OK);
    arena_init(&a, 0);
    CHECK_RC(grant_code_issue(&app, &a, &g, 60, code), RC_OK);
    CHECK_INT(strlen(code), GRANT_CODE_LEN);
    CHECK_RC(grant_code_redeem(&app, &a, span_str(code), SPAN("fam1"), 60, &out, &fam), RC_OK);
    CHECK_STR(out.client_id, "demo-app");
    CHECK_STR(out.nonce, "n-0S6");
    CHECK_STR(out.code_challenge, "abc");
    CHECK_INT(out.auth_time, 1700000000);
    CHECK_INT(out.loa.ial, IAL3);
    CHECK(out.claims == NULL);
    /* a second redemption learns which family the first one was for */
    CHECK_RC(grant_code_redeem(&app, &a, span_str(code), SPAN("fam2"), 60, &out, &fam), RC_CONFLICT);
    CHECK_SPAN(fam, "fam1");
    CHECK_RC(grant_code_redeem(&app, &a, SPAN("short"), SPAN("fam3"), 60, &out, &fam), RC_NOT_FOUND);
    code[0] = code[0] == 'A' ? 'B' : 'A';
    CHECK_RC(grant_code_redeem(&app, &a, span_str(code), SPAN("fam3"), 60, &out, &fam), RC_NOT_FOUND);
    CHECK_RC(grant_from_json(&a, SPAN("{\"client_id\":1}"), &out), RC_MALFORMED);
    CHECK_RC(grant_from_json(&a, SPAN("[]"), &out), RC_MALFORMED);
    arena_clear(&a);
    store_free(app.store);
    unlink(path);
    rmdir(dir);
    secrets_free(app.secrets);
}
