/* For store backends only: the argument checks every backend relies on. Flows include
 * port/store.h, never this file; the constructors are in adapt/ (compose/compose.c picks
 * one by the URL's scheme). */
#ifndef AUTHD_PORT_STORE_IMPL_H
#define AUTHD_PORT_STORE_IMPL_H

#include "port/store.h"

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
