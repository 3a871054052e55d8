/* flow/subject: the sub a client sees (OIDC Core §8): pairwise per sector under the
 * server's subject key, public where policy says so, and refusals. */
#include <string.h>

#include "fakes.h"
#include "flow/subject.h"
#include "port/secrets.h"
#include "test.h"

static const char policy_text[] =
    "[client a1]\ntype = public\nauth_method = none\nredirect_uris = https://a.example/1\n"
    "sector = a.example\n"
    "[client a2]\ntype = public\nauth_method = none\nredirect_uris = https://a.example/2\n"
    "sector = a.example\n"
    "[client b]\ntype = public\nauth_method = none\nredirect_uris = https://b.example/cb\n"
    "[client pub]\ntype = public\nauth_method = none\nredirect_uris = https://p.example/cb\n"
    "subject_type = public\n";

static struct fake_app F;

static const struct policy_client *
client(const char *id)
{
    return policy_client(F.p, span_str(id));
}

TEST(subject_pairwise_is_the_keyed_hash_of_sector_and_account)
{
    char a1[SUBJECT_MAX], a2[SUBJECT_MAX], b[SUBJECT_MAX], b2[SUBJECT_MAX], want[65];
    struct span parts[2] = {SPAN("a.example"), SPAN("acct-1")};

    REQUIRE(fake_app_up(&F, policy_text, 1740787200) == 0);
    CHECK_RC(subject_for(&F.app, client("a1"), "acct-1", a1), RC_OK);
    CHECK_RC(subject_for(&F.app, client("a2"), "acct-1", a2), RC_OK);
    CHECK_RC(subject_for(&F.app, client("b"), "acct-1", b), RC_OK);
    CHECK_RC(subject_for(&F.app, client("b"), "acct-2", b2), RC_OK);
    REQUIRE(secrets_hmac_hex(F.app.secrets, SECRET_SUBJECT, parts, 2, want) == RC_OK);
    CHECK_STR(a1, want);
    CHECK_STR(a2, a1);                   /* one sector, one sub */
    CHECK(strcmp(b, a1) != 0);           /* unrelated clients cannot join their users */
    CHECK(strcmp(b2, b) != 0);           /* and accounts differ */
    CHECK(strstr(a1, "acct-1") == NULL); /* the account id does not show */
    /* without a sector the client id is the sector */
    parts[0] = SPAN("b");
    REQUIRE(secrets_hmac_hex(F.app.secrets, SECRET_SUBJECT, parts, 2, want) == RC_OK);
    CHECK_STR(b, want);
    /* another purpose's key gives another value: the subject key is its own */
    parts[0] = SPAN("a.example");
    REQUIRE(secrets_hmac_hex(F.app.secrets, SECRET_TOKEN, parts, 2, want) == RC_OK);
    CHECK(strcmp(a1, want) != 0);
    fake_app_down(&F);
}

TEST(subject_public_is_the_account_id_and_bad_ids_are_refused)
{
    char out[SUBJECT_MAX], big[80];

    REQUIRE(fake_app_up(&F, policy_text, 1740787200) == 0);
    CHECK_RC(subject_for(&F.app, client("pub"), "acct-1", out), RC_OK);
    CHECK_STR(out, "acct-1");
    CHECK_RC(subject_for(&F.app, client("b"), "", out), RC_MALFORMED);
    CHECK_RC(subject_for(&F.app, client("b"), NULL, out), RC_MALFORMED);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    CHECK_RC(subject_for(&F.app, client("pub"), big, out), RC_MALFORMED);
    big[SUBJECT_MAX - 1] = 0; /* 64 characters: the longest that fits */
    CHECK_RC(subject_for(&F.app, client("pub"), big, out), RC_OK);
    CHECK_STR(out, big);
    fake_app_down(&F);
}
