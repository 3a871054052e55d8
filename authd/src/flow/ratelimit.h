/* Abuse resistance shared by every authd node: token buckets in the store (store_limit,
 * GCRA), one store round trip per request for all the buckets it touches.
 *
 * A limit of N means N requests per window (rate_window_s unless the bucket names its own),
 * in bursts of up to N: the bucket holds N tokens and gains one every window / N. Buckets
 * live under authd:rl:{<who>}:<name> (who: the client address, the client id, or the account id, a
 * keyed hash of the ID number, so no ID number appears in the store) and expire once full.
 * A refusal is RC_LIMITED with the wait: the routes answer 429 with Retry-After
 * (RFC 6585 §4), JSON endpoints with "error":"too_many_requests" (docs/security.md). */
#ifndef AUTHD_FLOW_RATELIMIT_H
#define AUTHD_FLOW_RATELIMIT_H

#include <stdint.h>

#include "flow/app.h"
#include "port/store.h"
#include "util/arena.h"

/* One bucket to take a token from. */
struct ratelimit {
    const char *name; /* what is limited: "token:ip", "login:idn", ... (static) */
    struct span who;  /* whose bucket: an address, a client id, an account id */
    uint32_t limit;   /* requests per window; 0: no limit (the bucket is skipped) */
    uint32_t window_s; /* the window of limit; 0: rate_window_s */
};

/* Takes one token from each of the n (at most STORE_MAX_LIMITS) buckets, all or none, in
 * one store call; buckets with limit 0 or an empty `who` are skipped. RC_OK: allowed.
 * RC_LIMITED: *retry_after_s (>= 1) is the wait and ri->msg says it ("too many requests:
 * try again in 12 seconds", static or in a). RC_UNAVAILABLE (fail closed), RC_NOMEM,
 * RC_INTERNAL. */
enum rc ratelimit_take(struct app *app, struct arena *a, const struct ratelimit *l, size_t n,
                       uint32_t *retry_after_s, struct rc_info *ri);

/* ratelimit_take of one bucket in two halves, for a caller that takes the token in the
 * same store round trip as its own calls (store_pipeline; /authorize reads the browser's
 * session with it). ratelimit_op: RC_OK with *op filled (key in a); RC_NOT_FOUND when
 * the bucket is skipped (limit 0 or an empty `who`: nothing to send, the request is
 * allowed); RC_NOMEM, RC_INTERNAL. ratelimit_answer: what ratelimit_take would have
 * answered, from the call's answer. */
enum rc ratelimit_op(struct app *app, struct arena *a, const struct ratelimit *l,
                     struct store_op *op);
enum rc ratelimit_answer(struct arena *a, const struct store_call *c, uint32_t *retry_after_s,
                         struct rc_info *ri);

/* "<what>: try again in N seconds|minutes" in a (what itself when out of memory). */
const char *ratelimit_wait_msg(struct arena *a, const char *what, int64_t secs);

#endif
