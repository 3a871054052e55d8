#include "core/name.h"
#include "test.h"

static struct span
norm(const char *in, size_t len, struct name_norm *n)
{
    if (name_normalize(span_of(in, len), n, NULL) != RC_OK)
        return SPAN("(failed)");
    return span_of(n->p, n->len);
}
#define NORM(lit, n) norm(lit, sizeof(lit) - 1, n)

TEST(name_nfc_composed_equals_decomposed)
{
    struct name_norm a, b;

    CHECK_SPAN(NORM("Jos\xc3\xa9", &a), "Jos\xc3\xa9");  /* é precomposed */
    CHECK_SPAN(NORM("Jose\xcc\x81", &b), "Jos\xc3\xa9"); /* e + U+0301 */
    CHECK_SPAN(NORM("张三", &a), "张三");
}

TEST(name_dots_are_one_middle_dot)
{
    struct name_norm n;
    const char *want = "阿依古丽·买买提";

    CHECK_SPAN(NORM("阿依古丽·买买提", &n), want);
    CHECK_SPAN(NORM("阿依古丽•买买提", &n), want);
    CHECK_SPAN(NORM("阿依古丽.买买提", &n), want);
    CHECK_SPAN(NORM("阿依古丽．买买提", &n), want);
    CHECK_SPAN(NORM("阿依古丽・买买提", &n), want);
    CHECK_SPAN(NORM("阿依古丽‧买买提", &n), want);
    CHECK_SPAN(NORM("阿依古丽\xce\x87买买提", &n), want); /* U+0387, NFC gives U+00B7 */
    CHECK_SPAN(NORM("阿依古丽 · 买买提", &n), want);
    CHECK_SPAN(NORM("阿依古丽··买买提", &n), want);
}

TEST(name_whitespace_trimmed_and_collapsed)
{
    struct name_norm n;

    CHECK_SPAN(NORM("  张三\t", &n), "张三");
    CHECK_SPAN(NORM("\xe3\x80\x80张三\xe3\x80\x80", &n), "张三"); /* U+3000 */
    CHECK_SPAN(NORM("\xc2\xa0张三\xe2\x80\x8b", &n), "张三");     /* NBSP, ZWSP */
    CHECK_SPAN(NORM("John   Smith", &n), "John Smith");
    CHECK_SPAN(NORM("John\xe3\x80\x80Smith", &n), "John Smith");
}

TEST(name_rejects_bad_input)
{
    struct name_norm n;
    struct rc_info ri = {0};
    char big[NAME_MAX_INPUT + 1];

    CHECK_RC(name_normalize(SPAN(""), &n, &ri), RC_MALFORMED);
    CHECK_STR(ri.msg, "empty");
    CHECK_RC(name_normalize(SPAN(" \xe3\x80\x80 "), &n, &ri), RC_MALFORMED);
    CHECK_RC(name_normalize(SPAN("\xe5\xbc"), &n, &ri), RC_MALFORMED);
    CHECK_STR(ri.msg, "not valid UTF-8");
    CHECK_RC(name_normalize(SPAN("\xc0\xaf"), &n, &ri), RC_MALFORMED);         /* overlong */
    CHECK_RC(name_normalize(SPAN("\xed\xa0\x80"), &n, &ri), RC_MALFORMED);     /* surrogate */
    CHECK_RC(name_normalize(SPAN("\xf4\x90\x80\x80"), &n, &ri), RC_MALFORMED); /* > 10FFFF */
    CHECK_RC(name_normalize(SPAN("张\0三"), &n, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "name");
    CHECK_RC(name_normalize(SPAN("张\x1b三"), &n, &ri), RC_MALFORMED);
    memset(big, 'a', sizeof(big));
    CHECK_RC(name_normalize(span_of(big, sizeof(big)), &n, &ri), RC_TOO_LARGE);
    CHECK_RC(name_normalize(span_of(big, NAME_MAX_LEN + 1), &n, &ri), RC_TOO_LARGE);
    CHECK_RC(name_normalize(span_of(big, NAME_MAX_LEN), &n, &ri), RC_OK);
    CHECK_INT(n.len, NAME_MAX_LEN);
}

/* A zero-width character between a letter and a combining mark must not keep them from
 * composing: the same name typed with one must normalize like the precomposed letter
 * (found by fuzz_name: normalizing the result again changed it). */
TEST(name_zero_width_does_not_block_composition)
{
    struct name_norm a, b;

    CHECK_SPAN(NORM("k\xe2\x80\x8b\xe2\x80\x8b\xcc\x81", &a), "\xe1\xb8\xb1"); /* k ZWSP ZWSP U+0301 */
    CHECK_SPAN(NORM("\xe1\xb8\xb1", &b), "\xe1\xb8\xb1");                       /* U+1E31 */
    CHECK_SPAN(NORM("Jose\xef\xbb\xbf\xcc\x81", &a), "Jos\xc3\xa9");            /* e BOM U+0301 */
}
