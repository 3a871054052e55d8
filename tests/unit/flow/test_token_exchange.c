/* flow/token_exchange (RFC 8693): the scope of the issued token narrowed to the audience
 * (id_number only towards modules allowed it, strict_scopes callers refused), and act
 * nesting up to its depth limit, on a chain of modules c0 -> c1 -> ... -> c5. test_token.c
 * has the refusals of the parameters and of bad subject tokens. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/idnum.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/grant.h"
#include "flow/token.h"
#include "log/log.h"
#include "test.h"

#define NOW      1740787200
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLNG  "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define XG       "grant_types = client_credentials urn:ietf:params:oauth:grant-type:token-exchange\n"
#define CONF                                                                                       \
    "type = confidential\nauth_method = client_secret_basic\nsecret_hash = sha256:"                \
    "0000000000000000000000000000000000000000000000000000000000000000\n"

static const char policy_text[] =
    "[tokens]\naccess_token_ttl = 300\nclock_leeway_s = 30\n"
    "[scope openid]\nclaims = sub\n[scope id_number]\nclaims = id_number\n"
    "[client c0]\n" CONF "redirect_uris = https://c0.example/cb\n"
    "grant_types = authorization_code urn:ietf:params:oauth:grant-type:token-exchange\n"
    "scopes = openid api.read api.write id_number\nid_number_allowed = true\n"
    "exchange_audiences = c1 idn noidn\n"
    "[client c1]\n" CONF XG "scopes = api.read api.write\nexchange_audiences = c2\n"
    "[client c2]\n" CONF XG "scopes = api.read api.write\nexchange_audiences = c3\n"
    "[client c3]\n" CONF XG "scopes = api.read api.write\nexchange_audiences = c4\n"
    "[client c4]\n" CONF XG "scopes = api.read api.write\nexchange_audiences = c5\n"
    "[client c5]\n" CONF XG "scopes = api.read\n"
    "[client idn]\n" CONF XG "scopes = api.read id_number\nid_number_allowed = true\n"
    "[client noidn]\n" CONF XG "scopes = api.read id_number\n"
    "[client strict]\n" CONF "redirect_uris = https://s.example/cb\n"
    "grant_types = authorization_code urn:ietf:params:oauth:grant-type:token-exchange\n"
    "scopes = openid api.read api.write\nexchange_audiences = c5\nstrict_scopes = true\n"
    "[client pubx]\ntype = public\nauth_method = none\nredirect_uris = https://x.example/cb\n"
    "grant_types = authorization_code urn:ietf:params:oauth:grant-type:token-exchange\n"
    "scopes = openid api.read\nexchange_audiences = c5\n";

static struct fake_app F;
static struct account acct;

static int
up(void)
{
    struct register_req rq = {
        .name = span_str("张三"), .phone = SPAN("13800000001"), .password = SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};
    static char idn[19];

    log_setup(LOG_ERROR, 2);
    if (fake_app_up(&F, policy_text, NOW) != 0)
        return -1;
    memcpy(idn, "11010519900307123", 17);
    idn[17] = idnum_check_char(idn);
    idn[18] = 0;
    rq.id_number = span_str(idn);
    return account_add(&F.app, &F.a, &rq, &o, &acct, NULL) == RC_OK ? 0 : -1;
}

static const struct policy_client *
client(const char *id)
{
    return policy_client(F.p, span_str(id));
}

/* A citizen's access token issued to client_id by the code flow. */
static const char *
citizen_token(const char *client_id, const char *redirect, const char *scope)
{
    struct span code;
    struct grant g = {.client_id = client_id,
                      .redirect_uri = redirect,
                      .scope = scope,
                      .code_challenge = CHALLNG,
                      .account_id = acct.id,
                      .sid = "sid-1",
                      .amr = "pwd",
                      .auth_time = NOW - 5,
                      .issued_at = NOW,
                      .loa = {IAL3, AAL1}};
    struct token_req rq = {
        SPAN("authorization_code"), {NULL, 0}, span_str(redirect), SPAN(VERIFIER)};
    struct token_resp r;

    if (grant_code_seal(&F.app, &F.a, &g, 60, &code) != RC_OK)
        return NULL;
    rq.code = code;
    if (token_grant(&F.app, &F.a, F.p, client(client_id), &rq, &r, NULL) != RC_OK)
        return NULL;
    return r.access_token;
}

/* Why the last xchg was refused (the route's table turns the reason into the OAuth error:
 * subject_token → invalid_request, scope → invalid_scope, client_not_allowed →
 * unauthorized_client). */
static struct rc_info last_ri;

static enum rc
xchg(const char *caller, const char *subject, const char *audience, const char *scope,
     struct token_resp *out)
{
    struct token_req rq = {.grant_type = SPAN(GRANT_TYPE_EXCHANGE),
                           .subject_token = span_str(subject),
                           .subject_token_type = SPAN(TOKEN_TYPE_ACCESS),
                           .audience = span_str(audience)};

    memset(out, 0, sizeof(*out));
    memset(&last_ri, 0, sizeof(last_ri));
    if (scope)
        rq.scope = span_str(scope);
    return token_grant(&F.app, &F.a, F.p, client(caller), &rq, out, &last_ri);
}

/* The verified payload of one of our access tokens (caller decrefs). */
static json_t *
payload(const char *token)
{
    struct jose_verify_opts vo = {JOSE_ES256, "at+jwt"};
    struct span pl;

    if (!token || jose_verify(F.keys.ks, &vo, span_str(token), &F.a, &pl, NULL, NULL) != RC_OK)
        return NULL;
    return json_loadb((const char *)pl.p, pl.len, 0, NULL);
}

/* The act claim as compact JSON text with sorted keys in out. */
static void
act_of(const char *token, char *out, size_t n)
{
    json_t *o = payload(token);
    char *s =
        o ? json_dumps(json_object_get(o, "act"), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
          : NULL;

    snprintf(out, n, "%s", s ? s : "(none)");
    free(s);
    json_decref(o);
}

TEST(exchange_act_nests_each_caller_up_to_four_deep)
{
    static const char *const want[] = {
        "{\"sub\":\"c0\"}",
        "{\"act\":{\"sub\":\"c0\"},\"sub\":\"c1\"}",
        "{\"act\":{\"act\":{\"sub\":\"c0\"},\"sub\":\"c1\"},\"sub\":\"c2\"}",
        ("{\"act\":{\"act\":{\"act\":{\"sub\":\"c0\"},\"sub\":\"c1\"},\"sub\":\"c2\"},"
         "\"sub\":\"c3\"}"),
    };
    struct token_resp r;
    const char *tok;
    char caller[4] = "c0", aud[4] = "c1", act[512];

    REQUIRE(up() == 0);
    REQUIRE((tok = citizen_token("c0", "https://c0.example/cb", "openid api.read")));
    act_of(tok, act, sizeof(act));
    CHECK_STR(act, "(none)"); /* the citizen's own token names no actor */
    for (int i = 0; i < 4; i++) {
        caller[1] = (char)('0' + i), aud[1] = (char)('1' + i);
        REQUIRE(xchg(caller, tok, aud, NULL, &r) == RC_OK);
        act_of(r.access_token, act, sizeof(act));
        CHECK_STR(act, want[i]);
        tok = r.access_token;
    }
    /* a fifth link would make the chain longer than ACT_MAX_DEPTH: refused */
    CHECK_RC(xchg("c4", tok, "c5", NULL, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(last_ri.why), "subject_token");
    CHECK(r.access_token == NULL);
    fake_app_down(&F);
}

TEST(exchange_id_number_travels_only_to_modules_allowed_it)
{
    struct token_resp r;
    const char *tok;
    json_t *x;

    REQUIRE(up() == 0);
    REQUIRE((tok = citizen_token("c0", "https://c0.example/cb", "openid api.read id_number")));
    CHECK_RC(xchg("c0", tok, "idn", NULL, &r), RC_OK);
    CHECK_STR(r.scope, "api.read id_number");
    REQUIRE((x = payload(r.access_token)));
    CHECK_STR(json_string_value(json_object_get(x, "scope")), "api.read id_number");
    json_decref(x);
    /* registered for the scope, but without id_number_allowed: left out */
    CHECK_RC(xchg("c0", tok, "noidn", NULL, &r), RC_OK);
    CHECK_STR(r.scope, "api.read");
    /* asked for alone: nothing the audience may hold */
    CHECK_RC(xchg("c0", tok, "noidn", "id_number", &r), RC_DENIED);
    CHECK_STR(rc_reason_name(last_ri.why), "scope");
    /* the citizen never granted it: beyond the subject token, even for a module allowed it */
    REQUIRE((tok = citizen_token("c0", "https://c0.example/cb", "openid api.read")));
    CHECK_RC(xchg("c0", tok, "idn", "api.read id_number", &r), RC_DENIED);
    CHECK_STR(rc_reason_name(last_ri.why), "scope");
    CHECK_RC(xchg("c0", tok, "idn", NULL, &r), RC_OK);
    CHECK_STR(r.scope, "api.read");
    fake_app_down(&F);
}

TEST(exchange_narrowing_keeps_the_requested_order_and_strict_callers_are_refused)
{
    struct token_resp r;
    const char *tok;

    REQUIRE(up() == 0);
    REQUIRE((tok = citizen_token("c0", "https://c0.example/cb", "openid api.read api.write")));
    CHECK_RC(xchg("c0", tok, "c1", "api.write api.read", &r), RC_OK);
    CHECK_STR(r.scope, "api.write api.read");
    CHECK_RC(xchg("c0", tok, "c1", NULL, &r), RC_OK); /* openid: not c1's */
    CHECK_STR(r.scope, "api.read api.write");
    /* down the chain the scope can only shrink: c5 holds api.read only */
    CHECK_RC(xchg("c1", r.access_token, "c2", "api.write", &r), RC_OK);
    CHECK_STR(r.scope, "api.write");
    CHECK_RC(xchg("c2", r.access_token, "c3", "api.read", &r), RC_DENIED);
    CHECK_STR(rc_reason_name(last_ri.why), "scope");
    /* strict_scopes: a requested value the audience lacks is an error, not dropped */
    REQUIRE((tok = citizen_token("strict", "https://s.example/cb", "openid api.read api.write")));
    CHECK_RC(xchg("strict", tok, "c5", "api.read api.write", &r), RC_DENIED);
    CHECK_STR(rc_reason_name(last_ri.why), "scope");
    CHECK_RC(xchg("strict", tok, "c5", "api.read", &r), RC_OK);
    CHECK_STR(r.scope, "api.read");
    CHECK_RC(xchg("strict", tok, "c5", NULL, &r), RC_OK); /* nothing asked: narrowed */
    CHECK_STR(r.scope, "api.read");
    fake_app_down(&F);
}

TEST(exchange_is_for_confidential_clients_only)
{
    struct token_resp r;
    const char *tok;

    REQUIRE(up() == 0);
    REQUIRE((tok = citizen_token("c0", "https://c0.example/cb", "openid api.read")));
    CHECK_RC(xchg("pubx", tok, "c5", NULL, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(last_ri.why), "client_not_allowed");
    CHECK(r.access_token == NULL);
    fake_app_down(&F);
}
