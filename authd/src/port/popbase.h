/* The population-base port: is this ID number this person, and what may we say of them?
 * Backends: adapt/popbase_file.c (file:PATH, a memory-mapped compiled index) and
 * adapt/popbase_http.c (https:// provincial service with mutual TLS). */
#ifndef AUTHD_PORT_POPBASE_H
#define AUTHD_PORT_POPBASE_H

#include <stdatomic.h>
#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

enum pop_answer {
    POP_MATCH = 0,   /* the number exists, is in force, and the name matches */
    POP_MISMATCH,    /* the number exists, the name does not match */
    POP_NOT_FOUND,   /* no such number */
    POP_CANCELLED,   /* the number exists but is cancelled or its holder deceased */
    POP_UNAVAILABLE, /* cannot tell now: never to be treated as a match */
    POP__COUNT
};

/* Attributes released for claims, filled on POP_MATCH (and on POP_MISMATCH where known). */
struct pop_attrs {
    uint32_t birth_ymd; /* 19900307 */
    char sex;           /* 'M' or 'F' */
    uint32_t region;    /* GB/T 2260 county code of the record, 110101 */
};

struct popbase;

struct popbase_ops {
    const char *name; /* "file", "http" */
    /* id18: a well-formed, normalized 18-character number (core/idnum checked it);
     * name: UTF-8 as the citizen typed it (the backend normalizes). RC_OK with *ans set
     * for every definite answer; RC_UNAVAILABLE (and *ans = POP_UNAVAILABLE) otherwise. */
    enum rc (*verify)(struct popbase *p, struct span id18, struct span name, enum pop_answer *ans,
                      struct pop_attrs *attrs);
    enum rc (*ping)(struct popbase *p);
    void (*free)(struct popbase *p);
};

/* Every backend struct starts with this. */
struct popbase {
    const struct popbase_ops *ops;
    atomic_ullong answers[POP__COUNT]; /* counted by popbase_verify, for /metrics */
};

struct store;

struct popbase_opts {
    const char *name_key_path;   /* file: the HMAC key for name hashes; http: keys the cache */
    const char *tls_cert;        /* http: client certificate (PEM) for mutual TLS */
    const char *tls_key;         /* http: its key */
    const char *tls_ca;          /* http: CA that signed the service's certificate */
    uint32_t connect_timeout_ms; /* http: 0 = 300 */
    uint32_t timeout_ms;         /* http: total per attempt, 0 = 1000 */
    uint32_t retries;            /* http: extra attempts on timeout/5xx, 0 = none */
    uint32_t breaker_failures;   /* http: consecutive failures that open the breaker, 0 = 5 */
    uint32_t breaker_open_ms;    /* http: time before a half-open probe, 0 = 5000 */
    struct store *cache;         /* http: answer cache (may be NULL; needs name_key_path) */
    uint32_t cache_match_ttl_s;  /* http: match/mismatch/cancelled; 0 = not cached */
    uint32_t cache_miss_ttl_s;   /* http: not_found; 0 = not cached */
};

/* A backend is opened by the composition root (compose/compose.h: compose_popbase_open). */

/* "match", "mismatch", "not_found", "cancelled", "unavailable". */
const char *pop_answer_name(enum pop_answer a);

/* Counts the answer, then calls the backend. */
enum rc popbase_verify(struct popbase *p, struct span id18, struct span name, enum pop_answer *ans,
                       struct pop_attrs *attrs);
enum rc popbase_ping(struct popbase *p);
void popbase_free(struct popbase *p);

#endif
