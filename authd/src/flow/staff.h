/* Staff accounts (docs/hotline.md): hotline agents and supervisors, kept apart from
 * citizens. A staff member is named by an employee number (EMP: 1-16 letters and digits)
 * and logs in at /login with it and a password (the `staff` authenticator,
 * flow/authn_staff.c), then a TOTP code (aal2); the session's account id is
 * STAFF_ID_PREFIX + EMP ("staff:E1001"), which no citizen account id can be (those are 64
 * hex digits, flow/account.h), so a citizen can never hold a staff role: a role is read
 * from the staff record only. account_get serves a staff id from the staff record (name,
 * ial2, no ID number), so sessions, TOTP and tokens work for staff unchanged.
 *
 * Store keys (docs/storage.md):
 *   authd:staff:{EMP}          record: name, role, status (active|disabled), pw (argon2id
 *                               PHC, "" until enrolled), quota (a supervisor's daily lookup
 *                               quota, "" for the role's), created; no TTL; durable
 *   authd:staffidx:{all}        set of every EMP (authctl staff list); no TTL
 *   authd:staffen:{HMAC(SECRET_TOKEN, "staffen", token)}
 *                               the EMP of an enrolment link's token; STAFF_ENROL_TTL_S;
 *                               taken when used */
#ifndef AUTHD_FLOW_STAFF_H
#define AUTHD_FLOW_STAFF_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/account.h"
#include "flow/app.h"
#include "port/store.h"
#include "util/arena.h"

#define STAFF_ID_PREFIX     "staff:"
#define STAFF_EMP_MAX       16
#define STAFF_NAME_MAX      64     /* bytes */
#define STAFF_ENROL_TTL_S   259200 /* an enrolment link works for 3 days */
#define STAFF_ENROL_PATH    "/staff/enrol"
#define STAFF_ENROL_TOK_LEN 43 /* base64url of 32 random bytes */

struct staff {
    char emp[STAFF_EMP_MAX + 1];
    char account_id[sizeof(STAFF_ID_PREFIX) + STAFF_EMP_MAX]; /* "staff:EMP" */
    const char *name;                                         /* in the caller's arena */
    const char *role;                                         /* in the caller's arena */
    bool disabled, enrolled;
    uint32_t quota; /* daily lookups a supervisor set; 0: the role's */
    int64_t created;
};

/* True when id is a staff account id (STAFF_ID_PREFIX + a valid EMP). */
bool staff_id_is(const char *id);
/* True when emp is 1-STAFF_EMP_MAX letters and digits. */
bool staff_emp_valid(struct span emp);

/* Adds staff member emp (name, role: a [role NAME] of the current policy). RC_OK: *link is
 * the enrolment link ISSUER/staff/enrol?t=TOKEN in a (a secret: shown once). RC_MALFORMED
 * (ri names emp, name or role), RC_CONFLICT (emp exists), RC_UNAVAILABLE. Audited:
 * staff.add (emp, role, by). */
enum rc staff_add(struct app *app, struct arena *a, struct span emp, struct span name,
                  struct span role, const char *by, const char **link, struct rc_info *ri);
/* A new enrolment link for emp (the old one keeps working until it expires or is used);
 * for a member who lost theirs. Results as staff_add; RC_NOT_FOUND. */
enum rc staff_relink(struct app *app, struct arena *a, struct span emp, const char **link,
                     struct rc_info *ri);
/* Staff member emp. RC_OK: *out. RC_NOT_FOUND (also a malformed emp), RC_UNAVAILABLE. */
enum rc staff_get(struct app *app, struct arena *a, struct span emp, struct staff *out);
/* The staff member of a session's or token's account id. RC_NOT_FOUND: not a staff id (a
 * citizen) or no such member. */
enum rc staff_of_account(struct app *app, struct arena *a, const char *account_id,
                         struct staff *out);
/* Every staff member, sorted by EMP. RC_OK: *out (n of them) in a. */
enum rc staff_list(struct app *app, struct arena *a, struct staff **out, size_t *n);
/* Disables (or enables) emp; audited staff.disable / staff.enable (emp, role, by).
 * RC_NOT_FOUND, RC_UNAVAILABLE. */
enum rc staff_set_disabled(struct app *app, struct arena *a, struct span emp, bool disabled,
                           const char *by, struct rc_info *ri);
/* Sets emp's daily lookup quota (0: back to the role's); audited staff.quota (emp, role,
 * by, quota). RC_NOT_FOUND, RC_UNAVAILABLE. */
enum rc staff_set_quota(struct app *app, struct arena *a, struct span emp, uint32_t quota,
                        const char *by, struct rc_info *ri);

/* The member an enrolment token names (for the page). RC_OK: *out. RC_NOT_FOUND (unknown,
 * used or expired: one answer), RC_UNAVAILABLE. */
enum rc staff_enrol_find(struct app *app, struct arena *a, struct span token, struct staff *out);
/* Sets the password of the member token names and uses the token up. RC_OK. RC_NOT_FOUND
 * as staff_enrol_find; RC_MALFORMED (the password policy: RC_WHY_PW_*), RC_UNAVAILABLE.
 * Audited: staff.enrol (emp, role, by = emp). */
enum rc staff_enrol(struct app *app, struct arena *a, struct span token, struct span password,
                    struct rc_info *ri);

/* Checks an employee number and password (the login rate limits of the address and of the
 * number first; argon2id whether or not the member exists). RC_OK: *out. RC_DENIED
 * (RC_WHY_CREDENTIALS: wrong number or password, not enrolled, disabled: one answer),
 * RC_LIMITED (RC_WHY_RATE, *retry_s), RC_UNAVAILABLE. */
enum rc staff_login(struct app *app, struct arena *a, struct span emp, struct span password,
                    const char *client_ip, struct staff *out, struct rc_info *ri,
                    uint32_t *retry_s);

/* For account_get (flow/account.c): the read of a staff id's record, and the account it
 * stands for (name, ial2, no ID number, disabled as the member). */
enum rc staff_account_op(struct arena *a, const char *id, struct store_op *op);
enum rc staff_account_from_call(struct arena *a, const char *id, const struct store_call *c,
                                struct account *out);

#endif
