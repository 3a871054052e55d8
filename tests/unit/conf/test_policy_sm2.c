/* conf/policy: the per-client algorithms SM2 clients use (docs/crypto.md): SM2SM3 for ID
 * tokens, and access_token_signed_response_alg, which defaults to ES256 and takes only
 * algorithms authd signs with. */
#include <string.h>

#include "conf/policy.h"
#include "test.h"

#define CLIENT "[client rp]\ntype = public\nauth_method = none\nredirect_uris = https://rp.example/cb\n"

static enum rc
parse(const char *text, struct policy **out)
{
    struct config_error err;

    *out = NULL;
    return policy_parse("t.conf", text, strlen(text), out, &err);
}

TEST(policy_sm2_client_algorithms)
{
    struct policy *p;

    REQUIRE(parse(CLIENT, &p) == RC_OK);
    CHECK_INT(policy_client(p, SPAN("rp"))->access_token_alg, JOSE_ES256);
    policy_release(p);
    REQUIRE(parse(CLIENT "id_token_signed_response_alg = SM2SM3\n"
                         "access_token_signed_response_alg = SM2SM3\n",
                  &p)
            == RC_OK);
    CHECK_INT(policy_client(p, SPAN("rp"))->id_token_alg, JOSE_SM2SM3);
    CHECK_INT(policy_client(p, SPAN("rp"))->access_token_alg, JOSE_SM2SM3);
    policy_release(p);
    CHECK_RC(parse(CLIENT "access_token_signed_response_alg = ES384\n", &p), RC_MALFORMED);
    CHECK_RC(parse(CLIENT "access_token_signed_response_alg = none\n", &p), RC_MALFORMED);
    CHECK_RC(parse(CLIENT "access_token_signed_response_alg = sm2sm3\n", &p), RC_MALFORMED);
    CHECK_RC(parse(CLIENT "id_token_signed_response_alg = SM2\n", &p), RC_MALFORMED);
}
