/* libauthd-client unit tests: configuration, Cache-Control, scopes, and every validation
 * outcome against a key set put straight into the cache (no network), plus the refetch
 * rules against an endpoint that does not answer. The live-process tests are in
 * tests/integration/test_client_lib.py. */
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client_int.h"
#include "core/jose.h"
#include "test.h"

#define ISS  "https://id.example.gov.cn"
#define T0   1800000000
#define DEAD "http://127.0.0.1:1/jwks" /* nothing listens on port 1 */

static int64_t fake_now = T0;

static int64_t
clock_fn(void *arg)
{
    (void)arg;
    return fake_now;
}

static const char *const auds[] = {"license", "workflow", NULL};

static struct authd_client_config
base_cfg(void)
{
    return (struct authd_client_config){.issuer = ISS,
                                        .audiences = auds,
                                        .jwks_uri = DEAD,
                                        .allow_http = 1,
                                        .leeway_s = 30,
                                        .jwks_refetch_interval_s = 60,
                                        .http_timeout_ms = 2000,
                                        .now = clock_fn};
}

static struct jose_keyset *priv_ks, *pub_ks;

/* One ES256 key for the whole file: a signing set and the public set a fetch would give. */
static void
keys(void)
{
    struct buf jwk;

    if (priv_ks)
        return;
    buf_init(&jwk, 0);
    if (jose_key_generate(JOSE_ES256, &jwk) == RC_OK && jose_keyset_new(&priv_ks) == RC_OK
        && jose_keyset_add_jwk(priv_ks, buf_span(&jwk), JOSE_KEY_SIGN, NULL) == RC_OK
        && jose_keyset_seal(priv_ks) == RC_OK)
        jose_keyset_parse_jwks(jose_keyset_jwks(priv_ks), &pub_ks, NULL);
    buf_clear(&jwk);
}

/* A client whose cache holds the public key, fresh for ttl seconds from fake_now. */
static struct authd_client *
client_with_keys(const struct authd_client_config *cfg, int64_t ttl)
{
    struct authd_client *c = NULL;

    keys();
    if (authd_client_new(cfg, &c) != AUTHD_OK)
        return NULL;
    c->jwks.ks = jose_keyset_retain(pub_ks);
    c->jwks.fresh_until = c->jwks.usable_until = fake_now + ttl;
    c->jwks.generation = 1;
    return c;
}

static char tokbuf[8192];

/* Signs claims (printf format) with typ; returns a static token. */
static const char *
sign(const char *typ, const char *claims)
{
    struct arena a;
    struct span t = {0};

    keys();
    arena_init(&a, 0);
    if (jose_sign(priv_ks, JOSE_ES256, typ, span_str(claims), &a, &t, NULL) != RC_OK)
        t = SPAN("sign-failed");
    snprintf(tokbuf, sizeof(tokbuf), "%.*s", (int)t.len, (const char *)t.p);
    arena_clear(&a);
    return tokbuf;
}

static char claimbuf[2048];

/* Claims of a good token, with one member replaced or added by extra (",\"k\":v"). */
static const char *
claims(const char *aud, long exp, const char *extra)
{
    snprintf(claimbuf, sizeof(claimbuf),
             "{\"iss\":\"" ISS "\",\"aud\":%s,\"sub\":\"s-123\",\"client_id\":\"demo-portal\","
             "\"scope\":\"openid license.read\",\"acr\":\"urn:authd:acr:ial3:aal2\","
             "\"amr\":[\"pwd\",\"sms\"],\"iat\":%ld,\"exp\":%ld,\"jti\":\"j-1\"%s}",
             aud, (long)T0 - 10, exp, extra ? extra : "");
    return claimbuf;
}

static enum authd_status
check(struct authd_client *c, const char *tok, const char *scope, const char *acr)
{
    struct authd_validate_opts o = {.scope = scope, .acr = acr};
    struct authd_token_info info;
    enum authd_status st = authd_client_validate(c, tok, strlen(tok), &o, &info);

    authd_token_info_clear(&info);
    return st;
}

#define CHECK_ST(expr, want)                                                                       \
    do {                                                                                           \
        enum authd_status g_ = (expr), w_ = (want);                                                \
        if (g_ != w_)                                                                              \
            test_fail(__FILE__, __LINE__, "%s: got %s, want %s", #expr, authd_status_name(g_),     \
                      authd_status_name(w_));                                                      \
    } while (0)

/* ---- configuration ---------------------------------------------------------------------- */

TEST(client_config_refuses_bad_settings)
{
    struct authd_client *c = NULL;
    struct authd_client_config cfg = base_cfg();
    const char *none[] = {NULL};

    cfg.issuer = NULL;
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.allow_http = 0; /* DEAD is http:// */
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.issuer = "ftp://id.example";
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.audiences = none;
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.audiences = NULL;
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.jwks_min_cache_s = 600, cfg.jwks_max_cache_s = 60;
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.leeway_s = 301;
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.leeway_s = -1;
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.algs = 0x100;
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.client_id = "m"; /* and no secret */
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.client_id = "", cfg.client_secret = "s";
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    cfg = base_cfg(), cfg.jwks_uri = "http://127.0.0.1:1/jw ks";
    CHECK_ST(authd_client_new(&cfg, &c), AUTHD_ERR_INVALID_ARGUMENT);
    CHECK(c == NULL);
}

TEST(client_config_defaults_endpoints_from_issuer)
{
    struct authd_client *c = NULL;
    struct authd_client_config cfg = base_cfg();

    cfg.issuer = ISS "/";
    cfg.jwks_uri = NULL;
    REQUIRE(authd_client_new(&cfg, &c) == AUTHD_OK);
    CHECK_STR(c->jwks_uri, ISS "/jwks");
    CHECK_STR(c->token_uri, ISS "/token");
    CHECK_STR(c->introspect_uri, ISS "/introspect");
    CHECK_STR(c->typ, "at+jwt");
    CHECK_INT(c->algs, AUTHD_ALG_ES256);
    CHECK_INT(c->min_cache, 300);
    CHECK_INT(c->max_cache, 86400);
    CHECK_INT(c->grace, 3600);
    authd_client_free(c);
    cfg.jwks_grace_s = -1;
    REQUIRE(authd_client_new(&cfg, &c) == AUTHD_OK);
    CHECK_INT(c->grace, 0);
    authd_client_free(c);
    authd_client_free(NULL);
}

TEST(client_status_names_are_distinct)
{
    for (int i = 0; i < AUTHD_STATUS__COUNT; i++)
        for (int k = i + 1; k < AUTHD_STATUS__COUNT; k++)
            CHECK(strcmp(authd_status_name(i), authd_status_name(k)) != 0);
    CHECK_STR(authd_status_name(AUTHD_ERR_EXPIRED), "AUTHD_ERR_EXPIRED");
    CHECK_STR(authd_status_name((enum authd_status)999), "AUTHD_ERR_UNKNOWN");
}

/* ---- Cache-Control ---------------------------------------------------------------------- */

TEST(cachectl_reads_max_age)
{
    int64_t v = -1;

    CHECK_RC(cachectl_max_age(SPAN("max-age=600"), &v), RC_OK);
    CHECK_INT(v, 600);
    CHECK_RC(cachectl_max_age(SPAN("public, Max-Age=60 , must-revalidate"), &v), RC_OK);
    CHECK_INT(v, 60);
    CHECK_RC(cachectl_max_age(SPAN("max-age=\"30\""), &v), RC_OK);
    CHECK_INT(v, 30);
    CHECK_RC(cachectl_max_age(SPAN("max-age=99999999999999999999999"), &v), RC_OK);
    CHECK_INT(v, 2147483647);
    CHECK_RC(cachectl_max_age(SPAN("max-age=0"), &v), RC_OK);
    CHECK_INT(v, 0);
}

TEST(cachectl_no_cache_and_no_store_mean_zero)
{
    int64_t v = -1;

    CHECK_RC(cachectl_max_age(SPAN("max-age=600, no-cache"), &v), RC_OK);
    CHECK_INT(v, 0);
    CHECK_RC(cachectl_max_age(SPAN("no-store"), &v), RC_OK);
    CHECK_INT(v, 0);
}

TEST(cachectl_refuses_bad_or_missing_max_age)
{
    int64_t v = 7;

    CHECK_RC(cachectl_max_age(SPAN(""), &v), RC_NOT_FOUND);
    CHECK_RC(cachectl_max_age(SPAN("public"), &v), RC_NOT_FOUND);
    CHECK_RC(cachectl_max_age(SPAN("s-maxage=60"), &v), RC_NOT_FOUND);
    CHECK_RC(cachectl_max_age(SPAN("max-age=abc"), &v), RC_MALFORMED);
    CHECK_RC(cachectl_max_age(SPAN("max-age=-5"), &v), RC_MALFORMED);
    CHECK_RC(cachectl_max_age(SPAN("max-age="), &v), RC_MALFORMED);
    CHECK_RC(cachectl_max_age(SPAN("max-age=5, max-age=6"), &v), RC_MALFORMED);
    CHECK_INT(v, 7);
}

TEST(scope_contains_needs_every_scope_exactly)
{
    CHECK(tokinfo_scope_contains("openid license.read", "license.read"));
    CHECK(tokinfo_scope_contains("openid license.read", "license.read  openid"));
    CHECK(tokinfo_scope_contains("openid", ""));
    CHECK(!tokinfo_scope_contains("openid license.read", "license"));
    CHECK(!tokinfo_scope_contains("openid license.read", "license.read.all"));
    CHECK(!tokinfo_scope_contains("openid", "openid license.read"));
    CHECK(!tokinfo_scope_contains(NULL, "openid"));
}

TEST(form_encoding_escapes_everything_but_unreserved)
{
    struct buf b;

    buf_init(&b, 0);
    CHECK_RC(fetch_form_add(&b, "a", "x y+z&=%/~", 10), RC_OK);
    CHECK_RC(fetch_form_add(&b, "b", "中", 3), RC_OK);
    CHECK_SPAN(buf_span(&b), "a=x%20y%2Bz%26%3D%25%2F~&b=%E4%B8%AD");
    buf_clear(&b);
}

/* ---- validation ------------------------------------------------------------------------- */

TEST(validate_accepts_good_token_and_returns_claims)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = client_with_keys(&cfg, 300);
    struct authd_validate_opts o = {.scope = "license.read", .acr = "urn:authd:acr:ial3:aal1"};
    struct authd_token_info info;
    const char *tok =
        sign("at+jwt", claims("[\"other\",\"workflow\"]", T0 + 600,
                              ",\"auth_time\":1799999000,\"act\":{\"sub\":\"license-svc\","
                              "\"client_id\":\"license\",\"act\":{\"sub\":\"x\"}}"));

    REQUIRE(c);
    CHECK_ST(authd_client_validate(c, tok, strlen(tok), &o, &info), AUTHD_OK);
    CHECK_STR(info.iss, ISS);
    CHECK_STR(info.sub, "s-123");
    CHECK_STR(info.client_id, "demo-portal");
    CHECK_STR(info.scope, "openid license.read");
    CHECK_STR(info.acr, "urn:authd:acr:ial3:aal2");
    CHECK_STR(info.jti, "j-1");
    CHECK_INT(info.amr_count, 2);
    if (info.amr_count == 2)
        CHECK_STR(info.amr[1], "sms");
    CHECK_INT(info.exp, T0 + 600);
    CHECK_INT(info.iat, T0 - 10);
    CHECK_INT(info.auth_time, 1799999000);
    CHECK_STR(info.act_sub, "license-svc");
    CHECK_STR(info.act_client_id, "license");
    CHECK_STR(info.act,
              "{\"act\":{\"sub\":\"x\"},\"client_id\":\"license\",\"sub\":\"license-svc\"}");
    authd_token_info_clear(&info);
    CHECK(info.sub == NULL && info.priv_ == NULL);
    authd_token_info_clear(&info); /* twice is fine */
    authd_client_free(c);
}

TEST(validate_refuses_wrong_audience_issuer_and_times)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = client_with_keys(&cfg, 300);
    char extra[128];

    REQUIRE(c);
    CHECK_ST(check(c, sign("at+jwt", claims("\"other\"", T0 + 600, NULL)), NULL, NULL),
             AUTHD_ERR_AUDIENCE);
    CHECK_ST(check(c, sign("at+jwt", claims("[\"a\",\"b\"]", T0 + 600, NULL)), NULL, NULL),
             AUTHD_ERR_AUDIENCE);
    CHECK_ST(check(c, sign("at+jwt", claims("[]", T0 + 600, NULL)), NULL, NULL),
             AUTHD_ERR_AUDIENCE);
    CHECK_ST(check(c, sign("at+jwt", claims("[\"license\",7]", T0 + 600, NULL)), NULL, NULL),
             AUTHD_ERR_MALFORMED);
    /* exp: refused at exp + leeway (30 s), accepted just before */
    CHECK_ST(check(c, sign("at+jwt", claims("\"license\"", T0 - 30, NULL)), NULL, NULL),
             AUTHD_ERR_EXPIRED);
    CHECK_ST(check(c, sign("at+jwt", claims("\"license\"", T0 - 29, NULL)), NULL, NULL), AUTHD_OK);
    snprintf(extra, sizeof(extra), ",\"nbf\":%ld", (long)T0 + 31);
    CHECK_ST(check(c, sign("at+jwt", claims("\"license\"", T0 + 600, extra)), NULL, NULL),
             AUTHD_ERR_NOT_YET_VALID);
    snprintf(extra, sizeof(extra), ",\"nbf\":%ld", (long)T0 + 30);
    CHECK_ST(check(c, sign("at+jwt", claims("\"license\"", T0 + 600, extra)), NULL, NULL),
             AUTHD_OK);
    authd_client_free(c);
    cfg.issuer = "https://other.example.gov.cn";
    c = client_with_keys(&cfg, 300);
    REQUIRE(c);
    CHECK_ST(check(c, sign("at+jwt", claims("\"license\"", T0 + 600, NULL)), NULL, NULL),
             AUTHD_ERR_ISSUER);
    authd_client_free(c);
}

TEST(validate_refuses_wrong_typ)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = client_with_keys(&cfg, 300);
    const char *cl = claims("\"license\"", T0 + 600, NULL);

    REQUIRE(c);
    CHECK_ST(check(c, sign("JWT", cl), NULL, NULL), AUTHD_ERR_TYP);
    CHECK_ST(check(c, sign(NULL, cl), NULL, NULL), AUTHD_ERR_TYP);
    CHECK_ST(check(c, sign("logout+jwt", cl), NULL, NULL), AUTHD_ERR_TYP);
    CHECK_ST(check(c, sign("application/at+jwt", cl), NULL, NULL), AUTHD_OK);
    authd_client_free(c);
}

TEST(validate_refuses_missing_required_claims)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = client_with_keys(&cfg, 300);
    char cl[512];

    REQUIRE(c);
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"aud\":\"license\",\"client_id\":\"p\","
             "\"iat\":%ld,\"exp\":%ld,\"jti\":\"j\"}",
             (long)T0, (long)T0 + 60);
    CHECK_ST(check(c, sign("at+jwt", cl), NULL, NULL), AUTHD_ERR_MALFORMED); /* no sub */
    snprintf(cl, sizeof(cl),
             "{\"iss\":\"" ISS "\",\"aud\":\"license\",\"sub\":\"s\","
             "\"client_id\":\"p\",\"iat\":%ld,\"jti\":\"j\"}",
             (long)T0);
    CHECK_ST(check(c, sign("at+jwt", cl), NULL, NULL), AUTHD_ERR_MALFORMED); /* no exp */
    CHECK_ST(check(c, sign("at+jwt", claims("\"license\"", T0 + 60, ",\"scope\":7")), NULL, NULL),
             AUTHD_ERR_MALFORMED); /* duplicate member: refused by the parser */
    CHECK_ST(check(c, sign("at+jwt", claims("\"license\"", T0 + 60, ",\"act\":\"x\"")), NULL, NULL),
             AUTHD_ERR_MALFORMED);
    CHECK_ST(check(c, "", NULL, NULL), AUTHD_ERR_MALFORMED);
    CHECK_ST(check(c, "a.b", NULL, NULL), AUTHD_ERR_MALFORMED);
    CHECK_ST(check(c, "!!.??.**", NULL, NULL), AUTHD_ERR_MALFORMED);
    authd_client_free(c);
}

TEST(validate_refuses_insufficient_scope_and_assurance)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = client_with_keys(&cfg, 300);
    const char *tok = sign("at+jwt", claims("\"license\"", T0 + 600, NULL));
    char copy[4096];

    REQUIRE(c);
    snprintf(copy, sizeof(copy), "%s", tok);
    CHECK_ST(check(c, copy, "license.read openid", NULL), AUTHD_OK);
    CHECK_ST(check(c, copy, "license.write", NULL), AUTHD_ERR_SCOPE);
    CHECK_ST(check(c, copy, "openid license.read license.write", NULL), AUTHD_ERR_SCOPE);
    CHECK_ST(check(c, copy, NULL, "urn:authd:acr:ial3:aal2"), AUTHD_OK);
    CHECK_ST(check(c, copy, NULL, "urn:authd:acr:ial4:aal1"), AUTHD_ERR_ASSURANCE);
    CHECK_ST(check(c, copy, NULL, "urn:authd:acr:ial2:aal3"), AUTHD_ERR_ASSURANCE);
    CHECK_ST(check(c, copy, NULL, "loa-high"), AUTHD_ERR_INVALID_ARGUMENT);
    tok = sign("at+jwt", claims("\"license\"", T0 + 600, ",\"acr\":\"urn:other:acr\""));
    CHECK_ST(check(c, tok, NULL, NULL), AUTHD_ERR_MALFORMED); /* duplicate acr member */
    authd_client_free(c);
}

/* The token's payload with one byte changed, signature kept. */
static void
tamper(char *tok)
{
    char *p = strchr(tok, '.') + 5;

    *p = *p == 'A' ? 'B' : 'A';
}

static void
b64(const void *p, size_t n, char *out, size_t cap)
{
    struct arena a;
    struct span s = {0};

    arena_init(&a, 0);
    jose_b64url_encode(span_of(p, n), &a, &s);
    snprintf(out, cap, "%.*s", (int)s.len, (const char *)s.p);
    arena_clear(&a);
}

/* header.payload.sig where sig = HMAC-SHA256 keyed with the public JWKS text (the classic
 * algorithm-confusion attack, RFC 8725 §2.1). */
static void
forge(const char *header, const char *payload_b64, char *out, size_t cap)
{
    char h[512], input[4096], sig[128];
    unsigned char mac[32];
    unsigned int maclen = 0;
    struct span pub = jose_keyset_jwks(pub_ks);

    b64(header, strlen(header), h, sizeof(h));
    snprintf(input, sizeof(input), "%s.%s", h, payload_b64);
    HMAC(EVP_sha256(), pub.p, (int)pub.len, (const unsigned char *)input, strlen(input), mac,
         &maclen);
    b64(mac, maclen, sig, sizeof(sig));
    snprintf(out, cap, "%s.%s", input, strcmp(header, "{\"alg\":\"none\"}") ? sig : "");
}

TEST(validate_refuses_tampered_and_switched_algorithms)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = client_with_keys(&cfg, 300);
    char tok[4096], payload[2048], forged[4096], hdr[256];
    const char *kid;

    REQUIRE(c);
    snprintf(tok, sizeof(tok), "%s", sign("at+jwt", claims("\"license\"", T0 + 600, NULL)));
    snprintf(payload, sizeof(payload), "%.*s", (int)(strrchr(tok, '.') - strchr(tok, '.') - 1),
             strchr(tok, '.') + 1);
    tamper(tok);
    CHECK_ST(check(c, tok, NULL, NULL), AUTHD_ERR_SIGNATURE);
    jose_keyset_key(pub_ks, 0, &kid, NULL, NULL, NULL);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid);
    forge(hdr, payload, forged, sizeof(forged));
    CHECK_ST(check(c, forged, NULL, NULL), AUTHD_ERR_ALGORITHM);
    forge("{\"alg\":\"none\"}", payload, forged, sizeof(forged));
    CHECK_ST(check(c, forged, NULL, NULL), AUTHD_ERR_ALGORITHM);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES384\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid);
    forge(hdr, payload, forged, sizeof(forged));
    CHECK_ST(check(c, forged, NULL, NULL), AUTHD_ERR_ALGORITHM); /* not allow-listed */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"%s\","
             "\"crit\":[\"exp\"]}",
             kid);
    forge(hdr, payload, forged, sizeof(forged));
    CHECK_ST(check(c, forged, NULL, NULL), AUTHD_ERR_MALFORMED);
    authd_client_free(c);
}

TEST(validate_unknown_kid_refetches_at_most_once_per_interval)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = client_with_keys(&cfg, 3600);
    struct authd_client_stats s;
    char tok[4096], payload[2048], forged[4096];

    REQUIRE(c);
    snprintf(tok, sizeof(tok), "%s", sign("at+jwt", claims("\"license\"", T0 + 7200, NULL)));
    snprintf(payload, sizeof(payload), "%.*s", (int)(strrchr(tok, '.') - strchr(tok, '.') - 1),
             strchr(tok, '.') + 1);
    forge("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"not-ours\"}", payload, forged,
          sizeof(forged));
    CHECK_ST(check(c, forged, NULL, NULL), AUTHD_ERR_UNKNOWN_KEY);
    CHECK_ST(check(c, forged, NULL, NULL), AUTHD_ERR_UNKNOWN_KEY);
    authd_client_stats(c, &s);
    CHECK_INT(s.jwks_fetches, 1); /* the second unknown kid came within the interval */
    CHECK_INT(s.jwks_fetch_failures, 1);
    CHECK_INT(s.jwks_unknown_kid, 2);
    CHECK_ST(check(c, tok, NULL, NULL), AUTHD_OK); /* the failed fetch kept the keys */
    fake_now += 60;
    CHECK_ST(check(c, forged, NULL, NULL), AUTHD_ERR_UNKNOWN_KEY);
    authd_client_stats(c, &s);
    CHECK_INT(s.jwks_fetches, 2);
    fake_now = T0;
    authd_client_free(c);
}

TEST(validate_without_reachable_jwks_is_keys_unavailable)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = NULL;
    struct authd_client_stats s;
    const char *tok = sign("at+jwt", claims("\"license\"", T0 + 600, NULL));
    char copy[4096];

    snprintf(copy, sizeof(copy), "%s", tok);
    REQUIRE(authd_client_new(&cfg, &c) == AUTHD_OK);
    CHECK_ST(check(c, copy, NULL, NULL), AUTHD_ERR_KEYS_UNAVAILABLE);
    CHECK_ST(check(c, copy, NULL, NULL), AUTHD_ERR_KEYS_UNAVAILABLE);
    authd_client_stats(c, &s);
    CHECK_INT(s.jwks_fetches, 1);
    CHECK_INT(s.keys, 0);
    CHECK_ST(authd_client_refresh_keys(c), AUTHD_ERR_UNAVAILABLE);
    authd_client_free(c);
}

TEST(validate_keeps_stale_keys_within_grace)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = client_with_keys(&cfg, 100);
    struct authd_client_stats s;
    char tok[4096];

    REQUIRE(c);
    snprintf(tok, sizeof(tok), "%s", sign("at+jwt", claims("\"license\"", T0 + 9000, NULL)));
    c->jwks.usable_until = T0 + 100 + 500; /* grace 500 */
    fake_now = T0 + 200;                   /* stale: one refetch, which fails */
    CHECK_ST(check(c, tok, NULL, NULL), AUTHD_OK);
    CHECK_ST(check(c, tok, NULL, NULL), AUTHD_OK);
    authd_client_stats(c, &s);
    CHECK_INT(s.jwks_fetches, 1);
    fake_now = T0 + 600; /* past cache time + grace */
    CHECK_ST(check(c, tok, NULL, NULL), AUTHD_ERR_KEYS_UNAVAILABLE);
    fake_now = T0;
    authd_client_free(c);
}

TEST(network_calls_without_a_client_secret_are_invalid)
{
    struct authd_client_config cfg = base_cfg();
    struct authd_client *c = NULL;
    struct authd_token_info info;
    struct authd_token t;
    struct authd_error e;

    REQUIRE(authd_client_new(&cfg, &c) == AUTHD_OK);
    CHECK_ST(authd_client_introspect(c, "x", 1, NULL, &info, &e), AUTHD_ERR_INVALID_ARGUMENT);
    CHECK_ST(authd_client_credentials(c, NULL, &t, &e), AUTHD_ERR_INVALID_ARGUMENT);
    CHECK_ST(authd_client_exchange(c, "x", 1, NULL, NULL, &t, &e), AUTHD_ERR_INVALID_ARGUMENT);
    CHECK_ST(authd_client_exchange(c, "x", 1, "workflow", NULL, &t, &e),
             AUTHD_ERR_INVALID_ARGUMENT);
    authd_client_free(c);
    cfg.client_id = "demo-module", cfg.client_secret = "s3cret";
    cfg.token_endpoint = DEAD;
    REQUIRE(authd_client_new(&cfg, &c) == AUTHD_OK);
    CHECK_ST(authd_client_credentials(c, "openid", &t, &e), AUTHD_ERR_UNAVAILABLE);
    CHECK(t.access_token == NULL);
    authd_client_free(c);
}
