#include "flow/app.h"

#include "conf/policy.h"

struct policy *
app_policy_get(struct app *app)
{
    struct policy *p;

    pthread_mutex_lock(&app->policy_mu);
    p = app->policy;
    if (p)
        policy_retain(p);
    pthread_mutex_unlock(&app->policy_mu);
    return p;
}

void
app_policy_put(struct policy *p)
{
    policy_release(p);
}

void
app_policy_swap(struct app *app, struct policy *p)
{
    struct policy *old;

    pthread_mutex_lock(&app->policy_mu);
    old = app->policy;
    app->policy = p;
    pthread_mutex_unlock(&app->policy_mu);
    policy_release(old);
}
