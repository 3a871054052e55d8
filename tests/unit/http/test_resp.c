#include "http/http.h"
#include "test.h"

static const struct http_error table[] = {
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, NULL},
    {RC_ANY, RC_WHY_SCOPE, 400, "invalid_scope", "k_scope", NULL},
    {RC_MALFORMED, RC_WHY_ANY, 400, "invalid_request", NULL, HTTP_DESC_NONE},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", NULL, "fixed"},
};

/* The first row matching (rc, reason) wins; RC_ANY and RC_WHY_ANY match everything. */
TEST(http_error_find_takes_the_first_matching_row)
{
    struct rc_info ri = {0};

    rc_fail(&ri, RC_DENIED, RC_WHY_SCOPE, "scope", "empty");
    CHECK_STR(http_error_find(HTTP_ERRORS(table), RC_DENIED, &ri)->error, "invalid_scope");
    CHECK_STR(http_error_find(HTTP_ERRORS(table), RC_UNAVAILABLE, &ri)->error,
              "temporarily_unavailable");
    CHECK_STR(http_error_find(HTTP_ERRORS(table), RC_MALFORMED, NULL)->error, "invalid_request");
    CHECK_STR(http_error_find(HTTP_ERRORS(table), RC_DENIED, NULL)->error, "server_error");
    /* no row at all: a 500 */
    CHECK_INT(http_error_find(table, 0, RC_DENIED, &ri)->status, 500);
}

TEST(http_error_desc_comes_from_the_row_or_the_rc_info)
{
    struct http_req r = {0};
    struct rc_info ri = {0};

    arena_init(&r.arena, 4096);
    rc_fail(&ri, RC_DENIED, RC_WHY_SCOPE, "scope", "empty");
    CHECK_STR(http_error_desc(&r, &table[1], &ri), "scope: empty");
    CHECK(http_error_desc(&r, &table[2], &ri) == NULL);
    CHECK_STR(http_error_desc(&r, &table[3], &ri), "fixed");
    rc_set(&ri, RC_DENIED, NULL, "no field");
    CHECK_STR(http_error_desc(&r, &table[1], &ri), "no field");
    CHECK(http_error_desc(&r, &table[1], NULL) == NULL);
    arena_clear(&r.arena);
}
