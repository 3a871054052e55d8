/* The file backend of the keys port, and the operations authctl runs on its directory.
 *
 * Layout of keys_dir (docs/keys.md):
 *   keyset.json   the state: {"version":1,"keys":[{"kid","alg","status","created",
 *                 "retire_after"}]}; status is "next" (published, not signing), "current"
 *                 (signs; one per alg) or "previous" (published until retire_after, unix
 *                 seconds); written atomically (temp file + rename), never group/other
 *                 writable.
 *   <kid>.jwk     one private JWK per key, mode 0600 (refused otherwise); kid is the RFC
 *                 7638 thumbprint, so the name is base64url.
 * A writer creates key files first and replaces keyset.json last, so a daemon polling
 * keys_maybe_reload never sees a state naming a missing file. */
#ifndef AUTHD_ADAPT_KEYS_FILE_H
#define AUTHD_ADAPT_KEYS_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/jose.h"
#include "port/keys.h"

#define KEYS_STATE_FILE "keyset.json"
#define KEYS_STATE_MAX  (64 * 1024)

enum keys_status { KEYS_NEXT = 0, KEYS_CURRENT, KEYS_PREVIOUS };

struct keys_entry {
    char kid[JOSE_MAX_KID + 1];
    enum jose_alg alg;
    enum keys_status status;
    int64_t created;      /* unix seconds */
    int64_t retire_after; /* previous keys: removed by a rotation after this; else 0 */
};

struct keys_state {
    size_t n;
    struct keys_entry e[JOSE_MAX_KEYS];
};

/* "next", "current", "previous". */
const char *keys_status_name(enum keys_status s);

/* The file backend (what keys_open uses). Same contract as keys_open. */
enum rc keys_file_open(const char *dir, struct keys **out, struct keys_error *err);

/* Reads and validates dir/keyset.json (not the key files). RC_NOT_FOUND if absent,
 * RC_MALFORMED, RC_DENIED (group/other writable), RC_UNAVAILABLE; err names the file. */
enum rc keys_file_state_read(const char *dir, struct keys_state *st, struct keys_error *err);

/* Loads every key the state names into a new sealed key set (current keys sign). RC_OK:
 * *out owned by the caller. Failures as keys_open, naming the file. */
enum rc keys_file_load(const char *dir, const struct keys_state *st, struct jose_keyset **out,
                       struct keys_error *err);

/* Creates dir (0700) if needed and a current ES256 key if there is none, plus a current key
 * for each other algorithm in algs (enum jose_alg bits of algorithms authd signs with) that
 * has none. *changed says whether anything was written. */
enum rc keys_file_init(const char *dir, int64_t now, unsigned algs, bool *changed,
                       struct keys_error *err);

struct keys_rotate_opts {
    int64_t now;
    int64_t min_publish;        /* seconds a next key must have been published */
    int64_t max_token_lifetime; /* a previous key stays published this long */
};

/* One rotation step for every algorithm that has a current key: with no next key, adds
 * one (phase 1: published, not signing); with a next key published for at least
 * min_publish, promotes it to current and the current one to previous with retire_after =
 * now + max_token_lifetime (phase 2). In both phases previous keys past retire_after are
 * removed. RC_CONFLICT (err says how long to wait) if a next key is too young; nothing is
 * written then. *out (may be NULL) receives the new state. */
enum rc keys_file_rotate(const char *dir, const struct keys_rotate_opts *o, struct keys_state *out,
                         struct keys_error *err);

#endif
