/* The record of a citizen's recent sign-ins and failed attempts, shown on the account page
 * (docs/mfa.md, The account page). One value per account:
 *
 *   authd:signins:{ACCT}   JSON array, newest first, of {"t": unix seconds, "ok": bool,
 *                          "ch": client id, "ip": masked source address, "acr": the level
 *                          reached (successes; "" for a failure)}
 *
 * bounded to config signin_history_max entries and signin_history_days of age (older ones
 * are dropped at each write and each read; the key's TTL is the age bound). Written best
 * effort: a store failure is logged and never fails the login it records. Two attempts of
 * one account at the same instant may keep only one of the two (read, then write: no
 * lock), which the page tolerates: it is a convenience, the audit trail is the log.
 * Addresses are masked before they are stored (core/mask.h mask_ip): the store never holds
 * a citizen's full address here. */
#ifndef AUTHD_FLOW_SIGNINS_H
#define AUTHD_FLOW_SIGNINS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loa.h"
#include "core/mask.h"
#include "flow/app.h"
#include "util/arena.h"

#define SIGNINS_CAP         100 /* the most signin_history_max allows */
#define SIGNINS_CHANNEL_MAX 128 /* a longer client id is recorded as "" */

/* One attempt to record. */
struct signin_event {
    bool ok;
    const char *client_id; /* the channel; may be NULL */
    const char *client_ip; /* raw: masked here; may be NULL */
    struct loa loa;        /* ok: what the login reached */
};

/* One entry read back; strings in the caller's arena. */
struct signin {
    int64_t time;
    bool ok;
    const char *channel;
    const char *addr; /* masked */
    const char *acr;  /* "" for a failure */
};

/* Adds e (time: the clock's now) at the head of account_id's record, trimmed to the bounds.
 * Best effort: failures are logged (event `signins.write`), nothing is returned. */
void signins_record(struct app *app, struct arena *a, const char *account_id,
                    const struct signin_event *e);

/* A refused login of the ID number id_number (rc and why from the authenticator): recorded
 * as a failure when the refusal is a wrong password or a lockout (RC_WHY_CREDENTIALS,
 * RC_WHY_LOCKED) and the number has an account (one store read; an unknown number leaves
 * nothing anywhere). Best effort, like signins_record. */
void signins_record_failure(struct app *app, struct arena *a, struct span id_number,
                            const char *client_id, const char *client_ip, enum rc rc,
                            const struct rc_info *why);

/* account_id's entries within the bounds, newest first. RC_OK: *out (in a; NULL when *n is
 * 0); an absent or damaged record is an empty list. RC_UNAVAILABLE, RC_NOMEM. */
enum rc signins_list(struct app *app, struct arena *a, const char *account_id,
                     struct signin **out, size_t *n);

#endif
