#include "flow/ratelimit.h"

#include <stdio.h>

#include "port/store.h"

const char *
ratelimit_wait_msg(struct arena *a, const char *what, int64_t secs)
{
    const char *m;

    if (secs < 60)
        m = arena_printf(a, "%s: try again in %lld seconds", what,
                         (long long)(secs > 0 ? secs : 1));
    else
        m = arena_printf(a, "%s: try again in %lld minutes", what, (long long)((secs + 59) / 60));
    return m ? m : what;
}

/* Fills sl from l: key in a. RC_NOMEM, RC_INTERNAL (a name too long). */
static enum rc
bucket(struct app *app, struct arena *a, const struct ratelimit *l, struct store_limit *sl)
{
    uint64_t window_ms, dflt = (app->cfg->rate_window_s ? app->cfg->rate_window_s : 60) * 1000u;
    char suffix[40];

    if ((size_t)snprintf(suffix, sizeof(suffix), ":%s", l->name) >= sizeof(suffix))
        return RC_INTERNAL;
    sl->key = store_key(a, "rl", l->who, suffix);
    if (!sl->key.p)
        return RC_NOMEM;
    window_ms = l->window_s ? (uint64_t)l->window_s * 1000u : dflt;
    sl->burst = l->limit;
    sl->period_ms = window_ms / l->limit > UINT32_MAX ? UINT32_MAX
                    : window_ms / l->limit            ? (uint32_t)(window_ms / l->limit)
                                                      : 1;
    return RC_OK;
}

/* What the store's answer rc (with retry_ms) means for the caller. */
static enum rc
answer(struct arena *a, enum rc rc, int64_t retry_ms, uint32_t *retry_after_s,
       struct rc_info *ri)
{
    if (rc == RC_LIMITED) {
        int64_t secs = (retry_ms + 999) / 1000;
        if (retry_after_s)
            *retry_after_s = (uint32_t)(secs > 0 ? secs : 1);
        return rc_set(ri, RC_LIMITED, NULL, ratelimit_wait_msg(a, "too many requests", secs));
    }
    if (rc == RC_FULL || rc == RC_CONFLICT)
        rc = RC_UNAVAILABLE; /* fail closed */
    return rc;
}

enum rc
ratelimit_take(struct app *app, struct arena *a, const struct ratelimit *l, size_t n,
               uint32_t *retry_after_s, struct rc_info *ri)
{
    struct store_limit sl[STORE_MAX_LIMITS];
    int64_t retry_ms = 0;
    size_t k = 0;
    enum rc rc;

    if (retry_after_s)
        *retry_after_s = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i].limit == 0 || l[i].who.len == 0)
            continue;
        if (k == STORE_MAX_LIMITS)
            return RC_INTERNAL;
        if ((rc = bucket(app, a, &l[i], &sl[k])) != RC_OK)
            return rc;
        k++;
    }
    rc = store_limit(app->store, sl, k, clock_now(app->clock) * 1000, &retry_ms);
    return answer(a, rc, retry_ms, retry_after_s, ri);
}

enum rc
ratelimit_op(struct app *app, struct arena *a, const struct ratelimit *l, struct store_op *op)
{
    struct store_limit sl;
    enum rc rc;

    if (l->limit == 0 || l->who.len == 0)
        return RC_NOT_FOUND;
    if ((rc = bucket(app, a, l, &sl)) != RC_OK)
        return rc;
    *op = (struct store_op){.kind = STORE_OP_LIMIT,
                            .key = sl.key,
                            .period_ms = sl.period_ms,
                            .burst = sl.burst,
                            .now_ms = clock_now(app->clock) * 1000};
    return RC_OK;
}

enum rc
ratelimit_answer(struct arena *a, const struct store_call *c, uint32_t *retry_after_s,
                 struct rc_info *ri)
{
    if (retry_after_s)
        *retry_after_s = 0;
    return answer(a, c->rc, c->retry_ms, retry_after_s, ri);
}
