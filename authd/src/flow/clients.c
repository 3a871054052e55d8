#include "flow/clients.h"

#include "flow/fed.h"

const struct policy_client *
client_resolve(struct app *app, const struct policy *p, struct span id)
{
    const struct policy_client *c = p ? policy_client(p, id) : NULL;

    /* a relying party of another province: automatic registration (flow/fed_client.c) */
    return c || !p || !app ? c : fed_client(app, id);
}

bool
client_resolve_fetches(struct app *app, const struct policy *p, struct span id)
{
    return app && p && !policy_client(p, id) && fed_client_would_fetch(app, id);
}
