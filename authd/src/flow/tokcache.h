/* A node-local cache of access tokens whose signature is known good: tokens this node
 * minted, and tokens it verified once. A hit lets /introspect and /userinfo skip the ECDSA
 * verification (≈ 45 µs, most of their cost); revocation is still read from the store on
 * every call, so the cache never makes a revoked token look active.
 *
 * Entries are the first 16 bytes of SHA-256(token) and the token's exp: a hit means these
 * exact bytes passed (or came out of) jose_sign/jose_verify with the access-token options
 * before. The table is bounded (a fixed number of slots, set at start); when a probe
 * window is full, the entry expiring first is replaced. Thread-safe (striped locks). */
#ifndef AUTHD_FLOW_TOKCACHE_H
#define AUTHD_FLOW_TOKCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/span.h"

struct tokcache;

/* A table of at least `entries` slots (rounded up to a power of two; 0 = disabled, then
 * every call is a miss). RC_OK or RC_NOMEM. */
enum rc tokcache_new(size_t entries, struct tokcache **out);
void tokcache_free(struct tokcache *c);
/* Remembers token as good until exp (unix seconds). */
void tokcache_put(struct tokcache *c, struct span token, int64_t exp);
/* True if token was remembered and has not expired at now. */
bool tokcache_hit(struct tokcache *c, struct span token, int64_t now);

#endif
