/* authctl staff ...: staff accounts of the hotline (flow/staff.h, docs/hotline.md), against
 * the store and the policy named in the config:
 *   staff add --emp N --name NAME --role ROLE   prints the enrolment link (set a password;
 *                                               TOTP is enrolled at the first login)
 *   staff link N                                a new enrolment link
 *   staff list                                  one JSON object a line
 *   staff disable N | staff enable N
 *   staff quota N --daily Q                     the member's daily lookup quota (0: the
 *                                               role's)
 * Each change is an audit record (staff.add, staff.disable, ...: emp, role, by = the
 * operator's login name). Exit codes: 0 done, 1 refused (the reason on stderr), 2 usage or
 * setup error, 3 the store is unavailable. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authctl/authctl.h"
#include "compose/compose.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "core/mask.h"
#include "flow/audit.h"
#include "flow/staff.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"
#include "util/num.h"

#define USAGE                                                                                      \
    "staff add --emp N --name NAME --role ROLE | staff link|disable|enable N | staff list | "      \
    "staff quota N --daily Q"

struct staff_ctx {
    struct app app;
    struct arena a;
};

static int
fail(enum rc rc, const char *what, const struct rc_info *ri)
{
    fprintf(stderr, "authctl staff: %s: %s%s%s (%s)\n", what, ri && ri->field ? ri->field : "",
            ri && ri->field ? ": " : "", ri && ri->msg ? ri->msg : rc_name(rc), rc_name(rc));
    return rc == RC_UNAVAILABLE ? 3 : rc == RC_INTERNAL || rc == RC_NOMEM ? 2 : 1;
}

/* The master key (never created here), the store, the policy (roles) and the audit chain. */
static int
open_ctx(struct authctl *ctl, struct staff_ctx *u)
{
    const struct config *c = ctl->config(ctl);
    struct config_error perr = {0};
    struct store_opts so;
    struct rc_info ri = {0};
    struct policy *p = NULL;
    char path[4096];

    if (!c)
        return 2;
    u->app = (struct app){.cfg = c, .clock = &clock_system, .rng = &rng_system};
    pthread_mutex_init(&u->app.policy_mu, NULL);
    arena_init(&u->a, 1u << 20);
    log_setup(LOG_WARN, 2);
    if ((size_t)snprintf(path, sizeof(path), "%s/master.key", c->state_dir) >= sizeof(path)
        || access(path, R_OK) != 0) {
        fprintf(stderr, "authctl staff: no master key at %s/master.key\n", c->state_dir);
        return 2;
    }
    if (compose_secrets_open(c, false, &u->app.secrets, &ri) != RC_OK)
        return fail(RC_INTERNAL, "master key", &ri);
    if (policy_load(c->policy_dir, &p, &perr) != RC_OK) {
        fprintf(stderr, "authctl staff: policy: %s\n", perr.text);
        return 2;
    }
    app_policy_swap(&u->app, p);
    compose_store_opts(c, &so);
    if (compose_store_open(c->store, &so, &u->app.store, &ri) != RC_OK)
        return fail(RC_UNAVAILABLE, "store", &ri);
    if (compose_audit_open(c, false, &u->app.audit, &ri) != RC_OK)
        fprintf(stderr,
                "authctl staff: warning: no audit key (%s): this command is not "
                "audited; start authd once to create it\n",
                ri.msg ? ri.msg : "");
    return 0;
}

static void
close_ctx(struct staff_ctx *u)
{
    audit_free(u->app.audit);
    arena_clear(&u->a);
    store_free(u->app.store);
    secrets_free(u->app.secrets);
    app_policy_swap(&u->app, NULL);
}

static const char *
operator_name(void)
{
    const char *who = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");

    return who ? who : "";
}

static int
print_member(const struct staff *s)
{
    char masked[MASK_NAME_SIZE];
    json_t *o;
    int rc;

    mask_name(span_str(s->name), masked);
    o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "emp", s->emp, "name", masked, "role",
                  s->role, "status", s->disabled ? "disabled" : "active", "enrolled",
                  (int)s->enrolled, "quota", (json_int_t)s->quota, "created",
                  (json_int_t)s->created);
    rc = o && json_dumpf(o, stdout, JSON_COMPACT) == 0 ? 0 : 2;
    json_decref(o);
    printf("\n");
    return rc;
}

static int
run(struct staff_ctx *u, int argc, char **argv)
{
    const char *sub = argv[1];
    struct rc_info ri = {0};
    const char *link = NULL;
    enum rc rc;

    if (strcmp(sub, "add") == 0) {
        const char *emp = authctl_opt(argc, argv, "--emp"),
                   *name = authctl_opt(argc, argv, "--name");
        const char *role = authctl_opt(argc, argv, "--role");
        if (!emp || !name || !role)
            return -1;
        rc = staff_add(&u->app, &u->a, span_str(emp), span_str(name), span_str(role),
                       operator_name(), &link, &ri);
        if (rc != RC_OK)
            return fail(rc, "add", &ri);
        printf("%s\n", link);
        return 0;
    }
    if (strcmp(sub, "list") == 0) {
        struct staff *all;
        size_t n;
        if ((rc = staff_list(&u->app, &u->a, &all, &n)) != RC_OK)
            return fail(rc, "list", NULL);
        for (size_t i = 0; i < n; i++)
            if (print_member(&all[i]) != 0)
                return 2;
        return 0;
    }
    if (argc < 3)
        return -1;
    if (strcmp(sub, "link") == 0) {
        if ((rc = staff_relink(&u->app, &u->a, span_str(argv[2]), &link, &ri)) != RC_OK)
            return fail(rc, "link", &ri);
        printf("%s\n", link);
        return 0;
    }
    if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
        rc = staff_set_disabled(&u->app, &u->a, span_str(argv[2]), strcmp(sub, "disable") == 0,
                                operator_name(), &ri);
        return rc == RC_OK ? 0 : fail(rc, sub, &ri);
    }
    if (strcmp(sub, "quota") == 0) {
        const char *d = authctl_opt(argc, argv, "--daily");
        uint64_t q;
        if (!d || num_parse_u64(span_str(d), 0, 100000, &q) != RC_OK)
            return -1;
        rc = staff_set_quota(&u->app, &u->a, span_str(argv[2]), (uint32_t)q, operator_name(), &ri);
        return rc == RC_OK ? 0 : fail(rc, "quota", &ri);
    }
    return -1;
}

static int
cmd_staff(struct authctl *ctl, int argc, char **argv)
{
    struct staff_ctx u;
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: authctl %s\n", USAGE);
        return 2;
    }
    if ((rc = open_ctx(ctl, &u)) != 0)
        return rc;
    if ((rc = run(&u, argc, argv)) < 0) {
        fprintf(stderr, "usage: authctl %s\n", USAGE);
        rc = 2;
    }
    close_ctx(&u);
    return rc;
}

AUTHCTL_COMMAND(staff, USAGE, cmd_staff)
