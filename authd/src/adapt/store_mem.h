/* The in-process memory store: sharded hash tables with TTLs and a byte bound, for one node
 * and for tests. */
#ifndef AUTHD_ADAPT_STORE_MEM_H
#define AUTHD_ADAPT_STORE_MEM_H

#include "port/store.h"

/* "memory:[?max_bytes=N]". RC_OK: *out owned by the caller (store_free). RC_MALFORMED. */
enum rc store_mem_open(const char *url, const struct store_opts *o, struct store **out,
                       struct rc_info *ri);

#endif
