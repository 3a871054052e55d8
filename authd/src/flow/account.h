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
#include "util/arena.h"

#define ACCOUNT_ID_LEN 64 /* hex */

struct account {
    char id[ACCOUNT_ID_LEN + 1];
    char id_number[19];
    const char *name;  /* in the caller's arena */
    const char *phone; /* in the caller's arena; may be empty */
    enum ial ial;
    bool disabled;
    uint32_t birth_ymd; /* 19900307 */
    char sex;           /* 'M' / 'F' */
    uint32_t region;    /* GB/T 2260 county code */
    int64_t created;
};

struct register_req {
    struct span id_number, name, phone, password;
};

/* Registers a citizen: ID number core check, population base (only `match` registers;
 * `unavailable` fails closed with RC_UNAVAILABLE), password policy, then a durable
 * put-if-absent of the account. RC_OK: *out filled (strings in a). Failures: RC_MALFORMED
 * (ri names the field: id_number, name, phone, password), RC_DENIED (the population base
 * did not confirm: ri->msg is safe to show), RC_CONFLICT (already registered),
 * RC_UNAVAILABLE, RC_LIMITED. */
enum rc account_register(struct app *app, struct arena *a, const struct register_req *req,
                         const char *client_ip, struct account *out, struct rc_info *ri);

/* Checks an ID number and password in constant time whether or not the account exists.
 * RC_OK: *out filled. RC_DENIED: wrong number or password (one message for both),
 * RC_LIMITED: locked out or rate limited (ri->msg says for how long), RC_UNAVAILABLE. */
enum rc account_login(struct app *app, struct arena *a, struct span id_number,
                      struct span password, const char *client_ip, struct account *out,
                      struct rc_info *ri);

/* Loads an account by id. RC_NOT_FOUND, RC_UNAVAILABLE. */
enum rc account_get(struct app *app, struct arena *a, const char *id, struct account *out);

#endif
