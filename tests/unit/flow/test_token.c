/* flow/token, flow/refresh, flow/client_auth (against policy), flow/subject: driven through
 * the flow functions with the memory store, a generated ES256 key, a policy parsed from
 * text, one account, and a clock the tests move. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "core/idnum.h"
#include "core/jose.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/client_auth.h"
#include "flow/grant.h"
#include "flow/notify.h"
#include "flow/refresh.h"
#include "flow/session.h"
#include "flow/subject.h"
#include "flow/token.h"
#include "log/log.h"
#include "port/keys.h"
#include "port/notify.h"
#include "port/store.h"
#include "test.h"

#define NOW      1740787200 /* 2025-03-01 00:00 UTC */
#define ISS      "https://id.example"
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLNG  "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static struct {
    char dir[64], master[96];
    struct config cfg;
    struct app app;
    struct fake_keys keys;
    struct jose_keyset *client_ks; /* the private_key_jwt client's private key */
    struct policy *p;
    struct arena a;
    struct account acct;
    char idn[19];
    struct rc_info ri; /* the last token_grant refusal's reason */
} F;

static void
sha_hex(const char *s, char out[65])
{
    uint8_t md[32];
    unsigned n;

    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static struct jose_keyset *
gen_keyset(struct buf *pub_jwks)
{
    struct jose_keyset *ks = NULL;
    struct buf jwk;

    buf_init(&jwk, 0);
    if (jose_key_generate(JOSE_ES256, &jwk) == RC_OK && jose_keyset_new(&ks) == RC_OK
        && jose_keyset_add_jwk(ks, buf_span(&jwk), JOSE_KEY_SIGN, NULL) == RC_OK
        && jose_keyset_seal(ks) == RC_OK) {
        if (pub_jwks)
            buf_append_span(pub_jwks, jose_keyset_jwks(ks));
    }
    buf_clear(&jwk);
    return ks;
}

#define S3CRET_SHA256 "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"

static const char policy_fmt[] =
    "[tokens]\nrefresh_grace_s = 10\nrefresh_token_idle_ttl = 600\nrefresh_token_ttl = 3600\n"
    "access_token_ttl = 300\nclock_leeway_s = 30\n"
    "[scope openid]\nclaims = sub\n[scope profile]\nclaims = name birthdate gender\n"
    "[scope id_number]\nclaims = id_number\n"
    "[client web]\ntype = confidential\nauth_method = client_secret_post\n"
    "secret_hash = sha256:%s\nredirect_uris = https://rp.example/cb\n"
    "grant_types = authorization_code refresh_token\nscopes = openid profile id_number\n"
    "id_number_allowed = true\nsector = rp.example\n"
    "[client app]\ntype = public\nauth_method = none\nredirect_uris = http://127.0.0.1/cb\n"
    "grant_types = authorization_code\nscopes = openid profile id_number\n"
    "[client svc]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:%s\ngrant_types = client_credentials\nscopes = api.read api.write\n"
    "[client jwtc]\ntype = confidential\nauth_method = private_key_jwt\njwks = %s\n"
    "grant_types = client_credentials\nscopes = api.read\n"
    "[client mod]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:" S3CRET_SHA256 "\nredirect_uris = https://mod.example/cb\n"
    "grant_types = authorization_code urn:ietf:params:oauth:grant-type:token-exchange\n"
    "scopes = openid api.read api.write\nexchange_audiences = mod2 ghost\nsector = mod.example\n"
    "[client mod2]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:" S3CRET_SHA256 "\n"
    "grant_types = client_credentials urn:ietf:params:oauth:grant-type:token-exchange\n"
    "scopes = notify.send api.read\nexchange_audiences = svc\n"
    "[client strict]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:" S3CRET_SHA256 "\ngrant_types = client_credentials\n"
    "scopes = api.read\nstrict_scopes = true\n";

static int
make_policy(void)
{
    struct config_error err = {0};
    char h[65], text[8192];
    struct buf jwks;
    int n;

    buf_init(&jwks, 0);
    if (!(F.client_ks = gen_keyset(&jwks)))
        return -1;
    sha_hex("s3cret", h);
    n = snprintf(text, sizeof(text), policy_fmt, h, h, (const char *)jwks.p);
    buf_clear(&jwks);
    if (n < 0 || (size_t)n >= sizeof(text))
        return -1;
    if (policy_parse("test.conf", text, (size_t)n, &F.p, &err) != RC_OK) {
        fprintf(stderr, "%s\n", err.text);
        return -1;
    }
    return 0;
}

static int
make_account(void)
{
    struct register_req rq = {
        .name = span_str("张三"), .phone = SPAN("13800000001"), .password = SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};

    memcpy(F.idn, "11010519900307123", 17);
    F.idn[17] = idnum_check_char(F.idn);
    F.idn[18] = 0;
    rq.id_number = span_str(F.idn);
    return account_add(&F.app, &F.a, &rq, &o, &F.acct, NULL) == RC_OK ? 0 : -1;
}

static void
fix_down(void)
{
    char cmd[128];

    policy_release(F.p);
    jose_keyset_release(F.keys.ks);
    jose_keyset_release(F.client_ks);
    store_free(F.app.store);
    arena_clear(&F.a);
    client_auth_keys_free(F.app.client_keys);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", F.dir);
    secrets_free(F.app.secrets);
    memset(&F, 0, sizeof(F));
    fake_now = NOW;
}

/* A fresh fixture per test (the store is per test). */
static int
fix_up(void)
{
    memset(&F, 0, sizeof(F));
    fake_now = NOW;
    snprintf(F.dir, sizeof(F.dir), "/tmp/authd-token-XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(F.master, sizeof(F.master), "%s/master.key", F.dir);
    log_setup(LOG_ERROR, 2);
    F.cfg = (struct config){.issuer = ISS,
                            .argon2_memory_kib = 64,
                            .argon2_iterations = 1,
                            .argon2_parallelism = 1,
                            .password_min_length = 8,
                            .lockout_failures = 5,
                            .lockout_seconds = 900,
                            .rate_window_s = 60};
    F.app = (struct app){.cfg = &F.cfg, .clock = &fake_clock, .rng = &rng_system};
    F.keys.k.ops = &fake_keys_ops;
    F.app.keys = &F.keys.k;
    arena_init(&F.a, 0);
    if (secrets_file_open(F.master, true, &F.app.secrets, NULL) != RC_OK
        || client_auth_keys_new(&F.app.client_keys) != RC_OK || !(F.keys.ks = gen_keyset(NULL))
        || compose_store_open("memory:", NULL, &F.app.store, NULL) != RC_OK || make_policy() != 0
        || make_account() != 0) {
        fix_down();
        return -1;
    }
    return 0;
}

static const struct policy_client *
client(const char *id)
{
    return policy_client(F.p, span_str(id));
}

/* Issues a code as /authorize would. */
static void
issue_code(const char *client_id, const char *redirect, const char *scope, const char *challenge,
           char code[GRANT_CODE_MAX + 1])
{
    struct span c;
    struct grant g = {.client_id = client_id,
                      .redirect_uri = redirect,
                      .scope = scope,
                      .nonce = "n-0S6",
                      .code_challenge = challenge,
                      .account_id = F.acct.id,
                      .sid = "sid-1",
                      .amr = "pwd",
                      .auth_time = NOW - 5,
                      .issued_at = fake_now, /* codes live 60 s from here */
                      .loa = {IAL3, AAL1}};

    code[0] = 0;
    if (grant_code_seal(&F.app, &F.a, &g, 60, &c) == RC_OK && c.len <= GRANT_CODE_MAX)
        memcpy(code, c.p, c.len + 1);
}

static enum rc
redeem(const char *client_id, const char *code, const char *redirect, const char *verifier,
       struct token_resp *out)
{
    struct token_req rq = {SPAN("authorization_code"), span_str(code), span_str(redirect),
                           verifier ? span_str(verifier) : (struct span){NULL, 0}};

    if (!redirect)
        rq.redirect_uri.p = NULL;
    return token_grant(&F.app, &F.a, F.p, client(client_id), &rq, out, &F.ri);
}

static enum rc
refresh(const char *client_id, const char *rt, const char *scope, struct token_resp *out)
{
    struct token_req rq = {.grant_type = SPAN("refresh_token"), .refresh_token = span_str(rt)};

    if (scope)
        rq.scope = span_str(scope);
    return token_grant(&F.app, &F.a, F.p, client(client_id), &rq, out, &F.ri);
}

/* The verified payload of a token of ours as a JSON object (caller decrefs). */
static json_t *
payload(const char *token, const char *typ)
{
    struct jose_verify_opts vo = {JOSE_ES256, typ};
    struct span pl;

    if (!token || jose_verify(F.keys.ks, &vo, span_str(token), &F.a, &pl, NULL, NULL) != RC_OK)
        return NULL;
    return json_loadb((const char *)pl.p, pl.len, 0, NULL);
}

static const char *
jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---- subjects --------------------------------------------------------------------------- */

TEST(subject_pairwise_per_sector_public_is_account_id)
{
    char s1[SUBJECT_MAX], s2[SUBJECT_MAX], s3[SUBJECT_MAX];
    struct policy_client a = {.id = "a", .sector = "portal.example"}, b = {.id = "b"},
                         c = {.id = "c", .sector = "portal.example"},
                         pub = {.id = "p", .subject_type = SUBJECT_PUBLIC};

    REQUIRE(fix_up() == 0);
    CHECK_RC(subject_for(&F.app, &a, F.acct.id, s1), RC_OK);
    CHECK_RC(subject_for(&F.app, &b, F.acct.id, s2), RC_OK);
    CHECK_RC(subject_for(&F.app, &c, F.acct.id, s3), RC_OK);
    CHECK_INT(strlen(s1), 64);
    CHECK(strcmp(s1, s2) != 0); /* unrelated clients cannot join their users */
    CHECK_STR(s1, s3);          /* one sector, one sub */
    CHECK(strcmp(s1, F.acct.id) != 0);
    CHECK_RC(subject_for(&F.app, &pub, F.acct.id, s1), RC_OK);
    CHECK_STR(s1, F.acct.id);
    CHECK_RC(subject_for(&F.app, &a, "", s1), RC_MALFORMED);
    fix_down();
}

/* ---- client authentication against policy ----------------------------------------------- */

static enum rc
auth(const char *authz, const char *body, const struct policy_client **c)
{
    struct form f;
    struct client_creds cr;
    enum rc rc;

    if ((rc = form_parse(&F.a, (const uint8_t *)body, strlen(body), &f, NULL)) != RC_OK
        || (rc = client_auth_parse(&F.a, authz, &f, &cr, NULL)) != RC_OK)
        return rc;
    return client_auth_verify(&F.app, &F.a, F.p, &cr, ISS "/token", c, NULL);
}

TEST(client_auth_registered_method_only)
{
    const struct policy_client *c = NULL;

    REQUIRE(fix_up() == 0);
    CHECK_RC(auth("Basic c3ZjOnMzY3JldA==", "", &c), RC_OK); /* svc:s3cret */
    CHECK(c && strcmp(c->id, "svc") == 0);
    CHECK_RC(auth("Basic c3ZjOnMzY3JldFg=", "", &c), RC_DENIED); /* svc:s3cretX */
    CHECK_RC(auth("Basic c3ZjOg==", "", &c), RC_DENIED);         /* svc: (empty secret) */
    CHECK_RC(auth(NULL, "client_id=svc&client_secret=s3cret", &c), RC_DENIED); /* post */
    CHECK_RC(auth(NULL, "client_id=web&client_secret=s3cret", &c), RC_OK);
    CHECK_RC(auth("Basic d2ViOnMzY3JldA==", "", &c), RC_DENIED); /* web uses post */
    CHECK_RC(auth(NULL, "client_id=web", &c), RC_DENIED);        /* confidential, none */
    CHECK_RC(auth(NULL, "client_id=app", &c), RC_OK);            /* public, none */
    CHECK_RC(auth(NULL, "client_id=app&client_secret=x", &c), RC_DENIED);
    CHECK_RC(auth(NULL, "client_id=nobody&client_secret=s3cret", &c), RC_DENIED);
    fix_down();
}

/* A client assertion signed by the jwtc client's key. */
static const char *
assertion(const char *iss, const char *sub, const char *aud, int64_t exp, const char *jti)
{
    char claims[512];
    struct span out;

    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"exp\":%lld,\"iat\":%lld,"
             "\"jti\":\"%s\"}",
             iss, sub, aud, (long long)exp, (long long)fake_now, jti);
    if (jose_sign(F.client_ks, JOSE_ES256, NULL, span_str(claims), &F.a, &out, NULL) != RC_OK)
        return "";
    return (const char *)out.p;
}

static enum rc
auth_jwt(const char *jwt, const char *client_id)
{
    const struct policy_client *c = NULL;
    char *body = arena_printf(&F.a,
                              "%s%s%sclient_assertion_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
                              "client-assertion-type%%3Ajwt-bearer&client_assertion=%s",
                              client_id ? "client_id=" : "", client_id ? client_id : "",
                              client_id ? "&" : "", jwt);
    return auth(NULL, body, &c);
}

TEST(client_auth_private_key_jwt)
{
    REQUIRE(fix_up() == 0);
    CHECK_RC(auth_jwt(assertion("jwtc", "jwtc", ISS "/token", NOW + 60, "j1"), NULL), RC_OK);
    /* a replayed jti is refused */
    CHECK_RC(auth_jwt(assertion("jwtc", "jwtc", ISS "/token", NOW + 60, "j1"), NULL), RC_DENIED);
    /* the issuer is an accepted audience too; client_id may be given */
    CHECK_RC(auth_jwt(assertion("jwtc", "jwtc", ISS, NOW + 60, "j2"), "jwtc"), RC_OK);
    CHECK_RC(
        auth_jwt(assertion("jwtc", "jwtc", "https://other.example/token", NOW + 60, "j3"), NULL),
        RC_DENIED);
    CHECK_RC(auth_jwt(assertion("jwtc", "jwtc", ISS "/token", NOW - 60, "j4"), NULL), RC_DENIED);
    CHECK_RC(auth_jwt(assertion("jwtc", "jwtc", ISS "/token", NOW + 3600, "j5"), NULL), RC_DENIED);
    CHECK_RC(auth_jwt(assertion("svc", "jwtc", ISS "/token", NOW + 60, "j6"), NULL), RC_DENIED);
    CHECK_RC(auth_jwt(assertion("jwtc", "jwtc", ISS "/token", NOW + 60, ""), NULL), RC_DENIED);
    /* signed by a key that is not the client's: our own signing key */
    {
        struct span t;
        const char c[] = "{\"iss\":\"jwtc\",\"sub\":\"jwtc\",\"aud\":\"" ISS
                         "\",\"exp\":1740787260,\"jti\":\"j7\"}";
        REQUIRE(jose_sign(F.keys.ks, JOSE_ES256, NULL, SPAN(c), &F.a, &t, NULL) == RC_OK);
        CHECK_RC(auth_jwt((const char *)t.p, NULL), RC_DENIED);
    }
    /* an assertion for a client registered for client_secret_basic */
    CHECK_RC(auth_jwt(assertion("svc", "svc", ISS "/token", NOW + 60, "j8"), "svc"), RC_DENIED);
    fix_down();
}

/* ---- authorization_code ----------------------------------------------------------------- */

TEST(token_code_issues_id_access_and_refresh_tokens)
{
    char code[GRANT_CODE_MAX + 1], sub[SUBJECT_MAX];
    struct token_resp r;
    json_t *id, *at;
    struct span ah;

    REQUIRE(fix_up() == 0);
    issue_code("web", "https://rp.example/cb", "openid profile id_number", CHALLNG, code);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_OK);
    REQUIRE(r.access_token && r.id_token && r.refresh_token);
    CHECK_INT(strlen(r.refresh_token), REFRESH_TOKEN_LEN);
    CHECK_INT(r.expires_in, 300);
    CHECK_STR(r.scope, "openid profile id_number");
    REQUIRE(subject_for(&F.app, client("web"), F.acct.id, sub) == RC_OK);
    id = payload(r.id_token, NULL);
    at = payload(r.access_token, "at+jwt");
    REQUIRE(id && at);
    CHECK_STR(jstr(id, "iss"), ISS);
    CHECK_STR(jstr(id, "sub"), sub);
    CHECK_STR(jstr(id, "aud"), "web");
    CHECK_STR(jstr(id, "nonce"), "n-0S6");
    CHECK_STR(jstr(id, "acr"), "urn:authd:acr:ial3:aal1");
    CHECK_STR(jstr(id, "sid"), "sid-1");
    CHECK_STR(json_string_value(json_array_get(json_object_get(id, "amr"), 0)), "pwd");
    CHECK_INT(json_integer_value(json_object_get(id, "auth_time")), NOW - 5);
    CHECK_INT(json_integer_value(json_object_get(id, "exp")), NOW + 600); /* default ttl */
    REQUIRE(jose_half_hash(JOSE_ES256, span_str(r.access_token), &F.a, &ah) == RC_OK);
    CHECK_STR(jstr(id, "at_hash"), (const char *)ah.p);
    CHECK_STR(jstr(id, "name"), "张三");
    CHECK_STR(jstr(id, "birthdate"), "1990-03-07");
    CHECK_STR(jstr(id, "gender"), "male");
    CHECK_STR(jstr(id, "id_number"), F.idn);
    CHECK_STR(jstr(at, "sub"), sub);
    CHECK_STR(jstr(at, "client_id"), "web");
    CHECK_STR(jstr(at, "aud"), "web");
    CHECK_STR(jstr(at, "scope"), "openid profile id_number");
    CHECK_STR(jstr(at, "acr"), "urn:authd:acr:ial3:aal1");
    CHECK(jstr(at, "jti") && jstr(at, "rtf") && jstr(at, "sid"));
    CHECK(json_object_get(at, "name") == NULL); /* user claims stay out of access tokens */
    CHECK_INT(json_integer_value(json_object_get(at, "exp")), NOW + 300);
    json_decref(id);
    json_decref(at);
    fix_down();
}

TEST(token_code_id_number_needs_client_permission)
{
    char code[GRANT_CODE_MAX + 1];
    struct token_resp r;
    json_t *id;

    REQUIRE(fix_up() == 0);
    issue_code("app", "http://127.0.0.1/cb", "openid id_number", CHALLNG, code);
    CHECK_RC(redeem("app", code, "http://127.0.0.1/cb", VERIFIER, &r), RC_OK);
    CHECK(r.refresh_token == NULL); /* app lacks the refresh_token grant */
    REQUIRE((id = payload(r.id_token, NULL)) != NULL);
    CHECK(json_object_get(id, "id_number") == NULL);
    json_decref(id);
    /* without openid, no ID token */
    issue_code("web", "https://rp.example/cb", "profile", CHALLNG, code);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_OK);
    CHECK(r.id_token == NULL && r.access_token != NULL);
    fix_down();
}

TEST(token_code_rejections)
{
    char code[GRANT_CODE_MAX + 1];
    struct token_resp r;

    REQUIRE(fix_up() == 0);
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    CHECK_RC(redeem("web", code, "https://rp.example/cb2", VERIFIER, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    /* the code is spent even by a failed redemption */
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER "x", &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", NULL, &r), RC_DENIED);
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    CHECK_RC(redeem("web", code, NULL, VERIFIER, &r), RC_DENIED);
    issue_code("app", "http://127.0.0.1/cb", "openid", CHALLNG, code);
    CHECK_RC(redeem("web", code, "http://127.0.0.1/cb", VERIFIER, &r), RC_DENIED);
    /* no challenge at /authorize but a verifier now: a PKCE downgrade */
    issue_code("web", "https://rp.example/cb", "openid", NULL, code);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_DENIED);
    /* public client without PKCE */
    issue_code("app", "http://127.0.0.1/cb", "openid", NULL, code);
    CHECK_RC(redeem("app", code, "http://127.0.0.1/cb", NULL, &r), RC_DENIED);
    CHECK_RC(redeem("web", "", "https://rp.example/cb", VERIFIER, &r), RC_MALFORMED);
    CHECK_STR(rc_reason_name(F.ri.why), "param");
    CHECK_RC(redeem("svc", "whatever", "https://rp.example/cb", VERIFIER, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "client_not_allowed");
    fix_down();
}

TEST(token_code_reuse_revokes_what_the_first_use_issued)
{
    char code[GRANT_CODE_MAX + 1];
    struct token_resp r1, r2, r3;
    struct token_claims tc;

    REQUIRE(fix_up() == 0);
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    REQUIRE(redeem("web", code, "https://rp.example/cb", VERIFIER, &r1) == RC_OK);
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r1.access_token), &tc, NULL), RC_OK);
    CHECK_STR(tc.account_id, F.acct.id);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r2), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r1.access_token), &tc, NULL),
             RC_NOT_FOUND);
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r3), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    /* a second use that fails its own checks (a stolen code sent with a wrong verifier, or
     * by another client) still revokes what the first use issued (RFC 6749 §4.1.2) */
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    REQUIRE(redeem("web", code, "https://rp.example/cb", VERIFIER, &r1) == RC_OK);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER "x", &r2), RC_DENIED);
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r1.access_token), &tc, NULL),
             RC_NOT_FOUND);
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r3), RC_DENIED);
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    REQUIRE(redeem("web", code, "https://rp.example/cb", VERIFIER, &r1) == RC_OK);
    CHECK_RC(redeem("app", code, "http://127.0.0.1/cb", VERIFIER, &r2), RC_DENIED);
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r3), RC_DENIED);
    fix_down();
}

/* max_token_families_per_account (issue 13): an account holds at most that many live
 * families; each redemption beyond revokes the oldest, whose tokens stop working, and the
 * index of the account's families stays that small. */
TEST(token_families_per_account_are_bounded_oldest_first)
{
    char code[GRANT_CODE_MAX + 1];
    struct token_resp r[5], rr;
    struct token_claims tc;
    struct store_record idx;

    REQUIRE(fix_up() == 0);
    F.cfg.max_token_families_per_account = 2;
    for (int i = 0; i < 5; i++) {
        fake_now = NOW + i; /* one second apart: "oldest" is well defined */
        issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
        REQUIRE(redeem("web", code, "https://rp.example/cb", VERIFIER, &r[i]) == RC_OK);
    }
    for (int i = 0; i < 3; i++) {
        CHECK_RC(refresh("web", r[i].refresh_token, NULL, &rr), RC_DENIED);
        CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r[i].access_token), &tc, NULL),
                 RC_NOT_FOUND);
    }
    for (int i = 3; i < 5; i++) {
        CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r[i].access_token), &tc, NULL),
                 RC_OK);
        CHECK_RC(refresh("web", r[i].refresh_token, NULL, &rr), RC_OK);
    }
    REQUIRE(store_rec_get(F.app.store, &F.a, store_key(&F.a, "acctrtf", span_str(F.acct.id), NULL),
                          &idx)
            == RC_OK);
    CHECK_INT(idx.n, 2);
    /* 0: no bound and no index */
    F.cfg.max_token_families_per_account = 0;
    store_del(F.app.store, store_key(&F.a, "acctrtf", span_str(F.acct.id), NULL));
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    REQUIRE(redeem("web", code, "https://rp.example/cb", VERIFIER, &rr) == RC_OK);
    CHECK_RC(store_rec_get(F.app.store, &F.a, store_key(&F.a, "acctrtf", span_str(F.acct.id), NULL),
                           &idx),
             RC_NOT_FOUND);
    fix_down();
}

/* An account disabled between the login and the redemption: no tokens, and the token family
 * created in the same round trip as the account read is taken back. */
TEST(token_code_for_a_disabled_account_leaves_no_family)
{
    char code[GRANT_CODE_MAX + 1];
    struct token_resp r;
    struct span *m;
    size_t n = 0;

    REQUIRE(fix_up() == 0);
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    REQUIRE(account_set_disabled(&F.app, &F.a, span_str(F.acct.id_number), true, NULL) == RC_OK);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    CHECK(r.access_token == NULL && r.refresh_token == NULL);
    CHECK_RC(store_set_members(F.app.store, &F.a, store_key(&F.a, "sidfam", SPAN("sid-1"), NULL),
                               &m, &n),
             RC_NOT_FOUND);
    fix_down();
}

/* A replay that arrives while the first redemption is between creating its token family and
 * issuing: it finds the family (its id comes from the code), revokes it and is refused; and a
 * code cannot be redeemed once its family is there, whoever put it. */
TEST(token_code_replay_during_the_first_redemption_revokes_it)
{
    char code[GRANT_CODE_MAX + 1], rt[REFRESH_TOKEN_LEN + 1];
    struct rtf f = {.client_id = "web", .account_id = "x", .scope = "openid", .refresh = true,
                    .loa = {IAL3, AAL1}},
               got;
    struct store_op ops[2];
    struct token_resp r;
    size_t n = 0;

    REQUIRE(fix_up() == 0);
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    /* the first redemption has created its family, not yet issued */
    REQUIRE(grant_code_family(&F.app, span_str(code), f.id) == RC_OK);
    REQUIRE(rtf_create_ops(&F.app, &F.a, F.p, &f, rt, ops, &n) == RC_OK);
    REQUIRE(store_rec_put(F.app.store, ops[0].key, ops[0].fields, ops[0].nfields, ops[0].ttl_s,
                          ops[0].flags)
            == RC_OK);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    CHECK(r.access_token == NULL);
    REQUIRE(rtf_get(&F.app, &F.a, span_str(f.id), &got) == RC_OK);
    CHECK(got.revoked);
    fix_down();
}

/* A code of session s for client (as authz_issue makes it), into code. */
static void
session_code(const struct session *s, const char *client, const char *redirect,
             char code[GRANT_CODE_MAX + 1])
{
    struct grant g = {.client_id = client, .redirect_uri = redirect, .scope = "openid",
                      .code_challenge = CHALLNG, .account_id = F.acct.id, .sid = s->sid,
                      .sess_tag = s->tag, .sess_created = s->created, .amr = "pwd",
                      .auth_time = s->auth_time, .issued_at = fake_now, .loa = s->loa};
    struct span c;

    code[0] = 0;
    if (grant_code_seal(&F.app, &F.a, &g, 60, &c) == RC_OK && c.len <= GRANT_CODE_MAX)
        memcpy(code, c.p, c.len + 1);
}

static bool
has(const struct span *m, size_t n, const char *v)
{
    for (size_t i = 0; i < n; i++)
        if (span_eq_str(m[i], v))
            return true;
    return false;
}

/* The members of s's :rps set; 0 when it has none. */
static size_t
rps_of(const char *tag, struct span **m)
{
    size_t n = 0;

    if (store_set_members(F.app.store, &F.a, store_key(&F.a, "sess", span_str(tag), ":rps"), m, &n)
        != RC_OK)
        n = 0;
    return n;
}

/* The client joins the session's :rps set (back-channel logout reaches it) when it exchanges
 * its code, in the exchange's one round trip; a step-up that moved the session to a new tag
 * meanwhile is followed; a session that ended meanwhile refuses the code, leaving no family:
 * its tokens would outlive a logout the client was never told of. */
TEST(token_code_joins_its_session_and_not_an_ended_one)
{
    struct session_login l = {.account_id = F.acct.id, .loa = {IAL3, AAL1}, .amr = "pwd",
                              .auth_time = NOW - 5};
    char cookie[SESSION_COOKIE_LEN + 1], code[GRANT_CODE_MAX + 1], old_tag[SESSION_TAG_LEN + 1];
    struct session s;
    struct token_resp r;
    struct span *m;
    struct rtf f;
    size_t n;

    REQUIRE(fix_up() == 0);
    l.account_id = F.acct.id;
    REQUIRE(session_create(&F.app, &F.a, &l, cookie, &s) == RC_OK);
    CHECK_INT(rps_of(s.tag, &m), 1); /* its mark */
    session_code(&s, "web", "https://rp.example/cb", code);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_OK);
    n = rps_of(s.tag, &m);
    CHECK(n == 2 && has(m, n, "web"));
    /* a step-up between /authorize and /token: the client joins the session's new tag */
    session_code(&s, "app", "http://127.0.0.1/cb", code);
    memcpy(old_tag, s.tag, sizeof(old_tag));
    l.loa.aal = AAL2, l.amr = "otp";
    REQUIRE(session_upgrade(&F.app, &F.a, &s, &l, cookie) == RC_OK);
    REQUIRE(strcmp(old_tag, s.tag) != 0);
    CHECK_RC(redeem("app", code, "http://127.0.0.1/cb", VERIFIER, &r), RC_OK);
    CHECK_INT(rps_of(old_tag, &m), 0); /* nothing left behind under the old tag */
    n = rps_of(s.tag, &m);
    CHECK_INT(n, 3);
    CHECK(has(m, n, "web") && has(m, n, "app") && has(m, n, SESSION_RPS_MARK));
    /* a logout between /authorize and /token: refused; its family stays revoked (spent) */
    session_code(&s, "web", "https://rp.example/cb", code);
    REQUIRE(session_end(&F.app, &F.a, &s, NULL, NULL) == RC_OK);
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    CHECK(r.access_token == NULL);
    CHECK_INT(rps_of(s.tag, &m), 0);
    {
        char id[GRANT_FAMILY_LEN + 1];
        REQUIRE(grant_code_family(&F.app, span_str(code), id) == RC_OK);
        REQUIRE(rtf_get(&F.app, &F.a, span_str(id), &f) == RC_OK);
        CHECK(f.revoked);
    }
    fix_down();
}

/* Codes are sealed: a changed byte, another deployment's code or an expired one is unknown,
 * and the code is the same length whatever the store. */
TEST(token_code_sealed_refusals)
{
    char code[GRANT_CODE_MAX + 1];
    struct token_resp r;
    struct grant g = {.client_id = "web", .scope = "openid", .account_id = "a", .loa = {IAL3, AAL1}};
    struct span c;
    size_t len;

    REQUIRE(fix_up() == 0);
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    len = strlen(code);
    CHECK(len > 100 && strncmp(code, "s1.c1.", 6) == 0);
    code[len - 3] = code[len - 3] == 'A' ? 'B' : 'A';
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_NOT_FOUND);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    CHECK_RC(redeem("web", "s1.c1.AAAA", "https://rp.example/cb", VERIFIER, &r), RC_NOT_FOUND);
    /* expired: issued 61 s ago with a 60 s life */
    g.issued_at = NOW - 61;
    REQUIRE(grant_code_seal(&F.app, &F.a, &g, 60, &c) == RC_OK);
    CHECK_RC(redeem("web", (const char *)c.p, NULL, NULL, &r), RC_NOT_FOUND);
    fix_down();
}

/* ---- refresh_token ---------------------------------------------------------------------- */

static void
code_tokens(struct token_resp *r)
{
    char code[GRANT_CODE_MAX + 1];

    issue_code("web", "https://rp.example/cb", "openid profile", CHALLNG, code);
    if (redeem("web", code, "https://rp.example/cb", VERIFIER, r) != RC_OK)
        memset(r, 0, sizeof(*r));
}

TEST(refresh_rotates_and_keeps_the_assurance)
{
    struct token_resp r0, r1, r2;
    json_t *id;

    REQUIRE(fix_up() == 0);
    code_tokens(&r0);
    REQUIRE(r0.refresh_token);
    fake_now += 100;
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r1), RC_OK);
    REQUIRE(r1.refresh_token && r1.id_token);
    CHECK(strcmp(r1.refresh_token, r0.refresh_token) != 0);
    CHECK_STR(r1.scope, "openid profile");
    REQUIRE((id = payload(r1.id_token, NULL)) != NULL);
    CHECK_INT(json_integer_value(json_object_get(id, "auth_time")), NOW - 5);
    CHECK_STR(jstr(id, "acr"), "urn:authd:acr:ial3:aal1");
    CHECK(json_object_get(id, "nonce") == NULL); /* OIDC Core §12.2 */
    json_decref(id);
    fake_now += 100;
    CHECK_RC(refresh("web", r1.refresh_token, " openid  openid ", &r2), RC_OK); /* narrowed */
    CHECK_STR(r2.scope, "openid"); /* normalised (issue 13 item 7) */
    REQUIRE((id = payload(r2.access_token, "at+jwt")) != NULL);
    CHECK_STR(jstr(id, "scope"), "openid");
    json_decref(id);
    CHECK_RC(refresh("web", r2.refresh_token, "openid profile phone", &r1), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "scope");
    CHECK_RC(refresh("svc", r2.refresh_token, NULL, &r1), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "client_not_allowed");
    CHECK_RC(refresh("web", "not-a-token", NULL, &r1), RC_NOT_FOUND);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    fix_down();
}

TEST(refresh_grace_window_returns_the_same_successor)
{
    struct token_resp r0, r1, r1b, r2;

    REQUIRE(fix_up() == 0);
    code_tokens(&r0);
    REQUIRE(r0.refresh_token);
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r1), RC_OK);
    fake_now += 10; /* refresh_grace_s = 10: still concurrent */
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r1b), RC_OK);
    REQUIRE(r1.refresh_token && r1b.refresh_token);
    CHECK_STR(r1b.refresh_token, r1.refresh_token);
    CHECK(strcmp(r1b.access_token, r1.access_token) != 0);
    /* the successor still works and rotates */
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r2), RC_OK);
    fix_down();
}

TEST(refresh_reuse_outside_grace_revokes_the_family)
{
    struct token_resp r0, r1, r2, r3;
    struct token_claims tc;

    REQUIRE(fix_up() == 0);
    code_tokens(&r0);
    REQUIRE(r0.refresh_token);
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r1), RC_OK);
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r2), RC_OK);
    fake_now += 11;
    /* r0 is two rotations old: reuse */
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r3), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    CHECK_RC(refresh("web", r2.refresh_token, NULL, &r3), RC_DENIED);
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r2.access_token), &tc, NULL),
             RC_NOT_FOUND);
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r0.access_token), &tc, NULL),
             RC_NOT_FOUND);
    fix_down();
}

TEST(refresh_previous_token_after_grace_is_reuse)
{
    struct token_resp r0, r1, r2;

    REQUIRE(fix_up() == 0);
    code_tokens(&r0);
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r1), RC_OK);
    fake_now += 11;
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r2), RC_DENIED);
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r2), RC_DENIED);
    fix_down();
}

TEST(refresh_idle_and_absolute_expiry)
{
    struct token_resp r0, r1, r2;
    char forged[REFRESH_TOKEN_LEN + 1];

    REQUIRE(fix_up() == 0);
    code_tokens(&r0);
    fake_now += 599; /* idle ttl 600 */
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r1), RC_OK);
    fake_now += 600;
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r2), RC_EXPIRED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant");
    /* a forged token with a real family id is unknown, not reuse */
    code_tokens(&r0);
    memcpy(forged, r0.refresh_token, REFRESH_TOKEN_LEN + 1);
    forged[REFRESH_TOKEN_LEN - 1] = forged[REFRESH_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
    CHECK_RC(refresh("web", forged, NULL, &r2), RC_NOT_FOUND);
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r1), RC_OK);
    /* absolute: 3600 s after the family was made, however active */
    for (int i = 0; i < 10; i++) {
        fake_now += 500;
        if (refresh("web", r1.refresh_token, NULL, &r2) != RC_OK)
            break;
        r1 = r2;
    }
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r2), RC_EXPIRED);
    fix_down();
}

/* ---- client_credentials and the rest ---------------------------------------------------- */

TEST(token_client_credentials_scopes_and_rejections)
{
    struct token_req rq = {.grant_type = SPAN("client_credentials")};
    struct token_resp r;
    json_t *at;

    REQUIRE(fix_up() == 0);
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_OK);
    CHECK_STR(r.scope, "api.read api.write");
    CHECK(r.id_token == NULL && r.refresh_token == NULL);
    REQUIRE((at = payload(r.access_token, "at+jwt")) != NULL);
    CHECK_STR(jstr(at, "sub"), "svc");
    CHECK_STR(jstr(at, "client_id"), "svc");
    CHECK(json_object_get(at, "rtf") == NULL && json_object_get(at, "acr") == NULL);
    json_decref(at);
    rq.scope = SPAN("api.read");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_OK);
    CHECK_STR(r.scope, "api.read");
    /* RFC 6749 §3.3: values it is not registered for (or we do not know) are left out,
     * the granted scope is in the response; normalised (issue 13 item 7) */
    rq.scope = SPAN("api.read admin ");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_OK);
    CHECK_STR(r.scope, "api.read");
    rq.scope = SPAN(" api.write  api.read api.write ");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_OK);
    CHECK_STR(r.scope, "api.write api.read");
    REQUIRE((at = payload(r.access_token, "at+jwt")) != NULL);
    CHECK_STR(jstr(at, "scope"), "api.write api.read");
    json_decref(at);
    rq.scope = SPAN("admin");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "scope"); /* nothing left to grant */
    rq.scope = SPAN("");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "scope");
    rq.scope = SPAN("api.read\tadmin");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "scope");
    /* strict_scopes: what it does not get is an error, not a silent drop */
    rq.scope = SPAN("api.read admin");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("strict"), &rq, &r, &F.ri), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "scope");
    rq.scope = SPAN("api.read ");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("strict"), &rq, &r, &F.ri), RC_OK);
    CHECK_STR(r.scope, "api.read");
    rq.scope = (struct span){NULL, 0};
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("web"), &rq, &r, &F.ri), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "client_not_allowed");
    rq.grant_type = SPAN("password");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_UNSUPPORTED);
    CHECK_STR(rc_reason_name(F.ri.why), "grant_type");
    rq.grant_type = (struct span){NULL, 0};
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri), RC_MALFORMED);
    CHECK_STR(rc_reason_name(F.ri.why), "param");
    fix_down();
}

TEST(token_access_verify_refuses_tampered_expired_and_revoked)
{
    struct token_req rq = {.grant_type = SPAN("client_credentials")};
    struct token_resp r;
    struct token_claims tc;
    char *t;
    size_t n;

    REQUIRE(fix_up() == 0);
    REQUIRE(token_grant(&F.app, &F.a, F.p, client("svc"), &rq, &r, &F.ri) == RC_OK);
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r.access_token), &tc, NULL), RC_OK);
    CHECK_STR(tc.client_id, "svc");
    CHECK(tc.account_id == NULL);
    t = arena_strndup(&F.a, r.access_token, strlen(r.access_token));
    n = strlen(t);
    t[n - 5] = t[n - 5] == 'A' ? 'B' : 'A';
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(t), &tc, NULL), RC_DENIED);
    /* an ID token is not an access token (typ) */
    {
        struct span id;
        REQUIRE(jose_sign(F.keys.ks, JOSE_ES256, "JWT",
                          SPAN("{\"iss\":\"" ISS "\",\"exp\":1740790000}"), &F.a, &id, NULL)
                == RC_OK);
        CHECK_RC(token_access_verify(&F.app, &F.a, F.p, id, &tc, NULL), RC_DENIED);
    }
    fake_now += 300 + 30; /* ttl + leeway */
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r.access_token), &tc, NULL),
             RC_EXPIRED);
    fake_now = NOW;
    REQUIRE(token_access_verify(&F.app, &F.a, F.p, span_str(r.access_token), &tc, NULL) == RC_OK);
    CHECK_RC(token_access_revoke(&F.app, &F.a, &tc), RC_OK);
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r.access_token), &tc, NULL),
             RC_NOT_FOUND);
    fix_down();
}

TEST(refresh_lookup_and_revoke_for_introspection)
{
    struct token_resp r0, r1;
    struct rtf f;

    REQUIRE(fix_up() == 0);
    code_tokens(&r0);
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(r0.refresh_token), &f), RC_OK);
    CHECK_STR(f.client_id, "web");
    CHECK_STR(f.sid, "sid-1");
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r1), RC_OK);
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(r0.refresh_token), &f), RC_NOT_FOUND);
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(r1.refresh_token), &f), RC_OK);
    CHECK_RC(rtf_revoke(&F.app, &F.a, F.p, span_of(f.id, RTF_ID_LEN)), RC_OK);
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(r1.refresh_token), &f), RC_NOT_FOUND);
    CHECK_RC(refresh("web", r1.refresh_token, NULL, &r0), RC_DENIED);
    /* the session's set lists the family for logout */
    {
        struct span *m;
        size_t n = 0;
        CHECK_RC(store_set_members(F.app.store, &F.a,
                                   store_key(&F.a, "sidfam", SPAN("sid-1"), NULL), &m, &n),
                 RC_OK);
        CHECK_INT(n, 1);
    }
    fix_down();
}

TEST(token_store_down_is_temporarily_unavailable)
{
    struct store *mem;
    char code[GRANT_CODE_MAX + 1];
    struct token_resp r0, r;
    struct token_claims tc;

    REQUIRE(fix_up() == 0);
    code_tokens(&r0);
    REQUIRE(r0.refresh_token);
    issue_code("web", "https://rp.example/cb", "openid", CHALLNG, code);
    mem = F.app.store;
    F.app.store = &fake_store_down;
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_UNAVAILABLE);
    CHECK_STR(rc_reason_name(F.ri.why), "none");
    CHECK_RC(refresh("web", r0.refresh_token, NULL, &r), RC_UNAVAILABLE);
    CHECK_STR(rc_reason_name(F.ri.why), "none");
    /* fail closed: a token whose revocation state is unknown is not accepted */
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r0.access_token), &tc, NULL),
             RC_UNAVAILABLE);
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(r0.refresh_token), &(struct rtf){0}),
             RC_UNAVAILABLE);
    F.app.store = mem;
    /* the code was not consumed by the failed attempt */
    CHECK_RC(redeem("web", code, "https://rp.example/cb", VERIFIER, &r), RC_OK);
    fix_down();
}

/* ---- token exchange (RFC 8693) ---------------------------------------------------------- */

/* A citizen's access token issued to client "mod" by the code flow. */
static const char *
mod_token(const char *scope)
{
    char code[GRANT_CODE_MAX + 1];
    struct token_resp r;

    issue_code("mod", "https://mod.example/cb", scope, CHALLNG, code);
    if (redeem("mod", code, "https://mod.example/cb", VERIFIER, &r) != RC_OK)
        return NULL;
    return r.access_token;
}

static enum rc
xchg(const char *client_id, const char *subject, const char *audience, const char *scope,
     struct token_resp *out)
{
    struct token_req rq = {.grant_type = SPAN(GRANT_TYPE_EXCHANGE),
                           .subject_token = span_str(subject),
                           .subject_token_type = SPAN(TOKEN_TYPE_ACCESS),
                           .audience = span_str(audience)};

    if (scope)
        rq.scope = span_str(scope);
    return token_grant(&F.app, &F.a, F.p, client(client_id), &rq, out, &F.ri);
}

TEST(exchange_keeps_subject_and_assurance_and_nests_act)
{
    struct token_resp r, r2;
    json_t *s, *x, *y;
    const char *at;

    REQUIRE(fix_up() == 0);
    REQUIRE((at = mod_token("openid api.read api.write")));
    CHECK_RC(xchg("mod", at, "mod2", "api.read", &r), RC_OK);
    CHECK_STR(r.issued_token_type, TOKEN_TYPE_ACCESS);
    CHECK_STR(r.scope, "api.read");
    CHECK_INT(r.expires_in, 300);
    s = payload(at, "at+jwt");
    x = payload(r.access_token, "at+jwt");
    REQUIRE(s && x);
    CHECK_STR(jstr(x, "sub"), jstr(s, "sub"));
    CHECK_STR(jstr(x, "acr"), jstr(s, "acr"));
    CHECK_STR(jstr(x, "rtf"), jstr(s, "rtf"));
    CHECK_STR(jstr(x, "aud"), "mod2");
    CHECK_STR(jstr(x, "client_id"), "mod");
    CHECK_STR(jstr(json_object_get(x, "act"), "sub"), "mod");
    CHECK_INT(json_integer_value(json_object_get(x, "auth_time")), NOW - 5);
    /* mod2 trades it on towards svc: act nests, the token never outlives the subject's */
    fake_now += 100;
    CHECK_RC(xchg("mod2", r.access_token, "svc", NULL, &r2), RC_OK);
    CHECK_INT(r2.expires_in, 200);
    REQUIRE((y = payload(r2.access_token, "at+jwt")));
    CHECK_STR(jstr(y, "sub"), jstr(s, "sub"));
    CHECK_STR(jstr(json_object_get(y, "act"), "sub"), "mod2");
    CHECK_STR(jstr(json_object_get(json_object_get(y, "act"), "act"), "sub"), "mod");
    CHECK_STR(r2.scope, "api.read");
    json_decref(s);
    json_decref(x);
    json_decref(y);
    fix_down();
}

/* issue 13 defect 1: the exchanged token carried the subject token's whole scope, so the
 * audience could read what only the caller was registered for. */
TEST(exchange_narrows_the_scope_to_the_audience)
{
    struct token_resp r;
    json_t *x;
    const char *at;

    REQUIRE(fix_up() == 0);
    REQUIRE((at = mod_token("openid api.read api.write")));
    CHECK_RC(xchg("mod", at, "mod2", NULL, &r), RC_OK); /* mod2: notify.send api.read */
    CHECK_STR(r.scope, "api.read");
    REQUIRE((x = payload(r.access_token, "at+jwt")));
    CHECK_STR(jstr(x, "scope"), "api.read");
    json_decref(x);
    /* a requested value the audience is not registered for is left out */
    CHECK_RC(xchg("mod", at, "mod2", "openid  api.read ", &r), RC_OK);
    CHECK_STR(r.scope, "api.read");
    /* nothing the audience may hold: refused, not a token without scope */
    CHECK_RC(xchg("mod", at, "mod2", "api.write", &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "scope");
    REQUIRE((at = mod_token("openid")));
    CHECK_RC(xchg("mod", at, "mod2", NULL, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "scope");
    fix_down();
}

TEST(exchange_refusals_name_the_rfc_8693_error)
{
    struct token_req rq = {.grant_type = SPAN(GRANT_TYPE_EXCHANGE)};
    struct token_resp r;
    const char *at;

    REQUIRE(fix_up() == 0);
    REQUIRE((at = mod_token("openid api.read")));
    CHECK_RC(xchg("svc", at, "mod2", NULL, &r), RC_DENIED); /* no grant */
    CHECK_STR(rc_reason_name(F.ri.why), "client_not_allowed");
    CHECK_RC(xchg("mod", at, "svc", NULL, &r), RC_DENIED); /* not in exchange_audiences */
    CHECK_STR(rc_reason_name(F.ri.why), "target");
    CHECK_RC(xchg("mod", at, "ghost", NULL, &r), RC_DENIED); /* listed, but no such client */
    CHECK_STR(rc_reason_name(F.ri.why), "target");
    CHECK_RC(xchg("mod", at, "mod2", "api.write", &r), RC_DENIED); /* beyond the subject's */
    CHECK_STR(rc_reason_name(F.ri.why), "scope");
    CHECK_RC(xchg("mod2", at, "svc", NULL, &r), RC_DENIED); /* issued to mod, not mod2 */
    CHECK_STR(rc_reason_name(F.ri.why), "subject_token");
    CHECK_RC(xchg("mod", "a.b.c", "mod2", NULL, &r), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "subject_token");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("mod"), &rq, &r, &F.ri), RC_MALFORMED);
    CHECK_STR(rc_reason_name(F.ri.why), "param"); /* no subject_token */
    rq.subject_token = span_str(at);
    rq.audience = SPAN("mod2");
    rq.subject_token_type = SPAN("urn:ietf:params:oauth:token-type:jwt");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("mod"), &rq, &r, &F.ri), RC_MALFORMED);
    CHECK_STR(rc_reason_name(F.ri.why), "param");
    rq.subject_token_type = SPAN(TOKEN_TYPE_ACCESS);
    rq.requested_token_type = SPAN("urn:ietf:params:oauth:token-type:id_token");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("mod"), &rq, &r, &F.ri), RC_MALFORMED);
    rq.requested_token_type = (struct span){NULL, 0};
    rq.resource = SPAN("https://rs.example/");
    CHECK_RC(token_grant(&F.app, &F.a, F.p, client("mod"), &rq, &r, &F.ri), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "target");
    fix_down();
}

TEST(exchange_refuses_expired_and_revoked_subject_tokens)
{
    struct token_claims tc;
    struct token_resp r;
    const char *at;

    REQUIRE(fix_up() == 0);
    REQUIRE((at = mod_token("openid api.read")));
    fake_now += 300 + 30 + 1; /* ttl + leeway */
    CHECK_RC(xchg("mod", at, "mod2", NULL, &r), RC_EXPIRED);
    CHECK_STR(rc_reason_name(F.ri.why), "subject_token");
    fake_now = NOW;
    REQUIRE(token_access_verify(&F.app, &F.a, F.p, span_str(at), &tc, NULL) == RC_OK);
    REQUIRE(token_access_revoke(&F.app, &F.a, &tc) == RC_OK);
    CHECK_RC(xchg("mod", at, "mod2", NULL, &r), RC_NOT_FOUND);
    CHECK_STR(rc_reason_name(F.ri.why), "subject_token");
    /* a family revoked (logout, refresh reuse) revokes the exchanged tokens too */
    REQUIRE((at = mod_token("openid api.read")));
    CHECK_RC(xchg("mod", at, "mod2", NULL, &r), RC_OK);
    REQUIRE(token_access_verify(&F.app, &F.a, F.p, span_str(at), &tc, NULL) == RC_OK);
    REQUIRE(rtf_revoke(&F.app, &F.a, F.p, span_str(tc.rtf)) == RC_OK);
    CHECK_RC(token_access_verify(&F.app, &F.a, F.p, span_str(r.access_token), &tc, NULL),
             RC_NOT_FOUND);
    fix_down();
}

TEST(exchange_a_client_token_is_not_a_citizens)
{
    struct token_req rq = {.grant_type = SPAN("client_credentials")};
    struct token_resp r, x;

    REQUIRE(fix_up() == 0);
    REQUIRE(token_grant(&F.app, &F.a, F.p, client("mod2"), &rq, &r, &F.ri) == RC_OK);
    CHECK_RC(xchg("mod2", r.access_token, "svc", NULL, &x), RC_DENIED);
    CHECK_STR(rc_reason_name(F.ri.why), "subject_token");
    fix_down();
}

/* ---- notices by sub (flow/notify, adapt/notify_file) ----------------------------------- */

TEST(notify_resolves_the_sub_a_module_was_given)
{
    char path[128], line[512] = "";
    struct notify_req nr = {.text = SPAN("已受理"), .ref = SPAN("A-1")};
    struct token_resp r;
    const char *at;
    json_t *x;
    FILE *f;

    REQUIRE(fix_up() == 0);
    snprintf(path, sizeof(path), "file:%s/notices", F.dir);
    REQUIRE(compose_notify_open(path, NULL, &F.app.notify, NULL) == RC_OK);
    REQUIRE((at = mod_token("openid api.read")));
    REQUIRE(xchg("mod", at, "mod2", NULL, &r) == RC_OK);
    REQUIRE((x = payload(r.access_token, "at+jwt")));
    nr.sub = span_str(jstr(x, "sub"));
    CHECK_RC(notify_citizen(&F.app, &F.a, client("mod"), &nr, NULL), RC_DENIED); /* scope */
    CHECK_RC(notify_citizen(&F.app, &F.a, client("mod2"), &nr, NULL), RC_OK);
    snprintf(path, sizeof(path), "%s/notices", F.dir);
    REQUIRE((f = fopen(path, "r")));
    CHECK(fgets(line, sizeof(line), f) != NULL);
    fclose(f);
    CHECK(strstr(line, "\"to\":\"13800000001\"") != NULL);
    CHECK(strstr(line, "\"ref\":\"A-1\"") != NULL);
    CHECK(strstr(line, "\"sender\":\"mod2\"") != NULL);
    nr.text = SPAN("a\x01");
    CHECK_RC(notify_citizen(&F.app, &F.a, client("mod2"), &nr, NULL), RC_MALFORMED);
    nr.text = SPAN("\xff\xfe");
    CHECK_RC(notify_citizen(&F.app, &F.a, client("mod2"), &nr, NULL), RC_MALFORMED);
    nr.text = SPAN("ok");
    nr.ref = SPAN("a/b");
    CHECK_RC(notify_citizen(&F.app, &F.a, client("mod2"), &nr, NULL), RC_MALFORMED);
    nr.ref = SPAN("");
    nr.sub = SPAN("00ff");
    CHECK_RC(notify_citizen(&F.app, &F.a, client("mod2"), &nr, NULL), RC_NOT_FOUND);
    notify_free(F.app.notify);
    F.app.notify = NULL;
    nr.sub = span_str(jstr(x, "sub"));
    CHECK_RC(notify_citizen(&F.app, &F.a, client("mod2"), &nr, NULL), RC_UNSUPPORTED);
    json_decref(x);
    fix_down();
}

TEST(notify_open_rejects_unknown_sinks)
{
    struct notify *n = (struct notify *)1;

    CHECK_RC(compose_notify_open("smtp://x", NULL, &n, NULL), RC_MALFORMED);
    CHECK_RC(compose_notify_open("none", NULL, &n, NULL), RC_OK);
    CHECK(n == NULL);
    CHECK_RC(compose_notify_open("file:/nonexistent-dir/x", NULL, &n, NULL), RC_NOT_FOUND);
    CHECK_RC(compose_notify_open("http://127.0.0.1:1/sms", NULL, &n, NULL), RC_OK);
    CHECK_RC(
        notify_send(n, &(struct notice){.to = SPAN("1"), .text = SPAN("x"), .sender = SPAN("t")}),
        RC_UNAVAILABLE); /* nobody listens on port 1 */
    notify_free(n);
}
