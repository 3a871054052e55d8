#include <string.h>

#include "core/qr.h"
#include "test.h"

/* "HELLO" fits version 1 (21 modules) at level M: with the quiet zone, 29 columns and
 * 15 half-block lines. */
TEST(qr_utf8_draws_version_1_with_quiet_zone_and_finder)
{
    struct buf b;
    const char *line[16];
    size_t nl = 0;
    char *s, *save = NULL;

    buf_init(&b, 0);
    REQUIRE(qr_utf8(&b, SPAN("HELLO")) == RC_OK);
    REQUIRE(buf_append(&b, "", 1) == RC_OK);
    s = (char *)b.p;
    for (char *l = strtok_r(s, "\n", &save); l && nl < 16; l = strtok_r(NULL, "\n", &save))
        line[nl++] = l;
    CHECK_INT(nl, 15);
    /* Line 0: the quiet zone (modules rows 0-1), 29 light full blocks of 3 bytes. */
    CHECK_INT(strlen(line[0]), 29 * 3);
    CHECK(strncmp(line[0], "\xe2\x96\x88", 3) == 0);
    /* Line 2 holds module rows 4 (finder top edge: 7 dark) and 5 (dark, 5 light, dark):
     * after 4 light full blocks, a space (both dark), then 5 upper-light... halves. */
    CHECK(strncmp(line[2], "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88 ", 13) == 0);
    CHECK(strncmp(line[2] + 13, "\xe2\x96\x84", 3) == 0);
    buf_clear(&b);
}

TEST(qr_svg_is_one_escaped_element)
{
    struct buf b;

    buf_init(&b, 0);
    REQUIRE(qr_svg(&b, SPAN("otpauth://totp/authd:110101********123X?secret=JBSWY3DPEHPK3PXP"),
                   4, "scan <me>") == RC_OK);
    REQUIRE(buf_append(&b, "", 1) == RC_OK);
    CHECK(strncmp((char *)b.p, "<svg ", 5) == 0);
    CHECK(strstr((char *)b.p, "aria-label=\"scan &lt;me&gt;\"") != NULL);
    CHECK(strstr((char *)b.p, "<path fill=\"#000\" d=\"M") != NULL);
    CHECK(strcmp((char *)b.p + b.len - 1 - 9, "\"/></svg>") == 0);
    buf_clear(&b);
}

TEST(qr_refuses_empty_nul_and_long_text)
{
    struct buf b;
    static char big[QR_TEXT_MAX + 1];

    memset(big, 'a', sizeof(big));
    buf_init(&b, 0);
    CHECK_RC(qr_svg(&b, SPAN(""), 1, NULL), RC_MALFORMED);
    CHECK_RC(qr_utf8(&b, (struct span){(const uint8_t *)"a\0b", 3}), RC_MALFORMED);
    CHECK_RC(qr_utf8(&b, (struct span){(const uint8_t *)big, sizeof(big)}), RC_TOO_LARGE);
    CHECK_INT(b.len, 0);
    buf_init(&b, 16);
    CHECK_RC(qr_svg(&b, SPAN("HELLO"), 1, NULL), RC_TOO_LARGE);
    buf_clear(&b);
}
