/* The store port's shared part: key building, and the wrappers that check
 * arguments once for every backend and count RC_UNAVAILABLE for /metrics. */
#include "port/store.h"

#include <string.h>

#include "port/store_impl.h"

#define ALL_FLAGS (STORE_NX | STORE_XX | STORE_DURABLE | STORE_LOW)

void
store_free(struct store *s)
{
    if (s)
        s->ops->free(s);
}

struct span
store_key(struct arena *a, const char *kind, struct span tag, const char *suffix)
{
    size_t kl = strlen(kind), sl = suffix ? strlen(suffix) : 0;
    size_t n = 6 + kl + 2 + tag.len + 1 + sl; /* "authd:" kind ":{" tag "}" suffix */
    uint8_t *p, *w;

    if (tag.len > STORE_MAX_KEY || !(p = arena_alloc(a, n + 1)))
        return (struct span){NULL, 0};
    w = p;
    memcpy(w, "authd:", 6), w += 6;
    memcpy(w, kind, kl), w += kl;
    memcpy(w, ":{", 2), w += 2;
    if (tag.len)
        memcpy(w, tag.p, tag.len), w += tag.len;
    *w++ = '}';
    if (sl)
        memcpy(w, suffix, sl);
    return (struct span){p, n};
}

struct span
store_rec_field(const struct store_record *rec, const char *name)
{
    for (size_t i = 0; rec && i < rec->n; i++)
        if (span_eq_str(rec->f[i].name, name))
            return rec->f[i].value;
    return (struct span){NULL, 0};
}

enum rc
store_check_key(struct span key)
{
    if (key.len > STORE_MAX_KEY)
        return RC_TOO_LARGE;
    if (key.len == 0 || !key.p || span_has_nul(key))
        return RC_MALFORMED;
    return RC_OK;
}

enum rc
store_check_value(struct span val)
{
    if (val.len > STORE_MAX_VALUE)
        return RC_TOO_LARGE;
    if (val.len && !val.p)
        return RC_MALFORMED;
    return RC_OK;
}

static enum rc
check_flags(unsigned flags)
{
    if ((flags & ~ALL_FLAGS) || (flags & (STORE_NX | STORE_XX)) == (STORE_NX | STORE_XX))
        return RC_MALFORMED;
    return RC_OK;
}

/* STORE_LOW is for a single put only (not records, batches or pipelines). */
static enum rc
check_flags_not_low(unsigned flags)
{
    return flags & STORE_LOW ? RC_MALFORMED : check_flags(flags);
}

/* A member of a set or a queue item: a short name, like a key. */
static enum rc
check_member(struct span m)
{
    if (m.len > STORE_MAX_KEY)
        return RC_TOO_LARGE;
    if (m.len == 0 || !m.p)
        return RC_MALFORMED;
    return RC_OK;
}

static enum rc
check_fields(const struct store_field *f, size_t n)
{
    size_t total = 0;
    enum rc rc;

    if (n == 0 || !f)
        return RC_MALFORMED;
    if (n > STORE_MAX_FIELDS)
        return RC_TOO_LARGE;
    for (size_t i = 0; i < n; i++) {
        if ((rc = store_check_key(f[i].name)) != RC_OK)
            return rc;
        if ((rc = store_check_value(f[i].value)) != RC_OK)
            return rc;
        total += f[i].name.len + f[i].value.len;
    }
    return total > STORE_MAX_VALUE ? RC_TOO_LARGE : RC_OK;
}

enum rc
store_check_op(const struct store_op *op)
{
    enum rc rc;

    if ((rc = store_check_key(op->key)) != RC_OK || (rc = check_flags_not_low(op->flags)) != RC_OK)
        return rc;
    switch (op->kind) {
    case STORE_OP_PUT:
        return store_check_value(op->value);
    case STORE_OP_REC_PUT:
        return check_fields(op->fields, op->nfields);
    case STORE_OP_SET_ADD:
        return op->flags & STORE_NX ? RC_MALFORMED : check_member(op->value);
    case STORE_OP_INDEX_ADD:
        if (op->score > STORE_INDEX_SCORE_MAX || op->score < -STORE_INDEX_SCORE_MAX
            || (op->flags & (STORE_NX | STORE_XX)))
            return RC_MALFORMED;
        return check_member(op->value);
    case STORE_OP_LIMIT:
        return op->period_ms == 0 || op->burst == 0 || op->now_ms < 0 ? RC_MALFORMED : RC_OK;
    case STORE_OP_DEL:
    case STORE_OP_EXPIRE:
    case STORE_OP_GET:
    case STORE_OP_REC_GET:
        return RC_OK;
    }
    return RC_MALFORMED;
}

static enum rc
count(struct store *s, enum rc rc)
{
    if (rc == RC_UNAVAILABLE)
        atomic_fetch_add(&s->errors, 1);
    return rc;
}

/* Evaluates check expression c; on failure returns its rc from the calling wrapper. */
#define CHECKED(c)                                                                                 \
    do {                                                                                           \
        enum rc crc_ = (c);                                                                        \
        if (crc_ != RC_OK)                                                                         \
            return crc_;                                                                           \
    } while (0)

enum rc
store_ping(struct store *s)
{
    return count(s, s->ops->ping(s));
}

enum rc
store_put(struct store *s, struct span key, struct span val, uint32_t ttl_s, unsigned flags)
{
    CHECKED(store_check_key(key));
    CHECKED(store_check_value(val));
    CHECKED(check_flags(flags));
    return count(s, s->ops->put(s, key, val, ttl_s, flags));
}

enum rc
store_get(struct store *s, struct arena *a, struct span key, struct span *out)
{
    CHECKED(store_check_key(key));
    return count(s, s->ops->get(s, a, key, out));
}

enum rc
store_take(struct store *s, struct arena *a, struct span key, struct span *out)
{
    CHECKED(store_check_key(key));
    return count(s, s->ops->take(s, a, key, out));
}

enum rc
store_del(struct store *s, struct span key)
{
    CHECKED(store_check_key(key));
    return count(s, s->ops->del(s, key));
}

enum rc
store_incr(struct store *s, struct span key, int64_t by, uint32_t ttl_s, int64_t *out)
{
    CHECKED(store_check_key(key));
    return count(s, s->ops->incr(s, key, by, ttl_s, out));
}

enum rc
store_ttl(struct store *s, struct span key, int64_t *out)
{
    CHECKED(store_check_key(key));
    return count(s, s->ops->ttl(s, key, out));
}

enum rc
store_expire(struct store *s, struct span key, uint32_t ttl_s)
{
    CHECKED(store_check_key(key));
    return count(s, s->ops->expire(s, key, ttl_s));
}

enum rc
store_rec_put(struct store *s, struct span key, const struct store_field *f, size_t n,
              uint32_t ttl_s, unsigned flags)
{
    CHECKED(store_check_key(key));
    CHECKED(check_fields(f, n));
    CHECKED(check_flags_not_low(flags));
    return count(s, s->ops->rec_put(s, key, f, n, ttl_s, flags));
}

enum rc
store_rec_get(struct store *s, struct arena *a, struct span key, struct store_record *out)
{
    CHECKED(store_check_key(key));
    return count(s, s->ops->rec_get(s, a, key, out));
}

enum rc
store_set_add(struct store *s, struct span key, struct span member, uint32_t ttl_s)
{
    CHECKED(store_check_key(key));
    CHECKED(check_member(member));
    return count(s, s->ops->set_add(s, key, member, ttl_s, 0));
}

enum rc
store_set_rem(struct store *s, struct span key, struct span member)
{
    CHECKED(store_check_key(key));
    CHECKED(check_member(member));
    return count(s, s->ops->set_rem(s, key, member));
}

enum rc
store_set_members(struct store *s, struct arena *a, struct span key, struct span **out, size_t *n)
{
    CHECKED(store_check_key(key));
    return count(s, s->ops->set_members(s, a, key, out, n));
}

enum rc
store_q_push(struct store *s, struct span queue, struct span item, int64_t due)
{
    CHECKED(store_check_key(queue));
    CHECKED(check_member(item));
    return count(s, s->ops->q_push(s, queue, item, due));
}

enum rc
store_q_claim(struct store *s, struct arena *a, struct span queue, int64_t now, uint32_t lease_s,
              struct span *item)
{
    CHECKED(store_check_key(queue));
    return count(s, s->ops->q_claim(s, a, queue, now, lease_s, item));
}

enum rc
store_q_done(struct store *s, struct span queue, struct span item)
{
    CHECKED(store_check_key(queue));
    CHECKED(check_member(item));
    return count(s, s->ops->q_done(s, queue, item));
}

enum rc
store_q_len(struct store *s, struct span queue, int64_t *out)
{
    CHECKED(store_check_key(queue));
    return count(s, s->ops->q_len(s, queue, out));
}

enum rc
store_batch(struct store *s, const struct store_op *ops, size_t n)
{
    if (n > STORE_MAX_BATCH)
        return RC_TOO_LARGE;
    if (n == 0)
        return RC_OK;
    if (!ops)
        return RC_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        CHECKED(store_check_op(&ops[i]));
        if (ops[i].kind == STORE_OP_GET || ops[i].kind == STORE_OP_REC_GET
            || ops[i].kind == STORE_OP_LIMIT
            || (ops[i].kind == STORE_OP_SET_ADD && (ops[i].flags & STORE_XX)))
            return RC_MALFORMED;
    }
    return count(s, s->ops->batch(s, ops, n));
}

/* One call of a pipeline made alone (backends without a pipeline, and their fallbacks). */
enum rc
store_call_one(struct store *s, struct arena *a, struct store_call *c)
{
    const struct store_op *o = &c->op;

    switch (o->kind) {
    case STORE_OP_PUT:
        return c->rc = s->ops->put(s, o->key, o->value, o->ttl_s, o->flags);
    case STORE_OP_REC_PUT:
        return c->rc = s->ops->rec_put(s, o->key, o->fields, o->nfields, o->ttl_s, o->flags);
    case STORE_OP_DEL:
        return c->rc = s->ops->del(s, o->key);
    case STORE_OP_SET_ADD:
        return c->rc = s->ops->set_add(s, o->key, o->value, o->ttl_s, o->flags);
    case STORE_OP_EXPIRE:
        return c->rc = s->ops->expire(s, o->key, o->ttl_s);
    case STORE_OP_GET:
        return c->rc = s->ops->get(s, a, o->key, &c->value);
    case STORE_OP_REC_GET:
        return c->rc = s->ops->rec_get(s, a, o->key, &c->rec);
    case STORE_OP_LIMIT: {
        struct store_limit l = {o->key, o->period_ms, o->burst};
        return c->rc = s->ops->limit(s, &l, 1, o->now_ms, &c->retry_ms);
    }
    case STORE_OP_INDEX_ADD: /* batch only (store_pipeline refuses it) */
        break;
    }
    return c->rc = RC_MALFORMED;
}

enum rc
store_pipeline(struct store *s, struct arena *a, struct store_call *c, size_t n)
{
    enum rc rc = RC_OK;

    if (n > STORE_MAX_BATCH)
        return RC_TOO_LARGE;
    if (n && !c)
        return RC_MALFORMED;
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        rc = c[i].op.kind == STORE_OP_INDEX_ADD ? RC_MALFORMED : store_check_op(&c[i].op);
    for (size_t i = 0; i < n; i++) {
        c[i].rc = rc != RC_OK ? rc : RC_INTERNAL; /* until the backend made the call */
        c[i].value = (struct span){NULL, 0};
        c[i].rec = (struct store_record){0, NULL};
        c[i].retry_ms = 0;
    }
    if (rc != RC_OK || n == 0)
        return rc;
    if (s->ops->pipeline)
        rc = s->ops->pipeline(s, a, c, n);
    else
        for (size_t i = 0; i < n; i++)
            store_call_one(s, a, &c[i]);
    for (size_t i = 0; i < n; i++)
        count(s, c[i].rc);
    return rc;
}

enum rc
store_index_range(struct store *s, struct arena *a, struct span key, int64_t below, size_t max,
                  struct span **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    CHECKED(store_check_key(key));
    if (max == 0 || max > STORE_INDEX_READ_MAX)
        return RC_MALFORMED;
    if (!s->ops->index_range)
        return RC_UNAVAILABLE;
    return count(s, s->ops->index_range(s, a, key, below, max, out, n));
}

enum rc
store_swap(struct store *s, struct arena *a, struct span key, struct span val, uint32_t ttl_s,
           struct span *old)
{
    CHECKED(store_check_key(key));
    CHECKED(store_check_value(val));
    return count(s, s->ops->swap(s, a, key, val, ttl_s, old));
}

enum rc
store_limit(struct store *s, const struct store_limit *l, size_t n, int64_t now_ms,
            int64_t *retry_ms)
{
    int64_t dummy = 0;

    if (n > STORE_MAX_LIMITS)
        return RC_TOO_LARGE;
    if (n == 0)
        return RC_OK;
    if (!l || now_ms < 0)
        return RC_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        if (l[i].period_ms == 0 || l[i].burst == 0)
            return RC_MALFORMED;
        CHECKED(store_check_key(l[i].key));
    }
    return count(s, s->ops->limit(s, l, n, now_ms, retry_ms ? retry_ms : &dummy));
}

enum rc
store_scan(struct store *s, struct arena *a, uint64_t *cursor, struct span prefix, uint32_t hint,
           struct span **keys, size_t *n)
{
    *keys = NULL;
    *n = 0;
    if (hint == 0 || hint > STORE_SCAN_MAX || prefix.len > STORE_MAX_KEY
        || (prefix.len && (!prefix.p || span_has_nul(prefix))))
        return RC_MALFORMED;
    if (!s->ops->scan)
        return RC_INTERNAL;
    return count(s, s->ops->scan(s, a, cursor, prefix, hint, keys, n));
}

enum rc
store_rec_cas(struct store *s, struct span key, const struct store_field *expect,
              const struct store_field *f, size_t n)
{
    CHECKED(store_check_key(key));
    if (n == 0 || !expect || !f)
        return RC_MALFORMED;
    CHECKED(check_fields(f, n));
    CHECKED(check_fields(expect, n));
    for (size_t i = 0; i < n; i++)
        if (!span_eq(expect[i].name, f[i].name))
            return RC_MALFORMED;
    if (!s->ops->rec_cas)
        return RC_INTERNAL;
    return count(s, s->ops->rec_cas(s, key, expect, f, n));
}
