#include "core/popcsv.h"
#include "test.h"

static enum rc
row(const char *line, struct pop_row *r, struct rc_info *ri)
{
    return popcsv_row(span_str(line), 20250301, r, ri);
}

TEST(popcsv_header)
{
    CHECK_RC(popcsv_header(SPAN(POPCSV_HEADER "\n"), NULL), RC_OK);
    CHECK_RC(popcsv_header(SPAN("\xef\xbb\xbf" POPCSV_HEADER "\r\n"), NULL), RC_OK);
    CHECK_RC(popcsv_header(SPAN("id_number,name"), NULL), RC_MALFORMED);
    CHECK_RC(popcsv_header(SPAN(""), NULL), RC_MALFORMED);
}

TEST(popcsv_rows)
{
    struct pop_row r;
    struct rc_info ri = {0};

    CHECK_RC(row("11010519491231002X,张三,F,1949-12-31,110105,normal\n", &r, &ri), RC_OK);
    CHECK_STR(r.id.text, "11010519491231002X");
    CHECK_SPAN(span_of(r.name.p, r.name.len), "张三");
    CHECK_INT(r.status, POP_STATUS_NORMAL);
    CHECK_RC(row("\"11010519491231002x\",\"阿依古丽 • 买买提\",,,,\"deceased\"\r\n", &r, &ri),
             RC_OK);
    CHECK_SPAN(span_of(r.name.p, r.name.len), "阿依古丽·买买提");
    CHECK_INT(r.status, POP_STATUS_DECEASED);
    CHECK_RC(row("11010519491231002X,\"a \"\"b\"\"\",,,,cancelled", &r, &ri), RC_OK);
    CHECK_SPAN(span_of(r.name.p, r.name.len), "a \"b\"");
}

TEST(popcsv_rejects)
{
    struct pop_row r;
    struct rc_info ri = {0};
    char big[POPCSV_MAX_LINE + 2];

    CHECK_RC(row("11010519491231002X,张三,F,1949-12-31,110105", &r, &ri), RC_MALFORMED);
    CHECK_STR(ri.msg, "too few fields");
    CHECK_RC(row("11010519491231002X,张三,F,1949-12-31,110105,normal,x", &r, &ri), RC_MALFORMED);
    CHECK_STR(ri.msg, "too many fields");
    CHECK_RC(row("110105194912310021,张三,,,,normal", &r, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "id_number");
    CHECK_RC(row("11010519491231002X,,,,,normal", &r, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "name");
    CHECK_RC(row("11010519491231002X,张三,M,,,normal", &r, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "sex");
    CHECK_RC(row("11010519491231002X,张三,,1949-12-30,,normal", &r, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "birth_date");
    CHECK_RC(row("11010519491231002X,张三,,,110101,normal", &r, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "region");
    CHECK_RC(row("11010519491231002X,张三,,,,dead", &r, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "status");
    CHECK_RC(row("11010519491231002X,\"张三,,,,normal", &r, &ri), RC_MALFORMED);
    CHECK_RC(row("11010519491231002X,张\"三,,,,normal", &r, &ri), RC_MALFORMED);
    CHECK_RC(row("11010519491231002X,\"张三\"x,,,,normal", &r, &ri), RC_MALFORMED);
    CHECK_RC(popcsv_row(SPAN("11010519491231002X,张\0三,,,,normal"), 0, &r, &ri), RC_MALFORMED);
    CHECK_RC(row("11010519491231002X,张三,,,,normal\r\r\n", &r, &ri), RC_MALFORMED);
    memset(big, 'a', sizeof(big));
    CHECK_RC(popcsv_row(span_of(big, sizeof(big)), 0, &r, &ri), RC_TOO_LARGE);
    CHECK_STR(pop_status_name(POP_STATUS_CANCELLED), "cancelled");
}
