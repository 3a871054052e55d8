#include "port/clock.h"

#include <openssl/rand.h>
#include <time.h>

static int64_t
sys_now(const struct clock *c)
{
    struct timespec ts;

    (void)c;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static int64_t
sys_mono_us(const struct clock *c)
{
    struct timespec ts;

    (void)c;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum rc
sys_bytes(const struct rng *r, void *p, size_t n)
{
    (void)r;
    if (n > INT32_MAX || RAND_bytes(p, (int)n) != 1)
        return RC_INTERNAL;
    return RC_OK;
}

const struct clock clock_system = {sys_now, sys_mono_us, NULL};
const struct rng rng_system = {sys_bytes, NULL};
