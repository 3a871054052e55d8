/* authctl federation ...: the federation keys and an anchor's registry of subordinates
 * (docs/federation.md).
 *
 *   init-key             create the federation key set in federation_keys_dir (authd also
 *                        does at its first start)
 *   rotate-key [--min-publish S]   one rotation step, as `authctl keys rotate` (docs/keys.md):
 *                        first a next key is published, the second step makes it sign
 *   jwks                 print the published federation JWKS (what an anchor enrols)
 *   enroll --entity-id URL --jwks FILE [--policy FILE] [--constraints FILE]
 *          [--trust-mark TYPE]... [--mark-ial ialN]   enrol or replace a subordinate (the
 *                        store; served at
 *                        once by every anchor node sharing it)
 *   remove URL | list    the registry
 *   refresh              drop every cached trust chain (every node sharing the store)
 *   resolve URL [--trust-anchor URL] [--json]   resolve URL's chain as this node would
 *                        (through its cache) and print the resulting metadata, or with
 *                        --json {metadata, trust_chain, trust_marks, exp}
 *
 * Exit codes: 0 done, 1 refused (reason on stderr), 2 usage or setup error, 3 the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapt/keys_file.h"
#include "authctl/authctl.h"
#include "compose/compose.h"
#include "conf/config.h"
#include "core/jose.h"
#include "flow/app.h"
#include "flow/fed.h"
#include "log/log.h"
#include "port/keys.h"
#include "port/outbound.h"
#include "port/store.h"
#include "util/num.h"

#define USAGE                                                                                      \
    "federation init-key | rotate-key [--min-publish S] | jwks | enroll --entity-id URL "          \
    "--jwks FILE [--policy FILE] [--constraints FILE] [--trust-mark TYPE]... [--mark-ial ialN] | " \
    "remove URL | "                                                                                \
    "list | refresh | resolve URL [--trust-anchor URL] [--json]"
#define MAX_FILE (256 * 1024)

static int
fail(enum rc rc, const char *what, const struct rc_info *ri)
{
    fprintf(stderr, "authctl federation: %s: %s%s%s (%s%s%s)\n", what,
            ri && ri->field ? ri->field : "", ri && ri->field ? ": " : "",
            ri && ri->msg ? ri->msg : rc_name(rc), rc_name(rc), ri && ri->why ? ", " : "",
            ri && ri->why ? rc_reason_name(ri->why) : "");
    return rc == RC_UNAVAILABLE ? 3 : rc == RC_INTERNAL || rc == RC_NOMEM ? 2 : 1;
}

/* The whole file into a new NUL-terminated buffer (free it); NULL after an error line. */
static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = f ? malloc(MAX_FILE + 1) : NULL;
    size_t n = 0;

    if (b)
        n = fread(b, 1, MAX_FILE + 1, f);
    if (f)
        fclose(f);
    if (!b || n > MAX_FILE) {
        fprintf(stderr, "authctl federation: %s: cannot read (or over %d bytes)\n", path, MAX_FILE);
        free(b);
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}

static int
cmd_init_key(const struct config *c)
{
    struct keys_error err = {{0}};
    bool changed = false;

    if (keys_file_init(c->federation_keys_dir, clock_now(&clock_system), 0, &changed, &err)) {
        fprintf(stderr, "authctl: %s\n", err.text);
        return 1;
    }
    fprintf(stderr, "authctl federation init-key: %s\n",
            changed ? "created the federation key" : "key already present; nothing done");
    return 0;
}

static int
cmd_rotate_key(const struct config *c, int argc, char **argv)
{
    struct keys_rotate_opts o = {clock_now(&clock_system), 0, c->federation_statement_lifetime_s};
    struct keys_error err = {{0}};
    struct keys_state st;
    const char *mp = authctl_opt(argc, argv, "--min-publish");
    uint64_t n = 0;

    if (mp && num_parse_u64(span_str(mp), 0, 10ull * 365 * 86400, &n) != RC_OK) {
        fprintf(stderr, "authctl federation: --min-publish: not a number of seconds\n");
        return 2;
    }
    o.min_publish = (int64_t)n;
    if (keys_file_rotate(c->federation_keys_dir, &o, &st, &err) != RC_OK) {
        fprintf(stderr, "authctl: %s\n", err.text);
        return 1;
    }
    for (size_t i = 0; i < st.n; i++)
        if (st.e[i].status != KEYS_PREVIOUS)
            fprintf(stderr, "authctl federation rotate-key: %s %s\n", st.e[i].kid,
                    keys_status_name(st.e[i].status));
    return 0;
}

static int
cmd_jwks(const struct config *c)
{
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct arena a;
    struct span j;
    int rc = 0;

    arena_init(&a, 1 << 20);
    if (keys_open(c->federation_keys_dir, &k, &err) != RC_OK) {
        fprintf(stderr, "authctl: %s\n", err.text);
        rc = 1;
    } else if (keys_published(k, &a, &j) != RC_OK)
        rc = 1;
    else
        printf("%.*s\n", (int)j.len, (const char *)j.p);
    keys_free(k);
    arena_clear(&a);
    return rc;
}

/* The store (and with fed, the federation pieces) as authd would open them. */
static int
open_app(const struct config *c, struct app *app, bool fed)
{
    struct store_opts so;
    struct rc_info ri = {0};
    struct keys *k;
    struct buf anchors;
    struct outbound *ob;
    enum rc rc;

    *app = (struct app){.cfg = c, .clock = &clock_system, .rng = &rng_system};
    log_setup(LOG_WARN, 2);
    compose_store_opts(c, &so);
    if (compose_store_open(c->store, &so, &app->store, &ri) != RC_OK)
        return fail(RC_UNAVAILABLE, "store", &ri);
    if (strcmp(app->store->ops->name, "memory") == 0)
        fprintf(stderr, "authctl federation: warning: store = memory: is private to this "
                        "process; enrolment and refresh are only useful with Redis\n");
    if (!fed)
        return 0;
    buf_init(&anchors, 0);
    if ((rc = compose_fed_open(c, false, &k, &anchors, &ob, &ri)) == RC_OK
        && (rc = fed_new(k, buf_span(&anchors), ob, &app->fed, &ri)) != RC_OK)
        keys_free(k), outbound_free(ob);
    buf_clear(&anchors);
    return rc == RC_OK ? 0 : fail(rc, "federation", &ri);
}

static void
close_app(struct app *app)
{
    fed_free(app->fed);
    store_free(app->store);
}

/* Every --trust-mark value, space-separated, into a new string (free it); with --mark-ial
 * LEVEL each as "TYPE#LEVEL" (fed_enroll). */
static char *
trust_marks(int argc, char **argv)
{
    const char *ial = authctl_opt(argc, argv, "--mark-ial");
    size_t n = 1;
    char *s;

    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--trust-mark") == 0)
            n += strlen(argv[i + 1]) + 2 + (ial ? strlen(ial) : 0);
    if (!(s = calloc(1, n)))
        return NULL;
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--trust-mark") == 0) {
            strcat(strcat(s, *s ? " " : ""), argv[i + 1]);
            if (ial)
                strcat(strcat(s, "#"), ial);
        }
    return s;
}

static int
cmd_enroll(struct app *app, int argc, char **argv)
{
    const char *id = authctl_opt(argc, argv, "--entity-id"),
               *jf = authctl_opt(argc, argv, "--jwks");
    const char *pf = authctl_opt(argc, argv, "--policy"),
               *cf = authctl_opt(argc, argv, "--constraints");
    char *jwks = NULL, *pol = NULL, *con = NULL, *marks = trust_marks(argc, argv);
    size_t jl = 0, pl = 0, cl = 0;
    struct rc_info ri = {0};
    enum rc rc;
    int ret = 2;

    if (!id || !jf) {
        fprintf(stderr, "usage: authctl %s\n", USAGE);
        goto out;
    }
    if (!marks || !(jwks = slurp(jf, &jl)) || (pf && !(pol = slurp(pf, &pl)))
        || (cf && !(con = slurp(cf, &cl))))
        goto out;
    rc = fed_enroll(app, id, span_of(jwks, jl), span_of(pol, pl), span_of(con, cl), marks, &ri);
    ret = rc == RC_OK ? 0 : fail(rc, "enroll", &ri);
    if (rc == RC_OK)
        fprintf(stderr, "authctl federation enroll: %s enrolled\n", id);
out:
    free(jwks), free(pol), free(con), free(marks);
    return ret;
}

static int
cmd_list(struct app *app)
{
    struct arena a;
    struct rc_info ri = {0};
    json_t *l = NULL, *v;
    size_t i;
    enum rc rc;

    arena_init(&a, 1 << 20);
    if ((rc = fed_list(app, &a, &l, &ri)) == RC_OK)
        json_array_foreach(l, i, v) printf("%s\n", json_string_value(v));
    json_decref(l);
    arena_clear(&a);
    return rc == RC_OK ? 0 : fail(rc, "list", &ri);
}

static int
cmd_resolve(struct app *app, int argc, char **argv)
{
    const char *anchor = authctl_opt(argc, argv, "--trust-anchor");
    struct fed_resolved res;
    struct rc_info ri = {0};
    struct arena a;
    char *s;
    enum rc rc;

    if (!anchor && app->fed->nanchors)
        anchor = app->fed->anchors[0].id;
    if (argc < 3 || !anchor) {
        fprintf(stderr, "usage: authctl %s (and federation_trust_anchors set)\n", USAGE);
        return 2;
    }
    arena_init(&a, 4u << 20);
    rc = fed_resolve(app, argv[2], anchor, &a, &res, &ri);
    if (rc == RC_OK && authctl_flag(argc, argv, "--json")) {
        json_t *all =
            json_pack("{s:O, s:O, s:O, s:I}", "metadata", res.metadata, "trust_chain",
                      res.trust_chain, "trust_marks", res.trust_marks, "exp", (json_int_t)res.exp);
        s = all ? json_dumps(all, JSON_COMPACT) : NULL;
        json_decref(all);
    } else
        s = rc == RC_OK ? json_dumps(res.metadata, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    fed_resolved_clear(&res);
    arena_clear(&a);
    return rc == RC_OK ? 0 : fail(rc, "resolve", &ri);
}

static int
run_store_cmd(const struct config *c, int argc, char **argv)
{
    const char *sub = argv[1];
    struct app app;
    struct rc_info ri = {0};
    enum rc rc = RC_OK;
    int ret;

    if ((ret = open_app(c, &app, strcmp(sub, "resolve") == 0)) != 0) {
        close_app(&app);
        return ret;
    }
    if (strcmp(sub, "enroll") == 0)
        ret = cmd_enroll(&app, argc, argv);
    else if (strcmp(sub, "list") == 0)
        ret = cmd_list(&app);
    else if (strcmp(sub, "resolve") == 0)
        ret = cmd_resolve(&app, argc, argv);
    else if (strcmp(sub, "remove") == 0 && argc >= 3)
        ret = (rc = fed_remove(&app, argv[2], &ri)) == RC_OK ? 0 : fail(rc, "remove", &ri);
    else if (strcmp(sub, "refresh") == 0)
        ret = (rc = fed_refresh(&app, &ri)) == RC_OK ? 0 : fail(rc, "refresh", &ri);
    else {
        fprintf(stderr, "usage: authctl %s\n", USAGE);
        ret = 2;
    }
    close_app(&app);
    return ret;
}

static int
cmd_federation(struct authctl *ctl, int argc, char **argv)
{
    const struct config *c;

    if (argc < 2) {
        fprintf(stderr, "usage: authctl %s\n", USAGE);
        return 2;
    }
    if (!(c = ctl->config(ctl)))
        return 2;
    /* the subcommand is argv[1]; options are looked up from argv[2] on */
    if (strcmp(argv[1], "init-key") == 0)
        return cmd_init_key(c);
    if (strcmp(argv[1], "rotate-key") == 0)
        return cmd_rotate_key(c, argc, argv);
    if (strcmp(argv[1], "jwks") == 0)
        return cmd_jwks(c);
    return run_store_cmd(c, argc, argv);
}

AUTHCTL_COMMAND(federation, USAGE, cmd_federation)
