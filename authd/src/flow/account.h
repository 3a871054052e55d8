/* Citizen accounts: real-name registration against the population base, password login
 * with lockout, and lookup. An account's id is HMAC(SECRET_ACCOUNT, ID number) in hex: the
 * store key is derived from the number without holding it in clear in the key, and the id
 * is the stable input of public and pairwise subjects. One record per account:
 * store key authd:acct:{<id>}. */
#ifndef AUTHD_FLOW_ACCOUNT_H
#define AUTHD_FLOW_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loa.h"
#include "flow/app.h"
#include "port/store.h"
#include "util/arena.h"

#define ACCOUNT_ID_LEN 64 /* hex */
/* Passwords longer than this (bytes) are refused before any hashing (docs/style.md:
 * input length capped before the KDF). */
#define ACCOUNT_PASSWORD_MAX 256
#define ACCOUNT_PHC_MAX      192 /* "$argon2id$v=19$m=..,t=..,p=..$salt$hash" + NUL */

struct account {
    char id[ACCOUNT_ID_LEN + 1];
    char id_number[19];
    const char *name;  /* in the caller's arena */
    const char *phone; /* in the caller's arena; may be empty */
    /* the number a code sent to it verified (flow/sms.h); in the arena, may be empty */
    const char *phone_verified;
    enum ial ial;
    bool disabled;
    uint32_t birth_ymd; /* 19900307 */
    char sex;           /* 'M' / 'F' */
    uint32_t region;    /* GB/T 2260 county code */
    int64_t created;
    /* the key id of the sealed id_number (flow/atrest.h), "" when the record holds its
     * personal fields in plaintext (written before they were sealed) */
    char data_kid[8];
    bool data_plain; /* some personal field is in plaintext: the next write seals it */
};

struct register_req {
    struct span id_number, name, phone, password;
};

/* Registers a citizen: ID number core check, population base (only `match` registers;
 * `unavailable` fails closed with RC_UNAVAILABLE), password policy, then a durable
 * put-if-absent of the account. RC_OK: *out filled (strings in a). Failures: RC_MALFORMED
 * (ri names the field: id_number, name, phone, password, and the reason: RC_WHY_IDNUM_*,
 * RC_WHY_NAME, RC_WHY_PHONE, RC_WHY_PW_*), RC_DENIED (RC_WHY_NOT_VERIFIED: the population
 * base did not confirm; ri->msg is safe to show), RC_CONFLICT (RC_WHY_REGISTERED),
 * RC_UNAVAILABLE, RC_LIMITED. */
enum rc account_register(struct app *app, struct arena *a, const struct register_req *req,
                         const char *client_ip, struct account *out, struct rc_info *ri);

/* Checks an ID number and password in constant time whether or not the account exists.
 * RC_OK: *out filled. RC_DENIED: wrong number or password (RC_WHY_CREDENTIALS, one message
 * for both) or, after a good password, a disabled account (RC_WHY_DISABLED), RC_LIMITED
 * (RC_WHY_RATE; ri->msg says for how long): the address's bucket, the address's delay on
 * this number after failures, or the number over its ceiling (then even the right
 * password, since no second factor can follow here: account_login_try),
 * RC_UNAVAILABLE. Nothing locks a number (docs/security.md, "Lockout and throttling"). */
enum rc account_login(struct app *app, struct arena *a, struct span id_number, struct span password,
                      const char *client_ip, struct account *out, struct rc_info *ri);

/* Loads an account by id. RC_NOT_FOUND, RC_UNAVAILABLE. */
enum rc account_get(struct app *app, struct arena *a, const char *id, struct account *out);
/* account_get in parts, to read the account in a store_pipeline with other calls: the
 * read (RC_NOT_FOUND for an id that cannot be one), then the account from its answer
 * (the call's rc, or RC_INTERNAL for a record that is not an account). */
enum rc account_get_op(struct arena *a, const char *id, struct store_op *op);
enum rc account_from_call(struct app *app, struct arena *a, const char *id,
                          const struct store_call *c, struct account *out);

/* Re-seals the personal fields of acct (read from its record) under the current data key
 * (flow/atrest.h) when they are in plaintext or under an older one; nothing otherwise.
 * phone_verified, which other writers change, is rewritten only when it is in plaintext
 * (read again just before: a reset-mfa in between those two reads could be undone).
 * RC_OK (also when there was nothing to do), RC_NOT_FOUND (the record is gone),
 * RC_UNAVAILABLE, RC_INTERNAL. */
enum rc account_reseal(struct app *app, struct arena *a, const struct account *acct);

/* account_register and account_login that also say, on RC_LIMITED, how many seconds to wait
 * (*retry_after_s, for a Retry-After header; 0 otherwise). retry_after_s may be NULL. */
enum rc account_register_ex(struct app *app, struct arena *a, const struct register_req *req,
                            const char *client_ip, struct account *out, struct rc_info *ri,
                            uint32_t *retry_after_s);
enum rc account_login_ex(struct app *app, struct arena *a, struct span id_number,
                         struct span password, const char *client_ip, struct account *out,
                         struct rc_info *ri, uint32_t *retry_after_s);

/* account_login_ex for a login that can ask for a second factor: when the number is over
 * its ceiling (rate_login_per_idnum) a right password is RC_OK with *second_factor set
 * (*retry_after_s the ceiling's wait): the caller must not let it in on the password
 * alone. A wrong one over the ceiling is RC_LIMITED with a wait of at most
 * login_ceiling_max_wait_s. Otherwise as account_login_ex. */
enum rc account_login_try(struct app *app, struct arena *a, struct span id_number,
                          struct span password, const char *client_ip, struct account *out,
                          bool *second_factor, struct rc_info *ri, uint32_t *retry_after_s);

/* Computes the dummy hash that account_login verifies against when there is no account
 * (so both cases cost one argon2id verification with the configured parameters). Call
 * once at start; account_login does it on first use otherwise. RC_INTERNAL on failure. */
enum rc account_init(struct app *app);

/* Operator and demo registration: the same checks as account_register without the per-IP
 * rate limit; skip_popbase records an ial2 (self-asserted) account without asking the
 * population base. Same results as account_register. */
struct account_add_opts {
    bool skip_popbase;
};
enum rc account_add(struct app *app, struct arena *a, const struct register_req *req,
                    const struct account_add_opts *o, struct account *out, struct rc_info *ri);

/* The account id (hex HMAC) of an ID number, after checking and normalizing it.
 * RC_MALFORMED (ri names id_number), RC_INTERNAL. */
enum rc account_id_of(struct app *app, struct span id_number, char out[ACCOUNT_ID_LEN + 1],
                      struct rc_info *ri);

/* The hotline's index of phone numbers (docs/storage.md): authd:acctph:{HMAC(SECRET_ACCOUNT,
 * "phone", number)}, the set of the account ids registered with that number (added at
 * registration; accounts registered before it existed are not in it). account_ids_by_phone:
 * RC_OK with *ids (n of them) in a; RC_NOT_FOUND (not a mobile number, or none registered
 * with it), RC_UNAVAILABLE. */
enum rc account_phone_key(struct app *app, struct arena *a, struct span phone, struct span *key);
enum rc account_ids_by_phone(struct app *app, struct arena *a, struct span phone, struct span **ids,
                             size_t *n);

/* Operator actions by ID number. RC_MALFORMED, RC_NOT_FOUND (no account; not for unlock),
 * RC_UNAVAILABLE. */
enum rc account_find(struct app *app, struct arena *a, struct span id_number, struct account *out,
                     struct rc_info *ri);
enum rc account_set_disabled(struct app *app, struct arena *a, struct span id_number, bool disabled,
                             struct rc_info *ri);
/* Clears the number's failure count and its ceiling bucket (the per-address delays run
 * out by themselves, within lockout_seconds). */
enum rc account_unlock(struct app *app, struct arena *a, struct span id_number, struct rc_info *ri);

struct account_lock {
    int64_t failures;     /* failures from any address, each within lockout_seconds of the next */
    int64_t locked_for_s; /* always 0: nothing locks a number any more (kept for authctl) */
};
/* The failure count of a number (with or without an account). */
enum rc account_lock_state(struct app *app, struct arena *a, struct span id_number,
                           struct account_lock *out, struct rc_info *ri);

/* Hashes password with argon2id at the configured parameters into out (a PHC string).
 * RC_MALFORMED over ACCOUNT_PASSWORD_MAX, RC_INTERNAL. */
enum rc account_hash_password(const struct app *app, struct span password,
                              char out[ACCOUNT_PHC_MAX]);

/* Development: registers each citizen of the demo_accounts JSON file (a list of
 * {id_number, name, password, phone}) that is not registered yet. A citizen that fails is
 * logged (warn) and skipped. RC_OK, or RC_NOT_FOUND / RC_MALFORMED for the file itself. */
enum rc account_seed_demo(struct app *app, const char *json_path);

#endif
