/* The store operations of jobs that walk the store beside the live flows (flow/rewrap.h):
 * store_scan over SCAN and store_rec_cas over a Lua script. Apart from store_redis.c so that
 * the hot path's file stays as it is; they use the same entry point, rds_exec.
 *
 * SCAN (https://redis.io/docs/latest/commands/scan/) guarantees that a key present from the
 * start of a full iteration to its end is returned at least once, with a cursor that is a
 * plain unsigned 64-bit number the client may keep anywhere: store_scan's contract is that
 * one. MATCH is a glob: the prefix is escaped (\ before * ? [ ] \) and followed by "*".
 *
 * Redis Cluster: SCAN walks one node's keyspace. The masters of the slot map, sorted by
 * address (a stable order across processes), are walked one after another; the cursor's
 * top byte is the master's index and the low 56 bits that master's SCAN cursor (Redis's
 * cursors are the reversed bits of a table index: far below 2^56 for any table that fits in
 * memory). A map that changes during the walk (a resharding) may skip keys that moved: the
 * walk's job must then be run again (docs/storage.md, "Scanning"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/store_redis.h"

#define NODE_SHIFT 56
#define LOW_MASK   ((1ull << NODE_SHIFT) - 1)

/* ARGV: field, expected, new, ... Answers 0 written, 1 a field differs (or another kind),
 * 2 no such key. HSET leaves the ttl alone. */
static const char cas_script[] =
    "local t = redis.call('TYPE', KEYS[1])['ok']\n"
    "if t == 'none' then return 2 end\n"
    "if t ~= 'hash' then return 1 end\n"
    "for i = 1, #ARGV, 3 do\n"
    "  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 1 end\n"
    "end\n"
    "for i = 1, #ARGV, 3 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2]) end\n"
    "return 0\n";

enum rc
rds_rec_cas(struct store *s, struct span key, const struct store_field *expect,
            const struct store_field *f, size_t n)
{
    const char *v[4 + 3 * STORE_MAX_FIELDS];
    size_t l[4 + 3 * STORE_MAX_FIELDS];
    struct rds_cmd cmd = {0, v, l};
    redisReply *rep = NULL;
    enum rc rc;

    if (n > STORE_MAX_FIELDS)
        return RC_TOO_LARGE;
    v[0] = "EVAL", l[0] = 4;
    v[1] = cas_script, l[1] = sizeof(cas_script) - 1;
    v[2] = "1", l[2] = 1;
    v[3] = (const char *)key.p, l[3] = key.len;
    cmd.argc = 4;
    for (size_t i = 0; i < n; i++) {
        const struct span *p[3] = {&f[i].name, &expect[i].value, &f[i].value};
        for (int j = 0; j < 3; j++, cmd.argc++) {
            v[cmd.argc] = p[j]->len ? (const char *)p[j]->p : "";
            l[cmd.argc] = p[j]->len;
        }
    }
    if ((rc = rds_exec((struct rds *)s, key, &cmd, 1, &rep)) != RC_OK)
        return rc;
    if (rep->type == REDIS_REPLY_ERROR)
        rc = strstr(rep->str, "WRONGTYPE") ? RC_CONFLICT : RC_UNAVAILABLE;
    else if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 || rep->integer > 2)
        rc = RC_INTERNAL;
    else
        rc = rep->integer == 0 ? RC_OK : rep->integer == 1 ? RC_CONFLICT : RC_NOT_FOUND;
    freeReplyObject(rep);
    return rc;
}

/* The MATCH pattern of prefix into out (cap >= 2 * STORE_MAX_KEY + 2). */
static size_t
glob_of(struct span prefix, char *out)
{
    size_t w = 0;

    for (size_t i = 0; i < prefix.len; i++) {
        if (strchr("*?[]\\", prefix.p[i]))
            out[w++] = '\\';
        out[w++] = (char)prefix.p[i];
    }
    out[w++] = '*';
    return w;
}

/* SCAN's reply [cursor, [key...]] into *next and keys (in a). */
static enum rc
scan_reply(struct arena *a, const redisReply *rep, uint64_t *next, struct span **keys, size_t *n)
{
    const redisReply *list;
    struct span *out;
    char *end = NULL;

    if (rep->type == REDIS_REPLY_ERROR)
        return RC_UNAVAILABLE;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
        || rep->element[0]->type != REDIS_REPLY_STRING
        || rep->element[1]->type != REDIS_REPLY_ARRAY)
        return RC_INTERNAL;
    *next = strtoull(rep->element[0]->str, &end, 10);
    if (!end || *end)
        return RC_INTERNAL;
    list = rep->element[1];
    if (!(out = arena_alloc(a, (list->elements ? list->elements : 1) * sizeof(*out))))
        return RC_NOMEM;
    for (size_t i = 0; i < list->elements; i++) {
        char *d;
        if (list->element[i]->type != REDIS_REPLY_STRING)
            return RC_INTERNAL;
        if (!(d = arena_strndup(a, list->element[i]->str, list->element[i]->len)))
            return RC_NOMEM;
        out[i] = (struct span){(const uint8_t *)d, list->element[i]->len};
    }
    *keys = out;
    *n = list->elements;
    return RC_OK;
}

/* One SCAN on the node that owns key (standalone, Sentinel's master), or on the connection c
 * (a cluster master) when c is not NULL. */
static enum rc
scan_once(struct rds *r, redisContext *c, struct arena *a, uint64_t cursor, struct span prefix,
          uint32_t count, uint64_t *next, struct span **keys, size_t *n)
{
    char cur[24], cnt[16], pat[2 * STORE_MAX_KEY + 2];
    const char *v[6] = {"SCAN", cur, "MATCH", pat, "COUNT", cnt};
    size_t l[6] = {4, 0, 5, 0, 5, 0};
    struct rds_cmd cmd = {6, v, l};
    redisReply *rep = NULL;
    enum rc rc;

    l[1] = (size_t)snprintf(cur, sizeof(cur), "%llu", (unsigned long long)cursor);
    l[3] = glob_of(prefix, pat);
    l[5] = (size_t)snprintf(cnt, sizeof(cnt), "%u", count);
    if (c) {
        rep = redisCommandArgv(c, 6, v, l);
        if (!rep)
            return RC_UNAVAILABLE;
    } else if ((rc = rds_exec(r, prefix.len ? prefix : SPAN("scan"), &cmd, 1, &rep)) != RC_OK) {
        return rc;
    }
    rc = scan_reply(a, rep, next, keys, n);
    freeReplyObject(rep);
    return rc;
}

enum rc
rds_scan(struct store *s, struct arena *a, uint64_t *cursor, struct span prefix, uint32_t count,
         struct span **keys, size_t *n)
{
    struct rds *r = (struct rds *)s;
    char addr[RDS_ADDR_MAX];
    size_t node = (size_t)(*cursor >> NODE_SHIFT), nodes = 0;
    uint64_t next = 0;
    redisContext *c;
    enum rc rc;

    if (r->mode != RDS_CLUSTER)
        return scan_once(r, NULL, a, *cursor, prefix, count, cursor, keys, n);
    if (!rds_cluster_master(r, node, addr, &nodes))
        return node < nodes || nodes == 0 ? RC_UNAVAILABLE : RC_MALFORMED;
    if (!(c = rds_connect_node(r, addr)))
        return RC_UNAVAILABLE;
    rc = scan_once(r, c, a, *cursor & LOW_MASK, prefix, count, &next, keys, n);
    redisFree(c);
    if (rc == RC_OK && next > LOW_MASK)
        rc = RC_INTERNAL;
    if (rc == RC_OK)
        *cursor = next               ? (uint64_t)node << NODE_SHIFT | next
                  : node + 1 < nodes ? (uint64_t)(node + 1) << NODE_SHIFT
                                     : 0;
    return rc;
}
