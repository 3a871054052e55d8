/* Shared between flow/fed.c and flow/fed_resolve.c only. */
#ifndef AUTHD_FLOW_FED_INT_H
#define AUTHD_FLOW_FED_INT_H

#include "util/arena.h"
#include "util/span.h"

/* The store key of the cache generation counter (fed.h: authd:fedgen:{all}). */
struct span fed_gen_key(struct arena *a);

#endif
