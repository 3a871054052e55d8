/* The user claims a scope releases (OIDC Core §5.1, §5.4), for ID tokens and /userinfo.
 * Policy maps scopes to claim names ([scope profile] claims = name birthdate gender); this
 * module maps claim names to account fields. `id_number` is released only when the scope
 * holds `id_number`, the scope's policy lists it, and the client has id_number_allowed
 * (docs/architecture.md, Privacy). `sub` is the caller's (flow/subject.h). */
#ifndef AUTHD_FLOW_CLAIMS_H
#define AUTHD_FLOW_CLAIMS_H

#include <stdbool.h>

#include "conf/policy.h"
#include "flow/account.h"
#include "util/span.h"

struct json_t;

/* Records one release of the raw ID number of account_id (event `claims.id_number`: the
 * client it went to, the number masked, the token's jti, and `via`: "token", "userinfo"
 * or "introspect") in the log and in the audit chain (flow/audit.h), durably. Every release
 * goes through here (docs/architecture.md, Privacy). RC_OK; otherwise (RC_UNAVAILABLE: the
 * audit chain did not take it) the caller must not release the number. */
enum rc claims_log_idn_release(struct app *app, const char *client_id, const char *account_id,
                               const char *id_number, const char *jti, const char *via);

/* Adds to object o the claims that scope releases for account acct to client c.
 * *released_id_number says whether `id_number` was added (to audit it). RC_OK or
 * RC_NOMEM. */
enum rc claims_add_user(struct json_t *o, const struct policy *p, const struct policy_client *c,
                        struct span scope, const struct account *acct, bool *released_id_number);

#endif
