#include "core/idnum.h"
#include "core/popgen.h"
#include "test.h"

/* 17 digits + their correct check char, so tests reach the check after the checksum. */
static struct span
with_check(const char *d17, char buf[IDNUM_LEN])
{
    memcpy(buf, d17, 17);
    buf[17] = idnum_check_char(d17);
    return span_of(buf, IDNUM_LEN);
}

static enum idnum_reason
reason_of(struct span s, uint32_t today)
{
    struct idnum id;
    struct idnum_info info = {.today_ymd = today};

    if (idnum_parse(s, &id, &info) != RC_MALFORMED)
        return IDNUM_OK;
    return info.reason;
}

TEST(idnum_accepts_gb11643_examples)
{
    struct idnum id;
    struct idnum_info info = {.today_ymd = 20250301};

    CHECK_RC(idnum_parse(SPAN("11010519491231002X"), &id, &info), RC_OK);
    CHECK_STR(id.text, "11010519491231002X");
    CHECK_INT(id.region, 110105);
    CHECK_INT(id.birth_ymd, 19491231);
    CHECK_INT(id.sex, 'F');
    CHECK_INT(info.warnings, 0);
    CHECK_RC(idnum_parse(SPAN("440524188001010014"), &id, &info), RC_OK);
    CHECK_INT(id.birth_ymd, 18800101);
    CHECK_INT(id.sex, 'M');
    CHECK_INT(id.seq, 1);
    /* 440524 (汕头市潮阳县) was abolished: accepted with a warning, not rejected. */
    CHECK(info.warnings & IDNUM_WARN_COUNTY_UNKNOWN);
    CHECK(info.warnings & IDNUM_WARN_BEFORE_1900);
}

TEST(idnum_normalizes_lower_case_x)
{
    struct idnum id;

    CHECK_RC(idnum_parse(SPAN("11010519491231002x"), &id, NULL), RC_OK);
    CHECK_STR(id.text, "11010519491231002X");
}

TEST(idnum_rejects_length)
{
    struct idnum id;
    struct idnum_info info = {0};

    CHECK_RC(idnum_parse(SPAN(""), &id, &info), RC_MALFORMED);
    CHECK_INT(info.reason, IDNUM_LENGTH);
    CHECK_STR(info.ri.field, "id_number");
    CHECK_STR(idnum_reason_name(info.reason), "length");
    CHECK_RC(idnum_parse(SPAN("11010519491231002"), &id, &info), RC_MALFORMED);
    CHECK_INT(info.reason, IDNUM_LENGTH);
    CHECK_RC(idnum_parse(SPAN("11010519491231002X0"), &id, &info), RC_MALFORMED);
    CHECK_INT(info.reason, IDNUM_LENGTH);
}

TEST(idnum_rejects_characters)
{
    CHECK_INT(reason_of(SPAN("1101051949123100X2"), 0), IDNUM_CHARACTER);
    CHECK_INT(reason_of(SPAN("11010519491231002Y"), 0), IDNUM_CHARACTER);
    CHECK_INT(reason_of(SPAN("1101051949 231002X"), 0), IDNUM_CHARACTER);
    CHECK_INT(reason_of(SPAN("11010519491231002\0"), 0), IDNUM_CHARACTER);
    CHECK_INT(reason_of(SPAN("\0"
                             "1010519491231002X"),
                        0),
              IDNUM_CHARACTER);
    CHECK_INT(reason_of(SPAN("１1010519491231002"), 0), IDNUM_LENGTH); /* full-width 1 */
    CHECK_STR(idnum_reason_name(IDNUM_CHARACTER), "character");
}

TEST(idnum_rejects_check_digit)
{
    struct idnum id;
    struct idnum_info info = {0};

    CHECK_RC(idnum_parse(SPAN("110105194912310021"), &id, &info), RC_MALFORMED);
    CHECK_INT(info.reason, IDNUM_CHECK_DIGIT);
    CHECK_STR(info.ri.msg, "check digit does not match");
    CHECK_INT(reason_of(SPAN("440524188001010015"), 0), IDNUM_CHECK_DIGIT);
}

TEST(idnum_rejects_dates)
{
    char b[IDNUM_LEN];

    CHECK_INT(reason_of(with_check("11010519490230002", b), 0), IDNUM_DATE); /* Feb 30 */
    CHECK_INT(reason_of(with_check("11010519491301002", b), 0), IDNUM_DATE); /* month 13 */
    CHECK_INT(reason_of(with_check("11010519490100002", b), 0), IDNUM_DATE); /* day 0 */
    CHECK_INT(reason_of(with_check("11010519000229002", b), 0), IDNUM_DATE); /* not leap */
    CHECK_INT(reason_of(with_check("11010520000229002", b), 0), IDNUM_OK);   /* leap */
    CHECK_INT(reason_of(with_check("11010517991231002", b), 0), IDNUM_DATE); /* too old */
    CHECK_INT(reason_of(with_check("11010520250302002", b), 20250301), IDNUM_DATE);
    CHECK_INT(reason_of(with_check("11010520250301002", b), 20250301), IDNUM_OK);
    CHECK_STR(idnum_reason_name(IDNUM_DATE), "date");
}

TEST(idnum_rejects_province)
{
    char b[IDNUM_LEN];

    CHECK_INT(reason_of(with_check("99010519491231002", b), 0), IDNUM_PROVINCE);
    CHECK_INT(reason_of(with_check("00010519491231002", b), 0), IDNUM_PROVINCE);
    CHECK_INT(reason_of(with_check("10010519491231002", b), 0), IDNUM_PROVINCE);
    CHECK_INT(reason_of(with_check("81000019491231002", b), 0), IDNUM_OK); /* Hong Kong */
    CHECK_STR(idnum_reason_name(IDNUM_PROVINCE), "province");
}

TEST(idnum_failure_leaves_out_untouched)
{
    struct idnum id = {.region = 7};

    CHECK_RC(idnum_parse(SPAN("110105194912310021"), &id, NULL), RC_MALFORMED);
    CHECK_INT(id.region, 7);
}

TEST(idnum_converts_15_digits)
{
    struct idnum id;
    struct idnum_info info = {0};

    CHECK_RC(idnum_convert15(SPAN("110105491231002"), &id, &info), RC_OK);
    CHECK_STR(id.text, "11010519491231002X");
    CHECK_RC(idnum_convert15(SPAN("11010549123100"), &id, &info), RC_MALFORMED);
    CHECK_INT(info.reason, IDNUM_LENGTH);
    CHECK_RC(idnum_convert15(SPAN("11010549123100X"), &id, &info), RC_MALFORMED);
    CHECK_INT(info.reason, IDNUM_CHARACTER);
    CHECK_RC(idnum_convert15(SPAN("110105491331002"), &id, &info), RC_MALFORMED);
    CHECK_INT(info.reason, IDNUM_DATE);
}

TEST(idnum_key_and_dates)
{
    struct idnum id;

    REQUIRE(idnum_parse(SPAN("11010519491231002X"), &id, NULL) == RC_OK);
    CHECK(idnum_key(&id) == 11010519491231002ull);
    CHECK_INT(idnum_ymd_from_unix(0, 0), 19700101);
    CHECK_INT(idnum_ymd_from_unix(1740787200 - 1, 0), 20250228); /* 2025-03-01T00:00Z - 1 */
    CHECK_INT(idnum_ymd_from_unix(1740787200 - 1, 8 * 3600), 20250301);
    CHECK_INT(idnum_ymd_from_unix(951782400, 0), 20000229);
    CHECK_INT(idnum_ymd_from_unix(-1, 0), 19691231);
}

/* Property: every generated number parses; changing any one of its 18 characters to any
 * other digit (or X) makes it fail. */
TEST(idnum_property_generated_numbers)
{
    struct popgen g;
    struct popgen_person p;
    struct idnum id;
    static const char alphabet[] = "0123456789X";

    REQUIRE(popgen_init(&g, 7, 0) == RC_OK);
    for (int n = 0; n < 3000; n++) {
        popgen_person(&g, &p);
        if (idnum_parse(span_of(p.id, 18), &id, NULL) != RC_OK) {
            test_fail(__FILE__, __LINE__, "generated number %d does not parse", n);
            return;
        }
        CHECK_INT(id.sex, p.sex);
        CHECK_INT(id.birth_ymd, p.birth_ymd);
        CHECK(id.birth_ymd >= 19300101 && id.birth_ymd <= 20081231);
        for (int pos = 0; pos < 18 && n < 300; pos++) {
            char m[18];
            for (int k = 0; alphabet[k]; k++) {
                memcpy(m, p.id, 18);
                if (alphabet[k] == m[pos])
                    continue;
                m[pos] = alphabet[k];
                if (idnum_parse(span_of(m, 18), &id, NULL) != RC_MALFORMED)
                    test_fail(__FILE__, __LINE__, "mutation at %d still parses", pos);
            }
        }
    }
}

TEST(popgen_is_deterministic_and_respects_province)
{
    struct popgen a, b;
    struct popgen_person pa, pb;
    int minority = 0, three = 0, dead = 0;

    REQUIRE(popgen_init(&a, 1, 11) == RC_OK);
    REQUIRE(popgen_init(&b, 1, 11) == RC_OK);
    for (int i = 0; i < 5000; i++) {
        popgen_person(&a, &pa);
        popgen_person(&b, &pb);
        CHECK_STR(pa.id, pb.id);
        CHECK_STR(pa.name, pb.name);
        CHECK_INT(pa.status, pb.status);
        CHECK_INT(pa.region / 10000, 11);
        minority += strstr(pa.name, "·") != NULL;
        three += pa.name_len == 9;
        dead += pa.status != POP_STATUS_NORMAL;
    }
    CHECK(minority > 50 && minority < 200);
    CHECK(three > 2500);
    CHECK(dead > 30 && dead < 150);
    CHECK_RC(popgen_init(&a, 1, 99), RC_NOT_FOUND);
}
