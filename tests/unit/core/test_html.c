#include "core/html.h"
#include "test.h"

static void
check_escape(const char *in, size_t len, const char *want)
{
    struct buf b;

    buf_init(&b, 0);
    CHECK_RC(html_escape(&b, span_of(in, len)), RC_OK);
    CHECK_SPAN(buf_span(&b), want);
    buf_clear(&b);
}

TEST(html_escapes_specials_and_bad_utf8)
{
    check_escape("<script>alert('x')&\"</script>", 29,
                 "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;");
    check_escape("张三·李", 11, "张三·李");
    check_escape("a\xffz", 3, "a\xEF\xBF\xBDz");
    check_escape("a\0b", 3, "a\xEF\xBF\xBD" "b");
    check_escape("\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* surrogate */
    check_escape("", 0, "");
}
