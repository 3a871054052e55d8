/* Everything a request handler may reach: the configuration, the ports, and the current
 * policy. Built once by main.c; the policy pointer is swapped atomically on reload. */
#ifndef AUTHD_FLOW_APP_H
#define AUTHD_FLOW_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "conf/config.h"
#include "port/clock.h"

struct store;
struct popbase;
struct keys;
struct policy;
struct tokcache;
struct notify;
struct secrets;
struct client_keys;
struct audit;
struct fed;
struct kiosk_trust;

struct app {
    const struct config *cfg;
    struct store *store;
    struct popbase *pop;
    struct keys *keys;
    struct notify *notify; /* NULL: notices not configured (config `notify`) */
    struct secrets *secrets;         /* the server's keyed hashes (port/secrets.h) */
    struct client_keys *client_keys; /* parsed client JWKS (flow/client_auth.h); may be NULL */
    const struct clock *clock;
    const struct rng *rng;
    /* the policy in force: read with app_policy_get / app_policy_put */
    pthread_mutex_t policy_mu;
    struct policy *policy;
    atomic_bool stopping;
    struct tokcache *tokcache; /* access tokens known good on this node; may be NULL */
    struct audit *audit;       /* the audit chain (flow/audit.h); NULL: none (unit tests) */
    struct fed *fed;           /* OpenID Federation (flow/fed.h); NULL: not configured */
    struct kiosk_trust *kiosk; /* the kiosk CA and CRL (flow/kiosk.h); NULL: no kiosk channel */
};

/* Returns the policy in force with a reference held; release it with app_policy_put. */
struct policy *app_policy_get(struct app *app);
void app_policy_put(struct policy *p);
/* Installs p (taking the caller's reference) and releases the old one. */
void app_policy_swap(struct app *app, struct policy *p);

#endif
