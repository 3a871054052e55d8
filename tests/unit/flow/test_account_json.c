/* flow/account_json: the JSON body of POST /api/register. */
#include <string.h>

#include "flow/account_json.h"
#include "test.h"

static enum rc
parse(struct arena *a, const char *body, struct register_req *req, struct rc_info *ri)
{
    return account_json_parse(a, span_str(body), req, ri);
}

TEST(account_json_reads_the_members)
{
    struct arena a;
    struct register_req req;

    arena_init(&a, 0);
    CHECK_RC(parse(&a,
                   "{\"id_number\":\"110101199003077777\",\"name\":\"张三\","
                   "\"password\":\"pw pw pw\",\"phone\":\"13800000000\",\"extra\":1}",
                   &req, NULL),
             RC_OK);
    CHECK_SPAN(req.id_number, "110101199003077777");
    CHECK_SPAN(req.name, "张三");
    CHECK_SPAN(req.password, "pw pw pw");
    CHECK_SPAN(req.phone, "13800000000");
    /* phone is optional, and null means absent */
    CHECK_RC(parse(&a, "{\"id_number\":\"1\",\"name\":\"n\",\"password\":\"p\",\"phone\":null}",
                   &req, NULL),
             RC_OK);
    CHECK_INT(req.phone.len, 0);
    arena_clear(&a);
}

TEST(account_json_rejects_bad_bodies)
{
    struct arena a;
    struct register_req req;
    struct rc_info ri = {0};
    char big[ACCOUNT_JSON_MAX + 2];

    arena_init(&a, 0);
    CHECK_RC(parse(&a, "[1]", &req, NULL), RC_MALFORMED);
    CHECK_RC(parse(&a, "", &req, NULL), RC_MALFORMED);
    CHECK_RC(parse(&a, "{\"id_number\":\"1\",\"name\":\"n\",\"password\":\"p\"} x", &req, NULL),
             RC_MALFORMED);
    CHECK_RC(parse(&a,
                   "{\"id_number\":\"1\",\"id_number\":\"2\",\"name\":\"n\",\"password\":\"p\"}",
                   &req, NULL),
             RC_MALFORMED); /* duplicate names */
    CHECK_RC(parse(&a, "{\"id_number\":\"1\",\"name\":\"n\"}", &req, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "password");
    CHECK_RC(parse(&a, "{\"id_number\":1,\"name\":\"n\",\"password\":\"p\"}", &req, &ri),
             RC_MALFORMED);
    CHECK_STR(ri.field, "id_number");
    CHECK_RC(
        parse(&a, "{\"id_number\":\"1\\u0000\",\"name\":\"n\",\"password\":\"p\"}", &req, NULL),
        RC_MALFORMED);
    memset(big, ' ', sizeof(big));
    big[sizeof(big) - 1] = 0;
    CHECK_RC(parse(&a, big, &req, NULL), RC_TOO_LARGE);
    arena_clear(&a);
}
