#include <pthread.h>
#include <stdio.h>

#include "flow/tokcache.h"
#include "test.h"

TEST(tokcache_remembers_until_exp_and_only_exact_bytes)
{
    struct tokcache *c;

    REQUIRE(tokcache_new(64, &c) == RC_OK);
    CHECK(!tokcache_hit(c, SPAN("a.b.c"), 100));
    tokcache_put(c, SPAN("a.b.c"), 200);
    CHECK(tokcache_hit(c, SPAN("a.b.c"), 100));
    CHECK(!tokcache_hit(c, SPAN("a.b.d"), 100)); /* one byte differs */
    CHECK(!tokcache_hit(c, SPAN("a.b.c"), 200)); /* expired at exp */
    CHECK(!tokcache_hit(c, SPAN("a.b.c"), 100)); /* and forgotten */
    tokcache_free(c);
}

TEST(tokcache_disabled_and_bounded)
{
    struct tokcache *c;
    char t[32];
    int hits = 0;

    CHECK_RC(tokcache_new(0, &c), RC_OK);
    CHECK(c == NULL);
    tokcache_put(c, SPAN("x"), 10); /* a disabled cache is a no-op */
    CHECK(!tokcache_hit(c, SPAN("x"), 1));
    REQUIRE(tokcache_new(16, &c) == RC_OK);
    for (int i = 0; i < 1000; i++) {
        snprintf(t, sizeof(t), "tok%d", i);
        tokcache_put(c, span_str(t), 1000 + i);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(t, sizeof(t), "tok%d", i);
        hits += tokcache_hit(c, span_str(t), 1);
    }
    CHECK(hits > 0 && hits <= 16); /* bounded: only as many as there are slots */
    tokcache_free(c);
}

static struct tokcache *shared;

static void *
hammer(void *arg)
{
    char t[32];
    long id = (long)arg, bad = 0;

    for (int i = 0; i < 20000; i++) {
        snprintf(t, sizeof(t), "t%ld-%d", id, i % 500);
        tokcache_put(shared, span_str(t), 1000);
        if (!tokcache_hit(shared, span_str(t), 1))
            bad++; /* may be evicted by another thread's put: counted, not fatal */
    }
    return (void *)bad;
}

TEST(tokcache_threads)
{
    pthread_t th[8];

    REQUIRE(tokcache_new(1 << 16, &shared) == RC_OK);
    for (long i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, hammer, (void *)i);
    for (int i = 0; i < 8; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        CHECK((long)bad < 100);
    }
    tokcache_free(shared);
}
