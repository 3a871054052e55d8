/* The Redis store (standalone, Sentinel or Cluster): its constructor, without hiredis. */
#ifndef AUTHD_ADAPT_STORE_REDIS_OPEN_H
#define AUTHD_ADAPT_STORE_REDIS_OPEN_H

#include "port/store.h"

/* "redis://", "unix:", "redis-sentinel://", "redis-cluster://" URLs. RC_OK: *out owned by
 * the caller (store_free); a server that cannot be reached yet is not an error. RC_MALFORMED,
 * RC_NOMEM. */
enum rc store_redis_open(const char *url, const struct store_opts *o, struct store **out,
                         struct rc_info *ri);

#endif
