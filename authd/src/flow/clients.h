/* Finding a client by its id: the one lookup every flow and route uses. Today the clients are
 * the policy's registered ones; a client of another province will be resolved here through
 * its trust chain (federation), without touching the callers. */
#ifndef AUTHD_FLOW_CLIENTS_H
#define AUTHD_FLOW_CLIENTS_H

#include "conf/policy.h"
#include "flow/app.h"
#include "util/span.h"

/* The client named id under policy p (which the caller holds), or NULL when none is known.
 * Valid while the caller holds p. */
const struct policy_client *client_resolve(struct app *app, const struct policy *p, struct span id);

/* Whether client_resolve(app, p, id) would now make this node fetch from the federation: an
 * id p does not register, shaped as an entity id, neither registered automatically nor
 * refused recently (fed_client_would_fetch, flow/fed.h). An endpoint that takes such an id
 * from an unauthenticated caller first takes a token from the caller's address bucket
 * "fedclient:ip" (rate_federation_register_per_ip; docs/security.md). */
bool client_resolve_fetches(struct app *app, const struct policy *p, struct span id);

#endif
