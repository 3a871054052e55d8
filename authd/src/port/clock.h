/* Time and randomness come through these two ports so that flows and tests can inject
 * them. The real implementations are util-level functions; tests swap the pointers. */
#ifndef AUTHD_PORT_CLOCK_H
#define AUTHD_PORT_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "util/rc.h"

struct clock {
    /* Seconds since the Unix epoch (wall clock). */
    int64_t (*now)(const struct clock *c);
    /* Monotonic microseconds, for timeouts and latency. */
    int64_t (*mono_us)(const struct clock *c);
    void *self;
};

struct rng {
    /* Fills p with n cryptographically strong random bytes; RC_INTERNAL on failure. */
    enum rc (*bytes)(const struct rng *r, void *p, size_t n);
    void *self;
};

/* The system clock (CLOCK_REALTIME, CLOCK_MONOTONIC) and OpenSSL's RAND_bytes. */
extern const struct clock clock_system;
extern const struct rng rng_system;

static inline int64_t
clock_now(const struct clock *c)
{
    return c->now(c);
}
static inline int64_t
clock_mono_us(const struct clock *c)
{
    return c->mono_us(c);
}
static inline enum rc
rng_bytes(const struct rng *r, void *p, size_t n)
{
    return r->bytes(r, p, n);
}

#endif
