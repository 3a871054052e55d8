/* conf/policy: the tables it owns (grant types) and the client keys that name algorithms,
 * as policy_parse reads them. */
#include <string.h>

#include "conf/policy.h"
#include "flow/token.h"
#include "test.h"

#define CLIENT "[client rp]\ntype = public\nauth_method = none\nredirect_uris = https://rp.example/cb\n"

/* Parses text; RC_OK with *out set, or the rc with err->text describing the line. */
static enum rc
parse(const char *text, struct policy **out, struct config_error *err)
{
    *out = NULL;
    return policy_parse("t.conf", text, strlen(text), out, err);
}

/* The grant table and the token endpoint agree: every grant a client can be registered for,
 * and discovery advertises, has a handler; a name not in the table is none. */
TEST(policy_every_grant_of_the_table_is_served)
{
    size_t n = 0;

    for (; policy_grant_at(n); n++) {
        CHECK(token_grant_served(policy_grant_at(n)->bit));
        CHECK_INT(policy_grant_parse(span_str(policy_grant_at(n)->name)), policy_grant_at(n)->bit);
    }
    CHECK_INT(n, 6);
    CHECK_INT(policy_grant_parse(SPAN("urn:ietf:params:oauth:grant-type:device_code")),
              GRANT_DEVICE_CODE); /* served since the device grant (flow/device.h) */
    CHECK_INT(policy_grant_parse(SPAN("urn:openid:params:grant-type:ciba")),
              GRANT_CIBA); /* served since CIBA poll mode (flow/ciba.h) */
    CHECK_INT(policy_grant_parse(SPAN("urn:ietf:params:oauth:grant-type:device-code")), 0);
    CHECK_INT(policy_grant_parse(SPAN("password")), 0);
    CHECK(!token_grant_served(0));
}

TEST(policy_grant_types_come_from_the_table)
{
    struct policy *p;
    struct config_error err;

    REQUIRE(parse(CLIENT "grant_types = authorization_code refresh_token "
                         "urn:ietf:params:oauth:grant-type:token-exchange\n",
                  &p, &err)
            == RC_OK);
    CHECK_INT(policy_client(p, SPAN("rp"))->grants,
              GRANT_AUTHORIZATION_CODE | GRANT_REFRESH_TOKEN | GRANT_TOKEN_EXCHANGE);
    policy_release(p);
    /* not served, so not registrable: it would be advertised nowhere and answered with
     * unsupported_grant_type */
    CHECK_RC(
        parse(CLIENT "grant_types = urn:ietf:params:oauth:grant-type:saml2-bearer\n", &p, &err),
        RC_MALFORMED);
    REQUIRE(parse(CLIENT "grant_types = urn:ietf:params:oauth:grant-type:device_code\n"
                         "location = Kiosk 3, Hall B\n",
                  &p, &err)
            == RC_OK);
    CHECK_INT(policy_client(p, SPAN("rp"))->grants, GRANT_DEVICE_CODE);
    CHECK_STR(policy_client(p, SPAN("rp"))->location, "Kiosk 3, Hall B");
    policy_release(p);
    CHECK_RC(parse(CLIENT "grant_types = password\n", &p, &err), RC_MALFORMED);
}

TEST(policy_id_token_alg_defaults_to_es256_and_takes_signing_algorithms_only)
{
    struct policy *p;
    struct config_error err;

    REQUIRE(parse(CLIENT, &p, &err) == RC_OK);
    CHECK_INT(policy_client(p, SPAN("rp"))->id_token_alg, JOSE_ES256);
    policy_release(p);
    REQUIRE(parse(CLIENT "id_token_signed_response_alg = PS256\n", &p, &err) == RC_OK);
    CHECK_INT(policy_client(p, SPAN("rp"))->id_token_alg, JOSE_PS256);
    policy_release(p);
    CHECK_RC(parse(CLIENT "id_token_signed_response_alg = ES384\n", &p, &err), RC_MALFORMED);
    CHECK_RC(parse(CLIENT "id_token_signed_response_alg = none\n", &p, &err), RC_MALFORMED);
    CHECK_RC(parse(CLIENT "id_token_signed_response_alg = HS256\n", &p, &err), RC_MALFORMED);
    CHECK_RC(parse(CLIENT "id_token_signed_response_alg = es256\n", &p, &err), RC_MALFORMED);
}

TEST(policy_id_valid_names_clients_and_scopes)
{
    char long_id[66];

    CHECK(policy_id_valid("demo-portal"));
    CHECK(policy_id_valid("a.b_c-D9"));
    CHECK(!policy_id_valid(""));
    CHECK(!policy_id_valid("a b"));
    CHECK(!policy_id_valid("a/b"));
    CHECK(!policy_id_valid("张三"));
    memset(long_id, 'a', 64);
    long_id[64] = 0;
    CHECK(policy_id_valid(long_id));
    long_id[64] = 'a', long_id[65] = 0;
    CHECK(!policy_id_valid(long_id));
}

/* profile = fapi2 (docs/fapi.md): PAR, DPoP and PKCE turned on whatever else the section
 * says; only a confidential client with private_key_jwt; no other profile name. */
TEST(policy_fapi2_profile_turns_on_par_dpop_pkce_and_needs_private_key_jwt)
{
    static const char fapi[] =
        "[client bank]\ntype = confidential\nauth_method = private_key_jwt\n"
        "jwks = {\"keys\":[]}\nredirect_uris = https://bank.example/cb\n"
        "pkce_required = false\nrequire_pushed_authorization_requests = false\n"
        "profile = fapi2\n";
    const struct policy_client *c;
    struct policy *p;
    struct config_error err;

    REQUIRE(parse(fapi, &p, &err) == RC_OK);
    c = policy_client(p, SPAN("bank"));
    CHECK(c->fapi2 && c->require_par && c->dpop_bound && c->pkce_required);
    policy_release(p);
    REQUIRE(parse(CLIENT, &p, &err) == RC_OK);
    c = policy_client(p, SPAN("rp"));
    CHECK(!c->fapi2 && !c->require_par && !c->dpop_bound);
    policy_release(p);
    CHECK_RC(parse(CLIENT "profile = fapi2\n", &p, &err), RC_MALFORMED); /* public */
    CHECK_RC(parse(CLIENT "profile = fapi1\n", &p, &err), RC_MALFORMED);
}

TEST(policy_tls_client_auth_and_fapi2_with_certificate_bound_tokens)
{
    static const char mtls[] = "[client kiosk]\ntype = confidential\nauth_method = tls_client_auth\n"
                               "grant_types = refresh_token\nscopes = openid\n"
                               "[tokens]\nkiosk_idle_ttl = 60\nkiosk_face_score_min = 85\n";
    static const char fapi[] = "[client bank]\ntype = confidential\nauth_method = tls_client_auth\n"
                               "redirect_uris = https://bank.example/cb\nprofile = fapi2\n";
    const struct policy_client *c;
    struct policy *p;
    struct config_error err;

    REQUIRE(parse(mtls, &p, &err) == RC_OK);
    c = policy_client(p, SPAN("kiosk"));
    CHECK(c->auth == AUTH_TLS_CLIENT_AUTH);
    CHECK_INT(p->tokens.kiosk_idle_ttl, 60);
    CHECK_INT(p->tokens.kiosk_face_score_min, 85);
    policy_release(p);
    /* FAPI 2.0 SP §5.3.2.1: tls_client_auth, its tokens bound to the certificate, not DPoP */
    REQUIRE(parse(fapi, &p, &err) == RC_OK);
    c = policy_client(p, SPAN("bank"));
    CHECK(c->fapi2 && c->require_par && c->pkce_required && !c->dpop_bound);
    policy_release(p);
    CHECK_RC(parse("[client k]\ntype = public\nauth_method = tls_client_auth\n", &p, &err),
             RC_MALFORMED);
    CHECK_RC(parse("[tokens]\nkiosk_face_score_min = 101\n", &p, &err), RC_MALFORMED);
    CHECK_RC(parse("[tokens]\nkiosk_idle_ttl = 5\n", &p, &err), RC_MALFORMED);
}
