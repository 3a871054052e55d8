/* Inside the account flow: shared by account.c, account_login.c and account_pw.c. */
#ifndef AUTHD_FLOW_ACCOUNT_INT_H
#define AUTHD_FLOW_ACCOUNT_INT_H

#include "flow/account.h"
#include "port/store.h"

/* China Standard Time, for "today" in the birth-date check. */
#define ACCOUNT_TZ_OFFSET_S (8 * 3600)

/* Argon2id parameters of a PHC string. */
struct phc_params {
    uint32_t m_kib, t, p;
};

/* Checks the password policy for a new password (length, not the ID number, not the birth
 * date, not the phone number). RC_MALFORMED with field "password", a static message and a
 * reason code (RC_WHY_PW_*). */
enum rc account_pw_policy(const struct app *app, struct span pw, const char *id18,
                          uint32_t birth_ymd, struct span phone, struct rc_info *ri);
/* Verifies pw against the PHC string phc (NULL: against the dummy hash, and fails).
 * RC_OK on a match, RC_DENIED otherwise, RC_INTERNAL if the dummy cannot be made. */
enum rc account_pw_verify(const struct app *app, const char *phc, struct span pw);
/* Parses the parameters of an argon2id PHC string. RC_MALFORMED if it is not one. */
enum rc account_phc_params(const char *phc, struct phc_params *out);
/* True if phc was made with lower parameters than the configured ones. */
bool account_phc_outdated(const struct app *app, const char *phc);

/* Takes one attempt from ip's token bucket for purpose ("login", "register"): limit per
 * rate_window_s (flow/ratelimit.h); limit 0 disables. RC_LIMITED (ri->msg says how long,
 * *retry_after_s set), RC_UNAVAILABLE. ip NULL: no limit. */
enum rc account_rate_ip(struct app *app, struct arena *a, const char *ip, const char *purpose,
                        uint32_t limit, struct rc_info *ri, uint32_t *retry_after_s);

/* The store keys of an account id: the record, the failure counter and the lock. */
struct span account_key(struct arena *a, const char *id, const char *suffix);
/* Fills out from a stored record. RC_MALFORMED if a required field is missing. */
enum rc account_from_record(struct app *app, struct arena *a, const char *id,
                            const struct store_record *rec, struct account *out);

#endif
