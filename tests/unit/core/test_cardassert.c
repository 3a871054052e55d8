#include <string.h>

#include "core/cardassert.h"
#include "test.h"

#define KIOSK  "kiosk-17"
#define ISSUER "https://id.example"
#define NOW    1764900000
#define TODAY  20251205u

static const char *const good =
    "{\"iss\":\"kiosk-17\",\"aud\":\"https://id.example\",\"iat\":1764900000,"
    "\"exp\":1764900060,\"nonce\":\"q3Jb0tq0Wm6fS0vH9n3jUg\","
    "\"card\":{\"type\":\"resident_id\",\"id_number\":\"11010519491231002X\","
    "\"name\":\"张三\",\"valid_from\":\"2015-03-07\",\"valid_until\":\"2035-03-07\","
    "\"authority\":\"北京市公安局东城分局\","
    "\"photo_sha256\":\"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\"},\"face_score\":0.93}";

/* good with `from` replaced by `to` (once). */
static const char *
with(struct arena *a, const char *from, const char *to)
{
    const char *p = strstr(good, from);
    return arena_printf(a, "%.*s%s%s", (int)(p - good), good, to, p + strlen(from));
}

static enum rc
parse(struct arena *a, const char *text, struct card_assertion *ca, struct rc_info *ri)
{
    return cardassert_parse(a, span_str(text), TODAY, ca, ri);
}

TEST(cardassert_parses_a_good_payload)
{
    struct arena a;
    struct card_assertion ca;

    arena_init(&a, 1 << 16);
    REQUIRE(parse(&a, good, &ca, NULL) == RC_OK);
    CHECK_STR(ca.iss, KIOSK);
    CHECK_STR(ca.id.text, "11010519491231002X");
    CHECK_STR(ca.name, "张三");
    CHECK_INT(ca.valid_from, 20150307);
    CHECK_INT(ca.valid_until, 20350307);
    CHECK(ca.has_face && ca.face_score > 0.92 && ca.face_score < 0.94);
    CHECK_RC(cardassert_check(&ca, KIOSK, ISSUER, NOW, 30, TODAY, NULL), RC_OK);
    REQUIRE(parse(&a, with(&a, "\"2035-03-07\"", "\"long-term\""), &ca, NULL) == RC_OK);
    CHECK_INT(ca.valid_until, CARD_LONG_TERM);
    REQUIRE(parse(&a, with(&a, ",\"face_score\":0.93", ""), &ca, NULL) == RC_OK);
    CHECK(!ca.has_face);
    arena_clear(&a);
}

TEST(cardassert_refuses_malformed_payloads)
{
    static const char *const bad[][2] = {
        {"\"resident_id\"", "\"passport\""},
        {"11010519491231002X", "110105194912310021"}, /* check digit */
        {"\"张三\"", "\"\""},
        {"\"2015-03-07\"", "\"2015-02-30\""},
        {"\"2035-03-07\"", "\"2035-3-7\""},
        {"\"2035-03-07\"", "\"2014-03-07\""}, /* before valid_from */
        {"0.93", "1.5"},
        {"0.93", "\"high\""},
        {"\"q3Jb0tq0Wm6fS0vH9n3jUg\"", "\"short\""},
        {"\"q3Jb0tq0Wm6fS0vH9n3jUg\"", "\"q3Jb0tq0Wm6fS0vH9n3jU+\""},
        {"1764900060", "\"1764900060\""},
        {"\"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\"", "\"x\""},
        {"\"iss\":\"kiosk-17\",", ""},
        {"\"authority\":\"北京市公安局东城分局\",", ""},
        {"\"iss\":\"kiosk-17\"", "\"iss\":\"kiosk-17\",\"iss\":\"kiosk-18\""}, /* duplicate */
    };
    struct arena a;
    struct card_assertion ca;
    struct rc_info ri;

    arena_init(&a, 1 << 16);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ri = (struct rc_info){0};
        CHECK_RC(parse(&a, with(&a, bad[i][0], bad[i][1]), &ca, &ri), RC_MALFORMED);
        CHECK(ri.why == RC_WHY_CARD_ASSERTION);
    }
    CHECK_RC(parse(&a, "[]", &ca, NULL), RC_MALFORMED);
    CHECK_RC(parse(&a, "{", &ca, NULL), RC_MALFORMED);
    arena_clear(&a);
}

TEST(cardassert_check_refuses_another_kiosk_audience_time_and_expired_cards)
{
    struct arena a;
    struct card_assertion ca;
    struct rc_info ri = {0};

    arena_init(&a, 1 << 16);
    REQUIRE(parse(&a, good, &ca, NULL) == RC_OK);
    CHECK_RC(cardassert_check(&ca, "kiosk-18", ISSUER, NOW, 30, TODAY, NULL), RC_DENIED);
    CHECK_RC(cardassert_check(&ca, KIOSK, "https://other", NOW, 30, TODAY, NULL), RC_DENIED);
    CHECK_RC(cardassert_check(&ca, KIOSK, ISSUER, NOW + 120, 30, TODAY, NULL), RC_DENIED);
    CHECK_RC(cardassert_check(&ca, KIOSK, ISSUER, NOW - 120, 30, TODAY, NULL), RC_DENIED);
    CHECK_RC(cardassert_check(&ca, KIOSK, ISSUER, NOW, 30, 20350308u, &ri), RC_EXPIRED);
    CHECK(ri.why == RC_WHY_CARD_EXPIRED);
    CHECK_RC(cardassert_check(&ca, KIOSK, ISSUER, NOW, 30, 20150306u, NULL), RC_EXPIRED);
    REQUIRE(parse(&a, with(&a, "1764900060", "1764900400"), &ca, NULL) == RC_OK);
    CHECK_RC(cardassert_check(&ca, KIOSK, ISSUER, NOW, 30, TODAY, NULL), RC_DENIED); /* > 300 s */
    arena_clear(&a);
}

TEST(cardassert_header_needs_es256_typ_and_a_thumbprint)
{
    struct arena a;
    char x5t[CARD_HASH_LEN + 1];

    arena_init(&a, 1 << 16);
    /* {"alg":"ES256","typ":"card-assertion+jwt","x5t#S256":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}
     */
    CHECK_RC(cardassert_header(&a,
                               SPAN("eyJhbGciOiJFUzI1NiIsInR5cCI6ImNhcmQtYXNzZXJ0aW9uK2p3dCIsIng1d"
                                    "CNTMjU2IjoiNDdERVFwajhIQlNhLV9USW1XLTVKQ2V1UWVSa201Tk1wSldaR"
                                    "zNoU3VGVSJ9.e30.sig"),
                               x5t, NULL),
             RC_OK);
    CHECK_STR(x5t, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    /* {"alg":"HS256","typ":"card-assertion+jwt"} */
    CHECK_RC(
        cardassert_header(
            &a, SPAN("eyJhbGciOiJIUzI1NiIsInR5cCI6ImNhcmQtYXNzZXJ0aW9uK2p3dCJ9.e30.x"), x5t, NULL),
        RC_MALFORMED);
    CHECK_RC(cardassert_header(&a, SPAN("nodots"), x5t, NULL), RC_MALFORMED);
    arena_clear(&a);
}
