/* authd: wiring only. Load the config and policy, build the adapters, start HTTP, then
 * wait for signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads the policy. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compose/compose.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "flow/account.h"
#include "flow/app.h"
#include "flow/bclogout.h"
#include "flow/client_auth.h"
#include "flow/fed.h"
#include "flow/kiosk.h"
#include "flow/tokcache.h"
#include "flow/totp.h"
#include "http/server.h"
#include "log/log.h"
#include "port/keys.h"
#include "port/notify.h"
#include "port/outbound.h"
#include "port/popbase.h"
#include "port/secrets.h"
#include "flow/audit.h"
#include "port/store.h"

struct opts {
    const char *config;
    int check_only;
};

static int
usage(FILE *f)
{
    fprintf(f, "usage: authd -c CONFIG            run\n"
               "       authd -t|--check-config -c CONFIG   validate config and policy, print "
               "the effective settings\n"
               "       authd --version\n");
    return f == stderr ? 2 : 0;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("authd %s\n", AUTHD_VERSION);
            exit(0);
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            exit(usage(stdout));
        } else if (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--check-config") == 0) {
            o->check_only = 1;
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            o->config = argv[++i];
        } else {
            return usage(stderr);
        }
    }
    return o->config ? 0 : usage(stderr);
}

/* Loads config and policy; prints the first problem as file:line: key: reason. */
static int
load_all(const char *path, struct config **cfg, struct policy **pol)
{
    struct config_error err = {0};

    if (config_load(path, cfg, &err) != RC_OK) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    if (policy_load((*cfg)->policy_dir, pol, &err) != RC_OK) {
        fprintf(stderr, "%s\n", err.text);
        config_free(*cfg);
        return 1;
    }
    return 0;
}

static void
reload_policy(struct app *app)
{
    struct config_error err = {0};
    struct policy *p;
    struct log_rec *lr;

    if (policy_load(app->cfg->policy_dir, &p, &err) != RC_OK) {
        lr = log_begin(LOG_ERROR, "policy.reload");
        log_str(lr, "result", "rejected; the old policy stays in force");
        log_str(lr, "reason", err.text);
        log_end(lr);
        return;
    }
    lr = log_begin(LOG_INFO, "policy.reload");
    log_str(lr, "result", "ok");
    log_int(lr, "clients", (long long)p->nclients);
    log_end(lr);
    app_policy_swap(app, p);
}

/* Picks up a key rotation done by `authctl keys rotate`; a bad new key set is refused and
 * the old one stays in force. */
static void
check_keyset(struct keys *k, const char *ev)
{
    struct keys_error err = {{0}};
    bool reloaded = false;
    struct log_rec *lr;

    if (keys_maybe_reload(k, &reloaded, &err) != RC_OK) {
        lr = log_begin(LOG_ERROR, ev);
        log_str(lr, "result", "rejected; the old keys stay in force");
        log_str(lr, "reason", err.text);
        log_end(lr);
    } else if (reloaded) {
        log_msg(LOG_INFO, ev, "result", "ok");
    }
}

/* The token keys, and the federation keys (`authctl federation rotate-key`). */
static void
check_keys(struct app *app)
{
    check_keyset(app->keys, "keys.reload");
    if (app->fed)
        check_keyset(app->fed->keys, "federation.keys.reload");
}

/* authd -t: the federation_trust_anchors file parses (flow/fed.h fed_new). */
static enum rc
check_fed_anchors(const struct config *c)
{
    struct rc_info ri = {0};
    struct fed *f = NULL;
    struct buf b;
    enum rc rc;

    buf_init(&b, 0);
    if ((rc = compose_fed_anchors_read(c, &b, &ri)) == RC_OK
        && (rc = fed_new(NULL, buf_span(&b), NULL, &f, &ri)) == RC_OK)
        fed_free(f);
    buf_clear(&b);
    if (rc != RC_OK)
        fprintf(stderr, "authd: %s: %s\n", ri.field ? ri.field : "federation_trust_anchors",
                ri.msg ? ri.msg : rc_name(rc));
    return rc;
}

/* The federation side (flow/fed.h) when federation_role or a trust anchor is set. */
static enum rc
open_fed(struct app *app, struct rc_info *ri)
{
    const struct config *c = app->cfg;
    struct keys *k;
    struct buf anchors;
    struct outbound *ob;
    enum rc rc;

    if (!c->federation_role && !c->federation_trust_anchors)
        return RC_OK;
    buf_init(&anchors, 0);
    if ((rc = compose_fed_open(c, true, &k, &anchors, &ob, ri)) == RC_OK
        && (rc = fed_new(k, buf_span(&anchors), ob, &app->fed, ri)) != RC_OK)
        keys_free(k), outbound_free(ob);
    buf_clear(&anchors);
    return rc;
}

static enum rc
open_adapters(struct app *app, struct rc_info *ri)
{
    const struct config *c = app->cfg;
    struct store_opts so;
    struct popbase_opts po;
    struct keys_error kerr = {{0}};
    enum rc rc;

    if ((rc = compose_secrets_open(c, true, &app->secrets, ri)) != RC_OK)
        return rc;
    if ((rc = compose_audit_open(c, true, &app->audit, ri)) != RC_OK)
        return rc;
    if ((rc = totp_library_init()) != RC_OK) /* liboath: once, before any thread */
        return rc_set(ri, rc, "liboath", "cannot initialise");
    if ((rc = client_auth_keys_new(&app->client_keys)) != RC_OK)
        return rc_set(ri, rc, "client keys", "cannot allocate the client JWKS cache");
    if ((rc = tokcache_new(c->token_cache_entries, &app->tokcache)) != RC_OK)
        return rc_set(ri, rc, "token_cache_entries", "cannot allocate the token cache");
    if ((rc = keys_open(c->keys_dir, &app->keys, &kerr)) != RC_OK) {
        fprintf(stderr, "authd: %s\n", kerr.text);
        return rc_set(ri, rc, "keys_dir", "cannot load the token-signing keys");
    }
    compose_store_opts(c, &so);
    if ((rc = compose_store_open(c->store, &so, &app->store, ri)) != RC_OK)
        return rc;
    if ((rc = compose_notify_open(c->notify, &(struct notify_opts){c->notify_timeout_ms},
                                  &app->notify, ri))
        != RC_OK)
        return rc;
    if ((rc = open_fed(app, ri)) != RC_OK)
        return rc;
    if ((rc = kiosk_trust_new(c, &app->kiosk, ri)) != RC_OK)
        return rc;
    compose_popbase_opts(c, app->store, &po);
    return compose_popbase_open(c->popbase, &po, &app->pop, ri);
}

static void
log_start(const struct app *app)
{
    struct log_rec *lr = log_begin(LOG_INFO, "authd.start");

    log_str(lr, "version", AUTHD_VERSION);
    log_str(lr, "listen", app->cfg->listen);
    log_str(lr, "metrics_listen", app->cfg->metrics_listen);
    log_str(lr, "issuer", app->cfg->issuer);
    log_str(lr, "store", app->store->ops->name);
    log_str(lr, "popbase", app->pop->ops->name);
    log_end(lr);
}

/* Waits for requests in flight to finish, at most grace_ms. */
static void
drain(struct server *srv, uint32_t grace_ms)
{
    struct timespec ts = {0, 10 * 1000 * 1000};

    for (uint32_t waited = 0; waited < grace_ms && server_inflight(srv) > 0; waited += 10)
        nanosleep(&ts, NULL);
}

/* Starts the back-channel logout worker (flow/bclogout.h); NULL and an error line if it
 * cannot start: logouts then wait in the store for the next start. */
static struct bclogout_worker *
start_worker(struct app *app, struct outbound **ob)
{
    struct bclogout_worker *w = NULL;

    if (compose_outbound_open(&bclogout_outbound_opts, ob, NULL) != RC_OK
        || bclogout_start(app, *ob, &w) != RC_OK) {
        log_msg(LOG_ERROR, "logout.worker", "error", "cannot start; back-channel logouts wait");
        return NULL;
    }
    return w;
}

/* The signals the main thread waits for with sigtimedwait. Every thread inherits this
 * mask, so it must be set before the first thread (store sweeper, HTTP pool, workers)
 * starts: a SIGHUP delivered to a thread that does not block it would kill the process. */
static void
control_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM), sigaddset(set, SIGINT), sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int
serve(struct app *app)
{
    struct server *srv = NULL;
    struct outbound *ob = NULL;
    struct bclogout_worker *worker;
    struct rc_info ri = {0};
    sigset_t set;
    int sig = 0;

    control_signals(&set);
    if (server_start(app, &srv, &ri) != RC_OK) {
        fprintf(stderr, "authd: %s: %s\n", ri.field ? ri.field : "listen",
                ri.msg ? ri.msg : "cannot start");
        log_msg(LOG_ERROR, "authd.start", "error", ri.msg);
        return 1;
    }
    worker = start_worker(app, &ob);
    log_start(app);
    for (;;) {
        struct timespec tick = {2, 0};
        if ((sig = sigtimedwait(&set, NULL, &tick)) < 0) {
            check_keys(app); /* `authctl keys rotate` took effect? */
            continue;
        }
        if (sig == SIGHUP) {
            reload_policy(app);
            check_keys(app);
            continue;
        }
        break;
    }
    log_msg(LOG_INFO, "authd.stop", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&app->stopping, true);
    server_quiesce(srv);
    drain(srv, app->cfg->shutdown_grace_ms);
    server_stop(srv);
    bclogout_stop(worker); /* before the store is freed; pending items stay queued */
    outbound_free(ob);
    return 0;
}

int
main(int argc, char **argv)
{
    struct opts o = {0};
    struct config *cfg = NULL;
    struct policy *pol = NULL;
    struct app app = {.clock = &clock_system, .rng = &rng_system};
    struct rc_info ri = {0};
    int rc, fd = 2;

    sigset_t sigs;

    control_signals(&sigs); /* before any thread exists */
    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc;
    if (load_all(o.config, &cfg, &pol) != 0)
        return 1;
    if (o.check_only) {
        if (check_fed_anchors(cfg) != RC_OK) {
            policy_release(pol), config_free(cfg);
            return 1;
        }
        config_print(cfg, stdout);
        printf("# policy: %zu clients, %zu scopes from %s\n", pol->nclients, pol->nscopes,
               cfg->policy_dir);
        printf("# configuration ok\n");
        policy_release(pol), config_free(cfg);
        return 0;
    }
    if (cfg->log_file
        && (fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
        fprintf(stderr, "authd: log_file %s: %s\n", cfg->log_file, strerror(errno));
        return 1;
    }
    log_setup(cfg->log_level, fd);
    app.cfg = cfg;
    app.policy = pol;
    pthread_mutex_init(&app.policy_mu, NULL);
    if (open_adapters(&app, &ri) != RC_OK) {
        fprintf(stderr, "authd: %s: %s\n", ri.field ? ri.field : "startup",
                ri.msg ? ri.msg : "cannot open");
        rc = 1;
    } else {
        if (account_init(&app) != RC_OK)
            log_msg(LOG_WARN, "account.init", "error", "cannot compute the dummy hash");
        if (cfg->demo_accounts)
            account_seed_demo(&app, cfg->demo_accounts); /* dev only; warns and goes on */
        rc = serve(&app);
    }
    popbase_free(app.pop);
    notify_free(app.notify);
    keys_free(app.keys);
    fed_free(app.fed);
    kiosk_trust_free(app.kiosk);
    tokcache_free(app.tokcache);
    store_free(app.store);
    policy_release(app.policy);
    client_auth_keys_free(app.client_keys);
    secrets_free(app.secrets);
    audit_free(app.audit);
    config_free(cfg);
    return rc;
}
