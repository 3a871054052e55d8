/* The keys port: the daemon's token-signing keys, loaded once and swapped atomically on
 * rotation. Backend: adapt/keys_file.c (private JWK files and a state file in keys_dir).
 *
 * What callers get is a snapshot: a sealed struct jose_keyset (core/jose.h) holding every
 * published key (next, current, previous), with the current key of each algorithm marked
 * as the signer. A snapshot stays valid, unchanged, while the caller holds it, even if a
 * reload swaps in a new one meanwhile; the old one is freed when its last user releases it.
 *
 *     struct jose_keyset *ks;
 *     if ((rc = keys_current(fl->keys, &ks)) != RC_OK) goto out;
 *     rc = jose_sign(ks, JOSE_ES256, "at+jwt", claims, a, &token, ri);
 *     jose_keyset_release(ks);
 *
 * Private keys never leave the backend except inside the opaque key set, so signing can
 * move to a separate process behind this header without touching callers. All functions
 * are safe to call from any number of threads at once. */
#ifndef AUTHD_PORT_KEYS_H
#define AUTHD_PORT_KEYS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

struct jose_keyset;
struct keys;

/* A failure to load keys, for an operator: "keys: /var/lib/authd/keys/abc.jwk: readable by
 * group or others (mode 0644); chmod 600 it". Never holds key material. */
struct keys_error {
    char text[512];
};

struct keys_ops {
    const char *name; /* "file" */
    enum rc (*current)(struct keys *k, struct jose_keyset **out);
    enum rc (*reload)(struct keys *k, struct keys_error *err);
    enum rc (*maybe_reload)(struct keys *k, bool *reloaded, struct keys_error *err);
    void (*free)(struct keys *k);
};

/* Every backend struct starts with this. */
struct keys {
    const struct keys_ops *ops;
    atomic_ullong reloads;         /* successful reloads, for /metrics */
    atomic_ullong reload_failures; /* rejected new key sets (the old one stayed) */
};

/* Opens the keys in keys_dir (adapt/keys_file.c) and loads them. RC_OK: *out owned by the
 * caller (keys_free). Failure (the daemon must not start): RC_NOT_FOUND (no state file:
 * run `authctl keys init`), RC_DENIED (a private key readable by group or others),
 * RC_MALFORMED (a corrupt state or key file), RC_UNAVAILABLE (unreadable), RC_NOMEM; err
 * names the file and the reason. */
enum rc keys_open(const char *keys_dir, struct keys **out, struct keys_error *err);

/* The current snapshot, retained for the caller, who must jose_keyset_release it. Cheap:
 * a mutex and an atomic increment. RC_UNAVAILABLE only if no key set was ever loaded. */
static inline enum rc
keys_current(struct keys *k, struct jose_keyset **out)
{
    return k->ops->current(k, out);
}

/* The published JWKS (next, current and previous keys, public parts only) copied into
 * arena a, for /jwks. RC_NOMEM, RC_UNAVAILABLE. */
enum rc keys_published(struct keys *k, struct arena *a, struct span *jwks);

/* Re-reads the keys directory, validates the whole new set (every file, permissions, one
 * signing key per algorithm, ES256 present) and only then swaps it in. Failure: the old
 * set stays in force, err says why (same codes as keys_open). */
static inline enum rc
keys_reload(struct keys *k, struct keys_error *err)
{
    return k->ops->reload(k, err);
}

/* Cheap check for the daemon's timer (every few seconds): stats the state file and reloads
 * if it changed since the last attempt. *reloaded (may be NULL) says whether a new set was
 * swapped in. A failed reload is reported once per change of the state file. */
static inline enum rc
keys_maybe_reload(struct keys *k, bool *reloaded, struct keys_error *err)
{
    return k->ops->maybe_reload(k, reloaded, err);
}

/* Frees the backend; snapshots still held by callers stay valid until released. NULL ok. */
static inline void
keys_free(struct keys *k)
{
    if (k)
        k->ops->free(k);
}

#endif
