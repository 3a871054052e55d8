#include <string.h>

#include "test.h"
#include "util/rc.h"

/* Reason names go to logs and must stay stable: every code has one, all differ. */
TEST(rc_reasons_each_have_one_name)
{
    for (int i = 0; i < RC__WHY_COUNT; i++) {
        const char *n = rc_reason_name((enum rc_reason)i);

        CHECK(strcmp(n, "unknown") != 0);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(n, rc_reason_name((enum rc_reason)j)) != 0);
    }
    CHECK_STR(rc_reason_name(RC_WHY_NONE), "none");
    CHECK_STR(rc_reason_name(RC_WHY_PW_SHORT), "pw_short");
    CHECK_STR(rc_reason_name(RC__WHY_COUNT), "unknown");
    CHECK_STR(rc_reason_name((enum rc_reason) - 1), "unknown");
}

TEST(rc_fail_sets_the_reason_and_rc_set_clears_it)
{
    struct rc_info ri = {0};

    CHECK_RC(rc_fail(&ri, RC_DENIED, RC_WHY_SCOPE, "scope", "empty"), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_SCOPE);
    CHECK_STR(ri.field, "scope");
    CHECK_STR(ri.msg, "empty");
    /* a callee's failure given a reason keeps its field and message */
    CHECK_RC(rc_because(&ri, RC_EXPIRED, RC_WHY_GRANT), RC_EXPIRED);
    CHECK_INT(ri.why, RC_WHY_GRANT);
    CHECK_STR(ri.msg, "empty");
    CHECK_RC(rc_set(&ri, RC_MALFORMED, "code", "missing"), RC_MALFORMED);
    CHECK_INT(ri.why, RC_WHY_NONE);
    CHECK_RC(rc_fail(NULL, RC_LIMITED, RC_WHY_PARAM, NULL, NULL), RC_LIMITED);
    CHECK_RC(rc_because(NULL, RC_NOMEM, RC_WHY_NONE), RC_NOMEM);
}
