/* Personal data at rest: the fields of an account record that name a person (id_number,
 * name, phone, phone_verified) are stored sealed by core/seal (data_cipher: AES-256-GCM, the
 * "s1." blob, or SM4-CTR + HMAC-SM3, "s2.") under a key HKDF-derived from the master key
 * (SECRET_SEAL, label "authd data v1") and a key id "m<generation>". The associated data is the
 * account id, a 0 byte and the field name: a blob copied to another account's record, or to another
 * field, does not open.
 *
 * Generations: the current one is the decimal value at store key authd:datakey:{gen} (no
 * TTL, a few bytes; absent means 1). New seals use it; a blob of any generation opens (its
 * key id names its key), so a switch needs no downtime. `authctl keys rotate-data` moves to the
 * next generation; records are re-sealed when next written (a login rewrites a record whose blobs
 * are plaintext or of an older generation).
 *
 * Plaintext values (records written before this) are read as they are and reported as
 * stale, so that the next write converts them. */
#ifndef AUTHD_FLOW_ATREST_H
#define AUTHD_FLOW_ATREST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/seal.h"
#include "flow/app.h"

#define ATREST_LABEL   "authd data v1"
#define ATREST_GEN_MAX 999999
#define ATREST_KID_MAX 8 /* "m" + up to 6 digits + NUL */

/* The fields of an account record (authd:acct:{ACCT}) that are sealed: the ones that name a
 * person. flow/account.c seals them, flow/rewrap.c re-seals them. */
#define ATREST_NACCOUNT 4
extern const char *const atrest_account_fields[ATREST_NACCOUNT];

/* The cipher new seals use: the data_cipher setting (core/seal.h). */
enum seal_cipher atrest_cipher(const struct app *app);
/* True when blob is sealed under key id kid with the configured cipher: nothing to re-seal. */
bool atrest_current(const struct app *app, struct span blob, const char *kid);

/* The current generation (1 when the store has none). RC_OK, RC_UNAVAILABLE. */
enum rc atrest_generation(struct app *app, struct arena *a, uint32_t *gen);
/* Starts the next generation (new seals use it at once, on every node: the generation is
 * read from the store at each seal). RC_OK: *gen the new one. RC_UNAVAILABLE, RC_INTERNAL
 * (the stored value is not a generation, or the last one was reached). */
enum rc atrest_rotate(struct app *app, struct arena *a, uint32_t *gen);
/* The key id of generation gen into kid ("m<gen>"). */
void atrest_kid(uint32_t gen, char kid[ATREST_KID_MAX]);

/* The key of one key id, kept for the fields of one record (a key derivation costs more than
 * the AES-GCM of a field). Caller's storage: zero it, pass it to the calls, then
 * atrest_keys_clear (wipes the key). */
struct atrest_keys {
    char kid[ATREST_KID_MAX];
    uint8_t key[SEAL_KEY_LEN];
};
void atrest_keys_clear(struct atrest_keys *k);

/* Seals plain for field of account acct under key id kid (k: the key cache, or NULL). An empty
 * plain stays empty (there is nothing to hide). RC_OK: *out in a. RC_MALFORMED, RC_TOO_LARGE,
 * RC_NOMEM, RC_INTERNAL. */
enum rc atrest_seal(struct app *app, struct arena *a, struct atrest_keys *k, const char *kid,
                    const char *acct, const char *field, struct span plain, struct span *out);

/* Opens value of field of acct: a blob is opened with the key its key id names; anything
 * else is a plaintext of an older record, returned as it is. *stale (may be NULL) is set
 * when the value should be re-sealed (plaintext, or a key id other than cur_kid; cur_kid
 * NULL: only plaintext is stale; a blob of another cipher than data_cipher is stale too). k as for
 * atrest_seal. RC_OK: *out in a (a NUL after it). RC_DENIED (a blob that does not open here: moved,
 * changed, or another master key), RC_MALFORMED, RC_NOMEM, RC_INTERNAL. */
enum rc atrest_open(struct app *app, struct arena *a, struct atrest_keys *k, const char *acct,
                    const char *field, struct span value, const char *cur_kid, struct span *out,
                    bool *stale);

#endif
