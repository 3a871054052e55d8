/* flow/ratelimit: token buckets over the memory store with a fake clock. */
#include <string.h>

#include "compose/compose.h"
#include "flow/ratelimit.h"
#include "port/store.h"
#include "test.h"

static int64_t rl_now = 1700000000;

static int64_t
rl_clock_now(const struct clock *c)
{
    (void)c;
    return rl_now;
}

static int64_t
rl_mono(const struct clock *c)
{
    (void)c;
    return rl_now * 1000000;
}

static const struct clock rl_clock = {rl_clock_now, rl_mono, NULL};

TEST(ratelimit_buckets_refill_and_say_how_long)
{
    struct config cfg = {.rate_window_s = 60};
    struct app app = {.cfg = &cfg, .clock = &rl_clock};
    struct ratelimit l[3] = {
        {"t:ip", SPAN("10.0.0.1"), 3},
        {"t:client", SPAN("svc"), 100},
        {"t:off", SPAN("x"), 0}, /* skipped */
    };
    struct rc_info ri = {0};
    struct arena a;
    uint32_t retry = 0;

    arena_init(&a, 0);
    REQUIRE(compose_store_open("memory:", NULL, &app.store, NULL) == RC_OK);
    for (int i = 0; i < 3; i++)
        CHECK_RC(ratelimit_take(&app, &a, l, 3, &retry, &ri), RC_OK);
    CHECK_RC(ratelimit_take(&app, &a, l, 3, &retry, &ri), RC_LIMITED);
    CHECK_INT(retry, 20); /* 3 per 60 s: one token every 20 s */
    CHECK_STR(ri.msg, "too many requests: try again in 20 seconds");
    rl_now += 20;
    CHECK_RC(ratelimit_take(&app, &a, l, 3, &retry, &ri), RC_OK);
    /* another address has its own bucket; an empty `who` is no bucket at all */
    l[0].who = SPAN("10.0.0.2");
    CHECK_RC(ratelimit_take(&app, &a, l, 1, &retry, &ri), RC_OK);
    l[0].who = (struct span){NULL, 0};
    for (int i = 0; i < 10; i++)
        CHECK_RC(ratelimit_take(&app, &a, l, 1, &retry, &ri), RC_OK);
    CHECK_STR(ratelimit_wait_msg(&a, "w", 3600), "w: try again in 60 minutes");
    store_free(app.store);
    arena_clear(&a);
}

/* The op for a pipeline takes from the same bucket and answers as ratelimit_take. */
TEST(ratelimit_op_in_a_pipeline_is_the_same_bucket)
{
    struct config cfg = {.rate_window_s = 60};
    struct app app = {.cfg = &cfg, .clock = &rl_clock};
    struct ratelimit l = {"t:ip", SPAN("10.0.0.9"), 2};
    struct store_call c = {0};
    struct rc_info ri = {0};
    struct arena a;
    uint32_t retry = 9;

    arena_init(&a, 0);
    REQUIRE(compose_store_open("memory:", NULL, &app.store, NULL) == RC_OK);
    REQUIRE(ratelimit_op(&app, &a, &l, &c.op) == RC_OK);
    CHECK_INT(c.op.kind, STORE_OP_LIMIT);
    CHECK_RC(store_pipeline(app.store, &a, &c, 1), RC_OK);
    CHECK_RC(ratelimit_answer(&a, &c, &retry, &ri), RC_OK);
    CHECK_INT(retry, 0);
    CHECK_RC(ratelimit_take(&app, &a, &l, 1, &retry, &ri), RC_OK);
    CHECK_RC(store_pipeline(app.store, &a, &c, 1), RC_OK);
    CHECK_RC(ratelimit_answer(&a, &c, &retry, &ri), RC_LIMITED);
    CHECK_INT(retry, 30); /* 2 per 60 s */
    CHECK_STR(ri.msg, "too many requests: try again in 30 seconds");
    c.rc = RC_CONFLICT; /* a key of another kind: fail closed */
    CHECK_RC(ratelimit_answer(&a, &c, &retry, &ri), RC_UNAVAILABLE);
    /* no bucket: nothing to send */
    l.limit = 0;
    CHECK_RC(ratelimit_op(&app, &a, &l, &c.op), RC_NOT_FOUND);
    l.limit = 2;
    l.who = (struct span){NULL, 0};
    CHECK_RC(ratelimit_op(&app, &a, &l, &c.op), RC_NOT_FOUND);
    store_free(app.store);
    arena_clear(&a);
}

TEST(ratelimit_store_down_fails_closed)
{
    struct config cfg = {.rate_window_s = 60};
    struct app app = {.cfg = &cfg, .clock = &rl_clock};
    struct ratelimit l = {"t:ip", SPAN("10.0.0.1"), 3};
    struct arena a;
    uint32_t retry = 0;

    arena_init(&a, 0);
    /* nothing listens on port 1: every call is RC_UNAVAILABLE, never "allowed" */
    REQUIRE(compose_store_open("redis://127.0.0.1:1/0", NULL, &app.store, NULL) == RC_OK);
    CHECK_RC(ratelimit_take(&app, &a, &l, 1, &retry, NULL), RC_UNAVAILABLE);
    /* with every limit off there is no store call at all */
    l.limit = 0;
    CHECK_RC(ratelimit_take(&app, &a, &l, 1, &retry, NULL), RC_OK);
    store_free(app.store);
    arena_clear(&a);
}
