/* Subject identifiers (OIDC Core §8): what `sub` a client sees for an account. ID tokens,
 * access tokens and userinfo all call subject_for, so the three always agree.
 *   pairwise (the default, §8.1): hex HMAC-SHA-256(SECRET_SUBJECT, sector, account id),
 *            sector = the client's policy `sector`, or its client id when unset: clients
 *            of one sector see one sub, unrelated clients cannot join their users;
 *   public:  the account id itself (stable across clients, where policy allows it). */
#ifndef AUTHD_FLOW_SUBJECT_H
#define AUTHD_FLOW_SUBJECT_H

#include "conf/policy.h"
#include "flow/app.h"
#include "util/rc.h"

#define SUBJECT_MAX 65 /* 64 hex digits + NUL */

/* Writes the sub of account_id for client c into out (NUL-terminated). RC_OK;
 * RC_MALFORMED for an empty or over-long account id; RC_INTERNAL if the HMAC fails. */
enum rc subject_for(struct app *app, const struct policy_client *c, const char *account_id,
                    char out[SUBJECT_MAX]);

#endif
