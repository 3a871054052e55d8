/* What a citizen allowed each client (the consent page, flow/authorize_pages.c), kept so
 * that the next request of the same client for the same scopes is not asked again, and
 * listed and revoked on the account page:
 *
 *   authd:consent:{ACCT}:CLIENT   the granted scopes (space-separated); TTL policy
 *                                 consent_ttl
 *   authd:consents:{ACCT}         set of the CLIENTs above (the account page's list); TTL
 *                                 consent_ttl, renewed by each grant; a member whose consent
 *                                 expired is dropped by the next consents_list
 *
 * Revoking a consent deletes it and revokes the refresh-token families the client holds
 * for the account (flow/refresh.h rtf_revoke_client): the client must ask again. */
#ifndef AUTHD_FLOW_CONSENTS_H
#define AUTHD_FLOW_CONSENTS_H

#include <stddef.h>

#include "flow/app.h"
#include "util/arena.h"

#define CONSENTS_LIST_MAX 64

/* The key of account_id's consent to client_id, in a ({NULL, 0} out of memory). */
struct span consents_key(struct arena *a, const char *account_id, const char *client_id);

/* Remembers that account_id granted scope to client_id for policy consent_ttl (0: not
 * remembered). Best effort: without it the citizen is asked again next time. */
void consents_remember(struct app *app, struct arena *a, const char *account_id,
                       const char *client_id, const char *scope);

struct consent {
    const char *client_id, *scope; /* in the caller's arena */
};

/* account_id's remembered consents, at most CONSENTS_LIST_MAX, ordered by client id.
 * RC_OK: *out (in a; NULL when *n is 0). RC_UNAVAILABLE, RC_NOMEM. */
enum rc consents_list(struct app *app, struct arena *a, const char *account_id,
                      struct consent **out, size_t *n);

/* Forgets account_id's consent to client_id and revokes the client's refresh-token families
 * of the account. RC_OK (also when there was none), RC_UNAVAILABLE, RC_NOMEM. */
enum rc consents_revoke(struct app *app, struct arena *a, const char *account_id,
                        const char *client_id);

#endif
