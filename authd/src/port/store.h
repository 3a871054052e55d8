/* The store port: every piece of state that authd nodes share (SSO sessions, codes,
 * refresh-token families, accounts, replay caches, counters, queues) goes through these
 * typed operations. Backends: adapt/store_mem.c (memory:), adapt/store_redis.c (redis://,
 * unix:, redis-sentinel://, redis-cluster://). No backend type crosses this header.
 *
 * Conventions
 * - Keys are bytes (no NUL). Keys that must change together share a Redis Cluster hash
 *   tag: `a:{sid}:x` and `a:{sid}:y` land on one slot. Build keys with store_key().
 * - ttl_s is in seconds; 0 means "no expiry".
 * - Every call returns RC_OK or: RC_NOT_FOUND (no such key), RC_CONFLICT (put-if-absent on
 *   an existing key), RC_UNAVAILABLE (backend down or timed out: fail closed), RC_FULL
 *   (memory bound reached), RC_TOO_LARGE (value or key over STORE_MAX_*), RC_NOMEM.
 * - A key holds one kind: a value, a record, a set or a queue. Using it as another kind is
 *   RC_CONFLICT (Redis's WRONGTYPE); put replaces a key of any kind.
 * - put, rec_put, set_add and expire set the key's ttl to ttl_s (0: persistent); incr sets
 *   it only when it creates the counter.
 * - del, set_rem and q_done of something absent are RC_NOT_FOUND, and so is set_members of
 *   an absent (empty) set; q_len of an absent queue is 0.
 * - Values read back are copied into the caller's arena; they belong to it.
 * - All operations are safe to call from any number of threads at once. */
#ifndef AUTHD_PORT_STORE_H
#define AUTHD_PORT_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

#define STORE_MAX_KEY    512
#define STORE_MAX_VALUE  (256 * 1024)
#define STORE_MAX_BATCH  16
#define STORE_MAX_FIELDS 64 /* fields in one rec_put */
#define STORE_MAX_LIMITS 4  /* buckets in one limit call */

/* flags for put and rec_put */
#define STORE_NX      0x1u /* only if the key is absent, else RC_CONFLICT */
#define STORE_XX      0x2u /* only if the key exists, else RC_NOT_FOUND */
#define STORE_DURABLE 0x4u /* acknowledged only once durable (Redis: WAIT replicas) */
/* put only: a low-priority write (a pending authorization request, which anybody can make
 * without an account). It must leave the store's reserve free: refused with RC_FULL once the
 * store is fuller than (100 - reserve_percent) % of its bound, so that the reserve stays for
 * the sessions, codes and tokens of citizens already in a login. The bound is the memory
 * store's max_bytes, or the Redis node's maxmemory (a Redis without maxmemory has no bound:
 * nothing is refused, by Redis or by this flag). docs/storage.md "The reserve". */
#define STORE_LOW 0x8u

struct store_field {
    struct span name;
    struct span value;
};

struct store_record {
    size_t n;
    struct store_field *f; /* in the caller's arena */
};

enum store_op_kind {
    STORE_OP_PUT,       /* key = value, ttl, flags (STORE_NX / STORE_XX honoured) */
    STORE_OP_REC_PUT,   /* set fields of record key, ttl */
    STORE_OP_DEL,       /* delete key (absent is fine inside a batch) */
    STORE_OP_SET_ADD,   /* add value to set key, ttl; STORE_XX: only to a set that exists
                           (RC_NOT_FOUND otherwise; not in a batch) */
    STORE_OP_EXPIRE,    /* set ttl of key (absent is fine inside a batch) */
    STORE_OP_GET,       /* store_pipeline only: the value of key */
    STORE_OP_REC_GET,   /* store_pipeline only: the record at key */
    STORE_OP_INDEX_ADD, /* store_batch only: add member value with score to the index at key,
                           keep its `keep` highest-scored members (0: all), ttl (see
                           store_index_range) */
    STORE_OP_LIMIT,     /* store_pipeline only: one token from the bucket at key (period_ms,
                           burst, now_ms), as store_limit with that one bucket */
};

struct store_op {
    enum store_op_kind kind;
    struct span key;
    struct span value;                /* PUT, SET_ADD */
    const struct store_field *fields; /* REC_PUT */
    size_t nfields;
    uint32_t ttl_s;
    unsigned flags;
    int64_t score; /* INDEX_ADD: |score| <= STORE_INDEX_SCORE_MAX */
    uint32_t keep; /* INDEX_ADD: members kept, the highest scores (0: no bound) */
    uint32_t period_ms, burst; /* LIMIT: the bucket (struct store_limit) */
    int64_t now_ms;            /* LIMIT: the caller's clock */
};

/* Index scores are exact integers in both backends (a Redis score is a double). */
#define STORE_INDEX_SCORE_MAX ((int64_t)1 << 53)
#define STORE_INDEX_READ_MAX  1024 /* members in one store_index_range */

/* One call of store_pipeline: the op, then what it got, exactly as the single call
 * (store_put, store_rec_put, store_set_add, store_del, store_expire, store_get,
 * store_rec_get, store_limit) would have answered. Values read are copied into the
 * pipeline's arena. */
struct store_call {
    struct store_op op;
    enum rc rc;
    struct span value;       /* STORE_OP_GET */
    struct store_record rec; /* STORE_OP_REC_GET */
    int64_t retry_ms;        /* STORE_OP_LIMIT answered RC_LIMITED: the wait */
};

/* One token bucket of a limit call. The bucket holds `burst` tokens and gains one every
 * period_ms; the key stores its state (GCRA: the "theoretical arrival time" in ms) and
 * expires once the bucket is full again, so idle buckets cost nothing. */
struct store_limit {
    struct span key;
    uint32_t period_ms; /* > 0 */
    uint32_t burst;     /* > 0 */
};

struct store;

struct store_ops {
    const char *name; /* "memory", "redis", "redis-sentinel", "redis-cluster" */
    enum rc (*ping)(struct store *s);
    enum rc (*put)(struct store *s, struct span key, struct span val, uint32_t ttl_s,
                   unsigned flags);
    enum rc (*get)(struct store *s, struct arena *a, struct span key, struct span *out);
    /* get and delete, atomically: of any number of concurrent takers exactly one gets it */
    enum rc (*take)(struct store *s, struct arena *a, struct span key, struct span *out);
    enum rc (*del)(struct store *s, struct span key);
    /* *out = value after adding by; the key is created at 0 with ttl_s if absent (the ttl
     * of an existing counter is not extended: a fixed window) */
    enum rc (*incr)(struct store *s, struct span key, int64_t by, uint32_t ttl_s, int64_t *out);
    /* remaining seconds to live: -1 no expiry; RC_NOT_FOUND if absent */
    enum rc (*ttl)(struct store *s, struct span key, int64_t *out);
    enum rc (*expire)(struct store *s, struct span key, uint32_t ttl_s);
    /* records (Redis hashes): rec_put merges the fields in; STORE_NX creates only */
    enum rc (*rec_put)(struct store *s, struct span key, const struct store_field *f, size_t n,
                       uint32_t ttl_s, unsigned flags);
    enum rc (*rec_get)(struct store *s, struct arena *a, struct span key, struct store_record *out);
    /* sets of small members attached to a record (the clients a session touched) */
    enum rc (*set_add)(struct store *s, struct span key, struct span member, uint32_t ttl_s,
                       unsigned flags);
    enum rc (*set_rem)(struct store *s, struct span key, struct span member);
    enum rc (*set_members)(struct store *s, struct arena *a, struct span key, struct span **out,
                           size_t *n);
    /* durable work queue (back-channel logouts): items ordered by due time (unix s).
     * q_claim atomically takes the earliest item due at `now` and leases it: it is hidden
     * until now + lease_s, then due again unless q_done removed it (a crashed worker's item
     * comes back). RC_NOT_FOUND when nothing is due. */
    enum rc (*q_push)(struct store *s, struct span queue, struct span item, int64_t due);
    enum rc (*q_claim)(struct store *s, struct arena *a, struct span queue, int64_t now,
                       uint32_t lease_s, struct span *item);
    enum rc (*q_done)(struct store *s, struct span queue, struct span item);
    enum rc (*q_len)(struct store *s, struct span queue, int64_t *out);
    /* all ops or none, atomically (Redis: MULTI/EXEC; in a cluster all keys must share a
     * hash tag, else RC_MALFORMED). An NX put that finds its key aborts the whole batch with
     * RC_CONFLICT. */
    enum rc (*batch)(struct store *s, const struct store_op *ops, size_t n);
    void (*free)(struct store *s);
    /* takes one token from each of n buckets if every one has a token, atomically (in a
     * cluster, keys on different slots are taken one by one); else RC_LIMITED, nothing is
     * taken and *retry_ms says when all will have one. now_ms is the caller's clock. */
    enum rc (*limit)(struct store *s, const struct store_limit *l, size_t n, int64_t now_ms,
                     int64_t *retry_ms);
    /* replaces the value of an existing string key and hands back the old one, atomically:
     * of concurrent swappers exactly one gets the value that was there first */
    enum rc (*swap)(struct store *s, struct arena *a, struct span key, struct span val,
                    uint32_t ttl_s, struct span *old);
    /* independent calls in one round trip; NULL: the wrapper makes them one by one */
    enum rc (*pipeline)(struct store *s, struct arena *a, struct store_call *c, size_t n);
    /* one page of the keys that begin with prefix (Redis SCAN cursor MATCH prefix* COUNT
     * count); *cursor in: where to go on (0: the start), out: where to go on next (0: done) */
    enum rc (*scan)(struct store *s, struct arena *a, uint64_t *cursor, struct span prefix,
                    uint32_t count, struct span **keys, size_t *n);
    /* sets f[i] of an existing record only if every field expect[i].name (== f[i].name)
     * holds expect[i].value, atomically: a compare-and-swap on the record */
    enum rc (*rec_cas)(struct store *s, struct span key, const struct store_field *expect,
                       const struct store_field *f, size_t n);
    /* an index (written by STORE_OP_INDEX_ADD in a batch): up to max members whose score is
     * below `below`, the highest first (equal scores: the greater member first) */
    enum rc (*index_range)(struct store *s, struct arena *a, struct span key, int64_t below,
                           size_t max, struct span **out, size_t *n);
};

/* Every backend struct starts with this. */
struct store {
    const struct store_ops *ops;
    atomic_ullong errors; /* calls that ended RC_UNAVAILABLE, for /metrics */
};

struct store_opts {
    size_t mem_max_bytes;        /* memory: bound on stored bytes (0 = 256 MiB) */
    uint32_t connect_timeout_ms; /* redis: 0 = 500 */
    uint32_t command_timeout_ms; /* redis: 0 = 1000 */
    uint32_t durable_replicas;   /* redis: WAIT this many replicas for STORE_DURABLE */
    uint32_t durable_timeout_ms; /* redis: 0 = 1000 */
    uint32_t reserve_percent;    /* 0-100: the part of the bound STORE_LOW puts leave free */
};

/* A backend is opened by the composition root (compose/compose.h: compose_store_open). */
void store_free(struct store *s);

/* Builds "authd:<kind>:{<tag>}" + suffix into the arena ("authd:code:{3f2a..}"): the
 * braces make a Redis Cluster hash tag. NULL when out of memory. */
struct span store_key(struct arena *a, const char *kind, struct span tag, const char *suffix);

/* Thin wrappers that count RC_UNAVAILABLE in s->errors. */
enum rc store_ping(struct store *s);
enum rc store_put(struct store *s, struct span key, struct span val, uint32_t ttl_s,
                  unsigned flags);
enum rc store_get(struct store *s, struct arena *a, struct span key, struct span *out);
enum rc store_take(struct store *s, struct arena *a, struct span key, struct span *out);
enum rc store_del(struct store *s, struct span key);
enum rc store_incr(struct store *s, struct span key, int64_t by, uint32_t ttl_s, int64_t *out);
enum rc store_ttl(struct store *s, struct span key, int64_t *out);
enum rc store_expire(struct store *s, struct span key, uint32_t ttl_s);
enum rc store_rec_put(struct store *s, struct span key, const struct store_field *f, size_t n,
                      uint32_t ttl_s, unsigned flags);
enum rc store_rec_get(struct store *s, struct arena *a, struct span key, struct store_record *out);
/* The value of field `name` in rec, or an empty span with p == NULL if absent. */
struct span store_rec_field(const struct store_record *rec, const char *name);
enum rc store_set_add(struct store *s, struct span key, struct span member, uint32_t ttl_s);
enum rc store_set_rem(struct store *s, struct span key, struct span member);
enum rc store_set_members(struct store *s, struct arena *a, struct span key, struct span **out,
                          size_t *n);
enum rc store_q_push(struct store *s, struct span queue, struct span item, int64_t due);
enum rc store_q_claim(struct store *s, struct arena *a, struct span queue, int64_t now,
                      uint32_t lease_s, struct span *item);
enum rc store_q_done(struct store *s, struct span queue, struct span item);
enum rc store_q_len(struct store *s, struct span queue, int64_t *out);
/* Writes only (PUT, REC_PUT, DEL, SET_ADD, EXPIRE): a read op is RC_MALFORMED. */
enum rc store_batch(struct store *s, const struct store_op *ops, size_t n);
/* Runs n (<= STORE_MAX_BATCH) independent calls, in order but NOT atomically, and fills
 * each c[i].rc (and value, rec or retry_ms) as the single call would have: one round trip on a
 * standalone Redis or a Sentinel master, one call after another in a cluster and in
 * memory. STORE_DURABLE is honoured per call. Returns RC_OK when every call was answered (its
 * own rc says how); else the failure (RC_UNAVAILABLE, RC_NOMEM; RC_TOO_LARGE or
 * RC_MALFORMED for a bad call, before any is made), which every unanswered c[i].rc holds
 * too. */
enum rc store_pipeline(struct store *s, struct arena *a, struct store_call *c, size_t n);
/* Replaces the value of the existing string key with val (ttl_s) and hands back the old
 * value in *old (in a), atomically: of any number of concurrent swappers exactly one gets
 * the value that was there before them (the others get what the one before them wrote).
 * RC_OK; RC_NOT_FOUND if key is absent (nothing written); RC_CONFLICT if it holds another
 * kind; RC_UNAVAILABLE. Codes: the winner of a redemption leaves a "used" marker in
 * place of the grant in the same step. */
enum rc store_swap(struct store *s, struct arena *a, struct span key, struct span val,
                   uint32_t ttl_s, struct span *old);
/* Indexes: a key of the queue kind (a Redis sorted set) that a batch extends with
 * STORE_OP_INDEX_ADD (a member, an integer score, the bound `keep`: past it the members of
 * the lowest scores go, equal scores the smaller member first) atomically with the other
 * writes it indexes (the audit chain's per-account index: flow/audit.c). Reads up to max
 * (1..STORE_INDEX_READ_MAX) members of key whose score is below `below` (INT64_MAX: all),
 * the highest score first, equal scores the greater member first; paging: the next page is
 * below the last score read. RC_OK (*n may be 0: an absent index is an empty one),
 * RC_CONFLICT (a key of another kind), RC_MALFORMED (max out of range), RC_UNAVAILABLE. */
enum rc store_index_range(struct store *s, struct arena *a, struct span key, int64_t below,
                          size_t max, struct span **out, size_t *n);
/* Token buckets (see struct store_limit): one store round trip for up to STORE_MAX_LIMITS
 * buckets. RC_OK: a token was taken from each. RC_LIMITED: none was; *retry_ms (may be
 * NULL) is how long until one would be. RC_MALFORMED (zero period or burst, bad key),
 * RC_TOO_LARGE (n > STORE_MAX_LIMITS), RC_CONFLICT (a key of another kind),
 * RC_UNAVAILABLE. */
enum rc store_limit(struct store *s, const struct store_limit *l, size_t n, int64_t now_ms,
                    int64_t *retry_ms);
/* One page of a walk over the keys that begin with prefix (empty: every key), for jobs that
 * must visit every record of a kind (re-sealing under a new data key, flow/rewrap.h). Start
 * with *cursor = 0; each call hands back *n keys in *keys (in a; maybe none, maybe
 * duplicates of keys seen before) and the cursor to go on with; *cursor = 0 when the walk is
 * over. count (1..STORE_SCAN_MAX) is a hint of the work done per call, not the number of
 * keys answered. The guarantee is Redis SCAN's: every key present for the whole walk is
 * answered at least once; a key added or removed during it may be answered or not. A cursor
 * is a plain number that stays valid across calls, connections and processes (a walk can
 * be resumed from a saved one); a cursor a backend did not hand out is RC_MALFORMED or ends
 * the walk early. Redis Cluster: every master is walked in turn (the node in the cursor's
 * top byte). RC_OK; RC_MALFORMED (count 0 or over STORE_SCAN_MAX, a prefix over
 * STORE_MAX_KEY or holding NUL); RC_UNAVAILABLE. */
#define STORE_SCAN_MAX 1000
enum rc store_scan(struct store *s, struct arena *a, uint64_t *cursor, struct span prefix,
                   uint32_t count, struct span **keys, size_t *n);
/* Compare-and-swap on a record: writes the n (1..STORE_MAX_FIELDS) fields f into the record
 * at key only if each field expect[i].name holds exactly expect[i].value (expect[i].name
 * must equal f[i].name), all in one atomic step; other fields and the record's ttl are left
 * as they are. RC_OK (written); RC_CONFLICT (a field differs or is absent: nothing written;
 * or key holds another kind); RC_NOT_FOUND (no such key); RC_MALFORMED (names differ, n out
 * of range); RC_TOO_LARGE; RC_UNAVAILABLE. A job that rewrites a record beside the live
 * flows (re-sealing) reads it, computes, and writes with this: a concurrent write wins, and
 * the job reads again. */
enum rc store_rec_cas(struct store *s, struct span key, const struct store_field *expect,
                      const struct store_field *f, size_t n);

#endif
