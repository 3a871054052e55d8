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

enum rc
ratelimit_take(struct app *app, struct arena *a, const struct ratelimit *l, size_t n,
               uint32_t *retry_after_s, struct rc_info *ri)
{
    struct store_limit sl[STORE_MAX_LIMITS];
    uint64_t window_ms, dflt = (app->cfg->rate_window_s ? app->cfg->rate_window_s : 60) * 1000u;
    int64_t retry_ms = 0;
    size_t k = 0;
    char suffix[40];
    enum rc rc;

    if (retry_after_s)
        *retry_after_s = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i].limit == 0 || l[i].who.len == 0)
            continue;
        if (k == STORE_MAX_LIMITS
            || (size_t)snprintf(suffix, sizeof(suffix), ":%s", l[i].name) >= sizeof(suffix))
            return RC_INTERNAL;
        sl[k].key = store_key(a, "rl", l[i].who, suffix);
        if (!sl[k].key.p)
            return RC_NOMEM;
        window_ms = l[i].window_s ? (uint64_t)l[i].window_s * 1000u : dflt;
        sl[k].burst = l[i].limit;
        sl[k].period_ms = window_ms / l[i].limit > UINT32_MAX ? UINT32_MAX
                          : window_ms / l[i].limit            ? (uint32_t)(window_ms / l[i].limit)
                                                              : 1;
        k++;
    }
    rc = store_limit(app->store, sl, k, clock_now(app->clock) * 1000, &retry_ms);
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
