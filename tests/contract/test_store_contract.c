/* The store contract: every backend must pass this same suite. It opens the store named by
 * $AUTHD_TEST_STORE (default "memory:"); $AUTHD_TEST_DURABLE_REPLICAS sets
 * store_opts.durable_replicas. Every test works under its own random key prefix, so the
 * suite can run any number of times against the same server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapt/store_redis.h"
#include "compose/compose.h"
#include "port/store.h"
#include "test.h"

static const char *
store_url(void)
{
    const char *u = getenv("AUTHD_TEST_STORE");
    return u && *u ? u : "memory:";
}

static bool
is_memory(void)
{
    return strncmp(store_url(), "memory:", 7) == 0;
}

static struct store_opts
test_opts(void)
{
    struct store_opts o = {0};
    const char *r = getenv("AUTHD_TEST_DURABLE_REPLICAS");

    o.durable_replicas = r ? (uint32_t)atoi(r) : 0;
    return o;
}

static struct store *
open_store(void)
{
    struct store *s = NULL;
    struct store_opts o = test_opts();

    if (compose_store_open(store_url(), &o, &s, NULL) != RC_OK)
        return NULL;
    return s;
}

/* A fresh prefix "ct:{<16 hex>}": the hash tag puts one test's keys on one cluster slot. */
static void
new_prefix(char *p, size_t n)
{
    unsigned char r[8];

    if (RAND_bytes(r, sizeof(r)) != 1)
        abort();
    snprintf(p, n, "ct:{%02x%02x%02x%02x%02x%02x%02x%02x}", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
}

/* Key prefix:suffix, in the arena. */
static struct span
K(struct arena *a, const char *pfx, const char *suffix) {
    return span_str(arena_printf(a, "%s:%s", pfx, suffix));
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Set up: store s, arena a, prefix pfx; REQUIRE the store opens. */
#define SETUP()                                                                                    \
    struct arena a;                                                                                \
    char pfx[40];                                                                                  \
    struct store *s = open_store();                                                                \
    REQUIRE(s != NULL);                                                                            \
    arena_init(&a, 0);                                                                             \
    new_prefix(pfx, sizeof(pfx))

#define TEARDOWN()                                                                                 \
    do {                                                                                           \
        arena_clear(&a);                                                                           \
        store_free(s);                                                                             \
    } while (0)

TEST(store_ping_and_name)
{
    SETUP();
    CHECK_RC(store_ping(s), RC_OK);
    CHECK(s->ops->name != NULL);
    TEARDOWN();
}

TEST(store_put_get_binary_and_empty)
{
    struct span v;
    static const uint8_t bin[] = {0, 1, 2, 0xff, 0, 'x'};
    SETUP();
    struct span k = K(&a, pfx, "bin"), e = K(&a, pfx, "empty");

    CHECK_RC(store_put(s, k, span_of(bin, sizeof(bin)), 60, 0), RC_OK);
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK(v.len == sizeof(bin) && memcmp(v.p, bin, sizeof(bin)) == 0);
    CHECK_RC(store_put(s, e, span_of("", 0), 60, 0), RC_OK);
    CHECK_RC(store_get(s, &a, e, &v), RC_OK);
    CHECK_INT(v.len, 0);
    CHECK(v.p != NULL);
    CHECK_RC(store_put(s, k, SPAN("second"), 60, 0), RC_OK);
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK_SPAN(v, "second");
    CHECK_RC(store_get(s, &a, K(&a, pfx, "absent"), &v), RC_NOT_FOUND);
    TEARDOWN();
}

TEST(store_put_nx_xx)
{
    struct span v;
    SETUP();
    struct span k = K(&a, pfx, "nx");

    CHECK_RC(store_put(s, k, SPAN("v1"), 60, STORE_XX), RC_NOT_FOUND);
    CHECK_RC(store_get(s, &a, k, &v), RC_NOT_FOUND);
    CHECK_RC(store_put(s, k, SPAN("v1"), 60, STORE_NX), RC_OK);
    CHECK_RC(store_put(s, k, SPAN("v2"), 60, STORE_NX), RC_CONFLICT);
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK_SPAN(v, "v1");
    CHECK_RC(store_put(s, k, SPAN("v3"), 60, STORE_XX), RC_OK);
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK_SPAN(v, "v3");
    CHECK_RC(store_put(s, k, SPAN("v4"), 60, STORE_NX | STORE_XX), RC_MALFORMED);
    CHECK_RC(store_put(s, k, SPAN("v4"), 60, 0x80), RC_MALFORMED);
    CHECK_RC(store_put(s, k, SPAN("v5"), 60, STORE_XX | STORE_DURABLE), RC_OK);
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK_SPAN(v, "v5");
    TEARDOWN();
}

TEST(store_ttl_and_expire)
{
    int64_t t = 0;
    SETUP();
    struct span k = K(&a, pfx, "ttl");

    CHECK_RC(store_ttl(s, k, &t), RC_NOT_FOUND);
    CHECK_RC(store_expire(s, k, 10), RC_NOT_FOUND);
    CHECK_RC(store_put(s, k, SPAN("x"), 100, 0), RC_OK);
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK(t >= 99 && t <= 100);
    CHECK_RC(store_put(s, k, SPAN("y"), 0, 0), RC_OK); /* a plain put clears the ttl */
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK_INT(t, -1);
    CHECK_RC(store_expire(s, k, 50), RC_OK);
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK(t >= 49 && t <= 50);
    CHECK_RC(store_expire(s, k, 0), RC_OK); /* 0: no expiry */
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK_INT(t, -1);
    TEARDOWN();
}

/* One sleep covers the expiry of every kind of key. */
TEST(store_everything_expires)
{
    struct span v, *m;
    struct store_record r;
    size_t n;
    int64_t c = 0;
    struct store_field f = {SPAN("a"), SPAN("1")};
    SETUP();
    struct span kv = K(&a, pfx, "v"), kr = K(&a, pfx, "r"), ks = K(&a, pfx, "s"),
                kc = K(&a, pfx, "c"), ke = K(&a, pfx, "e"), keep = K(&a, pfx, "keep");

    CHECK_RC(store_put(s, kv, SPAN("x"), 1, 0), RC_OK);
    CHECK_RC(store_rec_put(s, kr, &f, 1, 1, 0), RC_OK);
    CHECK_RC(store_set_add(s, ks, SPAN("m"), 1), RC_OK);
    CHECK_RC(store_incr(s, kc, 1, 1, &c), RC_OK);
    CHECK_RC(store_put(s, ke, SPAN("x"), 0, 0), RC_OK);
    CHECK_RC(store_expire(s, ke, 1), RC_OK);
    CHECK_RC(store_put(s, keep, SPAN("x"), 30, 0), RC_OK);
    sleep_ms(1300);
    CHECK_RC(store_get(s, &a, kv, &v), RC_NOT_FOUND);
    CHECK_RC(store_take(s, &a, kv, &v), RC_NOT_FOUND);
    CHECK_RC(store_rec_get(s, &a, kr, &r), RC_NOT_FOUND);
    CHECK_RC(store_set_members(s, &a, ks, &m, &n), RC_NOT_FOUND);
    CHECK_RC(store_get(s, &a, ke, &v), RC_NOT_FOUND);
    CHECK_RC(store_incr(s, kc, 1, 1, &c), RC_OK);
    CHECK_INT(c, 1); /* a new window */
    CHECK_RC(store_get(s, &a, keep, &v), RC_OK);
    TEARDOWN();
}

TEST(store_take_once_and_del)
{
    struct span v;
    SETUP();
    struct span k = K(&a, pfx, "code");

    CHECK_RC(store_take(s, &a, k, &v), RC_NOT_FOUND);
    CHECK_RC(store_put(s, k, SPAN("grant"), 60, STORE_NX), RC_OK);
    CHECK_RC(store_take(s, &a, k, &v), RC_OK);
    CHECK_SPAN(v, "grant");
    CHECK_RC(store_take(s, &a, k, &v), RC_NOT_FOUND);
    CHECK_RC(store_get(s, &a, k, &v), RC_NOT_FOUND);
    CHECK_RC(store_put(s, k, SPAN("x"), 60, 0), RC_OK);
    CHECK_RC(store_del(s, k), RC_OK);
    CHECK_RC(store_del(s, k), RC_NOT_FOUND);
    CHECK_RC(store_get(s, &a, k, &v), RC_NOT_FOUND);
    TEARDOWN();
}

TEST(store_swap_answers_the_old_value)
{
    struct span v;
    int64_t t;
    SETUP();
    struct span k = K(&a, pfx, "code"), ks = K(&a, pfx, "set");

    CHECK_RC(store_swap(s, &a, k, SPAN("used:f1"), 100, &v), RC_NOT_FOUND);
    CHECK_RC(store_get(s, &a, k, &v), RC_NOT_FOUND); /* absent: nothing written */
    CHECK_RC(store_put(s, k, SPAN("grant"), 60, STORE_NX), RC_OK);
    CHECK_RC(store_swap(s, &a, k, SPAN("used:f1"), 100, &v), RC_OK);
    CHECK_SPAN(v, "grant");
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK_SPAN(v, "used:f1");
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK(t >= 99 && t <= 100);
    CHECK_RC(store_swap(s, &a, k, SPAN(""), 0, &v), RC_OK);
    CHECK_SPAN(v, "used:f1");
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK_INT(t, -1);
    CHECK_RC(store_set_add(s, ks, SPAN("m"), 60), RC_OK);
    CHECK_RC(store_swap(s, &a, ks, SPAN("x"), 60, &v), RC_CONFLICT);
    CHECK_RC(store_swap(s, &a, span_of("a\0b", 3), SPAN("x"), 60, &v), RC_MALFORMED);
    TEARDOWN();
}

/* ---- scan and rec_cas (jobs that walk the store: flow/rewrap.h) ---- */

#define NSCAN 300

/* Walks prefix to the end, page by page (count 10), marking key i (pfx:k<i>) in seen; every
 * `churn` pages it calls churn_fn. Returns the pages, or -1 on a failed call. */
static int
walk(struct store *s, struct arena *a, const char *pfx, const char *sub, int *seen,
     void (*churn_fn)(struct store *, struct arena *, const char *, int), int *foreign)
{
    struct span prefix = span_str(arena_printf(a, "%s:%s", pfx, sub)), *keys;
    uint64_t cur = 0;
    size_t n;
    int pages = 0, i;

    do {
        if (store_scan(s, a, &cur, prefix, 10, &keys, &n) != RC_OK)
            return -1;
        for (size_t j = 0; j < n; j++) {
            char *k = arena_strndup(a, (const char *)keys[j].p, keys[j].len);
            const char *tail = k + strlen(pfx) + 1;
            if (strncmp(k, (const char *)prefix.p, prefix.len) != 0)
                (*foreign)++;
            else if (sscanf(tail, "k%d", &i) == 1 && i >= 0 && i < NSCAN)
                seen[i]++;
        }
        if (churn_fn)
            churn_fn(s, a, pfx, pages);
        pages++;
    } while (cur != 0 && pages < 100000);
    return pages;
}

TEST(store_scan_answers_every_key_of_the_prefix)
{
    static int seen[NSCAN];
    int foreign = 0, pages;
    struct span *keys;
    uint64_t cur = 0;
    size_t n;
    SETUP();
    struct store_field f = {SPAN("f"), SPAN("v")};
    char up[40]; /* no hash tag: in a cluster the keys spread over every master */

    snprintf(up, sizeof(up), "ctu%.16s", pfx + 4);

    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < NSCAN; i++) {
        struct span k = span_str(arena_printf(&a, "%s:k%d", up, i));
        enum rc rc = i % 3 == 0   ? store_put(s, k, SPAN("v"), 60, 0)
                     : i % 3 == 1 ? store_rec_put(s, k, &f, 1, 0, 0)
                                  : store_set_add(s, k, SPAN("m"), 60);
        CHECK_RC(rc, RC_OK);
    }
    /* outside the prefix: never answered; a glob character in the prefix is literal */
    CHECK_RC(store_put(s, K(&a, up, "other"), SPAN("v"), 60, 0), RC_OK);
    CHECK_RC(store_put(s, K(&a, up, "k*x"), SPAN("v"), 60, 0), RC_OK);
    pages = walk(s, &a, up, "k", seen, NULL, &foreign);
    CHECK(pages > 0);
    CHECK_INT(foreign, 0);
    for (int i = 0; i < NSCAN; i++)
        if (seen[i] < 1)
            CHECK_INT(seen[i], 1);
    /* a literal "*": only the key that has it */
    cur = 0;
    n = 0;
    int star = 0;
    do {
        CHECK_RC(store_scan(s, &a, &cur, K(&a, up, "k*"), 50, &keys, &n), RC_OK);
        for (size_t j = 0; j < n; j++)
            star += span_eq(keys[j], K(&a, up, "k*x")) ? 1 : 100;
    } while (cur != 0);
    CHECK_INT(star, 1);
    CHECK_RC(store_scan(s, &a, &cur, K(&a, up, "k"), 0, &keys, &n), RC_MALFORMED);
    CHECK_RC(store_scan(s, &a, &cur, K(&a, up, "k"), STORE_SCAN_MAX + 1, &keys, &n), RC_MALFORMED);
    CHECK_RC(store_scan(s, &a, &cur, span_of("a\0b", 3), 10, &keys, &n), RC_MALFORMED);
    TEARDOWN();
}

/* Between pages: adds 20 keys and deletes the 20 of the page before (not the stable ones). */
static void
churn(struct store *s, struct arena *a, const char *pfx, int page)
{
    for (int i = 0; i < 20; i++) {
        store_put(s, span_str(arena_printf(a, "%s:kx%d_%d", pfx, page, i)), SPAN("v"), 60, 0);
        if (page > 0)
            store_del(s, span_str(arena_printf(a, "%s:kx%d_%d", pfx, page - 1, i)));
    }
}

TEST(store_scan_misses_no_key_present_throughout)
{
    static int seen[NSCAN];
    int foreign = 0;
    SETUP();

    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < NSCAN; i++)
        CHECK_RC(store_put(s, span_str(arena_printf(&a, "%s:k%d", pfx, i)), SPAN("v"), 60, 0),
                 RC_OK);
    /* keys come and go (and the memory store's tables grow) while the walk goes on */
    CHECK(walk(s, &a, pfx, "k", seen, churn, &foreign) > 0);
    CHECK_INT(foreign, 0);
    for (int i = 0; i < NSCAN; i++)
        if (seen[i] < 1)
            CHECK_INT(seen[i], 1);
    TEARDOWN();
}

TEST(store_scan_resumes_from_a_saved_cursor)
{
    static int seen[NSCAN];
    struct span *keys, prefix;
    uint64_t cur = 0;
    size_t n;
    int pages = 0, i;
    SETUP();
    struct store *s2 = is_memory() ? s : open_store(); /* memory: private to one handle */

    REQUIRE(s2 != NULL);
    memset(seen, 0, sizeof(seen));
    prefix = K(&a, pfx, "k");
    for (i = 0; i < NSCAN; i++)
        CHECK_RC(store_put(s, span_str(arena_printf(&a, "%s:k%d", pfx, i)), SPAN("v"), 60, 0),
                 RC_OK);
    do { /* every page on the other handle (another connection) than the page before */
        CHECK_RC(store_scan(pages % 2 ? s2 : s, &a, &cur, prefix, 20, &keys, &n), RC_OK);
        for (size_t j = 0; j < n; j++)
            if (sscanf((const char *)keys[j].p + prefix.len, "%d", &i) == 1 && i >= 0 && i < NSCAN)
                seen[i]++;
        pages++;
    } while (cur != 0 && pages < 100000);
    for (i = 0; i < NSCAN; i++)
        if (seen[i] < 1)
            CHECK_INT(seen[i], 1);
    if (s2 != s)
        store_free(s2);
    TEARDOWN();
}

TEST(store_rec_cas_writes_only_what_it_saw)
{
    struct store_record rec;
    int64_t t;
    SETUP();
    struct span k = K(&a, pfx, "rec"), kv = K(&a, pfx, "val");
    struct store_field init[] = {
        {SPAN("a"), SPAN("1")}, {SPAN("b"), SPAN("2")}, {SPAN("c"), SPAN("3")}};
    struct store_field exp[] = {{SPAN("a"), SPAN("1")}, {SPAN("b"), SPAN("2")}};
    struct store_field upd[] = {{SPAN("a"), SPAN("10")}, {SPAN("b"), SPAN("")}};
    struct store_field wrong[] = {{SPAN("a"), SPAN("1")}, {SPAN("b"), SPAN("9")}};
    struct store_field absent[] = {{SPAN("z"), SPAN("")}};
    struct store_field other[] = {{SPAN("x"), SPAN("1")}, {SPAN("b"), SPAN("2")}};

    CHECK_RC(store_rec_cas(s, k, exp, upd, 2), RC_NOT_FOUND);
    CHECK_RC(store_rec_get(s, &a, k, &rec), RC_NOT_FOUND); /* nothing created */
    CHECK_RC(store_rec_put(s, k, init, 3, 100, 0), RC_OK);
    CHECK_RC(store_rec_cas(s, k, wrong, upd, 2), RC_CONFLICT);
    CHECK_RC(store_rec_cas(s, k, absent, absent, 1), RC_CONFLICT); /* absent is not "" */
    CHECK_RC(store_rec_get(s, &a, k, &rec), RC_OK);
    CHECK_SPAN(store_rec_field(&rec, "a"), "1"); /* a conflict writes nothing */
    CHECK(store_rec_field(&rec, "z").p == NULL);
    CHECK_RC(store_rec_cas(s, k, exp, upd, 2), RC_OK);
    CHECK_RC(store_rec_get(s, &a, k, &rec), RC_OK);
    CHECK_INT(rec.n, 3);
    CHECK_SPAN(store_rec_field(&rec, "a"), "10");
    CHECK_SPAN(store_rec_field(&rec, "b"), "");
    CHECK_SPAN(store_rec_field(&rec, "c"), "3");
    CHECK_RC(store_ttl(s, k, &t), RC_OK); /* the ttl stays */
    CHECK(t >= 98 && t <= 100);
    CHECK_RC(store_rec_cas(s, k, exp, upd, 2), RC_CONFLICT); /* the old value is gone */
    CHECK_RC(store_put(s, kv, SPAN("v"), 60, 0), RC_OK);
    CHECK_RC(store_rec_cas(s, kv, exp, upd, 2), RC_CONFLICT);   /* another kind */
    CHECK_RC(store_rec_cas(s, k, other, upd, 2), RC_MALFORMED); /* names differ */
    CHECK_RC(store_rec_cas(s, k, exp, upd, 0), RC_MALFORMED);
    TEARDOWN();
}

#define NCAS_THREADS 4
#define NCAS         100

struct cas_race {
    struct store *s;
    struct span key;
    atomic_int errors;
};

/* NCAS read-increment-compare-and-swap loops on field n of the record. */
static void *
cas_adder(void *arg)
{
    struct cas_race *c = arg;
    struct arena a;
    struct store_record rec;

    arena_init(&a, 0);
    for (int i = 0; i < NCAS; i++) {
        for (int tries = 0; tries < 100000; tries++) {
            struct span cur;
            char next[24];
            enum rc rc = store_rec_get(c->s, &a, c->key, &rec);
            if (rc != RC_OK) {
                atomic_fetch_add(&c->errors, 1);
                break;
            }
            cur = store_rec_field(&rec, "n");
            snprintf(next, sizeof(next), "%d",
                     atoi(arena_strndup(&a, (const char *)cur.p, cur.len)) + 1);
            struct store_field e = {SPAN("n"), cur}, f = {SPAN("n"), span_str(next)};
            rc = store_rec_cas(c->s, c->key, &e, &f, 1);
            if (rc == RC_OK)
                break;
            if (rc != RC_CONFLICT) {
                atomic_fetch_add(&c->errors, 1);
                break;
            }
        }
        arena_clear(&a);
    }
    arena_clear(&a);
    return NULL;
}

TEST(store_concurrent_rec_cas_loses_no_write)
{
    static struct cas_race c;
    pthread_t th[NCAS_THREADS];
    struct store_record rec;
    SETUP();
    struct store_field f = {SPAN("n"), SPAN("0")};

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.key = K(&a, pfx, "cas");
    CHECK_RC(store_rec_put(s, c.key, &f, 1, 60, 0), RC_OK);
    for (int i = 0; i < NCAS_THREADS; i++)
        REQUIRE(pthread_create(&th[i], NULL, cas_adder, &c) == 0);
    for (int i = 0; i < NCAS_THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(atomic_load(&c.errors), 0);
    CHECK_RC(store_rec_get(s, &a, c.key, &rec), RC_OK);
    CHECK_SPAN(store_rec_field(&rec, "n"), arena_printf(&a, "%d", NCAS_THREADS * NCAS));
    TEARDOWN();
}

TEST(store_pipeline_answers_each_call)
{
    struct store_field f = {SPAN("owner"), SPAN("u1")};
    struct span v;
    int64_t t;
    SETUP();
    struct span kv = K(&a, pfx, "v"), kn = K(&a, pfx, "new"), kr = K(&a, pfx, "r"),
                ks = K(&a, pfx, "s"), kx = K(&a, pfx, "absent");
    struct store_call c[] = {
        {.op =
             {.kind = STORE_OP_PUT, .key = kn, .value = SPAN("n"), .ttl_s = 60, .flags = STORE_NX}},
        {.op =
             {.kind = STORE_OP_PUT, .key = kv, .value = SPAN("w"), .ttl_s = 60, .flags = STORE_NX}},
        {.op = {.kind = STORE_OP_REC_PUT,
                .key = kr,
                .fields = &f,
                .nfields = 1,
                .ttl_s = 60,
                .flags = STORE_NX}},
        {.op = {.kind = STORE_OP_SET_ADD, .key = kv, .value = SPAN("m"), .ttl_s = 60}},
        {.op = {.kind = STORE_OP_SET_ADD, .key = ks, .value = SPAN("m"), .ttl_s = 60}},
        {.op = {.kind = STORE_OP_GET, .key = kv}},
        {.op = {.kind = STORE_OP_GET, .key = kx}},
        {.op = {.kind = STORE_OP_REC_GET, .key = kr}},
        {.op = {.kind = STORE_OP_REC_GET, .key = kv}},
        {.op = {.kind = STORE_OP_DEL, .key = kx}},
        {.op = {.kind = STORE_OP_EXPIRE, .key = kx, .ttl_s = 10}},
        {.op = {.kind = STORE_OP_EXPIRE, .key = kn, .ttl_s = 300}},
        {.op = {.kind = STORE_OP_DEL, .key = kv}},
    };
    enum rc want[] = {RC_OK, RC_CONFLICT, RC_OK,        RC_CONFLICT,  RC_OK, RC_OK, RC_NOT_FOUND,
                      RC_OK, RC_CONFLICT, RC_NOT_FOUND, RC_NOT_FOUND, RC_OK, RC_OK};

    CHECK_RC(store_put(s, kv, SPAN("old"), 60, 0), RC_OK);
    CHECK_RC(store_pipeline(s, &a, c, 13), RC_OK);
    for (size_t i = 0; i < 13; i++)
        if (c[i].rc != want[i]) {
            fprintf(stderr, "call %zu\n", i);
            CHECK_RC(c[i].rc, want[i]);
        }
    CHECK_SPAN(c[5].value, "old"); /* calls see the ones before them, but none aborts */
    CHECK_INT(c[7].rec.n, 1);
    CHECK_SPAN(store_rec_field(&c[7].rec, "owner"), "u1");
    CHECK_RC(store_get(s, &a, kn, &v), RC_OK);
    CHECK_SPAN(v, "n");
    CHECK_RC(store_ttl(s, kn, &t), RC_OK);
    CHECK(t >= 299 && t <= 300);
    CHECK_RC(store_get(s, &a, kv, &v), RC_NOT_FOUND);
    CHECK_RC(store_pipeline(s, &a, c, 0), RC_OK);
    TEARDOWN();
}

TEST(store_pipeline_rejects_bad_calls)
{
    struct store_call c[STORE_MAX_BATCH + 1];
    struct span v;
    SETUP();

    for (size_t i = 0; i < STORE_MAX_BATCH + 1; i++)
        c[i] = (struct store_call){
            .op = {.kind = STORE_OP_PUT, .key = K(&a, pfx, "x"), .value = SPAN("v")}};
    CHECK_RC(store_pipeline(s, &a, c, STORE_MAX_BATCH + 1), RC_TOO_LARGE);
    c[1].op.key = span_of("a\0b", 3);
    CHECK_RC(store_pipeline(s, &a, c, 2), RC_MALFORMED);
    CHECK_RC(c[0].rc, RC_MALFORMED);
    CHECK_RC(store_get(s, &a, c[0].op.key, &v), RC_NOT_FOUND); /* none was made */
    c[1] = (struct store_call){.op = {.kind = (enum store_op_kind)99, .key = K(&a, pfx, "r")}};
    CHECK_RC(store_pipeline(s, &a, c, 2), RC_MALFORMED);
    TEARDOWN();
}

TEST(store_incr_fixed_window)
{
    int64_t c = 0, t = 0;
    struct span v;
    SETUP();
    struct span k = K(&a, pfx, "ctr"), n = K(&a, pfx, "notnum");

    CHECK_RC(store_incr(s, k, 1, 60, &c), RC_OK);
    CHECK_INT(c, 1);
    CHECK_RC(store_incr(s, k, 5, 3600, &c), RC_OK);
    CHECK_INT(c, 6);
    CHECK_RC(store_incr(s, k, -10, 3600, &c), RC_OK);
    CHECK_INT(c, -4);
    CHECK_RC(store_ttl(s, k, &t), RC_OK); /* the window is not extended */
    CHECK(t >= 59 && t <= 60);
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK_SPAN(v, "-4");
    CHECK_RC(store_incr(s, K(&a, pfx, "forever"), 2, 0, &c), RC_OK);
    CHECK_RC(store_ttl(s, K(&a, pfx, "forever"), &t), RC_OK);
    CHECK_INT(t, -1);
    CHECK_RC(store_put(s, n, SPAN("abc"), 60, 0), RC_OK);
    CHECK_RC(store_incr(s, n, 1, 60, &c), RC_CONFLICT);
    CHECK_RC(store_put(s, n, SPAN("9223372036854775806"), 60, 0), RC_OK);
    CHECK_RC(store_incr(s, n, 1, 60, &c), RC_OK);
    CHECK_INT(c, INT64_MAX);
    CHECK_RC(store_incr(s, n, 1, 60, &c), RC_TOO_LARGE);
    TEARDOWN();
}

TEST(store_wrong_kind_is_conflict)
{
    struct span v, *m;
    struct store_record r;
    size_t n;
    int64_t c;
    struct store_field f = {SPAN("a"), SPAN("1")};
    SETUP();
    struct span kv = K(&a, pfx, "v"), kr = K(&a, pfx, "r"), ks = K(&a, pfx, "s");

    CHECK_RC(store_put(s, kv, SPAN("x"), 60, 0), RC_OK);
    CHECK_RC(store_rec_put(s, kr, &f, 1, 60, 0), RC_OK);
    CHECK_RC(store_set_add(s, ks, SPAN("m"), 60), RC_OK);
    CHECK_RC(store_get(s, &a, kr, &v), RC_CONFLICT);
    CHECK_RC(store_take(s, &a, ks, &v), RC_CONFLICT);
    CHECK_RC(store_incr(s, kr, 1, 60, &c), RC_CONFLICT);
    CHECK_RC(store_rec_get(s, &a, kv, &r), RC_CONFLICT);
    CHECK_RC(store_rec_put(s, ks, &f, 1, 60, 0), RC_CONFLICT);
    CHECK_RC(store_set_add(s, kv, SPAN("m"), 60), RC_CONFLICT);
    CHECK_RC(store_set_members(s, &a, kr, &m, &n), RC_CONFLICT);
    CHECK_RC(store_q_push(s, ks, SPAN("i"), 1), RC_CONFLICT);
    CHECK_RC(store_q_len(s, kv, &c), RC_CONFLICT);
    CHECK_RC(store_get(s, &a, kr, &v), RC_CONFLICT); /* the record is intact */
    CHECK_RC(store_rec_get(s, &a, kr, &r), RC_OK);
    CHECK_RC(store_put(s, kr, SPAN("now a value"), 60, 0), RC_OK); /* put replaces any kind */
    CHECK_RC(store_get(s, &a, kr, &v), RC_OK);
    TEARDOWN();
}

TEST(store_records_merge_and_nx)
{
    struct store_record r;
    int64_t t;
    struct store_field f1[] = {{SPAN("sub"), SPAN("u1")}, {SPAN("acr"), SPAN("ial3")}};
    struct store_field f2[] = {{SPAN("acr"), SPAN("ial4")}, {SPAN("amr"), span_of("p\0w", 3)}};
    SETUP();
    struct span k = K(&a, pfx, "sess");

    CHECK_RC(store_rec_get(s, &a, k, &r), RC_NOT_FOUND);
    CHECK_RC(store_rec_put(s, k, f1, 2, 60, STORE_XX), RC_NOT_FOUND);
    CHECK_RC(store_rec_put(s, k, f1, 2, 60, STORE_NX), RC_OK);
    CHECK_RC(store_rec_put(s, k, f2, 2, 60, STORE_NX), RC_CONFLICT);
    CHECK_RC(store_rec_get(s, &a, k, &r), RC_OK);
    CHECK_INT(r.n, 2);
    CHECK_SPAN(store_rec_field(&r, "acr"), "ial3");
    CHECK_RC(store_rec_put(s, k, f2, 2, 120, STORE_XX | STORE_DURABLE), RC_OK);
    CHECK_RC(store_rec_get(s, &a, k, &r), RC_OK);
    CHECK_INT(r.n, 3);
    CHECK_SPAN(store_rec_field(&r, "sub"), "u1");
    CHECK_SPAN(store_rec_field(&r, "acr"), "ial4");
    CHECK(store_rec_field(&r, "amr").len == 3
          && memcmp(store_rec_field(&r, "amr").p, "p\0w", 3) == 0);
    CHECK(store_rec_field(&r, "nope").p == NULL);
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK(t >= 119 && t <= 120);
    CHECK_RC(store_rec_put(s, k, f1, 0, 60, 0), RC_MALFORMED);
    TEARDOWN();
}

static bool
has_member(const struct span *m, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (span_eq_str(m[i], want))
            return true;
    return false;
}

TEST(store_sets)
{
    struct span *m = NULL;
    size_t n = 0;
    int64_t t;
    SETUP();
    struct span k = K(&a, pfx, "clients");

    CHECK_RC(store_set_members(s, &a, k, &m, &n), RC_NOT_FOUND);
    CHECK_RC(store_set_rem(s, k, SPAN("portal")), RC_NOT_FOUND);
    CHECK_RC(store_set_add(s, k, SPAN("portal"), 60), RC_OK);
    CHECK_RC(store_set_add(s, k, SPAN("app"), 90), RC_OK);
    CHECK_RC(store_set_add(s, k, SPAN("portal"), 90), RC_OK);
    CHECK_RC(store_set_members(s, &a, k, &m, &n), RC_OK);
    CHECK_INT(n, 2);
    CHECK(has_member(m, n, "portal") && has_member(m, n, "app"));
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK(t >= 89 && t <= 90);
    CHECK_RC(store_set_rem(s, k, SPAN("portal")), RC_OK);
    CHECK_RC(store_set_rem(s, k, SPAN("portal")), RC_NOT_FOUND);
    CHECK_RC(store_set_members(s, &a, k, &m, &n), RC_OK);
    CHECK_INT(n, 1);
    CHECK_SPAN(m[0], "app");
    CHECK_RC(store_set_rem(s, k, SPAN("app")), RC_OK);
    CHECK_RC(store_set_members(s, &a, k, &m, &n), RC_NOT_FOUND); /* empty sets vanish */
    CHECK_RC(store_set_add(s, k, SPAN(""), 60), RC_MALFORMED);
    TEARDOWN();
}

/* A pipeline's SET_ADD with STORE_XX adds only to a set that exists (the code exchange
 * joins its client to a session's set only while the session lives); NX is refused, and
 * so is XX in a batch. */
TEST(store_set_add_xx_only_to_an_existing_set)
{
    struct store_call c[2] = {0};
    struct store_op b[1];
    struct span *m = NULL;
    size_t n = 0;
    int64_t t;
    SETUP();
    struct span k = K(&a, pfx, "rps"), r = K(&a, pfx, "rec");

    c[0].op = (struct store_op){
        .kind = STORE_OP_SET_ADD, .key = k, .value = SPAN("portal"), .ttl_s = 60, .flags = STORE_XX};
    c[1].op = (struct store_op){.kind = STORE_OP_REC_GET, .key = r};
    CHECK_RC(store_pipeline(s, &a, c, 2), RC_OK);
    CHECK_RC(c[0].rc, RC_NOT_FOUND);
    CHECK_RC(store_set_members(s, &a, k, &m, &n), RC_NOT_FOUND); /* nothing was made */
    CHECK_RC(store_set_add(s, k, SPAN("."), 30), RC_OK);
    CHECK_RC(store_pipeline(s, &a, c, 2), RC_OK);
    CHECK_RC(c[0].rc, RC_OK);
    CHECK_RC(store_set_members(s, &a, k, &m, &n), RC_OK);
    CHECK_INT(n, 2);
    CHECK(has_member(m, n, "portal") && has_member(m, n, "."));
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK(t >= 59 && t <= 60);
    /* a key of another kind is still a conflict */
    CHECK_RC(store_put(s, r, SPAN("v"), 60, 0), RC_OK);
    c[0].op.key = r;
    CHECK_RC(store_pipeline(s, &a, c, 1), RC_OK);
    CHECK_RC(c[0].rc, RC_CONFLICT);
    c[0].op.flags = STORE_NX;
    CHECK_RC(store_pipeline(s, &a, c, 1), RC_MALFORMED);
    b[0] = (struct store_op){
        .kind = STORE_OP_SET_ADD, .key = k, .value = SPAN("app"), .ttl_s = 60, .flags = STORE_XX};
    CHECK_RC(store_batch(s, b, 1), RC_MALFORMED);
    TEARDOWN();
}

/* Big sets and records (the memory store indexes their items past a handful). */
TEST(store_big_sets_and_records)
{
    struct store_field f[STORE_MAX_FIELDS];
    struct store_record r;
    struct span *m;
    size_t n;
    SETUP();
    struct span ks = K(&a, pfx, "fams"), kr = K(&a, pfx, "rec");

    for (int i = 0; i < 300; i++)
        CHECK_RC(store_set_add(s, ks, span_str(arena_printf(&a, "fam%d", i)), 60), RC_OK);
    for (int i = 0; i < 300; i += 7) /* again: no duplicates */
        CHECK_RC(store_set_add(s, ks, span_str(arena_printf(&a, "fam%d", i)), 60), RC_OK);
    CHECK_RC(store_set_members(s, &a, ks, &m, &n), RC_OK);
    CHECK_INT(n, 300);
    for (int i = 0; i < 300; i += 2)
        CHECK_RC(store_set_rem(s, ks, span_str(arena_printf(&a, "fam%d", i))), RC_OK);
    CHECK_RC(store_set_rem(s, ks, SPAN("fam0")), RC_NOT_FOUND);
    CHECK_RC(store_set_rem(s, ks, SPAN("fam1")), RC_OK);
    CHECK_RC(store_set_members(s, &a, ks, &m, &n), RC_OK);
    CHECK_INT(n, 149);
    for (int i = 0; i < 300; i++)
        CHECK_RC(store_set_add(s, ks, span_str(arena_printf(&a, "fam%d", i)), 60), RC_OK);
    CHECK_RC(store_set_members(s, &a, ks, &m, &n), RC_OK);
    CHECK_INT(n, 300);
    for (int i = 0; i < STORE_MAX_FIELDS; i++)
        f[i] = (struct store_field){span_str(arena_printf(&a, "f%d", i)), SPAN("old")};
    CHECK_RC(store_rec_put(s, kr, f, STORE_MAX_FIELDS, 60, 0), RC_OK);
    for (int i = 0; i < STORE_MAX_FIELDS; i += 3)
        f[i].value = span_str(arena_printf(&a, "new%d", i));
    CHECK_RC(store_rec_put(s, kr, f, STORE_MAX_FIELDS, 60, 0), RC_OK);
    CHECK_RC(store_rec_get(s, &a, kr, &r), RC_OK);
    CHECK_INT(r.n, STORE_MAX_FIELDS);
    CHECK_SPAN(store_rec_field(&r, "f3"), "new3");
    CHECK_SPAN(store_rec_field(&r, "f4"), "old");
    TEARDOWN();
}

/* Indexes: added in batches, bounded, read newest first in pages (port/store.h). */
TEST(store_index_bounded_and_paged)
{
    struct span *m = NULL, v;
    size_t n = 9;
    int64_t t;
    SETUP();
    struct span k = K(&a, pfx, "ix"), kr = K(&a, pfx, "rec"), kq = K(&a, pfx, "q");

    CHECK_RC(store_index_range(s, &a, k, INT64_MAX, 10, &m, &n), RC_OK); /* absent: empty */
    CHECK_INT(n, 0);
    for (int i = 1; i <= 12; i++) {
        struct store_op ops[] = {
            {.kind = STORE_OP_PUT,
             .key = K(&a, pfx, arena_printf(&a, "r%d", i)),
             .value = SPAN("x"),
             .flags = STORE_NX},
            {.kind = STORE_OP_INDEX_ADD,
             .key = k,
             .value = span_str(arena_printf(&a, "%d", i)),
             .score = i,
             .keep = 10,
             .ttl_s = i == 12 ? 600 : 0},
        };
        CHECK_RC(store_batch(s, ops, 2), RC_OK);
    }
    CHECK_RC(store_index_range(s, &a, k, INT64_MAX, 4, &m, &n), RC_OK);
    CHECK_INT(n, 4);
    CHECK_SPAN(m[0], "12");
    CHECK_SPAN(m[3], "9");
    CHECK_RC(store_index_range(s, &a, k, 9, 100, &m, &n), RC_OK); /* the next page */
    CHECK_INT(n, 6);
    CHECK_SPAN(m[0], "8");
    CHECK_SPAN(m[5], "3"); /* 1 and 2 went: 10 kept */
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK(t >= 599 && t <= 600);
    /* equal scores: the greater member first when read, the smaller one goes first */
    struct store_op tie[] = {
        {.kind = STORE_OP_INDEX_ADD, .key = k, .value = SPAN("b"), .score = 100, .keep = 3},
        {.kind = STORE_OP_INDEX_ADD, .key = k, .value = SPAN("a"), .score = 100, .keep = 3},
        {.kind = STORE_OP_INDEX_ADD, .key = k, .value = SPAN("c"), .score = 100, .keep = 3},
        {.kind = STORE_OP_INDEX_ADD, .key = k, .value = SPAN("0"), .score = 100, .keep = 3},
    };
    CHECK_RC(store_batch(s, tie, 4), RC_OK);
    CHECK_RC(store_index_range(s, &a, k, INT64_MAX, 10, &m, &n), RC_OK);
    CHECK_INT(n, 3);
    CHECK_SPAN(m[0], "c");
    CHECK_SPAN(m[1], "b");
    CHECK_SPAN(m[2], "a");
    CHECK_RC(store_ttl(s, k, &t), RC_OK);
    CHECK_INT(t, -1); /* ttl 0: no expiry */
    /* a failing op in the batch writes no index entry either */
    struct store_op fail[] = {
        {.kind = STORE_OP_INDEX_ADD, .key = k, .value = SPAN("d"), .score = 200, .keep = 3},
        {.kind = STORE_OP_PUT, .key = K(&a, pfx, "r1"), .value = SPAN("x"), .flags = STORE_NX},
    };
    CHECK_RC(store_batch(s, fail, 2), RC_CONFLICT);
    CHECK_RC(store_index_range(s, &a, k, INT64_MAX, 1, &m, &n), RC_OK);
    CHECK_SPAN(m[0], "c");
    /* kinds: an index is a queue; a record or a string is another kind */
    CHECK_RC(store_put(s, kr, SPAN("v"), 60, 0), RC_OK);
    struct store_op wrong = {.kind = STORE_OP_INDEX_ADD, .key = kr, .value = SPAN("1"), .score = 1};
    CHECK_RC(store_batch(s, &wrong, 1), RC_CONFLICT);
    CHECK_RC(store_get(s, &a, kr, &v), RC_OK);
    CHECK_RC(store_index_range(s, &a, kr, INT64_MAX, 1, &m, &n), RC_CONFLICT);
    CHECK_RC(store_q_push(s, kq, SPAN("item"), 5), RC_OK);
    CHECK_RC(store_index_range(s, &a, kq, INT64_MAX, 5, &m, &n), RC_OK);
    CHECK_INT(n, 1);
    /* bad calls */
    CHECK_RC(store_index_range(s, &a, k, INT64_MAX, 0, &m, &n), RC_MALFORMED);
    CHECK_RC(store_index_range(s, &a, k, INT64_MAX, STORE_INDEX_READ_MAX + 1, &m, &n),
             RC_MALFORMED);
    struct store_op bad[] = {
        {.kind = STORE_OP_INDEX_ADD,
         .key = k,
         .value = SPAN("x"),
         .score = STORE_INDEX_SCORE_MAX + 1},
        {.kind = STORE_OP_INDEX_ADD, .key = k, .value = SPAN("")},
        {.kind = STORE_OP_INDEX_ADD, .key = k, .value = SPAN("x"), .flags = STORE_NX},
    };
    for (size_t i = 0; i < 3; i++)
        CHECK_RC(store_batch(s, &bad[i], 1), RC_MALFORMED);
    struct store_call c = {.op = {.kind = STORE_OP_INDEX_ADD, .key = k, .value = SPAN("x")}};
    CHECK_RC(store_pipeline(s, &a, &c, 1), RC_MALFORMED); /* batch only */
    TEARDOWN();
}

TEST(store_queue_claim_lease_done)
{
    struct span it;
    int64_t n = -1, now = 1700000000;
    SETUP();
    struct span q = K(&a, pfx, "q");

    CHECK_RC(store_q_len(s, q, &n), RC_OK);
    CHECK_INT(n, 0);
    CHECK_RC(store_q_claim(s, &a, q, now, 30, &it), RC_NOT_FOUND);
    CHECK_RC(store_q_push(s, q, SPAN("late"), now + 100), RC_OK);
    CHECK_RC(store_q_push(s, q, SPAN("b"), now - 5), RC_OK);
    CHECK_RC(store_q_push(s, q, SPAN("a"), now - 5), RC_OK);
    CHECK_RC(store_q_push(s, q, SPAN("first"), now - 10), RC_OK);
    CHECK_RC(store_q_len(s, q, &n), RC_OK);
    CHECK_INT(n, 4);
    CHECK_RC(store_q_claim(s, &a, q, now, 30, &it), RC_OK);
    CHECK_SPAN(it, "first");
    CHECK_RC(store_q_claim(s, &a, q, now, 30, &it), RC_OK);
    CHECK_SPAN(it, "a"); /* equal due: by name */
    CHECK_RC(store_q_claim(s, &a, q, now, 30, &it), RC_OK);
    CHECK_SPAN(it, "b");
    CHECK_RC(store_q_claim(s, &a, q, now + 29, 30, &it), RC_NOT_FOUND); /* all leased */
    CHECK_RC(store_q_done(s, q, SPAN("first")), RC_OK);
    CHECK_RC(store_q_done(s, q, SPAN("first")), RC_NOT_FOUND);
    CHECK_RC(store_q_len(s, q, &n), RC_OK);
    CHECK_INT(n, 3);
    CHECK_RC(store_q_claim(s, &a, q, now + 30, 30, &it), RC_OK); /* lease over: back again */
    CHECK_SPAN(it, "a");
    CHECK_RC(store_q_done(s, q, SPAN("a")), RC_OK);
    CHECK_RC(store_q_done(s, q, SPAN("b")), RC_OK);
    CHECK_RC(store_q_claim(s, &a, q, now + 99, 30, &it), RC_NOT_FOUND);
    CHECK_RC(store_q_claim(s, &a, q, now + 100, 30, &it), RC_OK);
    CHECK_SPAN(it, "late");
    CHECK_RC(store_q_done(s, q, SPAN("late")), RC_OK);
    CHECK_RC(store_q_len(s, q, &n), RC_OK);
    CHECK_INT(n, 0);
    TEARDOWN();
}

TEST(store_batch_applies_all)
{
    struct span v, *m;
    size_t n;
    struct store_record r;
    int64_t t;
    struct store_field f = {SPAN("owner"), SPAN("u1")};
    SETUP();
    struct span kc = K(&a, pfx, "code"), kr = K(&a, pfx, "sess"), ks = K(&a, pfx, "cl"),
                kd = K(&a, pfx, "old");
    struct store_op ops[] = {
        {.kind = STORE_OP_PUT, .key = kc, .value = SPAN("grant"), .ttl_s = 60, .flags = STORE_NX},
        {.kind = STORE_OP_REC_PUT, .key = kr, .fields = &f, .nfields = 1, .ttl_s = 60},
        {.kind = STORE_OP_SET_ADD, .key = ks, .value = SPAN("portal"), .ttl_s = 60},
        {.kind = STORE_OP_DEL, .key = kd},
        {.kind = STORE_OP_EXPIRE, .key = kr, .ttl_s = 300},
        {.kind = STORE_OP_EXPIRE, .key = K(&a, pfx, "absent"), .ttl_s = 300},
    };

    CHECK_RC(store_put(s, kd, SPAN("x"), 60, 0), RC_OK);
    CHECK_RC(store_batch(s, ops, 6), RC_OK);
    CHECK_RC(store_get(s, &a, kc, &v), RC_OK);
    CHECK_SPAN(v, "grant");
    CHECK_RC(store_rec_get(s, &a, kr, &r), RC_OK);
    CHECK_SPAN(store_rec_field(&r, "owner"), "u1");
    CHECK_RC(store_set_members(s, &a, ks, &m, &n), RC_OK);
    CHECK_INT(n, 1);
    CHECK_RC(store_get(s, &a, kd, &v), RC_NOT_FOUND);
    CHECK_RC(store_ttl(s, kr, &t), RC_OK);
    CHECK(t >= 299 && t <= 300);
    CHECK_RC(store_batch(s, ops + 3, 1), RC_OK); /* deleting the absent is fine */
    CHECK_RC(store_batch(s, ops, 0), RC_OK);
    TEARDOWN();
}

TEST(store_batch_conflict_aborts_all)
{
    struct span v;
    struct store_record r;
    struct store_field f = {SPAN("owner"), SPAN("u1")};
    SETUP();
    struct span k1 = K(&a, pfx, "a"), k2 = K(&a, pfx, "b"), kr = K(&a, pfx, "r");
    struct store_op nx[] = {
        {.kind = STORE_OP_REC_PUT, .key = kr, .fields = &f, .nfields = 1, .ttl_s = 60},
        {.kind = STORE_OP_PUT, .key = k1, .value = SPAN("new"), .ttl_s = 60},
        {.kind = STORE_OP_PUT, .key = k2, .value = SPAN("new"), .ttl_s = 60, .flags = STORE_NX},
    };
    struct store_op xx[] = {
        {.kind = STORE_OP_PUT, .key = k1, .value = SPAN("new"), .ttl_s = 60},
        {.kind = STORE_OP_PUT, .key = kr, .value = SPAN("v"), .ttl_s = 60, .flags = STORE_XX},
    };
    struct store_op seq[] = {
        {.kind = STORE_OP_PUT, .key = kr, .value = SPAN("v"), .ttl_s = 60},
        {.kind = STORE_OP_PUT, .key = kr, .value = SPAN("w"), .ttl_s = 60, .flags = STORE_NX},
    };
    struct store_op kind[] = {
        {.kind = STORE_OP_PUT, .key = k1, .value = SPAN("new"), .ttl_s = 60},
        {.kind = STORE_OP_SET_ADD, .key = k2, .value = SPAN("m"), .ttl_s = 60},
    };

    CHECK_RC(store_put(s, k2, SPAN("old"), 60, 0), RC_OK);
    CHECK_RC(store_batch(s, nx, 3), RC_CONFLICT);
    CHECK_RC(store_get(s, &a, k1, &v), RC_NOT_FOUND);
    CHECK_RC(store_rec_get(s, &a, kr, &r), RC_NOT_FOUND);
    CHECK_RC(store_get(s, &a, k2, &v), RC_OK);
    CHECK_SPAN(v, "old");
    CHECK_RC(store_batch(s, xx, 2), RC_NOT_FOUND);
    CHECK_RC(store_get(s, &a, k1, &v), RC_NOT_FOUND);
    CHECK_RC(store_batch(s, seq, 2), RC_CONFLICT); /* ops see the ones before them */
    CHECK_RC(store_get(s, &a, kr, &v), RC_NOT_FOUND);
    CHECK_RC(store_batch(s, kind, 2), RC_CONFLICT); /* k2 is a value, not a set */
    CHECK_RC(store_get(s, &a, k1, &v), RC_NOT_FOUND);
    TEARDOWN();
}

TEST(store_batch_rejects_bad_ops)
{
    struct store_op ops[STORE_MAX_BATCH + 1];
    SETUP();

    for (size_t i = 0; i < STORE_MAX_BATCH + 1; i++)
        ops[i] = (struct store_op){.kind = STORE_OP_DEL, .key = K(&a, pfx, "x")};
    CHECK_RC(store_batch(s, ops, STORE_MAX_BATCH + 1), RC_TOO_LARGE);
    CHECK_RC(store_batch(s, ops, STORE_MAX_BATCH), RC_OK);
    ops[1].key = span_of("a\0b", 3);
    CHECK_RC(store_batch(s, ops, 2), RC_MALFORMED);
    ops[1] = (struct store_op){.kind = STORE_OP_REC_PUT, .key = K(&a, pfx, "r"), .nfields = 0};
    CHECK_RC(store_batch(s, ops, 2), RC_MALFORMED);
    ops[1] = (struct store_op){.kind = (enum store_op_kind)99, .key = K(&a, pfx, "r")};
    CHECK_RC(store_batch(s, ops, 2), RC_MALFORMED);
    ops[1] = (struct store_op){.kind = STORE_OP_GET, .key = K(&a, pfx, "r")};
    CHECK_RC(store_batch(s, ops, 2), RC_MALFORMED); /* reads belong in a pipeline */
    ops[1] = (struct store_op){
        .kind = STORE_OP_LIMIT, .key = K(&a, pfx, "rl"), .period_ms = 1000, .burst = 1};
    CHECK_RC(store_batch(s, ops, 2), RC_MALFORMED); /* and so do limits */
    TEARDOWN();
}

TEST(store_size_limits)
{
    static uint8_t big[STORE_MAX_VALUE + 1];
    char longkey[STORE_MAX_KEY + 2];
    struct store_field many[STORE_MAX_FIELDS + 1];
    struct span v;
    int64_t c;
    SETUP();
    struct span kl, k = K(&a, pfx, "big");

    memset(big, 'v', sizeof(big));
    memset(longkey, 'k', sizeof(longkey));
    memcpy(longkey, pfx, strlen(pfx));
    kl = span_of(longkey, STORE_MAX_KEY + 1);
    CHECK_RC(store_put(s, kl, SPAN("x"), 60, 0), RC_TOO_LARGE);
    CHECK_RC(store_get(s, &a, kl, &v), RC_TOO_LARGE);
    CHECK_RC(store_incr(s, kl, 1, 60, &c), RC_TOO_LARGE);
    CHECK_RC(store_put(s, span_of(longkey, STORE_MAX_KEY), SPAN("x"), 60, 0), RC_OK);
    CHECK_RC(store_put(s, span_of("ct:\0x", 5), SPAN("x"), 60, 0), RC_MALFORMED);
    CHECK_RC(store_take(s, &a, span_of("ct:\0x", 5), &v), RC_MALFORMED);
    CHECK_RC(store_del(s, span_of("", 0)), RC_MALFORMED);
    CHECK_RC(store_put(s, k, span_of(big, sizeof(big)), 60, 0), RC_TOO_LARGE);
    CHECK_RC(store_put(s, k, span_of(big, STORE_MAX_VALUE), 60, 0), RC_OK);
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK_INT(v.len, STORE_MAX_VALUE);
    for (size_t i = 0; i < STORE_MAX_FIELDS + 1; i++)
        many[i] = (struct store_field){span_str(arena_printf(&a, "f%zu", i)), SPAN("v")};
    CHECK_RC(store_rec_put(s, K(&a, pfx, "r"), many, STORE_MAX_FIELDS + 1, 60, 0), RC_TOO_LARGE);
    CHECK_RC(store_rec_put(s, K(&a, pfx, "r"), many, STORE_MAX_FIELDS, 60, 0), RC_OK);
    many[0].value = span_of(big, sizeof(big));
    CHECK_RC(store_rec_put(s, K(&a, pfx, "r"), many, 1, 60, 0), RC_TOO_LARGE);
    CHECK_RC(store_set_add(s, K(&a, pfx, "s"), span_of(big, STORE_MAX_KEY + 1), 60), RC_TOO_LARGE);
    CHECK_RC(store_q_push(s, K(&a, pfx, "q"), span_of(big, STORE_MAX_KEY + 1), 1), RC_TOO_LARGE);
    TEARDOWN();
}

TEST(store_key_layout)
{
    struct arena a;
    struct span k;

    arena_init(&a, 0);
    k = store_key(&a, "code", SPAN("3f2a"), ":grant");
    CHECK_SPAN(k, "authd:code:{3f2a}:grant");
    k = store_key(&a, "sess", SPAN("ab"), NULL);
    CHECK_SPAN(k, "authd:sess:{ab}");
    arena_clear(&a);
}

/* ---- concurrency ---- */

#define NTHREADS 8
#define NCODES   200
#define NINCR    1000

struct race {
    struct store *s;
    bool swap; /* store_swap a "used" marker in, instead of store_take */
    char pfx[40];
    atomic_int wins[NCODES];
    atomic_int errors;
};

static void *
taker(void *arg)
{
    struct race *r = arg;
    struct arena a;
    struct span v;

    arena_init(&a, 0);
    for (int i = 0; i < NCODES; i++) {
        struct span k = span_str(arena_printf(&a, "%s:code%d", r->pfx, i));
        enum rc rc =
            r->swap ? store_swap(r->s, &a, k, SPAN("used"), 60, &v) : store_take(r->s, &a, k, &v);
        if (rc == RC_OK && span_eq_str(v, "g"))
            atomic_fetch_add(&r->wins[i], 1);
        else if (rc == RC_OK && r->swap && span_eq_str(v, "used"))
            continue;
        else if (rc != RC_NOT_FOUND)
            atomic_fetch_add(&r->errors, 1);
    }
    arena_clear(&a);
    return NULL;
}

static void
race(bool swap)
{
    static struct race r;
    pthread_t th[NTHREADS];
    SETUP();

    memset(&r, 0, sizeof(r));
    r.s = s;
    r.swap = swap;
    memcpy(r.pfx, pfx, sizeof(pfx));
    for (int i = 0; i < NCODES; i++)
        CHECK_RC(store_put(s, span_str(arena_printf(&a, "%s:code%d", pfx, i)), SPAN("g"), 60, 0),
                 RC_OK);
    for (int i = 0; i < NTHREADS; i++)
        REQUIRE(pthread_create(&th[i], NULL, taker, &r) == 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NCODES; i++)
        if (atomic_load(&r.wins[i]) != 1)
            CHECK_INT(atomic_load(&r.wins[i]), 1);
    CHECK_INT(atomic_load(&r.errors), 0);
    TEARDOWN();
}

TEST(store_concurrent_take_exactly_once)
{
    race(false);
}

TEST(store_concurrent_swap_exactly_once)
{
    race(true);
}

struct counter {
    struct store *s;
    struct span key;
    atomic_int errors;
};

static void *
incrementer(void *arg)
{
    struct counter *c = arg;
    int64_t v;

    for (int i = 0; i < NINCR; i++)
        if (store_incr(c->s, c->key, 1, 60, &v) != RC_OK)
            atomic_fetch_add(&c->errors, 1);
    return NULL;
}

TEST(store_concurrent_incr_is_exact)
{
    static struct counter c;
    pthread_t th[NTHREADS];
    int64_t v = 0;
    SETUP();

    c.s = s;
    c.key = K(&a, pfx, "ctr");
    atomic_store(&c.errors, 0);
    for (int i = 0; i < NTHREADS; i++)
        REQUIRE(pthread_create(&th[i], NULL, incrementer, &c) == 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(atomic_load(&c.errors), 0);
    CHECK_RC(store_incr(s, c.key, 0, 60, &v), RC_OK);
    CHECK_INT(v, NTHREADS * NINCR);
    TEARDOWN();
}

/* ---- failure ---- */

static int
closed_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0
        && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

TEST(store_unreachable_is_unavailable)
{
    struct store *s = NULL;
    struct arena a;
    struct span v;
    int64_t c;
    char url[64];
    int port = closed_port();

    REQUIRE(port > 0);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
    REQUIRE(compose_store_open(url, NULL, &s, NULL) == RC_OK);
    arena_init(&a, 0);
    CHECK_RC(store_ping(s), RC_UNAVAILABLE);
    CHECK_RC(store_put(s, SPAN("ct:x"), SPAN("v"), 60, 0), RC_UNAVAILABLE);
    CHECK_RC(store_get(s, &a, SPAN("ct:x"), &v), RC_UNAVAILABLE);
    CHECK_RC(store_take(s, &a, SPAN("ct:x"), &v), RC_UNAVAILABLE);
    CHECK_RC(store_incr(s, SPAN("ct:x"), 1, 60, &c), RC_UNAVAILABLE);
    CHECK(atomic_load(&s->errors) >= 5);
    store_free(s);
    arena_clear(&a);
}

TEST(store_open_rejects_bad_urls)
{
    struct store *s = (struct store *)1;

    CHECK_RC(compose_store_open("mysql://x", NULL, &s, NULL), RC_MALFORMED);
    CHECK(s == NULL);
    CHECK_RC(compose_store_open("memory:?max_bytes=abc", NULL, &s, NULL), RC_MALFORMED);
    CHECK_RC(compose_store_open("redis://127.0.0.1:notaport/0", NULL, &s, NULL), RC_MALFORMED);
    CHECK_RC(compose_store_open("redis://127.0.0.1:6379/99999", NULL, &s, NULL), RC_MALFORMED);
    CHECK_RC(compose_store_open("redis-sentinel://127.0.0.1:26379", NULL, &s, NULL), RC_MALFORMED);
    CHECK_RC(compose_store_open(NULL, NULL, &s, NULL), RC_MALFORMED);
}

#define LONG_NAME "0123456789012345678901234567890123456789012345678901234567890123456789"

/* memory only: the bound refuses writes, and freeing space makes room again. */
TEST(store_memory_bound_is_full)
{
    struct store *s = NULL;
    struct store_opts o = {.mem_max_bytes = 8192};
    struct store_field f = {SPAN("a"), SPAN("0123456789")};
    int64_t c;
    enum rc rc = RC_OK;
    int n = 0;
    char key[32];

    if (!is_memory())
        return;
    REQUIRE(compose_store_open("memory:", &o, &s, NULL) == RC_OK);
    while (rc == RC_OK && n < 1000) {
        snprintf(key, sizeof(key), "k%d", n++);
        rc = store_put(s, span_str(key), SPAN("0123456789012345678901234567890123456789"), 0, 0);
    }
    CHECK_RC(rc, RC_FULL);
    CHECK(n > 50 && n < 1000);
    CHECK_RC(store_rec_put(s, SPAN(LONG_NAME "r"), &f, 1, 0, 0), RC_FULL);
    CHECK_RC(store_set_add(s, SPAN(LONG_NAME "s"), SPAN("m"), 0), RC_FULL);
    CHECK_RC(store_q_push(s, SPAN(LONG_NAME "q"), SPAN("m"), 0), RC_FULL);
    CHECK_RC(store_incr(s, SPAN(LONG_NAME "c"), 1, 0, &c), RC_FULL);
    CHECK_RC(store_del(s, SPAN("k0")), RC_OK);
    CHECK_RC(store_del(s, SPAN("k1")), RC_OK);
    CHECK_RC(store_put(s, SPAN("k0"), SPAN("short"), 0, 0), RC_OK);
    store_free(s);
}

/* The store with reserve_percent r (the suite's Redis servers run with a maxmemory: a
 * Redis without one has no bound, hence no reserve). */
static struct store *
open_reserve(uint32_t r)
{
    struct store *s = NULL;
    struct store_opts o = test_opts();

    o.reserve_percent = r;
    return compose_store_open(store_url(), &o, &s, NULL) == RC_OK ? s : NULL;
}

/* STORE_LOW: a store wholly reserved refuses low-priority puts (RC_FULL, nothing written)
 * and takes every other write; NX/XX are answered before the bound, as for a plain put. */
TEST(store_low_put_leaves_the_reserve)
{
    struct span v;
    int64_t ttl;
    SETUP();
    struct store *full = open_reserve(100);
    struct span k = K(&a, pfx, "low"), p = K(&a, pfx, "plain");

    REQUIRE(full != NULL);
    CHECK_RC(store_put(full, k, SPAN("pending"), 60, STORE_LOW), RC_FULL);
    CHECK_RC(store_get(full, &a, k, &v), RC_NOT_FOUND);
    CHECK_RC(store_put(full, p, SPAN("session"), 60, 0), RC_OK);
    CHECK_RC(store_rec_put(full, K(&a, pfx, "rec"), &(struct store_field){SPAN("f"), SPAN("v")}, 1,
                           60, 0),
             RC_OK);
    CHECK_RC(store_put(full, p, SPAN("x"), 60, STORE_LOW | STORE_NX), RC_CONFLICT);
    CHECK_RC(store_put(full, k, SPAN("x"), 60, STORE_LOW | STORE_XX), RC_NOT_FOUND);
    CHECK_RC(store_put(full, p, SPAN("x"), 60, STORE_LOW | STORE_XX), RC_FULL);
    CHECK_RC(store_get(full, &a, p, &v), RC_OK);
    CHECK_SPAN(v, "session");
    /* no reserve: a low-priority put is a plain put */
    CHECK_RC(store_put(s, k, SPAN("pending"), 60, STORE_LOW), RC_OK);
    CHECK_RC(store_get(s, &a, k, &v), RC_OK);
    CHECK_SPAN(v, "pending");
    CHECK_RC(store_ttl(s, k, &ttl), RC_OK);
    CHECK(ttl > 0 && ttl <= 60);
    CHECK_RC(store_put(s, k, SPAN("again"), 60, STORE_LOW | STORE_NX), RC_CONFLICT);
    CHECK_RC(store_put(s, k, SPAN("again"), 0, STORE_LOW | STORE_XX), RC_OK);
    CHECK_RC(store_ttl(s, k, &ttl), RC_OK);
    CHECK_INT(ttl, -1);
    CHECK_RC(store_del(s, k), RC_OK);
    store_free(full);
    TEARDOWN();
}

/* STORE_LOW is for single puts: records, batches and pipelines refuse it. */
TEST(store_low_is_for_puts_only)
{
    struct store_field f = {SPAN("f"), SPAN("v")};
    SETUP();
    struct store_op op = {.kind = STORE_OP_PUT,
                          .key = K(&a, pfx, "b"),
                          .value = SPAN("v"),
                          .ttl_s = 60,
                          .flags = STORE_LOW};
    struct store_call c = {.op = op};

    CHECK_RC(store_rec_put(s, K(&a, pfx, "r"), &f, 1, 60, STORE_LOW), RC_MALFORMED);
    CHECK_RC(store_batch(s, &op, 1), RC_MALFORMED);
    CHECK_RC(store_pipeline(s, &a, &c, 1), RC_MALFORMED);
    TEARDOWN();
}

/* memory only (a Redis node's fill is its own): with half the bound in reserve, low puts
 * stop near half, other writes go on to the bound, and freed room takes low puts again. */
TEST(store_memory_reserve_fills_in_order)
{
    struct store *s = NULL;
    struct store_opts o = {.mem_max_bytes = 65536, .reserve_percent = 50};
    static char val[1000];
    int low = 0, plain = 0;
    enum rc rc = RC_OK;
    char key[32];

    if (!is_memory())
        return;
    memset(val, 'v', sizeof(val));
    REQUIRE(compose_store_open("memory:", &o, &s, NULL) == RC_OK);
    while (rc == RC_OK && low < 1000) {
        snprintf(key, sizeof(key), "low%d", low++);
        rc = store_put(s, span_str(key), span_of(val, sizeof(val)), 0, STORE_LOW);
    }
    CHECK_RC(rc, RC_FULL);
    CHECK(low > 25 && low < 35); /* 32 KiB of about 1.07 KB entries */
    for (rc = RC_OK; rc == RC_OK && plain < 1000; plain++) {
        snprintf(key, sizeof(key), "plain%d", plain);
        rc = store_put(s, span_str(key), span_of(val, sizeof(val)), 0, 0);
    }
    CHECK_RC(rc, RC_FULL);
    CHECK(plain > 25 && plain < 35); /* the reserve, used by plain puts only */
    CHECK_RC(store_put(s, SPAN("lowx"), SPAN("x"), 0, STORE_LOW), RC_FULL);
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "plain%d", i);
        CHECK_RC(store_del(s, span_str(key)), RC_OK);
    }
    CHECK_RC(store_put(s, SPAN("lowx"), SPAN("x"), 0, STORE_LOW), RC_FULL); /* still above */
    for (int i = 4; i < plain - 1; i++) { /* the last plain put was refused */
        snprintf(key, sizeof(key), "plain%d", i);
        CHECK_RC(store_del(s, span_str(key)), RC_OK);
    }
    CHECK_RC(store_del(s, SPAN("low0")), RC_OK);
    CHECK_RC(store_put(s, SPAN("lowx"), SPAN("x"), 0, STORE_LOW), RC_OK);
    store_free(s);
}

/* Sentinel only, run by tests/harness/store-setups/sentinel.sh with
 * AUTHD_TEST_SENTINEL_FAILOVER=1 and AUTHD_TEST_MASTER_PID: during a stream of durable
 * writes the master is killed; writes fail RC_UNAVAILABLE for a while, then succeed on the
 * promoted replica, and every write that was acknowledged is still there. */
#define FO_BEFORE 50 /* acknowledged writes before the kill */
#define FO_AFTER  50 /* acknowledged writes after it */
#define FO_MAX_MS 25000

TEST(store_sentinel_failover_keeps_acknowledged_writes)
{
    const char *gate = getenv("AUTHD_TEST_SENTINEL_FAILOVER"),
               *pid = getenv("AUTHD_TEST_MASTER_PID");
    static bool acked[4096];
    int ok_before = 0, ok_after = 0, unavailable = 0, other = 0, i = 0, lost = 0;
    long waited = 0;
    bool killed = false;

    if (!gate || strcmp(gate, "1") != 0)
        return;
    REQUIRE(pid && atoi(pid) > 0);
    SETUP();
    memset(acked, 0, sizeof(acked));
    for (; i < 4096 && ok_after < FO_AFTER && waited < FO_MAX_MS; i++) {
        char key[64], val[16];
        snprintf(key, sizeof(key), "%s:acct:%d", pfx, i);
        snprintf(val, sizeof(val), "%d", i);
        enum rc rc = store_put(s, span_str(key), span_str(val), 0, STORE_DURABLE);
        if (rc == RC_OK) {
            acked[i] = true;
            *(killed ? &ok_after : &ok_before) += 1;
        } else {
            *(rc == RC_UNAVAILABLE ? &unavailable : &other) += 1;
        }
        if (!killed && ok_before == FO_BEFORE) {
            REQUIRE(kill(atoi(pid), SIGKILL) == 0);
            killed = true;
        }
        sleep_ms(10);
        waited += killed ? 10 : 0;
    }
    CHECK(killed);
    CHECK(unavailable > 0);
    CHECK_INT(other, 0);
    CHECK_INT(ok_after, FO_AFTER);
    for (int j = 0; j < i; j++) {
        char key[64], val[16];
        struct span v;
        if (!acked[j])
            continue;
        snprintf(key, sizeof(key), "%s:acct:%d", pfx, j);
        snprintf(val, sizeof(val), "%d", j);
        if (store_get(s, &a, span_str(key), &v) != RC_OK || !span_eq_str(v, val))
            lost++;
    }
    CHECK_INT(lost, 0);
    printf("failover: %d acknowledged before, %d unavailable, %d after, %ld ms\n", ok_before,
           unavailable, ok_after, waited);
    TEARDOWN();
}

TEST(store_limit_token_buckets)
{
    int64_t now = (int64_t)time(NULL) * 1000, retry = 0, t = 0;
    struct store_field f = {SPAN("x"), SPAN("y")};
    SETUP();
    struct span k = K(&a, pfx, "rl"), k2 = K(&a, pfx, "rl2"), r = K(&a, pfx, "rec");
    struct store_limit three = {k, 1000, 3}, one = {k2, 60000, 1};
    struct store_limit both[2] = {one, {K(&a, pfx, "rl3"), 1000, 5}};

    /* a burst of three, then one token a second */
    for (int i = 0; i < 3; i++)
        CHECK_RC(store_limit(s, &three, 1, now, &retry), RC_OK);
    CHECK_RC(store_limit(s, &three, 1, now, &retry), RC_LIMITED);
    CHECK_INT(retry, 1000);
    CHECK_RC(store_limit(s, &three, 1, now + 400, &retry), RC_LIMITED);
    CHECK_INT(retry, 600);
    CHECK_RC(store_limit(s, &three, 1, now + 1000, &retry), RC_OK);
    CHECK_RC(store_limit(s, &three, 1, now + 1000, &retry), RC_LIMITED);
    CHECK_RC(store_ttl(s, k, &t), RC_OK); /* the key lives until the bucket is full again */
    CHECK(t >= 2 && t <= 4);
    /* all or nothing: an empty bucket refuses the call and the other keeps its tokens */
    CHECK_RC(store_limit(s, both, 2, now, &retry), RC_OK);
    CHECK_RC(store_limit(s, both, 2, now, &retry), RC_LIMITED);
    CHECK_INT(retry, 60000);
    for (int i = 0; i < 4; i++)
        CHECK_RC(store_limit(s, &both[1], 1, now, &retry), RC_OK);
    CHECK_RC(store_limit(s, &both[1], 1, now, NULL), RC_LIMITED);
    /* misuse */
    CHECK_RC(store_rec_put(s, r, &f, 1, 60, 0), RC_OK);
    CHECK_RC(store_limit(s, &(struct store_limit){r, 1000, 1}, 1, now, &retry), RC_CONFLICT);
    CHECK_RC(store_limit(s, &(struct store_limit){k, 0, 1}, 1, now, &retry), RC_MALFORMED);
    CHECK_RC(store_limit(s, &(struct store_limit){k, 1000, 0}, 1, now, &retry), RC_MALFORMED);
    CHECK_RC(store_limit(s, both, STORE_MAX_LIMITS + 1, now, &retry), RC_TOO_LARGE);
    CHECK_RC(store_limit(s, both, 0, now, &retry), RC_OK);
    TEARDOWN();
}

/* A limit in a pipeline answers as store_limit with its one bucket, beside the other calls
 * (/authorize takes its token in the round trip that reads the session). */
TEST(store_pipeline_takes_a_token)
{
    int64_t now = (int64_t)time(NULL) * 1000, retry = 0, t = 0;
    struct store_field f = {SPAN("owner"), SPAN("u1")};
    SETUP();
    struct span k = K(&a, pfx, "rl"), kr = K(&a, pfx, "r");
    struct store_op lim = {
        .kind = STORE_OP_LIMIT, .key = k, .period_ms = 1000, .burst = 2, .now_ms = now};
    struct store_call c[2] = {{.op = lim}, {.op = {.kind = STORE_OP_REC_GET, .key = kr}}};

    CHECK_RC(store_rec_put(s, kr, &f, 1, 60, 0), RC_OK);
    for (int i = 0; i < 2; i++) {
        CHECK_RC(store_pipeline(s, &a, c, 2), RC_OK);
        CHECK_RC(c[0].rc, RC_OK);
        CHECK_INT(c[0].retry_ms, 0);
        CHECK_RC(c[1].rc, RC_OK);
        CHECK_SPAN(store_rec_field(&c[1].rec, "owner"), "u1");
    }
    /* the bucket is empty: refused with the wait, and the read is answered all the same */
    CHECK_RC(store_pipeline(s, &a, c, 2), RC_OK);
    CHECK_RC(c[0].rc, RC_LIMITED);
    CHECK_INT(c[0].retry_ms, 1000);
    CHECK_RC(c[1].rc, RC_OK);
    /* the same bucket as store_limit's */
    CHECK_RC(store_limit(s, &(struct store_limit){k, 1000, 2}, 1, now + 400, &retry),
             RC_LIMITED);
    CHECK_INT(retry, 600);
    c[0].op.now_ms = now + 1000;
    CHECK_RC(store_pipeline(s, &a, c, 1), RC_OK);
    CHECK_RC(c[0].rc, RC_OK);
    CHECK_RC(store_limit(s, &(struct store_limit){k, 1000, 2}, 1, now + 1000, &retry),
             RC_LIMITED);
    CHECK_RC(store_ttl(s, k, &t), RC_OK); /* the key lives until the bucket is full again */
    CHECK(t >= 1 && t <= 3);
    /* another kind at the key; a bucket without period or burst, or a clock before 1970 */
    c[0].op.key = kr;
    CHECK_RC(store_pipeline(s, &a, c, 1), RC_OK);
    CHECK_RC(c[0].rc, RC_CONFLICT);
    c[0].op = lim;
    c[0].op.period_ms = 0;
    CHECK_RC(store_pipeline(s, &a, c, 2), RC_MALFORMED);
    CHECK_RC(c[1].rc, RC_MALFORMED); /* none was made */
    c[0].op = lim;
    c[0].op.burst = 0;
    CHECK_RC(store_pipeline(s, &a, c, 2), RC_MALFORMED);
    c[0].op = lim;
    c[0].op.now_ms = -1;
    CHECK_RC(store_pipeline(s, &a, c, 2), RC_MALFORMED);
    TEARDOWN();
}

TEST(store_limit_across_slots)
{
    int64_t now = (int64_t)time(NULL) * 1000, retry = 0;
    char t1[40], t2[40];
    SETUP();
    struct store_limit l[2];

    /* two fresh tags: in a cluster the buckets live on different slots */
    new_prefix(t1, sizeof(t1));
    new_prefix(t2, sizeof(t2));
    l[0] = (struct store_limit){K(&a, t1, "a"), 1000, 2};
    l[1] = (struct store_limit){K(&a, t2, "b"), 1000, 1};
    CHECK_RC(store_limit(s, l, 2, now, &retry), RC_OK);
    CHECK_RC(store_limit(s, l, 2, now, &retry), RC_LIMITED);
    CHECK_INT(retry, 1000);
    TEARDOWN();
}

TEST(store_batch_across_slots)
{
    struct store_op ops[2] = {
        {.kind = STORE_OP_PUT, .key = SPAN("ct:{a1}:x"), .value = SPAN("v"), .ttl_s = 5},
        {.kind = STORE_OP_PUT, .key = SPAN("ct:{b2}:x"), .value = SPAN("v"), .ttl_s = 5},
    };
    SETUP();
    /* a cluster runs a batch on one node only: its keys must share a hash tag */
    CHECK_RC(store_batch(s, ops, 2),
             strcmp(s->ops->name, "redis-cluster") == 0 ? RC_MALFORMED : RC_OK);
    TEARDOWN();
}

/* ---- cluster only: MOVED and ASK, with slots moved by redis-cli (cluster.sh) ---- */

/* Runs a shell command; its first output line goes to out. */
static bool shell(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool
shell(char *out, size_t n, const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    FILE *f;
    int w;

    va_start(ap, fmt);
    w = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof(cmd) || !(f = popen(cmd, "r")))
        return false;
    out[0] = 0;
    if (fgets(out, (int)n, f))
        out[strcspn(out, "\r\n")] = 0;
    while (fgetc(f) != EOF)
        ;
    return pclose(f) == 0;
}

/* The port (of 3) owning key's slot: the node that answers EXISTS instead of MOVED. */
static int
owner_port(const int *ports, const char *key)
{
    char out[256];

    for (int i = 0; i < 3; i++)
        if (shell(out, sizeof(out), "redis-cli -p %d exists '%s'", ports[i], key)
            && strcmp(out, "0") == 0)
            return ports[i];
    return 0;
}

static bool
node_id(int port, char *id, size_t n)
{
    return shell(id, n, "redis-cli -p %d cluster myid", port) && strlen(id) == 40;
}

/* CLUSTER SETSLOT slot <how> id on the given port. */
static bool
setslot(int port, unsigned slot, const char *how, const char *id)
{
    char out[256];

    return shell(out, sizeof(out), "redis-cli -p %d cluster setslot %u %s %s", port, slot, how, id)
           && strcmp(out, "OK") == 0;
}

/* No node holds a key in slot. */
static bool
slot_empty(const int *ports, unsigned slot)
{
    char out[256];

    for (int i = 0; i < 3; i++)
        if (!shell(out, sizeof(out), "redis-cli -p %d cluster countkeysinslot %u", ports[i], slot)
            || strcmp(out, "0") != 0)
            return false;
    return true;
}

/* A fresh key ending in suffix whose slot holds no key on any node: a slot holding keys cannot
 * be handed to another node, and other tests leave keys behind (the scan tests on many slots). */
static char *
key_in_empty_slot(struct arena *a, const int *ports, char *pfx, size_t n, const char *suffix)
{
    char *k = arena_printf(a, "%s:%s", pfx, suffix);

    for (int tries = 0; tries < 64 && !slot_empty(ports, rds_key_slot(span_str(k))); tries++) {
        new_prefix(pfx, n);
        k = arena_printf(a, "%s:%s", pfx, suffix);
    }
    return k;
}

static int
other_port(const int *ports, int not )
{
    return ports[0] != not ? ports[0] : ports[1];
}

TEST(store_cluster_redirect_moved_and_ask)
{
    const char *env = getenv("AUTHD_TEST_CLUSTER_PORTS");
    int ports[3];
    char id[64], out[256];
    struct span v;

    if (!env || sscanf(env, "%d %d %d", &ports[0], &ports[1], &ports[2]) != 3)
        return;
    SETUP();
    char *k1 = key_in_empty_slot(&a, ports, pfx, sizeof(pfx), "moved");
    unsigned s1 = rds_key_slot(span_str(k1));
    CHECK_RC(store_ping(s), RC_OK); /* loads the slot map */
    /* MOVED: the (empty) slot of k1 is handed to another node behind our back */
    int o1 = owner_port(ports, k1), t1 = other_port(ports, o1);
    REQUIRE(o1 && node_id(t1, id, sizeof(id)));
    for (int i = 0; i < 3; i++)
        REQUIRE(setslot(ports[i], s1, "node", id));
    CHECK_RC(store_put(s, span_str(k1), SPAN("v1"), 60, 0), RC_OK);
    CHECK(shell(out, sizeof(out), "redis-cli -p %d get '%s'", t1, k1) && strcmp(out, "v1") == 0);
    /* ASK: the slot of k2 is being migrated; a new key goes to the importing node */
    /* the slot must be empty here too: once migrated, the source node hands it over only if
     * it holds none of its keys */
    new_prefix(pfx, sizeof(pfx));
    char *k2 = key_in_empty_slot(&a, ports, pfx, sizeof(pfx), "ask"), oid[64];
    int o2 = owner_port(ports, k2), t2 = other_port(ports, o2);
    unsigned s2 = rds_key_slot(span_str(k2));
    REQUIRE(o2 && node_id(t2, id, sizeof(id)) && node_id(o2, oid, sizeof(oid)));
    REQUIRE(setslot(t2, s2, "importing", oid));
    REQUIRE(setslot(o2, s2, "migrating", id));
    CHECK_RC(store_put(s, span_str(k2), SPAN("v2"), 60, 0), RC_OK);
    CHECK_RC(store_get(s, &a, span_str(k2), &v), RC_OK);
    CHECK_SPAN(v, "v2");
    for (int i = 0; i < 3; i++)
        REQUIRE(setslot(ports[i], s2, "node", id));
    CHECK_RC(store_get(s, &a, span_str(k2), &v), RC_OK);
    CHECK_SPAN(v, "v2");
    TEARDOWN();
}

/* ---- outage (redis.sh sets AUTHD_TEST_OUTAGE=1): own redis-server, killed and restarted ---- */

static pid_t
spawn_redis(int port, const char *dir)
{
    char p[16];
    pid_t pid;

    snprintf(p, sizeof(p), "%d", port);
    if ((pid = fork()) == 0) {
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--dir", dir,
               "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "/dev/null",
               (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool
port_open(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

    if (fd >= 0)
        close(fd);
    return ok;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct load {
    struct store *s;
    atomic_bool stop;
    atomic_int ok, unavailable, other;
    atomic_llong slowest_ms;
    atomic_llong last_ok_ms; /* when some call last returned RC_OK */
};

static void *
loader(void *arg)
{
    struct load *l = arg;
    struct arena a;
    struct span v;

    arena_init(&a, 0);
    while (!atomic_load(&l->stop)) {
        int64_t t0 = mono_ms();
        enum rc rc = store_put(l->s, SPAN("ct:outage"), SPAN("v"), 60, 0);
        if (rc == RC_OK)
            rc = store_get(l->s, &a, SPAN("ct:outage"), &v);
        int64_t dt = mono_ms() - t0;
        if (dt > atomic_load(&l->slowest_ms))
            atomic_store(&l->slowest_ms, dt);
        if (rc == RC_OK) {
            atomic_fetch_add(&l->ok, 1);
            atomic_store(&l->last_ok_ms, mono_ms());
        } else {
            atomic_fetch_add(rc == RC_UNAVAILABLE ? &l->unavailable : &l->other, 1);
        }
        sleep_ms(2);
        arena_clear(&a);
    }
    return NULL;
}

TEST(store_outage_fails_fast_and_recovers)
{
    static struct load l;
    char dir[] = "/tmp/authd-outage-XXXXXX", url[64];
    pthread_t th[4];
    int port = closed_port();
    pid_t pid;
    int64_t up_ms;

    if (!getenv("AUTHD_TEST_OUTAGE") || !mkdtemp(dir))
        return;
    REQUIRE(port > 0 && (pid = spawn_redis(port, dir)) > 0);
    for (int i = 0; i < 100 && !port_open(port); i++)
        sleep_ms(20);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
    memset(&l, 0, sizeof(l));
    REQUIRE(compose_store_open(url, NULL, &l.s, NULL) == RC_OK);
    for (int i = 0; i < 4; i++)
        REQUIRE(pthread_create(&th[i], NULL, loader, &l) == 0);
    sleep_ms(300);
    CHECK(atomic_load(&l.ok) > 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    sleep_ms(700); /* the outage, under load */
    CHECK(atomic_load(&l.unavailable) > 0);
    atomic_store(&l.last_ok_ms, 0);
    REQUIRE((pid = spawn_redis(port, dir)) > 0);
    while (!port_open(port))
        sleep_ms(1);
    up_ms = mono_ms();
    for (int i = 0; i < 150 && atomic_load(&l.last_ok_ms) == 0; i++)
        sleep_ms(10);
    CHECK(atomic_load(&l.last_ok_ms) != 0);
    printf("outage: recovered %lld ms after the server came back; slowest call %lld ms\n",
           (long long)(atomic_load(&l.last_ok_ms) - up_ms), (long long)atomic_load(&l.slowest_ms));
    CHECK(atomic_load(&l.last_ok_ms) - up_ms < 1000);
    atomic_store(&l.stop, true);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    CHECK_INT(atomic_load(&l.other), 0);
    CHECK(atomic_load(&l.slowest_ms) < 1000); /* no call hangs past the command timeout */
    store_free(l.s);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    rmdir(dir);
}
