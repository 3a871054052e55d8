/* For store backends only: the constructors store_open() dispatches to, and the argument
 * checks every backend relies on. Flows include port/store.h, never this file. */
#ifndef AUTHD_PORT_STORE_IMPL_H
#define AUTHD_PORT_STORE_IMPL_H

#include "port/store.h"

/* memory: (adapt/store_mem.c). RC_OK: *out owned by the caller. */
enum rc store_mem_open(const char *url, const struct store_opts *o, struct store **out,
                       struct rc_info *ri);
/* redis://, unix:, redis-sentinel://, redis-cluster:// (adapt/store_redis.c). */
enum rc store_redis_open(const char *url, const struct store_opts *o, struct store **out,
                         struct rc_info *ri);

/* RC_MALFORMED for an empty key or one holding NUL, RC_TOO_LARGE past STORE_MAX_KEY. */
enum rc store_check_key(struct span key);
/* RC_TOO_LARGE past STORE_MAX_VALUE. */
enum rc store_check_value(struct span val);
/* Checks one batch op (kind, key, value, fields, flags); the batch wrappers call it. */
enum rc store_check_op(const struct store_op *op);

/* Makes pipeline call c alone through s's single-call ops (arguments already checked);
 * returns and sets c->rc. For backends' pipelines: a cluster, a durable call, a script
 * the server has not loaded yet. */
enum rc store_call_one(struct store *s, struct arena *a, struct store_call *c);

#endif
