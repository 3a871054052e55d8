/* core/fedstmt: entity statement and trust mark validation (OpenID Federation 1.0 §3, §7). */
#include <stdio.h>
#include <string.h>

#include "core/fedstmt.h"
#include "test.h"

#define NOW       1800000000
#define ID        "https://idp.bj.gov.example"
#define TA        "https://ta.gov.example"
#define JWKS_STUB "{\"keys\":[]}"

/* A key set with one generated ES256 signing key (fresh each call). */
static struct jose_keyset *
signer(void)
{
    struct jose_keyset *ks = NULL;
    struct buf jwk;

    buf_init(&jwk, 0);
    if (jose_key_generate(JOSE_ES256, &jwk) != RC_OK || jose_keyset_new(&ks) != RC_OK
        || jose_keyset_add_jwk(ks, buf_span(&jwk), JOSE_KEY_SIGN, NULL) != RC_OK
        || jose_keyset_seal(ks) != RC_OK) {
        jose_keyset_release(ks);
        ks = NULL;
    }
    buf_clear(&jwk);
    return ks;
}

/* Signs claims as they are. */
static struct span
sign_raw(struct jose_keyset *ks, const char *typ, const char *claims, struct arena *a)
{
    struct span out = {0};

    if (jose_sign(ks, JOSE_ES256, typ, span_str(claims), a, &out, NULL) != RC_OK)
        return (struct span){0};
    return out;
}

/* Signs the claims in fmt (printf with the signer's JWKS as its one %s). */
static struct span
sign(struct jose_keyset *ks, const char *typ, const char *fmt, struct arena *a)
{
    struct span jwks = jose_keyset_jwks(ks), out = {0};
    char *claims;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    claims = arena_printf(a, fmt, (int)jwks.len, (const char *)jwks.p);
#pragma GCC diagnostic pop

    if (!claims || jose_sign(ks, JOSE_ES256, typ, span_str(claims), a, &out, NULL) != RC_OK)
        return (struct span){0};
    return out;
}

#define CONF_OK                                                                                    \
    "{\"iss\":\"" ID "\",\"sub\":\"" ID "\",\"iat\":1800000000,\"exp\":1800003600,"                \
    "\"jwks\":%.*s,\"authority_hints\":[\"" TA "\"],"                                              \
    "\"metadata\":{\"openid_provider\":{\"issuer\":\"" ID "\"}}}"

TEST(fedstmt_valid_configuration_parses)
{
    struct jose_keyset *ks = signer();
    struct arena a;
    struct fedstmt st = {0};
    struct span tok;

    REQUIRE(ks);
    arena_init(&a, 1 << 20);
    tok = sign(ks, FEDSTMT_TYP, CONF_OK, &a);
    CHECK_RC(fedstmt_verify(ks, tok, FEDSTMT_CONFIGURATION, NOW, &a, &st, NULL), RC_OK);
    CHECK_STR(st.iss, ID);
    CHECK_INT(st.exp, 1800003600);
    CHECK(json_array_size(st.authority_hints) == 1);
    CHECK(json_is_object(st.metadata));
    fedstmt_clear(&st);
    /* a configuration is not a subordinate statement */
    CHECK_RC(fedstmt_verify(ks, tok, FEDSTMT_SUBORDINATE, NOW, &a, &st, NULL), RC_MALFORMED);
    arena_clear(&a);
    jose_keyset_release(ks);
}

TEST(fedstmt_wrong_typ_and_bad_signature_are_denied)
{
    struct jose_keyset *ks = signer(), *other = signer();
    struct arena a;
    struct fedstmt st = {0};
    struct rc_info ri = {0};
    struct span tok;
    char *t;

    REQUIRE(ks && other);
    arena_init(&a, 1 << 20);
    tok = sign(ks, "JWT", CONF_OK, &a);
    CHECK_RC(fedstmt_verify(ks, tok, FEDSTMT_CONFIGURATION, NOW, &a, &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_STATEMENT);
    tok = sign(ks, NULL, CONF_OK, &a);
    CHECK_RC(fedstmt_verify(ks, tok, FEDSTMT_CONFIGURATION, NOW, &a, &st, NULL), RC_DENIED);
    tok = sign(ks, FEDSTMT_TYP, CONF_OK, &a);
    /* signed by another key: its kid is unknown to `other` */
    CHECK_RC(fedstmt_verify(other, tok, FEDSTMT_CONFIGURATION, NOW, &a, &st, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_STATEMENT);
    /* one byte of the signature changed */
    t = arena_span_dup(&a, tok);
    t[tok.len - 2] = t[tok.len - 2] == 'A' ? 'B' : 'A';
    CHECK_RC(fedstmt_verify(ks, span_str(t), FEDSTMT_CONFIGURATION, NOW, &a, &st, NULL), RC_DENIED);
    arena_clear(&a);
    jose_keyset_release(ks), jose_keyset_release(other);
}

static enum rc
parse(const char *claims, enum fedstmt_kind kind, struct rc_info *ri)
{
    struct fedstmt st = {0};
    enum rc rc = fedstmt_parse(span_str(claims), kind, NOW, &st, ri);

    fedstmt_clear(&st);
    return rc;
}

#define HEAD(iss, sub) "{\"iss\":\"" iss "\",\"sub\":\"" sub "\",\"iat\":1800000000,"

TEST(fedstmt_claims_are_checked)
{
    struct rc_info ri = {0};

    CHECK_RC(parse(HEAD(ID, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB "}", FEDSTMT_CONFIGURATION,
                   NULL),
             RC_OK);
    /* iss != sub on a configuration, iss = sub on a subordinate statement */
    CHECK_RC(parse(HEAD(TA, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB "}", FEDSTMT_CONFIGURATION,
                   &ri),
             RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_FED_STATEMENT);
    CHECK_RC(
        parse(HEAD(ID, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB "}", FEDSTMT_SUBORDINATE, NULL),
        RC_MALFORMED);
    CHECK_RC(
        parse(HEAD(TA, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB "}", FEDSTMT_SUBORDINATE, NULL),
        RC_OK);
    /* missing exp, missing jwks, expired, issued in the future */
    CHECK_RC(parse(HEAD(ID, ID) "\"jwks\":" JWKS_STUB "}", FEDSTMT_CONFIGURATION, NULL),
             RC_MALFORMED);
    CHECK_RC(parse(HEAD(ID, ID) "\"exp\":1800003600}", FEDSTMT_CONFIGURATION, NULL), RC_MALFORMED);
    CHECK_RC(parse(HEAD(ID, ID) "\"exp\":1799990000,\"jwks\":" JWKS_STUB "}", FEDSTMT_CONFIGURATION,
                   &ri),
             RC_EXPIRED);
    CHECK_INT(ri.why, RC_WHY_FED_EXPIRED);
    CHECK_RC(parse("{\"iss\":\"" ID "\",\"sub\":\"" ID "\",\"iat\":1800009999,\"exp\":1800019999,"
                   "\"jwks\":" JWKS_STUB "}",
                   FEDSTMT_CONFIGURATION, NULL),
             RC_DENIED);
    /* not entity ids, crit, members in the wrong kind of statement */
    CHECK_RC(parse(HEAD("idp", "idp") "\"exp\":1800003600,\"jwks\":" JWKS_STUB "}",
                   FEDSTMT_CONFIGURATION, NULL),
             RC_MALFORMED);
    CHECK_RC(parse(HEAD(ID, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB ",\"crit\":[\"x\"]}",
                   FEDSTMT_CONFIGURATION, NULL),
             RC_UNSUPPORTED);
    CHECK_RC(parse(HEAD(TA, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB
                                ",\"authority_hints\":[\"" TA "\"]}",
                   FEDSTMT_SUBORDINATE, NULL),
             RC_MALFORMED);
    CHECK_RC(parse(HEAD(ID, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB ",\"metadata_policy\":{}}",
                   FEDSTMT_CONFIGURATION, NULL),
             RC_MALFORMED);
    CHECK_RC(parse(HEAD(ID, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB ",\"authority_hints\":[]}",
                   FEDSTMT_CONFIGURATION, NULL),
             RC_MALFORMED);
    CHECK_RC(parse(HEAD(TA, ID) "\"exp\":1800003600,\"jwks\":" JWKS_STUB
                                ",\"metadata_policy_crit\":[\"regexp\"]}",
                   FEDSTMT_SUBORDINATE, NULL),
             RC_UNSUPPORTED);
    CHECK_RC(parse("[1]", FEDSTMT_CONFIGURATION, NULL), RC_MALFORMED);
    CHECK_RC(parse(HEAD(ID, ID) "\"exp\":1800003600,\"exp\":1800003601,\"jwks\":" JWKS_STUB "}",
                   FEDSTMT_CONFIGURATION, NULL),
             RC_MALFORMED);
}

TEST(fedstmt_trust_marks_are_verified)
{
    struct jose_keyset *ta = signer(), *other = signer();
    struct arena a;
    struct rc_info ri = {0};
    struct span ok, expired;
    const char *type = TA "/trust-marks/province-idp";

    REQUIRE(ta && other);
    arena_init(&a, 1 << 20);
    ok = sign_raw(ta, FEDSTMT_TYP_MARK,
                  "{\"iss\":\"" TA "\",\"sub\":\"" ID "\",\"iat\":1800000000,\"exp\":1800003600,"
                  "\"trust_mark_type\":\"" TA "/trust-marks/province-idp\",\"ial\":\"ial3\"}",
                  &a);
    expired = sign_raw(ta, FEDSTMT_TYP_MARK,
                       "{\"iss\":\"" TA "\",\"sub\":\"" ID "\",\"iat\":1700000000,"
                       "\"exp\":1700003600,\"trust_mark_type\":\"" TA "/trust-marks/province-idp\"}",
                       &a);
    CHECK_RC(fedstmt_trust_mark_verify(ta, ok, TA, ID, type, NOW, &a, NULL), RC_OK);
    CHECK_RC(fedstmt_trust_mark_verify(ta, ok, TA, "https://other.example", type, NOW, &a, &ri),
             RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_TRUST_MARK);
    CHECK_RC(fedstmt_trust_mark_verify(ta, ok, TA, ID, TA "/other", NOW, &a, NULL), RC_DENIED);
    CHECK_RC(fedstmt_trust_mark_verify(ta, ok, "https://x.example", ID, type, NOW, &a, NULL),
             RC_DENIED);
    CHECK_RC(fedstmt_trust_mark_verify(other, ok, TA, ID, type, NOW, &a, NULL), RC_DENIED);
    CHECK_RC(fedstmt_trust_mark_verify(ta, expired, TA, ID, type, NOW, &a, NULL), RC_EXPIRED);
    /* an entity statement is no trust mark */
    CHECK_RC(fedstmt_trust_mark_verify(ta, sign(ta, FEDSTMT_TYP, CONF_OK, &a), TA, ID, type, NOW,
                                       &a, NULL),
             RC_DENIED);
    arena_clear(&a);
    jose_keyset_release(ta), jose_keyset_release(other);
}
