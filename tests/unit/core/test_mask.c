#include "core/mask.h"
#include "test.h"

TEST(mask_idnum_keeps_6_and_4)
{
    char m[MASK_IDNUM_SIZE];

    mask_idnum(SPAN("11010519491231002x"), m);
    CHECK_STR(m, "110105********002X");
    mask_idnum(SPAN("1101051949"), m);
    CHECK_STR(m, "**********");
    mask_idnum(SPAN("11010519491231002X99"), m);
    CHECK_STR(m, "******************");
    mask_idnum(SPAN("1101051949123\"002X"), m);
    CHECK_STR(m, "******************");
    mask_idnum(SPAN(""), m);
    CHECK_STR(m, "");
}

TEST(mask_name_keeps_first_character)
{
    char m[MASK_NAME_SIZE];

    mask_name(SPAN("张三"), m);
    CHECK_STR(m, "张*");
    mask_name(SPAN("阿依古丽·买买提"), m);
    CHECK_STR(m, "阿*");
    mask_name(SPAN("𠀀x"), m);
    CHECK_STR(m, "𠀀*");
    mask_name(SPAN(""), m);
    CHECK_STR(m, "*");
    mask_name(SPAN("\xe5\xbc"), m);
    CHECK_STR(m, "*");
    mask_name(SPAN("\nx"), m);
    CHECK_STR(m, "*");
}

TEST(mask_ip_hides_the_host_part)
{
    char out[MASK_IP_SIZE];

    mask_ip(SPAN("203.0.113.77"), out);
    CHECK_STR(out, "203.0.113.*");
    mask_ip(SPAN("2001:db8:1:2::7"), out);
    CHECK_STR(out, "2001:db8:1::*");
    mask_ip(SPAN("2001:db8::1"), out);
    CHECK_STR(out, "2001:db8::*");
    mask_ip(SPAN("::1"), out);
    CHECK_STR(out, "*");
    mask_ip(SPAN("1.2.3"), out);
    CHECK_STR(out, "*");
    mask_ip(SPAN("1.2.3.4<b>"), out);
    CHECK_STR(out, "*");
    mask_ip(SPAN(""), out);
    CHECK_STR(out, "*");
}

TEST(mask_name_ends_keeps_first_and_last_character)
{
    char out[MASK_NAME_ENDS_SIZE];

    mask_name_ends(span_str("张小三"), out);
    CHECK_STR(out, "张*三");
    mask_name_ends(span_str("欧阳小明"), out);
    CHECK_STR(out, "欧*明");
    mask_name_ends(span_str("张三"), out); /* two characters: the first alone */
    CHECK_STR(out, "张*");
    mask_name_ends(span_str(""), out);
    CHECK_STR(out, "*");
    mask_name_ends(span_of("\xe5\xbc\xa0\xff\xe4\xb8\x89", 7), out); /* broken UTF-8 */
    CHECK_STR(out, "张*");
}
