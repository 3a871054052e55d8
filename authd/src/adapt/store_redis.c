/* redis://, unix:, redis-sentinel://, redis-cluster://: the store port over Redis 7 with
 * hiredis 0.14 (sync API, binary-safe Argv calls). Each operation is one round trip: a
 * plain command where Redis has the exact semantics (SET NX/XX EX, GETDEL, ZADD...), else a
 * Lua script (atomic, run by EVALSHA, loaded by EVAL on NOSCRIPT). STORE_DURABLE writes are
 * followed in the same pipeline by WAIT durable_replicas; fewer acknowledgements is
 * RC_UNAVAILABLE (the write may still have happened: writes are idempotent by design).
 * Error replies map as: WRONGTYPE / not an integer -> RC_CONFLICT, overflow ->
 * RC_TOO_LARGE, OOM -> RC_FULL, CROSSSLOT -> RC_MALFORMED, anything else RC_UNAVAILABLE. */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/store_redis.h"

/* Script results: 0 done, 1 conflict (exists or wrong kind), 2 not found, 3 full. */
enum {
    SCR_REC_PUT,
    SCR_SET_ADD,
    SCR_EXPIRE,
    SCR_Q_CLAIM,
    SCR_BATCH,
    SCR_LIMIT,
    SCR_PUT_LOW,
    SCR__N
};

static const char *const scripts[SCR__N] = {
    /* ARGV: nx/xx (0, 1 nx, 2 xx), ttl, field, value, ... */
    [SCR_REC_PUT] = "local t = redis.call('TYPE', KEYS[1])['ok']\n"
                    "if ARGV[1] == '1' and t ~= 'none' then return 1 end\n"
                    "if ARGV[1] == '2' and t == 'none' then return 2 end\n"
                    "if t ~= 'none' and t ~= 'hash' then return 1 end\n"
                    "redis.call('HSET', KEYS[1], unpack(ARGV, 3))\n"
                    "if ARGV[2] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
                    "else redis.call('PERSIST', KEYS[1]) end\n"
                    "return 0\n",
    [SCR_SET_ADD] = "local t = redis.call('TYPE', KEYS[1])['ok']\n"
                    "if t ~= 'none' and t ~= 'set' then return 1 end\n"
                    "if t == 'none' and ARGV[3] == '1' then return 2 end\n"
                    "redis.call('SADD', KEYS[1], ARGV[1])\n"
                    "if ARGV[2] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
                    "else redis.call('PERSIST', KEYS[1]) end\n"
                    "return 0\n",
    [SCR_EXPIRE] = "if redis.call('EXISTS', KEYS[1]) == 0 then return 2 end\n"
                   "if ARGV[1] ~= '0' then redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
                   "else redis.call('PERSIST', KEYS[1]) end\n"
                   "return 0\n",
    /* ARGV: now, lease. The earliest due item is leased by moving its due time. */
    [SCR_Q_CLAIM] =
        "local t = redis.call('TYPE', KEYS[1])['ok']\n"
        "if t == 'none' then return {2} end\n"
        "if t ~= 'zset' then return {1} end\n"
        "local r = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)\n"
        "if #r == 0 then return {2} end\n"
        "redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), r[1])\n"
        "return {0, r[1]}\n",
    /* One op per key; ARGV per op: kind (p r d s e z), nx/xx, ttl, n, n args (z: member,
     * score, keep). Every check runs
     * first against the state the earlier ops leave, so a failing op writes nothing. */
    [SCR_BATCH] =
        "local a, st, ops = 1, {}, {}\n"
        "for i = 1, #KEYS do\n"
        "  local k, op, fl, ttl, n = KEYS[i], ARGV[a], ARGV[a+1], ARGV[a+2], tonumber(ARGV[a+3])\n"
        "  ops[i] = {op, ttl, a + 4, n}\n"
        "  a = a + 4 + n\n"
        "  if st[k] == nil then st[k] = redis.call('TYPE', k)['ok'] end\n"
        "  local t = st[k]\n"
        "  if (op == 'p' or op == 'r') and fl == '1' and t ~= 'none' then return 1 end\n"
        "  if (op == 'p' or op == 'r') and fl == '2' and t == 'none' then return 2 end\n"
        "  if op == 'r' and t ~= 'none' and t ~= 'hash' then return 1 end\n"
        "  if op == 's' and t ~= 'none' and t ~= 'set' then return 1 end\n"
        "  if op == 'z' and t ~= 'none' and t ~= 'zset' then return 1 end\n"
        "  if op == 'p' then st[k] = 'string' elseif op == 'r' then st[k] = 'hash'\n"
        "  elseif op == 's' then st[k] = 'set' elseif op == 'z' then st[k] = 'zset'\n"
        "  elseif op == 'd' then st[k] = 'none' end\n"
        "end\n"
        "for i = 1, #KEYS do\n"
        "  local k, op, ttl, s, n = KEYS[i], ops[i][1], ops[i][2], ops[i][3], ops[i][4]\n"
        "  if op == 'p' and ttl ~= '0' then redis.call('SET', k, ARGV[s], 'EX', ttl)\n"
        "  elseif op == 'p' then redis.call('SET', k, ARGV[s])\n"
        "  elseif op == 'r' then redis.call('HSET', k, unpack(ARGV, s, s + n - 1))\n"
        "  elseif op == 's' then redis.call('SADD', k, ARGV[s])\n"
        "  elseif op == 'z' then\n"
        "    redis.call('ZADD', k, ARGV[s + 1], ARGV[s])\n"
        "    if ARGV[s + 2] ~= '0' then\n"
        "      redis.call('ZREMRANGEBYRANK', k, 0, -1 - tonumber(ARGV[s + 2]))\n"
        "    end\n"
        "  elseif op == 'd' then redis.call('DEL', k) end\n"
        "  if (op == 'r' or op == 's' or op == 'e' or op == 'z')\n"
        "     and redis.call('EXISTS', k) == 1 then\n"
        "    if ttl ~= '0' then redis.call('EXPIRE', k, ttl) else redis.call('PERSIST', k) end\n"
        "  end\n"
        "end\n"
        "return 0\n",
    /* GCRA token buckets. ARGV: now_ms, then per key period_ms, burst. A key holds the
     * theoretical arrival time in ms; a request fits if it is at most (burst - 1) periods
     * ahead of now. All fit: each moves one period on and expires when the bucket is full
     * again; else nothing changes and the answer is {1, ms to wait}. Times stay below
     * 2^53, exact in Lua's doubles. */
    [SCR_LIMIT] = "local now, tats, wait = tonumber(ARGV[1]), {}, 0\n"
                  "for i = 1, #KEYS do\n"
                  "  local p, b = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])\n"
                  "  local t = tonumber(redis.call('GET', KEYS[i]) or now) or now\n"
                  "  if t < now then t = now end\n"
                  "  local w = t - now - (b - 1) * p\n"
                  "  if w > wait then wait = w end\n"
                  "  tats[i] = t + p\n"
                  "end\n"
                  "if wait > 0 then return {1, wait} end\n"
                  "for i = 1, #KEYS do\n"
                  "  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX',\n"
                  "             string.format('%.0f', tats[i] - now))\n"
                  "end\n"
                  "return {0, 0}\n",
    /* STORE_LOW put. ARGV: reserve percent, ttl, nx/xx, value. NX/XX are checked first
     * (as the memory store does); then refused (3) once the node's used_memory plus the
     * value passes maxmemory less the reserve; a node without maxmemory has no bound, so no
     * reserve either. INFO memory reads counters Redis keeps up to date: a few
     * microseconds inside the one round trip. */
    [SCR_PUT_LOW] =
        "local e = redis.call('EXISTS', KEYS[1])\n"
        "if ARGV[3] == '1' and e == 1 then return 1 end\n"
        "if ARGV[3] == '2' and e == 0 then return 2 end\n"
        "local info = redis.call('INFO', 'memory')\n"
        "local function num(name)\n" /* a plain find: a pattern scan costs more than INFO */
        "  local i = string.find(info, name, 1, true)\n"
        "  return i and tonumber(string.match(info, '^%d+', i + #name)) or 0\n"
        "end\n"
        "local used, max = num('\\nused_memory:'), num('\\nmaxmemory:')\n"
        "if max > 0 and used + #ARGV[4] > max - math.floor(max * tonumber(ARGV[1]) / 100) then\n"
        "  return 3\n"
        "end\n"
        "local a = {'SET', KEYS[1], ARGV[4]}\n"
        "if ARGV[2] ~= '0' then a[#a + 1] = 'EX'; a[#a + 1] = ARGV[2] end\n"
        "if ARGV[3] == '1' then a[#a + 1] = 'NX' elseif ARGV[3] == '2' then a[#a + 1] = 'XX' end\n"
        "if not redis.call(unpack(a)) then return tonumber(ARGV[3]) end\n"
        "return 0\n",
};

#define R(s)     ((struct rds *)(s))
#define NUMS     64
#define ARGS_MAX (4 + STORE_MAX_BATCH * (5 + 2 * STORE_MAX_FIELDS))
#define ARGS_FEW (8 + 2 * STORE_MAX_FIELDS)

/* An argument vector under construction; numbers are formatted into nums. */
struct args {
    int n, cap, nn;
    const char **v;
    size_t *l;
    char nums[NUMS][24];
};

static void
arg(struct args *a, const void *p, size_t len)
{
    if (a->n < a->cap) {
        a->v[a->n] = p;
        a->l[a->n++] = len;
    }
}

static void
arg_str(struct args *a, const char *s)
{
    arg(a, s, strlen(s));
}

static void
arg_span(struct args *a, struct span s)
{
    arg(a, s.len ? (const char *)s.p : "", s.len);
}

static void
arg_num(struct args *a, long long v)
{
    if (a->nn < NUMS) {
        int w = snprintf(a->nums[a->nn], sizeof(a->nums[0]), "%lld", v);
        if (w > 0 && (size_t)w < sizeof(a->nums[0]))
            arg(a, a->nums[a->nn], (size_t)w);
        a->nn++;
    }
}

/* Declares a small argument vector `a` on the stack. */
#define ARGS(a)                                                                                    \
    const char *a##_v[ARGS_FEW];                                                                   \
    size_t a##_l[ARGS_FEW];                                                                        \
    struct args a = {.cap = ARGS_FEW, .v = a##_v, .l = a##_l}

static enum rc
err_rc(const redisReply *e)
{
    if (strstr(e->str, "WRONGTYPE") || strstr(e->str, "not an integer"))
        return RC_CONFLICT;
    if (strstr(e->str, "overflow"))
        return RC_TOO_LARGE;
    if (strncmp(e->str, "OOM", 3) == 0 || strstr(e->str, " OOM "))
        return RC_FULL;
    if (strstr(e->str, "CROSSSLOT"))
        return RC_MALFORMED;
    return RC_UNAVAILABLE; /* LOADING, BUSY, MASTERDOWN, CLUSTERDOWN, NOAUTH...: fail closed */
}

/* Runs command a on key's node, followed by WAIT when durable. RC_OK: *rep is the
 * command's reply (caller frees) and *wait_rc says whether enough replicas acknowledged. */
static enum rc
run(struct rds *r, struct span key, const struct args *a, bool durable, redisReply **rep,
    enum rc *wait_rc)
{
    char n[16], ms[16];
    const char *wv[3] = {"WAIT", n, ms};
    size_t wl[3] = {4, 0, 0};
    struct rds_cmd cmds[2] = {{a->n, a->v, a->l}, {3, wv, wl}};
    redisReply *reps[2] = {NULL, NULL};
    enum rc rc;

    if (a->n >= a->cap || a->nn > NUMS)
        return RC_INTERNAL;
    durable = durable && r->o.durable_replicas > 0;
    wl[1] = (size_t)snprintf(n, sizeof(n), "%u", r->o.durable_replicas);
    wl[2] = (size_t)snprintf(ms, sizeof(ms), "%u", r->o.durable_timeout_ms);
    if ((rc = rds_exec(r, key, cmds, durable ? 2 : 1, reps)) != RC_OK)
        return rc;
    *wait_rc = RC_OK;
    if (durable) {
        if (reps[1]->type != REDIS_REPLY_INTEGER
            || reps[1]->integer < (long long)r->o.durable_replicas)
            *wait_rc = RC_UNAVAILABLE;
        freeReplyObject(reps[1]);
    }
    *rep = reps[0];
    return RC_OK;
}

/* Like run() for script i: a->v[0..1] are left for "EVALSHA sha" / "EVAL body". */
static enum rc
run_script(struct rds *r, int i, struct span key, struct args *a, bool durable, redisReply **rep,
           enum rc *wait_rc)
{
    enum rc rc;

    a->v[0] = "EVALSHA", a->l[0] = 7;
    a->v[1] = r->sha[i], a->l[1] = 40;
    if ((rc = run(r, key, a, durable, rep, wait_rc)) != RC_OK)
        return rc;
    if ((*rep)->type != REDIS_REPLY_ERROR || strncmp((*rep)->str, "NOSCRIPT", 8) != 0)
        return RC_OK;
    freeReplyObject(*rep);
    a->v[0] = "EVAL", a->l[0] = 4;
    a->v[1] = scripts[i], a->l[1] = strlen(scripts[i]);
    return run(r, key, a, durable, rep, wait_rc);
}

/* Maps a script's integer answer (0, 1, 2) or an error reply. */
static enum rc
script_rc(const redisReply *rep)
{
    if (rep->type == REDIS_REPLY_ERROR)
        return err_rc(rep);
    if (rep->type != REDIS_REPLY_INTEGER)
        return RC_INTERNAL;
    switch (rep->integer) {
    case 0:
        return RC_OK;
    case 1:
        return RC_CONFLICT;
    case 2:
        return RC_NOT_FOUND;
    case 3:
        return RC_FULL;
    }
    return RC_INTERNAL;
}

static enum rc
copy_str(struct arena *a, const redisReply *rep, struct span *out)
{
    char *d;

    if (rep->type != REDIS_REPLY_STRING)
        return RC_INTERNAL;
    if (!(d = arena_strndup(a, rep->str, rep->len)))
        return RC_NOMEM;
    *out = (struct span){(const uint8_t *)d, rep->len};
    return RC_OK;
}

/* Runs a, maps an error reply, and hands back the reply for the caller to read. */
#define RUN(key, a, durable)                                                                       \
    redisReply *rep = NULL;                                                                        \
    enum rc wrc = RC_OK, rc = run(R(s), (key), &(a), (durable), &rep, &wrc);                       \
    if (rc != RC_OK)                                                                               \
        return rc;                                                                                 \
    if (rep->type == REDIS_REPLY_ERROR)                                                            \
    rc = err_rc(rep)

static enum rc
rds_ping(struct store *s)
{
    ARGS(a);
    arg_str(&a, "PING");
    RUN(SPAN(""), a, false);
    freeReplyObject(rep);
    return rc;
}

/* SET key val [EX ttl] [NX|XX]: store_put, and with "GET" after it store_swap. */
static void
set_args(struct args *a, struct span key, struct span val, uint32_t ttl_s, unsigned flags)
{
    arg_str(a, "SET");
    arg_span(a, key);
    arg_span(a, val);
    if (ttl_s) {
        arg_str(a, "EX");
        arg_num(a, ttl_s);
    }
    if (flags & (STORE_NX | STORE_XX))
        arg_str(a, flags & STORE_NX ? "NX" : "XX");
}

static enum rc
put_reply(const redisReply *rep, unsigned flags)
{
    if (rep->type == REDIS_REPLY_ERROR)
        return err_rc(rep);
    if (rep->type == REDIS_REPLY_NIL)
        return flags & STORE_NX ? RC_CONFLICT : RC_NOT_FOUND;
    return RC_OK;
}

/* A STORE_LOW put (after the script helpers below). */
static enum rc put_low(struct store *s, struct span key, struct span val, uint32_t ttl_s,
                       unsigned flags);

static enum rc
rds_put(struct store *s, struct span key, struct span val, uint32_t ttl_s, unsigned flags)
{
    redisReply *rep = NULL;
    enum rc wrc = RC_OK, rc;
    ARGS(a);

    if (flags & STORE_LOW)
        return put_low(s, key, val, ttl_s, flags);
    set_args(&a, key, val, ttl_s, flags);
    if ((rc = run(R(s), key, &a, flags & STORE_DURABLE, &rep, &wrc)) != RC_OK)
        return rc;
    rc = put_reply(rep, flags);
    freeReplyObject(rep);
    return rc == RC_OK ? wrc : rc;
}

/* A string value's reply (GET, GETDEL, SET ... GET): nil is RC_NOT_FOUND. */
static enum rc
str_reply(struct arena *ar, const redisReply *rep, struct span *out)
{
    if (rep->type == REDIS_REPLY_ERROR)
        return err_rc(rep);
    return rep->type == REDIS_REPLY_NIL ? RC_NOT_FOUND : copy_str(ar, rep, out);
}

/* SET key val XX GET (Redis 7): replaces an existing value and answers the old one, nil
 * (nothing written) when the key is absent, WRONGTYPE for another kind. */
static enum rc
rds_swap(struct store *s, struct arena *ar, struct span key, struct span val, uint32_t ttl_s,
         struct span *old)
{
    redisReply *rep = NULL;
    enum rc wrc = RC_OK, rc;
    ARGS(a);

    set_args(&a, key, val, ttl_s, STORE_XX);
    arg_str(&a, "GET");
    if ((rc = run(R(s), key, &a, false, &rep, &wrc)) != RC_OK)
        return rc;
    rc = str_reply(ar, rep, old);
    freeReplyObject(rep);
    return rc;
}

static enum rc
get_cmd(struct store *s, struct arena *ar, struct span key, struct span *out, const char *cmd)
{
    redisReply *rep = NULL;
    enum rc wrc = RC_OK, rc;
    ARGS(a);

    arg_str(&a, cmd);
    arg_span(&a, key);
    if ((rc = run(R(s), key, &a, false, &rep, &wrc)) != RC_OK)
        return rc;
    rc = str_reply(ar, rep, out);
    freeReplyObject(rep);
    return rc;
}

static enum rc
rds_get(struct store *s, struct arena *a, struct span key, struct span *out)
{
    return get_cmd(s, a, key, out, "GET");
}

static enum rc
rds_take(struct store *s, struct arena *a, struct span key, struct span *out)
{
    return get_cmd(s, a, key, out, "GETDEL"); /* Redis 6.2+: exactly one taker wins */
}

/* A command answering an integer; 0 means RC_NOT_FOUND, else *out (may be NULL). */
static enum rc
int_cmd(struct store *s, struct span key, struct args *a, int64_t *out)
{
    RUN(key, *a, false);
    if (rc == RC_OK && rep->type != REDIS_REPLY_INTEGER)
        rc = RC_INTERNAL;
    else if (rc == RC_OK && out)
        *out = rep->integer;
    else if (rc == RC_OK && rep->integer == 0)
        rc = RC_NOT_FOUND;
    freeReplyObject(rep);
    return rc;
}

static enum rc
rds_del(struct store *s, struct span key)
{
    ARGS(a);
    arg_str(&a, "DEL");
    arg_span(&a, key);
    return int_cmd(s, key, &a, NULL);
}

static enum rc
rds_ttl(struct store *s, struct span key, int64_t *out)
{
    int64_t t = 0;
    enum rc rc;
    ARGS(a);

    arg_str(&a, "TTL");
    arg_span(&a, key);
    if ((rc = int_cmd(s, key, &a, &t)) != RC_OK)
        return rc;
    if (t == -2)
        return RC_NOT_FOUND;
    *out = t;
    return RC_OK;
}

/* The reply of the INCRBY inside EXEC: the new value, or the error that stopped it. */
static enum rc
incr_result(const redisReply *exec, int64_t *out)
{
    const redisReply *v;

    if (exec->type == REDIS_REPLY_ERROR)
        return err_rc(exec);
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != 2)
        return RC_UNAVAILABLE; /* EXECABORT or a nil EXEC */
    v = exec->element[1];
    if (v->type == REDIS_REPLY_ERROR)
        return err_rc(v);
    if (v->type != REDIS_REPLY_INTEGER)
        return RC_INTERNAL;
    *out = v->integer;
    return RC_OK;
}

/* MULTI; SET key 0 [EX ttl] NX; INCRBY key by; EXEC in one round trip: the ttl is set only
 * when the counter is created (a fixed window). Not Lua: Lua numbers are doubles and would
 * round counters past 2^53. */
static enum rc
rds_incr(struct store *s, struct span key, int64_t by, uint32_t ttl_s, int64_t *out)
{
    redisReply *reps[4] = {NULL};
    enum rc rc;
    ARGS(set);
    ARGS(inc);
    const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};
    size_t ml[1] = {5}, el[1] = {4};

    arg_str(&set, "SET"), arg_span(&set, key), arg_str(&set, "0");
    if (ttl_s)
        arg_str(&set, "EX"), arg_num(&set, ttl_s);
    arg_str(&set, "NX");
    arg_str(&inc, "INCRBY"), arg_span(&inc, key), arg_num(&inc, by);
    struct rds_cmd cmds[4] = {
        {1, multi, ml}, {set.n, set.v, set.l}, {inc.n, inc.v, inc.l}, {1, exec, el}};
    if ((rc = rds_exec(R(s), key, cmds, 4, reps)) != RC_OK)
        return rc;
    rc = incr_result(reps[3], out);
    for (int i = 0; i < 4; i++)
        freeReplyObject(reps[i]);
    return rc;
}

/* Runs a script that answers 0/1/2 on one key. */
static enum rc
code_script(struct store *s, int i, struct span key, struct args *a, bool durable)
{
    redisReply *rep = NULL;
    enum rc wrc, rc;

    if ((rc = run_script(R(s), i, key, a, durable, &rep, &wrc)) != RC_OK)
        return rc;
    rc = script_rc(rep);
    freeReplyObject(rep);
    return rc == RC_OK ? wrc : rc;
}

/* Script arguments after "EVALSHA sha" (left free in a->v[0..1]): numkeys 1, key. */
static void
script_key(struct args *a, struct span key)
{
    a->n = 2;
    arg_str(a, "1");
    arg_span(a, key);
}

static enum rc
rds_expire(struct store *s, struct span key, uint32_t ttl_s)
{
    ARGS(a);
    script_key(&a, key);
    arg_num(&a, ttl_s);
    return code_script(s, SCR_EXPIRE, key, &a, false);
}

static unsigned
nx_xx(unsigned flags)
{
    return flags & STORE_NX ? 1 : flags & STORE_XX ? 2 : 0;
}

/* A STORE_LOW put: the reserve check and the SET in one script. */
static enum rc
put_low(struct store *s, struct span key, struct span val, uint32_t ttl_s, unsigned flags)
{
    ARGS(a);
    script_key(&a, key);
    arg_num(&a, R(s)->o.reserve_percent < 100 ? R(s)->o.reserve_percent : 100);
    arg_num(&a, ttl_s);
    arg_num(&a, nx_xx(flags));
    arg_span(&a, val);
    return code_script(s, SCR_PUT_LOW, key, &a, flags & STORE_DURABLE);
}

static void
rec_put_args(struct args *a, struct span key, const struct store_field *f, size_t n, uint32_t ttl_s,
             unsigned flags)
{
    script_key(a, key);
    arg_num(a, nx_xx(flags));
    arg_num(a, ttl_s);
    for (size_t i = 0; i < n; i++) {
        arg_span(a, f[i].name);
        arg_span(a, f[i].value);
    }
}

static enum rc
rds_rec_put(struct store *s, struct span key, const struct store_field *f, size_t n, uint32_t ttl_s,
            unsigned flags)
{
    ARGS(a);
    rec_put_args(&a, key, f, n, ttl_s, flags);
    return code_script(s, SCR_REC_PUT, key, &a, flags & STORE_DURABLE);
}

/* HGETALL's reply: field, value, field, value...; empty is RC_NOT_FOUND. */
static enum rc
rec_reply(struct arena *ar, const redisReply *rep, struct store_record *out)
{
    struct store_field *f = NULL;
    enum rc rc = rep->type == REDIS_REPLY_ERROR ? err_rc(rep) : RC_OK;

    if (rc == RC_OK && (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2))
        rc = RC_INTERNAL;
    else if (rc == RC_OK && rep->elements == 0)
        rc = RC_NOT_FOUND;
    else if (rc == RC_OK && !(f = arena_alloc(ar, rep->elements / 2 * sizeof(*f))))
        rc = RC_NOMEM;
    for (size_t i = 0; rc == RC_OK && i < rep->elements / 2; i++) {
        if ((rc = copy_str(ar, rep->element[2 * i], &f[i].name)) == RC_OK)
            rc = copy_str(ar, rep->element[2 * i + 1], &f[i].value);
    }
    if (rc == RC_OK) {
        out->f = f;
        out->n = rep->elements / 2;
    }
    return rc;
}

static enum rc
rds_rec_get(struct store *s, struct arena *ar, struct span key, struct store_record *out)
{
    redisReply *rep = NULL;
    enum rc wrc = RC_OK, rc;
    ARGS(a);

    arg_str(&a, "HGETALL");
    arg_span(&a, key);
    if ((rc = run(R(s), key, &a, false, &rep, &wrc)) != RC_OK)
        return rc;
    rc = rec_reply(ar, rep, out);
    freeReplyObject(rep);
    return rc;
}

static void
set_add_args(struct args *a, struct span key, struct span member, uint32_t ttl_s, unsigned flags)
{
    script_key(a, key);
    arg_span(a, member);
    arg_num(a, ttl_s);
    arg_num(a, (flags & STORE_XX) ? 1 : 0); /* XX: only to a set that exists */
}

static enum rc
rds_set_add(struct store *s, struct span key, struct span member, uint32_t ttl_s, unsigned flags)
{
    ARGS(a);
    set_add_args(&a, key, member, ttl_s, flags);
    return code_script(s, SCR_SET_ADD, key, &a, false);
}

static enum rc
rds_set_rem(struct store *s, struct span key, struct span member)
{
    ARGS(a);
    arg_str(&a, "SREM");
    arg_span(&a, key);
    arg_span(&a, member);
    return int_cmd(s, key, &a, NULL);
}

/* The strings of array reply rep into *out (in ar), *n of them (0: *out NULL). */
static enum rc
strings_reply(struct arena *ar, const redisReply *rep, struct span **out, size_t *n)
{
    struct span *v = NULL;
    enum rc rc = RC_OK;

    if (rep->type != REDIS_REPLY_ARRAY)
        return RC_INTERNAL;
    if (rep->elements && !(v = arena_alloc(ar, rep->elements * sizeof(*v))))
        return RC_NOMEM;
    for (size_t i = 0; rc == RC_OK && i < rep->elements; i++)
        rc = copy_str(ar, rep->element[i], &v[i]);
    if (rc == RC_OK) {
        *out = v;
        *n = rep->elements;
    }
    return rc;
}

static enum rc
rds_set_members(struct store *s, struct arena *ar, struct span key, struct span **out, size_t *n)
{
    ARGS(a);

    arg_str(&a, "SMEMBERS");
    arg_span(&a, key);
    RUN(key, a, false);
    if (rc == RC_OK && rep->type == REDIS_REPLY_ARRAY && rep->elements == 0)
        rc = RC_NOT_FOUND;
    else if (rc == RC_OK)
        rc = strings_reply(ar, rep, out, n);
    freeReplyObject(rep);
    return rc;
}

static enum rc
rds_q_push(struct store *s, struct span queue, struct span item, int64_t due)
{
    int64_t added;
    ARGS(a);

    arg_str(&a, "ZADD");
    arg_span(&a, queue);
    arg_num(&a, due);
    arg_span(&a, item);
    return int_cmd(s, queue, &a, &added);
}

static enum rc
rds_q_claim(struct store *s, struct arena *ar, struct span queue, int64_t now, uint32_t lease_s,
            struct span *item)
{
    redisReply *rep = NULL;
    enum rc wrc, rc;
    ARGS(a);

    a.n = 2;
    arg_str(&a, "1");
    arg_span(&a, queue);
    arg_num(&a, now);
    arg_num(&a, lease_s);
    if ((rc = run_script(R(s), SCR_Q_CLAIM, queue, &a, false, &rep, &wrc)) != RC_OK)
        return rc;
    if (rep->type == REDIS_REPLY_ERROR)
        rc = err_rc(rep);
    else if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1
             || rep->element[0]->type != REDIS_REPLY_INTEGER)
        rc = RC_INTERNAL;
    else if (rep->element[0]->integer != 0)
        rc = rep->element[0]->integer == 1 ? RC_CONFLICT : RC_NOT_FOUND;
    else
        rc = rep->elements == 2 ? copy_str(ar, rep->element[1], item) : RC_INTERNAL;
    freeReplyObject(rep);
    return rc;
}

static enum rc
rds_q_done(struct store *s, struct span queue, struct span item)
{
    ARGS(a);
    arg_str(&a, "ZREM");
    arg_span(&a, queue);
    arg_span(&a, item);
    return int_cmd(s, queue, &a, NULL);
}

static enum rc
rds_q_len(struct store *s, struct span queue, int64_t *out)
{
    ARGS(a);
    arg_str(&a, "ZCARD");
    arg_span(&a, queue);
    return int_cmd(s, queue, &a, out);
}

/* ZREVRANGEBYSCORE key (below -inf LIMIT 0 max: one round trip. */
static enum rc
rds_index_range(struct store *s, struct arena *ar, struct span key, int64_t below, size_t max,
                struct span **out, size_t *n)
{
    char from[32];
    ARGS(a);

    if (below > STORE_INDEX_SCORE_MAX)
        snprintf(from, sizeof(from), "+inf");
    else
        snprintf(from, sizeof(from), "(%lld", (long long)below);
    arg_str(&a, "ZREVRANGEBYSCORE");
    arg_span(&a, key);
    arg_str(&a, from);
    arg_str(&a, "-inf");
    arg_str(&a, "LIMIT");
    arg_num(&a, 0);
    arg_num(&a, (long long)max);
    RUN(key, a, false);
    if (rc == RC_OK)
        rc = strings_reply(ar, rep, out, n);
    freeReplyObject(rep);
    return rc;
}

static const char *
op_code(enum store_op_kind k)
{
    switch (k) {
    case STORE_OP_PUT:
        return "p";
    case STORE_OP_REC_PUT:
        return "r";
    case STORE_OP_DEL:
        return "d";
    case STORE_OP_SET_ADD:
        return "s";
    case STORE_OP_INDEX_ADD:
        return "z";
    case STORE_OP_EXPIRE:
    case STORE_OP_GET: /* reads and limits never reach a batch (store_batch refuses them) */
    case STORE_OP_REC_GET:
    case STORE_OP_LIMIT:
        break;
    }
    return "e";
}

/* Appends op's per-op ARGV: kind, nx/xx, ttl, n, then n arguments. */
static void
batch_args(struct args *a, const struct store_op *op)
{
    arg_str(a, op_code(op->kind));
    arg_num(a, nx_xx(op->kind == STORE_OP_PUT || op->kind == STORE_OP_REC_PUT ? op->flags : 0));
    arg_num(a, op->ttl_s);
    if (op->kind == STORE_OP_REC_PUT) {
        arg_num(a, (long long)op->nfields * 2);
        for (size_t j = 0; j < op->nfields; j++) {
            arg_span(a, op->fields[j].name);
            arg_span(a, op->fields[j].value);
        }
    } else if (op->kind == STORE_OP_PUT || op->kind == STORE_OP_SET_ADD) {
        arg_num(a, 1);
        arg_span(a, op->value);
    } else if (op->kind == STORE_OP_INDEX_ADD) {
        arg_num(a, 3);
        arg_span(a, op->value);
        arg_num(a, op->score);
        arg_num(a, op->keep);
    } else {
        arg_num(a, 0);
    }
}

static enum rc
rds_batch(struct store *s, const struct store_op *ops, size_t n)
{
    struct args *a = malloc(sizeof(*a) + ARGS_MAX * (sizeof(char *) + sizeof(size_t)));
    bool durable = false;
    enum rc rc = RC_OK;

    if (!a)
        return RC_NOMEM;
    *a = (struct args){.cap = ARGS_MAX, .n = 2};
    a->v = (const char **)(a + 1);
    a->l = (size_t *)(a->v + ARGS_MAX);
    arg_num(a, (long long)n);
    for (size_t i = 0; i < n; i++) {
        arg_span(a, ops[i].key);
        durable |= (ops[i].flags & STORE_DURABLE) != 0;
        /* one slot for all: a cluster runs a script on one node only */
        if (R(s)->mode == RDS_CLUSTER && rds_key_slot(ops[i].key) != rds_key_slot(ops[0].key))
            rc = RC_MALFORMED;
    }
    for (size_t i = 0; i < n; i++)
        batch_args(a, &ops[i]);
    if (rc == RC_OK)
        rc = code_script(s, SCR_BATCH, ops[0].key, a, durable);
    free(a);
    return rc;
}

/* The limit script's answer: {0, 0} taken, {1, ms to wait} refused. */
static enum rc
limit_reply(const redisReply *rep, int64_t *retry_ms)
{
    if (rep->type == REDIS_REPLY_ERROR)
        return err_rc(rep);
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2
        || rep->element[0]->type != REDIS_REPLY_INTEGER
        || rep->element[1]->type != REDIS_REPLY_INTEGER)
        return RC_INTERNAL;
    if (rep->element[0]->integer == 0)
        return RC_OK;
    *retry_ms = rep->element[1]->integer;
    return RC_LIMITED;
}

/* Runs the limit script over l[0..n) (one slot: the caller checked). */
static enum rc
limit_script(struct store *s, const struct store_limit *l, size_t n, int64_t now_ms,
             int64_t *retry_ms)
{
    redisReply *rep = NULL;
    enum rc wrc, rc;
    ARGS(a);

    a.n = 2;
    arg_num(&a, (long long)n);
    for (size_t i = 0; i < n; i++)
        arg_span(&a, l[i].key);
    arg_num(&a, now_ms);
    for (size_t i = 0; i < n; i++)
        arg_num(&a, l[i].period_ms), arg_num(&a, l[i].burst);
    if ((rc = run_script(R(s), SCR_LIMIT, l[0].key, &a, false, &rep, &wrc)) != RC_OK)
        return rc;
    rc = limit_reply(rep, retry_ms);
    freeReplyObject(rep);
    return rc;
}

/* One script for all buckets; in a cluster, buckets on other slots than the first are
 * taken one by one (so a later refusal does not give back an earlier token). */
static enum rc
rds_limit(struct store *s, const struct store_limit *l, size_t n, int64_t now_ms, int64_t *retry_ms)
{
    bool one_slot = true;
    enum rc rc = RC_OK;

    for (size_t i = 1; i < n && R(s)->mode == RDS_CLUSTER; i++)
        one_slot = one_slot && rds_key_slot(l[i].key) == rds_key_slot(l[0].key);
    if (one_slot)
        return limit_script(s, l, n, now_ms, retry_ms);
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        rc = limit_script(s, &l[i], 1, now_ms, retry_ms);
    return rc;
}

/* ---- pipeline ---------------------------------------------------------------------------- */

/* One call's command into a (scripts by EVALSHA). */
static void
call_args(struct rds *r, struct args *a, const struct store_op *o)
{
    int scr = -1;

    switch (o->kind) {
    case STORE_OP_PUT:
        set_args(a, o->key, o->value, o->ttl_s, o->flags);
        break;
    case STORE_OP_DEL:
    case STORE_OP_GET:
    case STORE_OP_REC_GET:
        arg_str(a, o->kind == STORE_OP_DEL ? "DEL" : o->kind == STORE_OP_GET ? "GET" : "HGETALL");
        arg_span(a, o->key);
        break;
    case STORE_OP_REC_PUT:
        rec_put_args(a, o->key, o->fields, o->nfields, o->ttl_s, o->flags);
        scr = SCR_REC_PUT;
        break;
    case STORE_OP_SET_ADD:
        set_add_args(a, o->key, o->value, o->ttl_s, o->flags);
        scr = SCR_SET_ADD;
        break;
    case STORE_OP_EXPIRE:
        script_key(a, o->key);
        arg_num(a, o->ttl_s);
        scr = SCR_EXPIRE;
        break;
    case STORE_OP_LIMIT: /* limit_script's command for the one bucket */
        script_key(a, o->key);
        arg_num(a, o->now_ms);
        arg_num(a, o->period_ms);
        arg_num(a, o->burst);
        scr = SCR_LIMIT;
        break;
    case STORE_OP_INDEX_ADD: /* batch only: store_pipeline refuses it */
        break;
    }
    if (scr >= 0) {
        a->v[0] = "EVALSHA", a->l[0] = 7;
        a->v[1] = r->sha[scr], a->l[1] = 40;
    }
}

/* Reads call c's reply as its single call would. */
static enum rc
call_reply(struct arena *ar, struct store_call *c, const redisReply *rep)
{
    switch (c->op.kind) {
    case STORE_OP_PUT:
        return put_reply(rep, c->op.flags);
    case STORE_OP_GET:
        return str_reply(ar, rep, &c->value);
    case STORE_OP_REC_GET:
        return rec_reply(ar, rep, &c->rec);
    case STORE_OP_DEL:
        if (rep->type == REDIS_REPLY_ERROR)
            return err_rc(rep);
        return rep->type != REDIS_REPLY_INTEGER ? RC_INTERNAL
               : rep->integer == 0              ? RC_NOT_FOUND
                                                : RC_OK;
    case STORE_OP_REC_PUT:
    case STORE_OP_SET_ADD:
    case STORE_OP_EXPIRE:
        return script_rc(rep);
    case STORE_OP_LIMIT:
        return limit_reply(rep, &c->retry_ms);
    case STORE_OP_INDEX_ADD: /* batch only: store_pipeline refuses it */
        break;
    }
    return RC_INTERNAL;
}

struct call_args {
    struct args a;
    const char *v[ARGS_FEW];
    size_t l[ARGS_FEW];
};

/* Standalone and Sentinel: every call in one pipeline to the one master. A call whose
 * script the server has not loaded (NOSCRIPT) or that must be durable is made alone. */
static enum rc
rds_pipeline(struct store *s, struct arena *ar, struct store_call *c, size_t n)
{
    struct call_args *ca = malloc(n * sizeof(*ca)); /* each filled before use */
    struct rds_cmd cmds[STORE_MAX_BATCH];
    redisReply *reps[STORE_MAX_BATCH] = {0};
    size_t m = 0, idx[STORE_MAX_BATCH];
    enum rc rc = RC_OK;

    if (!ca)
        return RC_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct args *a = &ca[i].a;
        if (c[i].op.flags & STORE_DURABLE)
            continue;
        *a = (struct args){.cap = ARGS_FEW, .v = ca[i].v, .l = ca[i].l};
        call_args(R(s), a, &c[i].op);
        if (a->n >= a->cap || a->nn > NUMS) {
            rc = RC_INTERNAL;
            break;
        }
        cmds[m] = (struct rds_cmd){a->n, a->v, a->l};
        idx[m++] = i;
    }
    if (rc == RC_OK && m)
        rc = rds_exec(R(s), c[idx[0]].op.key, cmds, m, reps);
    for (size_t j = 0; j < m; j++) {
        struct store_call *k = &c[idx[j]];
        if (rc != RC_OK)
            k->rc = rc;
        else if (reps[j]->type == REDIS_REPLY_ERROR && strncmp(reps[j]->str, "NOSCRIPT", 8) == 0)
            store_call_one(s, ar, k);
        else
            k->rc = call_reply(ar, k, reps[j]);
        if (reps[j])
            freeReplyObject(reps[j]);
    }
    for (size_t i = 0; rc == RC_OK && i < n; i++)
        if (c[i].op.flags & STORE_DURABLE)
            store_call_one(s, ar, &c[i]);
    free(ca);
    return rc;
}

static void
rds_free(struct store *s)
{
    struct rds *r = R(s);

    rds_conn_clear(r);
    OPENSSL_cleanse(r->password, sizeof(r->password));
    free(r);
}

static const struct store_ops rds_ops = {
    .name = "redis",
    .ping = rds_ping,
    .put = rds_put,
    .get = rds_get,
    .take = rds_take,
    .del = rds_del,
    .incr = rds_incr,
    .ttl = rds_ttl,
    .expire = rds_expire,
    .rec_put = rds_rec_put,
    .rec_get = rds_rec_get,
    .set_add = rds_set_add,
    .set_rem = rds_set_rem,
    .set_members = rds_set_members,
    .q_push = rds_q_push,
    .q_claim = rds_q_claim,
    .q_done = rds_q_done,
    .q_len = rds_q_len,
    .batch = rds_batch,
    .free = rds_free,
    .limit = rds_limit,
    .swap = rds_swap,
    .pipeline = rds_pipeline,
    .scan = rds_scan,
    .rec_cas = rds_rec_cas,
    .index_range = rds_index_range,
};

static const struct store_ops rds_sentinel_ops = {
    "redis-sentinel", rds_ping,        rds_put,    rds_get,     rds_take,    rds_del,
    rds_incr,         rds_ttl,         rds_expire, rds_rec_put, rds_rec_get, rds_set_add,
    rds_set_rem,      rds_set_members, rds_q_push, rds_q_claim, rds_q_done,  rds_q_len,
    rds_batch,        rds_free,        rds_limit,  rds_swap,    rds_pipeline,
    /* clang-format: keep these rows as they are */
    rds_scan,         rds_rec_cas,     rds_index_range,
};

static const struct store_ops rds_cluster_ops = {
    "redis-cluster", rds_ping,        rds_put,    rds_get,     rds_take,    rds_del,
    rds_incr,        rds_ttl,         rds_expire, rds_rec_put, rds_rec_get, rds_set_add,
    rds_set_rem,     rds_set_members, rds_q_push, rds_q_claim, rds_q_done,  rds_q_len,
    rds_batch,       rds_free,        rds_limit,  rds_swap,    NULL, /* one by one */
    rds_scan,        rds_rec_cas,     rds_index_range,
};

static void
hash_scripts(struct rds *r)
{
    unsigned char md[SHA_DIGEST_LENGTH];

    for (int i = 0; i < SCR__N; i++) {
        SHA1((const unsigned char *)scripts[i], strlen(scripts[i]), md);
        for (int j = 0; j < SHA_DIGEST_LENGTH; j++)
            snprintf(r->sha[i] + 2 * j, 3, "%02x", md[j]);
    }
}

static void
set_opts(struct rds *r, const struct store_opts *o)
{
    r->o = *o;
    if (!r->o.connect_timeout_ms)
        r->o.connect_timeout_ms = 500;
    if (!r->o.command_timeout_ms)
        r->o.command_timeout_ms = 1000;
    if (!r->o.durable_timeout_ms)
        r->o.durable_timeout_ms = 1000;
}

enum rc
store_redis_open(const char *url, const struct store_opts *o, struct store **out,
                 struct rc_info *ri)
{
    struct rds *r = calloc(1, sizeof(*r));
    enum rc rc;

    if (!r)
        return RC_NOMEM;
    if ((rc = rds_parse_url(r, url, ri)) != RC_OK || (rc = rds_conn_init(r)) != RC_OK) {
        rds_free(&r->base);
        return rc;
    }
    r->base.ops = r->mode == RDS_SENTINEL  ? &rds_sentinel_ops
                  : r->mode == RDS_CLUSTER ? &rds_cluster_ops
                                           : &rds_ops;
    set_opts(r, o);
    hash_scripts(r);
    *out = &r->base;
    return RC_OK; /* not connected yet: calls answer RC_UNAVAILABLE until the server is up */
}
