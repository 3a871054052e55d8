/* The secrets port: server-side keyed hashes. One 32-byte master secret (STATE/master.key,
 * mode 0600; every node of a deployment must have the same file) is turned into one
 * HMAC-SHA-256 key per purpose, so that account ids, pairwise subjects and CSRF tokens cannot
 * be computed or linked without it. The keys are state of `struct app` (app->secrets),
 * opened by the composition root (compose_secrets_open); backend: adapt/secrets_file.c. */
#ifndef AUTHD_PORT_SECRETS_H
#define AUTHD_PORT_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

enum secret_purpose {
    SECRET_ACCOUNT = 0, /* account id = HMAC(ID number) */
    SECRET_SUBJECT,     /* pairwise sub = HMAC(sector, account id) */
    SECRET_CSRF,        /* CSRF token = HMAC(session or pre-session id) */
    SECRET_TOKEN,       /* store keys of codes and tokens = HMAC(token) */
    SECRET_SEAL,        /* key material of core/seal keys = HMAC(purpose label) */
    SECRET_DPOP_NONCE,  /* DPoP server nonces = time slot + HMAC(slot) (flow/dpop.h) */
    SECRET__COUNT
};

struct secrets;

struct secrets_ops {
    const char *name; /* "file" */
    /* HMAC-SHA-256 under purpose p's key of the parts, a 0 byte between them. RC_OK or
     * RC_INTERNAL. p is in range (the port checks). */
    enum rc (*hmac)(const struct secrets *s, enum secret_purpose p, const struct span *parts,
                    size_t nparts, uint8_t out[32]);
    void (*free)(struct secrets *s); /* wipes the keys */
};

/* Every backend struct starts with this. */
struct secrets {
    const struct secrets_ops *ops;
};

/* HMAC-SHA-256 of the parts, concatenated with a 0 byte between them. RC_INTERNAL when s is
 * NULL or p out of range. Safe from any thread. */
enum rc secrets_hmac(const struct secrets *s, enum secret_purpose p, const struct span *parts,
                     size_t nparts, uint8_t out[32]);
/* The same as lower-case hex into out (65 bytes with the NUL). */
enum rc secrets_hmac_hex(const struct secrets *s, enum secret_purpose p, const struct span *parts,
                         size_t nparts, char out[65]);
/* Frees the keys (wiping them). NULL is fine. */
void secrets_free(struct secrets *s);

#endif
