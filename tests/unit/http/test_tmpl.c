#include "http/tmpl.h"
#include "test.h"

TEST(tmpl_renders_vars_blocks_and_strings)
{
    struct buf b;
    struct tmpl_var v[] = {{"title", SPAN("<b>")}, {"message", SPAN("x&y")},
                           {"back_url", SPAN("")}};

    buf_init(&b, 0);
    CHECK_RC(tmpl_render(&b, "error.html", LANG_EN, v, 3), RC_OK);
    CHECK(strstr((char *)b.p, "<title>&lt;b&gt; · Unified Identity Authentication</title>"));
    CHECK(strstr((char *)b.p, "x&amp;y"));
    CHECK(!strstr((char *)b.p, "Back</a>"));
    CHECK(strstr((char *)b.p, "<html lang=\"en\">"));
    buf_reset(&b);
    v[2].value = SPAN("/back");
    CHECK_RC(tmpl_render(&b, "error.html", LANG_ZH, v, 3), RC_OK);
    CHECK(strstr((char *)b.p, "<a href=\"/back\">返回</a>"));
    CHECK_RC(tmpl_render(&b, "nope.html", LANG_ZH, v, 3), RC_NOT_FOUND);
    buf_clear(&b);
}

TEST(tmpl_picks_language)
{
    CHECK_INT(tmpl_lang(SPAN("en-US zh"), NULL), LANG_EN);
    CHECK_INT(tmpl_lang(SPAN("fr zh-CN"), "en"), LANG_ZH);
    CHECK_INT(tmpl_lang(SPAN(""), "en-GB,en;q=0.9"), LANG_EN);
    CHECK_INT(tmpl_lang(SPAN(""), "zh-CN;q=0.5, en;q=0.8"), LANG_EN);
    CHECK_INT(tmpl_lang(SPAN(""), "en;q=0.3, zh;q=0.9"), LANG_ZH);
    CHECK_INT(tmpl_lang(SPAN(""), "fr"), LANG_ZH);
    CHECK_INT(tmpl_lang(SPAN(""), "en;q=0"), LANG_ZH);
    CHECK_INT(tmpl_lang(SPAN(""), NULL), LANG_ZH);
    CHECK_INT(tmpl_lang(SPAN(""), ";;,,q=;en"), LANG_ZH); /* en is a parameter there */
    CHECK_INT(tmpl_lang(SPAN(""), ";;,,q=, en"), LANG_EN);
}
