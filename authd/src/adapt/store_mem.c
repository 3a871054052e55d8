/* memory: the embedded store backend for one node and for tests. It behaves like the Redis
 * backend in every observable way (same contract suite): string values, records (hashes),
 * sets and queues (sorted sets) are distinct kinds, and using a key as the wrong kind is
 * RC_CONFLICT, like Redis's WRONGTYPE.
 *
 * Layout: 64 shards chosen by a seeded hash of the key, each a chained hash table behind
 * its own mutex, so threads working on different keys rarely meet. Expiry is lazy (a lookup
 * drops an expired entry) plus a sweep thread that walks every shard once a second. The
 * memory bound counts key + value + a fixed per-entry and per-item overhead; a write that
 * would grow the total past it is refused with RC_FULL (concurrent writers may overshoot
 * it by at most one write each). Records, sets and queues are arrays of items; from
 * ITEM_INDEX_MIN items on, an open-addressing index finds an item by name in O(1) (a
 * session's set of token families grows by one per code redeemed), and each entry keeps
 * the byte count of its items as they come and go, so no write walks all of them. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapt/store_mem.h"
#include "port/store_impl.h"
#include "util/num.h"

#define NSHARDS        64
#define BUCKETS0       64
#define ENTRY_OVERHEAD 64 /* bytes counted per key beyond its name and value */
#define ITEM_OVERHEAD  32 /* bytes counted per field, member or queue item */
#define DEFAULT_MAX    ((size_t)256 << 20)
#define SWEEP_MS       1000
#define ITEM_INDEX_MIN 8 /* items from which an entry keeps an index of their names */

enum mtype { MT_STR, MT_HASH, MT_SET, MT_ZSET, MT_NONE };

struct mitem {
    uint8_t *name, *val; /* val: MT_HASH only */
    size_t nlen, vlen;
    int64_t score; /* MT_ZSET only */
};

struct ment {
    struct ment *next;
    uint64_t h;
    int64_t exp_ms; /* CLOCK_MONOTONIC ms; 0: no expiry */
    enum mtype type;
    size_t bytes; /* counted against the bound */
    uint8_t *val; /* MT_STR */
    size_t vlen;
    struct mitem *items; /* other kinds */
    size_t n, cap;
    size_t ibytes; /* sum over items of ITEM_OVERHEAD + name and value lengths */
    uint32_t *ix;  /* n >= ITEM_INDEX_MIN: slot -> item index + 1 (0: empty), or NULL */
    size_t ixcap;  /* slots, a power of two >= 2 n */
    size_t klen;
    uint8_t key[];
};

struct shard {
    pthread_mutex_t mu;
    struct ment **tab;
    size_t nb, count;
};

struct mstore {
    struct store base;
    struct shard sh[NSHARDS];
    uint64_t seed;
    size_t max_bytes;
    size_t low_max; /* STORE_LOW puts: max_bytes less the reserve */
    atomic_size_t used;
    pthread_t sweeper;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stop, started;
};

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
hash_key(const struct mstore *m, struct span k)
{
    uint64_t h = 0xcbf29ce484222325ull ^ m->seed;

    for (size_t i = 0; i < k.len; i++)
        h = (h ^ k.p[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static struct shard *
shard_of(struct mstore *m, uint64_t h)
{
    return &m->sh[h >> 58];
}

static void
wipe_free(void *p, size_t n)
{
    if (p) {
        OPENSSL_cleanse(p, n);
        free(p);
    }
}

static void
items_clear(struct ment *e)
{
    for (size_t i = 0; i < e->n; i++) {
        wipe_free(e->items[i].name, e->items[i].nlen);
        wipe_free(e->items[i].val, e->items[i].vlen);
    }
    free(e->items);
    free(e->ix);
    e->items = NULL;
    e->ix = NULL;
    e->n = e->cap = e->ixcap = e->ibytes = 0;
}

static void
ent_free(struct mstore *m, struct ment *e)
{
    atomic_fetch_sub(&m->used, e->bytes);
    wipe_free(e->val, e->vlen);
    items_clear(e);
    OPENSSL_cleanse(e->key, e->klen);
    free(e);
}

/* Recomputes e->bytes after a change and moves the difference into m->used. */
static void
ent_account(struct mstore *m, struct ment *e)
{
    size_t b = ENTRY_OVERHEAD + e->klen + e->vlen + e->ibytes;

    if (b >= e->bytes)
        atomic_fetch_add(&m->used, b - e->bytes);
    else
        atomic_fetch_sub(&m->used, e->bytes - b);
    e->bytes = b;
}

/* RC_FULL if growing the store by est bytes would pass bound. */
static enum rc
room_below(struct mstore *m, size_t est, size_t bound)
{
    size_t used = atomic_load(&m->used);

    return est > bound || used > bound - est ? RC_FULL : RC_OK;
}

/* RC_FULL if growing the store by est bytes would pass the bound. */
static enum rc
room_for(struct mstore *m, size_t est)
{
    return room_below(m, est, m->max_bytes);
}

static bool
expired(const struct ment *e, int64_t now)
{
    return e->exp_ms && e->exp_ms <= now;
}

static void
unlink_ent(struct mstore *m, struct shard *sh, struct ment **pp)
{
    struct ment *e = *pp;

    *pp = e->next;
    sh->count--;
    ent_free(m, e);
}

/* Returns the live entry for key (dropping it if expired), or NULL. Shard locked. */
static struct ment *
find(struct mstore *m, struct shard *sh, uint64_t h, struct span key)
{
    struct ment **pp = &sh->tab[h & (sh->nb - 1)];

    for (; *pp; pp = &(*pp)->next) {
        struct ment *e = *pp;
        if (e->h != h || e->klen != key.len || memcmp(e->key, key.p, key.len) != 0)
            continue;
        if (expired(e, now_ms())) {
            unlink_ent(m, sh, pp);
            return NULL;
        }
        return e;
    }
    return NULL;
}

static void
grow(struct shard *sh)
{
    size_t nb = sh->nb * 2;
    struct ment **tab = calloc(nb, sizeof(*tab));

    if (!tab)
        return; /* keep the longer chains; still correct */
    for (size_t i = 0; i < sh->nb; i++) {
        for (struct ment *e = sh->tab[i], *next; e; e = next) {
            next = e->next;
            e->next = tab[e->h & (nb - 1)];
            tab[e->h & (nb - 1)] = e;
        }
    }
    free(sh->tab);
    sh->tab = tab;
    sh->nb = nb;
}

/* Inserts a new empty entry of kind t for key. NULL when out of memory. Shard locked. */
static struct ment *
insert(struct mstore *m, struct shard *sh, uint64_t h, struct span key, enum mtype t)
{
    struct ment *e = calloc(1, sizeof(*e) + key.len);

    if (!e)
        return NULL;
    if (sh->count >= sh->nb * 2)
        grow(sh);
    e->h = h;
    e->type = t;
    e->klen = key.len;
    memcpy(e->key, key.p, key.len);
    e->next = sh->tab[h & (sh->nb - 1)];
    sh->tab[h & (sh->nb - 1)] = e;
    sh->count++;
    ent_account(m, e);
    return e;
}

static void
remove_ent(struct mstore *m, struct shard *sh, struct ment *e)
{
    struct ment **pp = &sh->tab[e->h & (sh->nb - 1)];

    while (*pp != e)
        pp = &(*pp)->next;
    unlink_ent(m, sh, pp);
}

static void
set_ttl(struct ment *e, uint32_t ttl_s)
{
    e->exp_ms = ttl_s ? now_ms() + (int64_t)ttl_s * 1000 : 0;
}

static uint8_t *
dup_bytes(struct span s)
{
    uint8_t *p = malloc(s.len ? s.len : 1);

    if (p && s.len)
        memcpy(p, s.p, s.len);
    return p;
}

static enum rc
copy_out(struct arena *a, const uint8_t *p, size_t len, struct span *out)
{
    char *d = arena_strndup(a, p, len);

    if (!d)
        return RC_NOMEM;
    *out = (struct span){(const uint8_t *)d, len};
    return RC_OK;
}

static int
item_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);

    return c ? c : (al > bl) - (al < bl);
}

/* Item names are hashed with a per-process random seed, drawn once (0 if RAND_bytes fails:
 * still correct, only predictable). */
static uint64_t item_seed;
static pthread_once_t item_seed_once = PTHREAD_ONCE_INIT;

static void
item_seed_init(void)
{
    if (RAND_bytes((unsigned char *)&item_seed, sizeof(item_seed)) != 1)
        item_seed = 0;
}

static size_t
item_slot(const struct ment *e, const uint8_t *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ item_seed;

    for (size_t i = 0; i < len; i++)
        h = (h ^ name[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    return (size_t)h & (e->ixcap - 1);
}

static void
index_put(struct ment *e, size_t i)
{
    size_t k = item_slot(e, e->items[i].name, e->items[i].nlen);

    while (e->ix[k])
        k = (k + 1) & (e->ixcap - 1);
    e->ix[k] = (uint32_t)(i + 1);
}

/* (Re)builds the index for n items; without memory, the entry goes on without one. */
static void
index_build(struct ment *e)
{
    size_t cap = 16;

    free(e->ix);
    e->ix = NULL;
    e->ixcap = 0;
    if (e->n < ITEM_INDEX_MIN || e->n >= UINT32_MAX / 4)
        return;
    while (cap < 2 * e->n)
        cap *= 2;
    if (!(e->ix = calloc(cap, sizeof(*e->ix))))
        return;
    e->ixcap = cap;
    for (size_t i = 0; i < e->n; i++)
        index_put(e, i);
}

static struct mitem *
item_find(struct ment *e, struct span name)
{
    if (!e->ix && e->n >= ITEM_INDEX_MIN)
        index_build(e);
    if (e->ix) {
        for (size_t k = item_slot(e, name.p, name.len); e->ix[k]; k = (k + 1) & (e->ixcap - 1)) {
            struct mitem *it = &e->items[e->ix[k] - 1];
            if (it->nlen == name.len && memcmp(it->name, name.p, name.len) == 0)
                return it;
        }
        return NULL;
    }
    for (size_t i = 0; i < e->n; i++)
        if (e->items[i].nlen == name.len && memcmp(e->items[i].name, name.p, name.len) == 0)
            return &e->items[i];
    return NULL;
}

/* Adds an item named name (value val may be empty) or returns the existing one; NULL when
 * out of memory. *added tells which. */
static struct mitem *
item_upsert(struct ment *e, struct span name, bool *added)
{
    struct mitem *it = item_find(e, name);

    *added = false;
    if (it)
        return it;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        struct mitem *n = realloc(e->items, cap * sizeof(*n));
        if (!n)
            return NULL;
        e->items = n;
        e->cap = cap;
    }
    it = &e->items[e->n];
    memset(it, 0, sizeof(*it));
    if (!(it->name = dup_bytes(name)))
        return NULL;
    it->nlen = name.len;
    e->n++;
    e->ibytes += ITEM_OVERHEAD + name.len;
    if (e->ix && 2 * e->n <= e->ixcap)
        index_put(e, e->n - 1);
    else if (e->n >= ITEM_INDEX_MIN)
        index_build(e);
    *added = true;
    return it;
}

/* Gives item it the value v (of len bytes, malloc'd), freeing the old one. */
static void
item_set_value(struct ment *e, struct mitem *it, uint8_t *v, size_t len)
{
    e->ibytes -= it->vlen;
    wipe_free(it->val, it->vlen);
    it->val = v;
    it->vlen = len;
    e->ibytes += len;
}

/* Removes it (the last item takes its place); the index is rebuilt when next needed. */
static void
item_remove(struct ment *e, struct mitem *it)
{
    e->ibytes -= ITEM_OVERHEAD + it->nlen + it->vlen;
    wipe_free(it->name, it->nlen);
    wipe_free(it->val, it->vlen);
    *it = e->items[--e->n];
    free(e->ix);
    e->ix = NULL;
    e->ixcap = 0;
}

/* ---- operations on a locked shard (shared by single calls and batch) ---- */

static size_t
est_put(struct span key, struct span val)
{
    return ENTRY_OVERHEAD + key.len + val.len;
}

static enum rc
do_put(struct mstore *m, struct shard *sh, uint64_t h, struct span key, struct span val,
       uint32_t ttl_s, unsigned flags, bool force)
{
    struct ment *e = find(m, sh, h, key);
    uint8_t *v;

    if ((flags & STORE_NX) && e)
        return RC_CONFLICT;
    if ((flags & STORE_XX) && !e)
        return RC_NOT_FOUND;
    if (!force && room_for(m, est_put(key, val)) != RC_OK)
        return RC_FULL;
    if ((flags & STORE_LOW) && room_below(m, est_put(key, val), m->low_max) != RC_OK)
        return RC_FULL; /* the reserve is for others (port/store.h) */
    if (!(v = dup_bytes(val)))
        return RC_NOMEM;
    if (!e && !(e = insert(m, sh, h, key, MT_STR))) {
        free(v);
        return RC_NOMEM;
    }
    wipe_free(e->val, e->vlen);
    items_clear(e);
    e->type = MT_STR;
    e->val = v;
    e->vlen = val.len;
    set_ttl(e, ttl_s);
    ent_account(m, e);
    return RC_OK;
}

static size_t
est_fields(struct span key, const struct store_field *f, size_t n)
{
    size_t b = ENTRY_OVERHEAD + key.len;

    for (size_t i = 0; i < n; i++)
        b += ITEM_OVERHEAD + f[i].name.len + f[i].value.len;
    return b;
}

static enum rc
do_rec_put(struct mstore *m, struct shard *sh, uint64_t h, struct span key,
           const struct store_field *f, size_t n, uint32_t ttl_s, unsigned flags, bool force)
{
    struct ment *e = find(m, sh, h, key);
    enum rc rc = RC_OK;

    if ((flags & STORE_NX) && e)
        return RC_CONFLICT;
    if ((flags & STORE_XX) && !e)
        return RC_NOT_FOUND;
    if (e && e->type != MT_HASH)
        return RC_CONFLICT;
    if (!force && room_for(m, est_fields(key, f, n)) != RC_OK)
        return RC_FULL;
    if (!e && !(e = insert(m, sh, h, key, MT_HASH)))
        return RC_NOMEM;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        bool added;
        struct mitem *it = item_upsert(e, f[i].name, &added);
        uint8_t *v = dup_bytes(f[i].value);
        if (!it || !v) {
            free(v);
            rc = RC_NOMEM; /* fields set so far stay: out of memory fails this call only */
            break;
        }
        item_set_value(e, it, v, f[i].value.len);
    }
    set_ttl(e, ttl_s);
    ent_account(m, e);
    return rc;
}

static enum rc
do_del(struct mstore *m, struct shard *sh, uint64_t h, struct span key)
{
    struct ment *e = find(m, sh, h, key);

    if (!e)
        return RC_NOT_FOUND;
    remove_ent(m, sh, e);
    return RC_OK;
}

static enum rc
do_set_add(struct mstore *m, struct shard *sh, uint64_t h, struct span key, struct span member,
           uint32_t ttl_s, bool force, bool xx)
{
    struct ment *e = find(m, sh, h, key);
    bool added;

    if (e && e->type != MT_SET)
        return RC_CONFLICT;
    if (!e && xx)
        return RC_NOT_FOUND;
    if (!force && room_for(m, ENTRY_OVERHEAD + ITEM_OVERHEAD + key.len + member.len) != RC_OK)
        return RC_FULL;
    if (!e && !(e = insert(m, sh, h, key, MT_SET)))
        return RC_NOMEM;
    if (!item_upsert(e, member, &added)) {
        if (e->n == 0)
            remove_ent(m, sh, e);
        return RC_NOMEM;
    }
    set_ttl(e, ttl_s);
    ent_account(m, e);
    return RC_OK;
}

/* Sorted-set order (Redis's): by score, equal scores by name. */
static int
zcmp(const struct mitem *x, const struct mitem *y)
{
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return item_cmp(x->name, x->nlen, y->name, y->nlen);
}

/* STORE_OP_INDEX_ADD in a batch (which made room): member at score, then only the keep
 * highest stay (port/store.h). */
static enum rc
do_index_add(struct mstore *m, struct shard *sh, uint64_t h, const struct store_op *op)
{
    struct ment *e = find(m, sh, h, op->key);
    struct mitem *it;
    bool added;

    if (e && e->type != MT_ZSET)
        return RC_CONFLICT;
    if (!e && !(e = insert(m, sh, h, op->key, MT_ZSET)))
        return RC_NOMEM;
    if (!(it = item_upsert(e, op->value, &added))) {
        if (e->n == 0)
            remove_ent(m, sh, e);
        return RC_NOMEM;
    }
    it->score = op->score;
    while (op->keep && e->n > op->keep) { /* one at a time: the bound is passed by one */
        struct mitem *low = &e->items[0];
        for (size_t i = 1; i < e->n; i++)
            if (zcmp(&e->items[i], low) < 0)
                low = &e->items[i];
        item_remove(e, low);
    }
    set_ttl(e, op->ttl_s);
    ent_account(m, e);
    return RC_OK;
}

static enum rc
do_expire(struct mstore *m, struct shard *sh, uint64_t h, struct span key, uint32_t ttl_s)
{
    struct ment *e = find(m, sh, h, key);

    if (!e)
        return RC_NOT_FOUND;
    set_ttl(e, ttl_s);
    return RC_OK;
}

/* ---- single calls: lock the key's shard around one operation ---- */

#define M(s) ((struct mstore *)(s))

static struct shard *
lock_key(struct mstore *m, struct span key, uint64_t *h)
{
    struct shard *sh;

    *h = hash_key(m, key);
    sh = shard_of(m, *h);
    pthread_mutex_lock(&sh->mu);
    return sh;
}

static enum rc
mem_ping(struct store *s)
{
    (void)s;
    return RC_OK;
}

static enum rc
mem_put(struct store *s, struct span key, struct span val, uint32_t ttl_s, unsigned flags)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    enum rc rc = do_put(M(s), sh, h, key, val, ttl_s, flags, false);

    pthread_mutex_unlock(&sh->mu);
    return rc;
}

enum read_mode { READ_GET, READ_TAKE, READ_SWAP };

/* GET, GETDEL, or SET XX GET (swap in val with ttl_s) of a string key, under one lock. */
static enum rc
read_str(struct store *s, struct arena *a, struct span key, struct span *out, enum read_mode mode,
         struct span val, uint32_t ttl_s)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    struct ment *e = find(M(s), sh, h, key);
    enum rc rc = RC_NOT_FOUND;

    if (e)
        rc = e->type != MT_STR ? RC_CONFLICT : copy_out(a, e->val, e->vlen, out);
    if (rc == RC_OK && mode == READ_TAKE)
        remove_ent(M(s), sh, e);
    else if (rc == RC_OK && mode == READ_SWAP)
        rc = do_put(M(s), sh, h, key, val, ttl_s, STORE_XX, false);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static enum rc
mem_get(struct store *s, struct arena *a, struct span key, struct span *out)
{
    return read_str(s, a, key, out, READ_GET, SPAN(""), 0);
}

static enum rc
mem_take(struct store *s, struct arena *a, struct span key, struct span *out)
{
    return read_str(s, a, key, out, READ_TAKE, SPAN(""), 0);
}

static enum rc
mem_swap(struct store *s, struct arena *a, struct span key, struct span val, uint32_t ttl_s,
         struct span *old)
{
    return read_str(s, a, key, old, READ_SWAP, val, ttl_s);
}

static enum rc
mem_del(struct store *s, struct span key)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    enum rc rc = do_del(M(s), sh, h, key);

    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Parses a counter the way Redis does: optional '-', digits, no leading zeros or spaces. */
static enum rc
parse_counter(const uint8_t *p, size_t len, int64_t *out)
{
    bool neg = len > 0 && p[0] == '-';
    struct span d = {p + neg, len - neg};
    uint64_t v;

    if (d.len == 0 || d.len > 19 || (d.p[0] == '0' && (d.len > 1 || neg)))
        return RC_CONFLICT;
    if (num_parse_u64(d, 0, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &v) != RC_OK)
        return RC_CONFLICT;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return RC_OK;
}

static enum rc
incr_locked(struct mstore *m, struct shard *sh, uint64_t h, struct span key, int64_t by,
            uint32_t ttl_s, int64_t *out)
{
    struct ment *e = find(m, sh, h, key);
    int64_t cur = 0, next;
    char num[24];
    int len;
    enum rc rc;

    if (e && e->type != MT_STR)
        return RC_CONFLICT;
    if (e && (rc = parse_counter(e->val, e->vlen, &cur)) != RC_OK)
        return rc;
    if (__builtin_add_overflow(cur, by, &next))
        return RC_TOO_LARGE;
    len = snprintf(num, sizeof(num), "%lld", (long long)next);
    if (len < 0 || (size_t)len >= sizeof(num))
        return RC_INTERNAL;
    if (!e) {
        if ((rc = do_put(m, sh, h, key, span_of(num, (size_t)len), ttl_s, 0, false)) != RC_OK)
            return rc;
    } else {
        uint8_t *v = dup_bytes(span_of(num, (size_t)len));
        if (!v)
            return RC_NOMEM;
        wipe_free(e->val, e->vlen);
        e->val = v;
        e->vlen = (size_t)len;
        ent_account(m, e);
    }
    *out = next;
    return RC_OK;
}

static enum rc
mem_incr(struct store *s, struct span key, int64_t by, uint32_t ttl_s, int64_t *out)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    enum rc rc = incr_locked(M(s), sh, h, key, by, ttl_s, out);

    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static enum rc
mem_ttl(struct store *s, struct span key, int64_t *out)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    struct ment *e = find(M(s), sh, h, key);
    enum rc rc = RC_NOT_FOUND;

    if (e) {
        /* rounded like Redis's TTL command */
        *out = e->exp_ms ? (e->exp_ms - now_ms() + 500) / 1000 : -1;
        rc = RC_OK;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static enum rc
mem_expire(struct store *s, struct span key, uint32_t ttl_s)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    enum rc rc = do_expire(M(s), sh, h, key, ttl_s);

    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static enum rc
mem_rec_put(struct store *s, struct span key, const struct store_field *f, size_t n, uint32_t ttl_s,
            unsigned flags)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    enum rc rc = do_rec_put(M(s), sh, h, key, f, n, ttl_s, flags, false);

    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static enum rc
rec_copy(struct arena *a, const struct ment *e, struct store_record *out)
{
    struct store_field *f = arena_alloc(a, e->n * sizeof(*f));

    if (!f)
        return RC_NOMEM;
    for (size_t i = 0; i < e->n; i++) {
        if (copy_out(a, e->items[i].name, e->items[i].nlen, &f[i].name) != RC_OK
            || copy_out(a, e->items[i].val, e->items[i].vlen, &f[i].value) != RC_OK)
            return RC_NOMEM;
    }
    out->f = f;
    out->n = e->n;
    return RC_OK;
}

static enum rc
mem_rec_get(struct store *s, struct arena *a, struct span key, struct store_record *out)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    struct ment *e = find(M(s), sh, h, key);
    enum rc rc = RC_NOT_FOUND;

    if (e)
        rc = e->type != MT_HASH ? RC_CONFLICT : rec_copy(a, e, out);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* store_rec_cas: the compare and the write under the one shard lock; the ttl stays. */
static enum rc
mem_rec_cas(struct store *s, struct span key, const struct store_field *expect,
            const struct store_field *f, size_t n)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    struct ment *e = find(M(s), sh, h, key);
    enum rc rc = RC_OK;
    int64_t exp_ms;

    if (!e)
        rc = RC_NOT_FOUND;
    else if (e->type != MT_HASH)
        rc = RC_CONFLICT;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        struct mitem *it = item_find(e, expect[i].name);
        if (!it || it->vlen != expect[i].value.len
            || (it->vlen && memcmp(it->val, expect[i].value.p, it->vlen) != 0))
            rc = RC_CONFLICT;
    }
    if (rc == RC_OK) {
        exp_ms = e->exp_ms;
        rc = do_rec_put(M(s), sh, h, key, f, n, 0, 0, false);
        e->exp_ms = exp_ms;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* store_scan. The cursor is shard << 48 | bucket: shard by shard, bucket by bucket in
 * increasing order. A table only grows, by doubling, and a key's bucket is the low bits of
 * its hash; so a key in a bucket not yet visited (index >= b at the old size) stays in a
 * bucket >= b at the new size: nothing present throughout is missed (what a doubling moves
 * into a visited range can come twice). */
#define SCAN_SHARD_SHIFT 48
static enum rc
mem_scan(struct store *s, struct arena *a, uint64_t *cursor, struct span prefix, uint32_t count,
         struct span **keys, size_t *n)
{
    struct mstore *m = M(s);
    uint64_t shard = *cursor >> SCAN_SHARD_SHIFT, b = *cursor & ((1ull << SCAN_SHARD_SHIFT) - 1);
    size_t cap = 0, got = 0, visited = 0;
    struct span *out = NULL;
    int64_t now = now_ms();
    enum rc rc = RC_OK;

    if (shard >= NSHARDS)
        return RC_MALFORMED;
    while (shard < NSHARDS && visited < count && rc == RC_OK) {
        struct shard *sh = &m->sh[shard];
        pthread_mutex_lock(&sh->mu);
        for (; b < sh->nb && visited < count && rc == RC_OK; b++) {
            for (struct ment *e = sh->tab[b]; e && rc == RC_OK; e = e->next, visited++) {
                if (expired(e, now) || e->klen < prefix.len
                    || (prefix.len && memcmp(e->key, prefix.p, prefix.len) != 0))
                    continue;
                if (got == cap) {
                    size_t nc = cap ? cap * 2 : 16;
                    struct span *g = arena_alloc(a, nc * sizeof(*g));
                    if (!g) {
                        rc = RC_NOMEM;
                        break;
                    }
                    if (got)
                        memcpy(g, out, got * sizeof(*g));
                    out = g, cap = nc;
                }
                rc = copy_out(a, e->key, e->klen, &out[got]);
                got += rc == RC_OK;
            }
        }
        if (b >= sh->nb)
            shard++, b = 0;
        pthread_mutex_unlock(&sh->mu);
    }
    if (rc != RC_OK)
        return rc;
    *cursor = shard >= NSHARDS ? 0 : shard << SCAN_SHARD_SHIFT | b;
    *keys = out;
    *n = got;
    return RC_OK;
}

static enum rc
mem_set_add(struct store *s, struct span key, struct span member, uint32_t ttl_s, unsigned flags)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    enum rc rc = do_set_add(M(s), sh, h, key, member, ttl_s, false, (flags & STORE_XX) != 0);

    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Removes item name from a set or queue; an emptied key goes away, as in Redis. */
static enum rc
rem_item(struct store *s, struct span key, struct span name, enum mtype t)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    struct ment *e = find(M(s), sh, h, key);
    struct mitem *it;
    enum rc rc = RC_NOT_FOUND;

    if (e && e->type != t) {
        rc = RC_CONFLICT;
    } else if (e && (it = item_find(e, name)) != NULL) {
        item_remove(e, it);
        ent_account(M(s), e);
        if (e->n == 0)
            remove_ent(M(s), sh, e);
        rc = RC_OK;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static enum rc
mem_set_rem(struct store *s, struct span key, struct span member)
{
    return rem_item(s, key, member, MT_SET);
}

static enum rc
members_copy(struct arena *a, const struct ment *e, struct span **out, size_t *n)
{
    struct span *v = arena_alloc(a, e->n * sizeof(*v));

    if (!v)
        return RC_NOMEM;
    for (size_t i = 0; i < e->n; i++)
        if (copy_out(a, e->items[i].name, e->items[i].nlen, &v[i]) != RC_OK)
            return RC_NOMEM;
    *out = v;
    *n = e->n;
    return RC_OK;
}

static enum rc
mem_set_members(struct store *s, struct arena *a, struct span key, struct span **out, size_t *n)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    struct ment *e = find(M(s), sh, h, key);
    enum rc rc = RC_NOT_FOUND;

    if (e)
        rc = e->type != MT_SET ? RC_CONFLICT : members_copy(a, e, out, n);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Descending sorted-set order, for qsort. */
static int
zcmp_desc(const void *x, const void *y)
{
    return zcmp(*(const struct mitem *const *)y, *(const struct mitem *const *)x);
}

static enum rc
mem_index_range(struct store *s, struct arena *a, struct span key, int64_t below, size_t max,
                struct span **out, size_t *n)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), key, &h);
    struct ment *e = find(M(s), sh, h, key);
    struct mitem **pick = NULL;
    size_t k = 0;
    enum rc rc = RC_OK;

    if (e && e->type != MT_ZSET)
        rc = RC_CONFLICT;
    else if (e && e->n && !(pick = malloc(e->n * sizeof(*pick))))
        rc = RC_NOMEM;
    for (size_t i = 0; rc == RC_OK && e && i < e->n; i++)
        if (e->items[i].score < below)
            pick[k++] = &e->items[i];
    if (rc == RC_OK && k) {
        qsort(pick, k, sizeof(*pick), zcmp_desc);
        if (k > max)
            k = max;
        if (!(*out = arena_alloc(a, k * sizeof(**out))))
            rc = RC_NOMEM;
        for (size_t i = 0; rc == RC_OK && i < k; i++)
            rc = copy_out(a, pick[i]->name, pick[i]->nlen, &(*out)[i]);
    }
    if (rc == RC_OK)
        *n = k;
    free(pick);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static enum rc
mem_q_push(struct store *s, struct span queue, struct span item, int64_t due)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), queue, &h);
    struct ment *e = find(M(s), sh, h, queue);
    struct mitem *it;
    bool added;
    enum rc rc = RC_OK;

    if (e && e->type != MT_ZSET)
        rc = RC_CONFLICT;
    else if (room_for(M(s), ENTRY_OVERHEAD + ITEM_OVERHEAD + queue.len + item.len) != RC_OK)
        rc = RC_FULL;
    else if (!e && !(e = insert(M(s), sh, h, queue, MT_ZSET)))
        rc = RC_NOMEM;
    if (rc == RC_OK) {
        if ((it = item_upsert(e, item, &added)) != NULL)
            it->score = due;
        else
            rc = RC_NOMEM;
        ent_account(M(s), e);
        if (e->n == 0)
            remove_ent(M(s), sh, e);
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* The earliest item due at now (ties: the smallest name, as in a Redis sorted set). */
static struct mitem *
earliest_due(struct ment *e, int64_t now)
{
    struct mitem *best = NULL;

    for (size_t i = 0; i < e->n; i++) {
        struct mitem *it = &e->items[i];
        if (it->score > now)
            continue;
        if (!best || it->score < best->score
            || (it->score == best->score
                && item_cmp(it->name, it->nlen, best->name, best->nlen) < 0))
            best = it;
    }
    return best;
}

static enum rc
mem_q_claim(struct store *s, struct arena *a, struct span queue, int64_t now, uint32_t lease_s,
            struct span *item)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), queue, &h);
    struct ment *e = find(M(s), sh, h, queue);
    struct mitem *it;
    enum rc rc = RC_NOT_FOUND;

    if (e && e->type != MT_ZSET) {
        rc = RC_CONFLICT;
    } else if (e && (it = earliest_due(e, now)) != NULL) {
        if ((rc = copy_out(a, it->name, it->nlen, item)) == RC_OK)
            it->score = now + (int64_t)lease_s;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static enum rc
mem_q_done(struct store *s, struct span queue, struct span item)
{
    return rem_item(s, queue, item, MT_ZSET);
}

static enum rc
mem_q_len(struct store *s, struct span queue, int64_t *out)
{
    uint64_t h;
    struct shard *sh = lock_key(M(s), queue, &h);
    struct ment *e = find(M(s), sh, h, queue);
    enum rc rc = RC_OK;

    if (e && e->type != MT_ZSET)
        rc = RC_CONFLICT;
    else
        *out = e ? (int64_t)e->n : 0;
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* ---- batch: lock every shard involved in index order, check everything, then apply ---- */

struct bstate {
    uint64_t h[STORE_MAX_BATCH];
    enum mtype t[STORE_MAX_BATCH]; /* kind of the key after op i, as the batch sees it */
};

/* The kind key i has before op i: the last earlier op on the same key, else the store. */
static enum mtype
kind_before(struct mstore *m, const struct store_op *ops, struct bstate *b, size_t i)
{
    struct ment *e;

    for (size_t j = i; j-- > 0;)
        if (b->h[j] == b->h[i] && span_eq(ops[j].key, ops[i].key))
            return b->t[j];
    e = find(m, shard_of(m, b->h[i]), b->h[i], ops[i].key);
    return e ? e->type : MT_NONE;
}

/* Checks op i against the state the earlier ops leave; sets b->t[i]. */
static enum rc
batch_check(struct mstore *m, const struct store_op *ops, struct bstate *b, size_t i)
{
    const struct store_op *op = &ops[i];
    enum mtype t = kind_before(m, ops, b, i);
    bool put = op->kind == STORE_OP_PUT || op->kind == STORE_OP_REC_PUT;

    if (put && (op->flags & STORE_NX) && t != MT_NONE)
        return RC_CONFLICT;
    if (put && (op->flags & STORE_XX) && t == MT_NONE)
        return RC_NOT_FOUND;
    switch (op->kind) {
    case STORE_OP_PUT:
        t = MT_STR;
        break;
    case STORE_OP_REC_PUT:
        if (t != MT_NONE && t != MT_HASH)
            return RC_CONFLICT;
        t = MT_HASH;
        break;
    case STORE_OP_SET_ADD:
        if (t != MT_NONE && t != MT_SET)
            return RC_CONFLICT;
        t = MT_SET;
        break;
    case STORE_OP_INDEX_ADD:
        if (t != MT_NONE && t != MT_ZSET)
            return RC_CONFLICT;
        t = MT_ZSET;
        break;
    case STORE_OP_DEL:
        t = MT_NONE;
        break;
    case STORE_OP_EXPIRE:
    case STORE_OP_GET: /* reads and limits never reach a batch (store_batch refuses them) */
    case STORE_OP_REC_GET:
    case STORE_OP_LIMIT:
        break;
    }
    b->t[i] = t;
    return RC_OK;
}

static size_t
batch_estimate(const struct store_op *ops, size_t n)
{
    size_t b = 0;

    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == STORE_OP_PUT || ops[i].kind == STORE_OP_SET_ADD
            || ops[i].kind == STORE_OP_INDEX_ADD)
            b += est_put(ops[i].key, ops[i].value) + ITEM_OVERHEAD;
        else if (ops[i].kind == STORE_OP_REC_PUT)
            b += est_fields(ops[i].key, ops[i].fields, ops[i].nfields);
    }
    return b;
}

static enum rc
batch_apply(struct mstore *m, const struct store_op *op, uint64_t h)
{
    struct shard *sh = shard_of(m, h);
    enum rc rc = RC_OK;

    switch (op->kind) {
    case STORE_OP_PUT:
        rc = do_put(m, sh, h, op->key, op->value, op->ttl_s, 0, true);
        break;
    case STORE_OP_REC_PUT:
        rc = do_rec_put(m, sh, h, op->key, op->fields, op->nfields, op->ttl_s, 0, true);
        break;
    case STORE_OP_SET_ADD:
        rc = do_set_add(m, sh, h, op->key, op->value, op->ttl_s, true, false);
        break;
    case STORE_OP_INDEX_ADD:
        rc = do_index_add(m, sh, h, op);
        break;
    case STORE_OP_DEL:
        (void)do_del(m, sh, h, op->key); /* absent is fine inside a batch */
        break;
    case STORE_OP_EXPIRE:
        (void)do_expire(m, sh, h, op->key, op->ttl_s);
        break;
    case STORE_OP_GET:
    case STORE_OP_REC_GET:
    case STORE_OP_LIMIT:
        break;
    }
    return rc;
}

static void
lock_shards(struct mstore *m, const struct bstate *b, size_t n, bool lock)
{
    bool mark[NSHARDS] = {false};

    for (size_t i = 0; i < n; i++)
        mark[b->h[i] >> 58] = true;
    for (size_t i = 0; i < NSHARDS; i++) { /* ascending: a fixed order, no deadlock */
        if (!mark[i])
            continue;
        if (lock)
            pthread_mutex_lock(&m->sh[i].mu);
        else
            pthread_mutex_unlock(&m->sh[i].mu);
    }
}

static enum rc
mem_batch(struct store *s, const struct store_op *ops, size_t n)
{
    struct mstore *m = M(s);
    struct bstate b = {0};
    enum rc rc = RC_OK;

    for (size_t i = 0; i < n; i++)
        b.h[i] = hash_key(m, ops[i].key);
    lock_shards(m, &b, n, true);
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        rc = batch_check(m, ops, &b, i);
    if (rc == RC_OK)
        rc = room_for(m, batch_estimate(ops, n));
    /* Past the checks only out of memory can fail an op; the batch then stops where it is. */
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        rc = batch_apply(m, &ops[i], b.h[i]);
    lock_shards(m, &b, n, false);
    return rc;
}

/* The GCRA state of a bucket: its theoretical arrival time, or now when the key is absent
 * or not a number (as the Redis script reads it). RC_CONFLICT for a key of another kind. */
static enum rc
limit_tat(struct mstore *m, uint64_t h, struct span key, int64_t now, int64_t *tat)
{
    struct ment *e = find(m, shard_of(m, h), h, key);
    uint64_t v;

    *tat = now;
    if (!e)
        return RC_OK;
    if (e->type != MT_STR)
        return RC_CONFLICT;
    if (num_parse_u64(span_of(e->val, e->vlen), 0, INT64_MAX, &v) == RC_OK && (int64_t)v > now)
        *tat = (int64_t)v;
    return RC_OK;
}

static enum rc
mem_limit(struct store *s, const struct store_limit *l, size_t n, int64_t now, int64_t *retry_ms)
{
    struct mstore *m = M(s);
    struct bstate b = {0};
    int64_t tat[STORE_MAX_LIMITS], wait = 0;
    enum rc rc = RC_OK;
    char v[24];

    for (size_t i = 0; i < n; i++)
        b.h[i] = hash_key(m, l[i].key);
    lock_shards(m, &b, n, true);
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        rc = limit_tat(m, b.h[i], l[i].key, now, &tat[i]);
        int64_t w = tat[i] - now - (int64_t)(l[i].burst - 1) * l[i].period_ms;
        wait = w > wait ? w : wait;
        tat[i] += l[i].period_ms;
    }
    if (rc == RC_OK && wait > 0) {
        *retry_ms = wait;
        rc = RC_LIMITED;
    }
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        int w = snprintf(v, sizeof(v), "%lld", (long long)tat[i]);
        rc = do_put(m, shard_of(m, b.h[i]), b.h[i], l[i].key, span_of(v, (size_t)w), 1, 0, false);
        struct ment *e = rc == RC_OK ? find(m, shard_of(m, b.h[i]), b.h[i], l[i].key) : NULL;
        if (e)
            e->exp_ms = now_ms() + (tat[i] - now);
    }
    lock_shards(m, &b, n, false);
    return rc;
}

/* ---- expiry sweep, open, free ---- */

static void
sweep_shard(struct mstore *m, struct shard *sh)
{
    int64_t now = now_ms();

    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < sh->nb; i++) {
        struct ment **pp = &sh->tab[i];
        while (*pp) {
            if (expired(*pp, now))
                unlink_ent(m, sh, pp);
            else
                pp = &(*pp)->next;
        }
    }
    pthread_mutex_unlock(&sh->mu);
}

static void *
sweeper(void *arg)
{
    struct mstore *m = arg;
    struct timespec until;

    pthread_mutex_lock(&m->stop_mu);
    while (!m->stop) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += SWEEP_MS / 1000;
        while (!m->stop && pthread_cond_timedwait(&m->stop_cv, &m->stop_mu, &until) == 0)
            ;
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->stop_mu);
        for (size_t i = 0; i < NSHARDS; i++)
            sweep_shard(m, &m->sh[i]);
        pthread_mutex_lock(&m->stop_mu);
    }
    pthread_mutex_unlock(&m->stop_mu);
    return NULL;
}

static void
mem_free(struct store *s)
{
    struct mstore *m = M(s);

    if (m->started) {
        pthread_mutex_lock(&m->stop_mu);
        m->stop = true;
        pthread_cond_signal(&m->stop_cv);
        pthread_mutex_unlock(&m->stop_mu);
        pthread_join(m->sweeper, NULL);
    }
    for (size_t i = 0; i < NSHARDS; i++) {
        struct shard *sh = &m->sh[i];
        for (size_t j = 0; sh->tab && j < sh->nb; j++)
            while (sh->tab[j])
                unlink_ent(m, sh, &sh->tab[j]);
        free(sh->tab);
        pthread_mutex_destroy(&sh->mu);
    }
    pthread_cond_destroy(&m->stop_cv);
    pthread_mutex_destroy(&m->stop_mu);
    free(m);
}

static const struct store_ops mem_ops = {
    .name = "memory",
    .ping = mem_ping,
    .put = mem_put,
    .get = mem_get,
    .take = mem_take,
    .del = mem_del,
    .incr = mem_incr,
    .ttl = mem_ttl,
    .expire = mem_expire,
    .rec_put = mem_rec_put,
    .rec_get = mem_rec_get,
    .set_add = mem_set_add,
    .set_rem = mem_set_rem,
    .set_members = mem_set_members,
    .q_push = mem_q_push,
    .q_claim = mem_q_claim,
    .q_done = mem_q_done,
    .q_len = mem_q_len,
    .batch = mem_batch,
    .free = mem_free,
    .limit = mem_limit,
    .swap = mem_swap,
    .scan = mem_scan,
    .rec_cas = mem_rec_cas,
    .index_range = mem_index_range,
};

/* "memory:" or "memory:?max_bytes=N"; opts->mem_max_bytes wins when set. */
static enum rc
parse_url(const char *url, const struct store_opts *o, size_t *max, struct rc_info *ri)
{
    const char *q = url + strlen("memory:");
    uint64_t v = DEFAULT_MAX;

    if (*q && strncmp(q, "?max_bytes=", 11) != 0)
        return rc_set(ri, RC_MALFORMED, "store", "memory: takes only ?max_bytes=N");
    if (*q && num_parse_u64(span_str(q + 11), 1024, SIZE_MAX, &v) != RC_OK)
        return rc_set(ri, RC_MALFORMED, "store", "max_bytes: not a number >= 1024");
    *max = o->mem_max_bytes ? o->mem_max_bytes : (size_t)v;
    return RC_OK;
}

static enum rc
init_shards(struct mstore *m)
{
    pthread_condattr_t ca;

    for (size_t i = 0; i < NSHARDS; i++) {
        if (!(m->sh[i].tab = calloc(BUCKETS0, sizeof(*m->sh[i].tab))))
            return RC_NOMEM;
        m->sh[i].nb = BUCKETS0;
        pthread_mutex_init(&m->sh[i].mu, NULL);
    }
    pthread_mutex_init(&m->stop_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    return RC_OK;
}

enum rc
store_mem_open(const char *url, const struct store_opts *o, struct store **out, struct rc_info *ri)
{
    struct mstore *m;
    size_t max = 0, r;
    enum rc rc;

    if ((rc = parse_url(url, o, &max, ri)) != RC_OK)
        return rc;
    if (!(m = calloc(1, sizeof(*m))))
        return RC_NOMEM;
    m->base.ops = &mem_ops;
    m->max_bytes = max;
    r = o->reserve_percent < 100 ? o->reserve_percent : 100;
    m->low_max = max - (max / 100 * r + max % 100 * r / 100);
    pthread_once(&item_seed_once, item_seed_init);
    if (RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1) {
        free(m);
        return rc_set(ri, RC_INTERNAL, "store", "no randomness for the hash seed");
    }
    if ((rc = init_shards(m)) != RC_OK)
        goto fail;
    if (pthread_create(&m->sweeper, NULL, sweeper, m) != 0) {
        rc = rc_set(ri, RC_INTERNAL, "store", "cannot start the expiry sweeper");
        goto fail;
    }
    m->started = true;
    *out = &m->base;
    return RC_OK;
fail:
    mem_free(&m->base);
    return rc;
}
