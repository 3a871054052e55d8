#include <string.h>

#include "core/usercode.h"
#include "test.h"

static const char *
norm(const char *in, char out[USERCODE_LEN + 1])
{
    return usercode_normalise(span_str(in), out) == RC_OK ? out : "(refused)";
}

TEST(usercode_normalise_folds_case_dashes_and_spaces)
{
    char c[USERCODE_LEN + 1];

    CHECK_STR(norm("WDJB-MJHT", c), "WDJBMJHT");
    CHECK_STR(norm("wdjb-mjht", c), "WDJBMJHT");
    CHECK_STR(norm(" wdjb mjht ", c), "WDJBMJHT");
    CHECK_STR(norm("W-D-J-B\tM-J-H-T", c), "WDJBMJHT");
    CHECK_STR(norm("WdJbMjHt", c), "WDJBMJHT");
}

TEST(usercode_normalise_refuses_what_is_not_a_code)
{
    char c[USERCODE_LEN + 1];
    char big[USERCODE_INPUT_MAX + 2];

    CHECK_RC(usercode_normalise(SPAN("WDJB-MJH"), c), RC_MALFORMED);   /* 7 letters */
    CHECK_RC(usercode_normalise(SPAN("WDJB-MJHTB"), c), RC_MALFORMED); /* 9 letters */
    CHECK_RC(usercode_normalise(SPAN("WDJB-MJHA"), c), RC_MALFORMED);  /* a vowel */
    CHECK_RC(usercode_normalise(SPAN("WDJB-MJH1"), c), RC_MALFORMED);  /* a digit */
    CHECK_RC(usercode_normalise(SPAN(""), c), RC_MALFORMED);
    CHECK_RC(usercode_normalise(SPAN("--------"), c), RC_MALFORMED);
    CHECK_RC(usercode_normalise(span_of("WDJB\0MJHT", 9), c), RC_MALFORMED);
    CHECK_RC(usercode_normalise(SPAN("ＷＤＪＢ-ＭＪＨＴ"), c), RC_MALFORMED); /* full width */
    memset(big, '-', sizeof(big));
    memcpy(big, "WDJBMJHT", 8);
    CHECK_RC(usercode_normalise(span_of(big, USERCODE_INPUT_MAX), c), RC_OK);
    CHECK_RC(usercode_normalise(span_of(big, USERCODE_INPUT_MAX + 1), c), RC_TOO_LARGE);
}

TEST(usercode_alphabet_is_unambiguous)
{
    const char *a = USERCODE_ALPHABET;

    CHECK(strlen(a) == 20);
    for (const char *bad = "AEIOUY01"; *bad; bad++) /* RFC 8628 §6.1: no vowels, digits */
        CHECK(strchr(a, *bad) == NULL);
}

TEST(usercode_from_random_is_uniform_by_rejection)
{
    uint8_t r[16];
    char c[USERCODE_LEN + 1];

    for (size_t i = 0; i < sizeof(r); i++)
        r[i] = (uint8_t)(i * 20); /* 0, 20, ... 220 -> 'B'; 240, 260%256=4 ... */
    CHECK(usercode_from_random(r, sizeof(r), c));
    CHECK_STR(c, "BBBBBBBB");
    memset(r, 255, sizeof(r)); /* every byte past 239 is skipped */
    CHECK(!usercode_from_random(r, sizeof(r), c));
    r[3] = 19, r[4] = 239, r[5] = 0, r[6] = 1, r[7] = 2, r[8] = 3, r[9] = 4, r[10] = 5, r[11] = 6;
    CHECK(usercode_from_random(r, sizeof(r), c));
    CHECK_STR(c, "ZZBCDFGH");
}

TEST(usercode_format_shows_two_groups)
{
    char s[USERCODE_SHOWN_LEN + 1], c[USERCODE_LEN + 1];

    usercode_format("WDJBMJHT", s);
    CHECK_STR(s, "WDJB-MJHT");
    CHECK_STR(norm(s, c), "WDJBMJHT");
}
