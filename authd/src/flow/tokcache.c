#include "flow/tokcache.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 64
#define PROBE   8

struct slot {
    uint8_t h[16];
    int64_t exp; /* 0: empty */
};

struct tokcache {
    size_t mask;
    struct slot *slots;
    pthread_mutex_t mu[STRIPES];
};

enum rc
tokcache_new(size_t entries, struct tokcache **out)
{
    struct tokcache *c;
    size_t n = PROBE;

    *out = NULL;
    if (!entries)
        return RC_OK;
    while (n < entries && n < ((size_t)1 << 30))
        n <<= 1;
    if (!(c = calloc(1, sizeof(*c))) || !(c->slots = calloc(n, sizeof(*c->slots)))) {
        free(c);
        return RC_NOMEM;
    }
    c->mask = n - 1;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->mu[i], NULL);
    *out = c;
    return RC_OK;
}

void
tokcache_free(struct tokcache *c)
{
    if (!c)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->mu[i]);
    free(c->slots);
    free(c);
}

/* The probe window of a hash: PROBE slots from an aligned start, so one stripe owns it. */
static size_t
window(const struct tokcache *c, const uint8_t h[16], pthread_mutex_t **mu)
{
    uint64_t x;

    memcpy(&x, h, sizeof(x));
    size_t start = (size_t)x & c->mask & ~(size_t)(PROBE - 1);
    *mu = (pthread_mutex_t *)&c->mu[(start / PROBE) % STRIPES];
    return start;
}

static void
digest(struct span token, uint8_t h[16])
{
    uint8_t full[SHA256_DIGEST_LENGTH];

    SHA256(token.p, token.len, full);
    memcpy(h, full, 16);
}

void
tokcache_put(struct tokcache *c, struct span token, int64_t exp)
{
    uint8_t h[16];
    pthread_mutex_t *mu;
    size_t start, victim;

    if (!c || exp <= 0)
        return;
    digest(token, h);
    start = victim = window(c, h, &mu);
    pthread_mutex_lock(mu);
    for (size_t i = start; i < start + PROBE; i++) {
        struct slot *s = &c->slots[i];
        if (s->exp == 0 || memcmp(s->h, h, 16) == 0) {
            victim = i;
            break;
        }
        if (s->exp < c->slots[victim].exp)
            victim = i; /* full: replace the one expiring first */
    }
    memcpy(c->slots[victim].h, h, 16);
    c->slots[victim].exp = exp;
    pthread_mutex_unlock(mu);
}

bool
tokcache_hit(struct tokcache *c, struct span token, int64_t now)
{
    uint8_t h[16];
    pthread_mutex_t *mu;
    size_t start;
    bool hit = false;

    if (!c)
        return false;
    digest(token, h);
    start = window(c, h, &mu);
    pthread_mutex_lock(mu);
    for (size_t i = start; i < start + PROBE && !hit; i++) {
        struct slot *s = &c->slots[i];
        if (s->exp && CRYPTO_memcmp(s->h, h, 16) == 0) {
            hit = s->exp > now;
            if (!hit)
                s->exp = 0; /* expired: free the slot */
            break;
        }
    }
    pthread_mutex_unlock(mu);
    return hit;
}
