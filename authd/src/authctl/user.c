/* authctl user ...: operator actions on citizen accounts, against the store and the
 * population base named in the config (the same flow code the daemon runs):
 *   user add --id-number N --name NAME [--phone P] --password-stdin [--skip-popbase]
 *   user show N | user disable N | user enable N | user unlock N
 *   user reset-mfa N   (the service desk: removes the second factors; logged, masked)
 *   user bench-hash [--n COUNT]   (hidden: time argon2id at the configured parameters)
 * Exit codes: 0 done, 1 refused (the reason on stderr), 2 usage or setup error, 3 the store
 * or the population base is unavailable. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authctl/authctl.h"
#include "compose/compose.h"
#include "conf/config.h"
#include "core/mask.h"
#include "flow/account.h"
#include "flow/audit.h"
#include "flow/authn.h"
#include "flow/sms.h"
#include "flow/totp.h"
#include "log/log.h"
#include "port/popbase.h"
#include "port/secrets.h"
#include "port/store.h"

#define USAGE                                                                                      \
    "user add --id-number N --name NAME [--phone P] --password-stdin [--skip-popbase] | "          \
    "user show|disable|enable|unlock|reset-mfa NUMBER"

struct user_ctx {
    struct config *cfg;
    struct app app;
    struct arena a;
};

static int
fail(enum rc rc, const char *what, const struct rc_info *ri)
{
    fprintf(stderr, "authctl user: %s: %s%s%s (%s)\n", what, ri && ri->field ? ri->field : "",
            ri && ri->field ? ": " : "", ri && ri->msg ? ri->msg : rc_name(rc), rc_name(rc));
    return rc == RC_UNAVAILABLE ? 3 : rc == RC_INTERNAL || rc == RC_NOMEM ? 2 : 1;
}

/* Opens the master key (never creating one: a new key would orphan every account), the
 * store and, if asked, the population base. Returns 0 or an exit code. */
static int
open_ctx(struct authctl *ctl, struct user_ctx *u, bool need_pop)
{
    const struct config *c = ctl->config(ctl);
    struct store_opts so;
    struct popbase_opts po;
    struct rc_info ri = {0};
    char path[4096];
    enum rc rc;

    if (!c)
        return 2;
    u->app = (struct app){.cfg = c, .clock = &clock_system, .rng = &rng_system};
    arena_init(&u->a, 1u << 20);
    log_setup(LOG_WARN, 2);
    if ((size_t)snprintf(path, sizeof(path), "%s/master.key", c->state_dir) >= sizeof(path)
        || access(path, R_OK) != 0) {
        fprintf(stderr, "authctl user: no master key at %s/master.key\n", c->state_dir);
        return 2;
    }
    if ((rc = compose_secrets_open(c, false, &u->app.secrets, &ri)) != RC_OK)
        return fail(rc == RC_NOMEM ? rc : RC_INTERNAL, "master key", &ri);
    compose_store_opts(c, &so);
    if (compose_store_open(c->store, &so, &u->app.store, &ri) != RC_OK)
        return fail(RC_UNAVAILABLE, "store", &ri);
    if (strcmp(u->app.store->ops->name, "memory") == 0)
        fprintf(stderr, "authctl user: warning: store = memory: is private to this process and "
                        "is gone when it exits; this command is only useful with Redis\n");
    /* admin commands go to the audit chain (docs/audit.md); authctl never makes the key */
    if (compose_audit_open(c, false, &u->app.audit, &ri) != RC_OK)
        fprintf(stderr, "authctl user: warning: no audit key (%s): this command is not "
                        "audited; start authd once to create it\n", ri.msg ? ri.msg : "");
    if (!need_pop)
        return 0;
    compose_popbase_opts(c, u->app.store, &po); /* the daemon's options, breaker and cache */
    if (compose_popbase_open(c->popbase, &po, &u->app.pop, &ri) != RC_OK)
        return fail(RC_UNAVAILABLE, "popbase", &ri);
    return 0;
}

static void
close_ctx(struct user_ctx *u)
{
    audit_free(u->app.audit);
    arena_clear(&u->a);
    popbase_free(u->app.pop);
    store_free(u->app.store);
    secrets_free(u->app.secrets);
}

/* Reads the password from stdin (one line; the newline is dropped). 0 or an exit code. */
static int
read_password(char *buf, size_t cap, size_t *len)
{
    size_t n = fread(buf, 1, cap, stdin);

    if (n == cap) {
        fprintf(stderr, "authctl user: password longer than %d bytes\n", ACCOUNT_PASSWORD_MAX);
        return 2;
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    *len = n;
    return 0;
}

static int
print_json(json_t *o)
{
    int rc = o && json_dumpf(o, stdout, JSON_COMPACT) == 0 ? 0 : 2;

    json_decref(o);
    printf("\n");
    return rc;
}

static json_t *
account_json(const struct account *acct, const struct account_lock *lk)
{
    char idn[MASK_IDNUM_SIZE], name[MASK_NAME_SIZE], ial[8], phone[12] = "";
    size_t pl = acct->phone ? strlen(acct->phone) : 0;

    if (pl == 11) /* 139****5678 */
        snprintf(phone, sizeof(phone), "%.3s****%.4s", acct->phone, acct->phone + 7);
    mask_idnum(span_str(acct->id_number), idn);
    mask_name(span_str(acct->name), name);
    snprintf(ial, sizeof(ial), "ial%d", (int)acct->ial);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:{s:I, s:b, s:I}}", "id_number", idn, "name",
                     name, "ial", ial, "status", acct->disabled ? "disabled" : "active", "phone",
                     phone, "created", (json_int_t)acct->created, "lockout", "failures",
                     (json_int_t)lk->failures, "locked", lk->locked_for_s > 0, "locked_for_s",
                     (json_int_t)lk->locked_for_s);
}

/* The second factors acct has (each session-raising authenticator's enrolled hook, as the
 * step-up page asks) and its unused recovery codes, added to o. */
static json_t *
with_factors(struct user_ctx *u, const struct account *acct, json_t *o)
{
    json_t *arr = json_array();
    const struct authn *m;
    size_t left = 0;

    for (size_t i = 0; arr && (m = authn_at(i)); i++)
        if ((m->needs & AUTHN_NEEDS_SESSION) && m->enrolled
            && m->enrolled(&u->app, &u->a, acct->id))
            json_array_append_new(arr, json_string(m->name));
    if (totp_recovery_left(&u->app, &u->a, acct->id, &left) != RC_OK)
        left = 0;
    if (o && arr) {
        json_object_set_new(o, "factors", arr);
        json_object_set_new(o, "recovery_codes_left", json_integer((json_int_t)left));
    } else {
        json_decref(arr);
    }
    return o;
}

/* An admin command that changed an account, in the audit chain: what, the number masked,
 * the operator (the login name, as far as the system knows it). A chain that cannot take it
 * is reported: the change is made, the audit record is missing. */
static void
audit_admin(struct user_ctx *u, const char *ev, const char *idn_masked)
{
    const char *who = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
    const char *kv[] = {"idn", idn_masked, "operator", who ? who : "", "via", "authctl"};

    if (u->app.audit && audit_append(&u->app, ev, kv, 6) != RC_OK)
        fprintf(stderr, "authctl user: warning: the audit chain did not take this record\n");
}

/* reset-mfa: every second factor of the account goes (the TOTP app and its recovery codes,
 * the phone's verification: the citizen enrols again); one warn line and an audit record,
 * the number masked. */
static enum rc
reset_mfa(struct user_ctx *u, struct span number, struct rc_info *ri)
{
    struct account acct;
    char idn[MASK_IDNUM_SIZE];
    enum rc rc = account_find(&u->app, &u->a, number, &acct, ri), src = RC_NOT_FOUND;
    struct log_rec *rec;

    if (rc != RC_OK)
        return rc;
    rc = totp_reset(&u->app, &u->a, acct.id);
    if ((rc == RC_OK || rc == RC_NOT_FOUND) && sms_enrolled(&acct)
        && (src = sms_phone_mark_verified(&u->app, &u->a, acct.id, "")) != RC_OK)
        rc = src;
    else if (rc == RC_NOT_FOUND && src == RC_OK)
        rc = RC_OK;
    mask_idnum(number, idn);
    rec = log_begin(LOG_WARN, "mfa.reset");
    log_str(rec, "idn", idn);
    log_str(rec, "rc", rc_name(rc));
    log_end(rec);
    if (rc == RC_OK)
        audit_admin(u, "admin.reset_mfa", idn);
    OPENSSL_cleanse(&acct, sizeof(acct));
    return rc == RC_NOT_FOUND ? rc_set(ri, rc, NULL, "no second factor to reset") : rc;
}

struct add_args {
    const char *id_number, *name, *phone;
    bool password_stdin, skip_popbase;
};

static int
parse_add(int argc, char **argv, struct add_args *o)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--id-number") == 0 && i + 1 < argc)
            o->id_number = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            o->name = argv[++i];
        else if (strcmp(argv[i], "--phone") == 0 && i + 1 < argc)
            o->phone = argv[++i];
        else if (strcmp(argv[i], "--password-stdin") == 0)
            o->password_stdin = true;
        else if (strcmp(argv[i], "--skip-popbase") == 0)
            o->skip_popbase = true;
        else
            return -1;
    }
    return o->id_number && o->name && o->password_stdin ? 0 : -1;
}

static int
cmd_add(struct authctl *ctl, int argc, char **argv)
{
    struct add_args o = {0};
    struct account_add_opts ao;
    struct user_ctx u = {0};
    struct register_req req;
    struct account acct;
    struct account_lock lk = {0};
    struct rc_info ri = {0};
    char pw[ACCOUNT_PASSWORD_MAX + 1];
    size_t pwlen = 0;
    enum rc rc;
    int ex;

    if (parse_add(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: authctl -c CONF %s\n", USAGE);
        return 2;
    }
    if ((ex = read_password(pw, sizeof(pw), &pwlen)) != 0)
        return ex;
    if ((ex = open_ctx(ctl, &u, !o.skip_popbase)) == 0) {
        ao.skip_popbase = o.skip_popbase;
        req = (struct register_req){span_str(o.id_number), span_str(o.name), span_str(o.phone),
                                    span_of(pw, pwlen)};
        rc = account_add(&u.app, &u.a, &req, &ao, &acct, &ri);
        if (rc == RC_OK) {
            char idn[MASK_IDNUM_SIZE];
            mask_idnum(req.id_number, idn);
            audit_admin(&u, ao.skip_popbase ? "admin.add_unchecked" : "admin.add", idn);
        }
        ex = rc == RC_OK ? print_json(account_json(&acct, &lk)) : fail(rc, "add", &ri);
    }
    OPENSSL_cleanse(pw, sizeof(pw));
    close_ctx(&u);
    return ex;
}

/* show, disable, enable, unlock: one number. */
static int
cmd_one(struct authctl *ctl, const char *verb, const char *number)
{
    struct user_ctx u = {0};
    struct span n = span_str(number);
    struct account acct;
    struct account_lock lk;
    struct rc_info ri = {0};
    enum rc rc;
    int ex;

    if ((ex = open_ctx(ctl, &u, false)) != 0) {
        close_ctx(&u);
        return ex;
    }
    if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0 || strcmp(verb, "unlock") == 0) {
        char idn[MASK_IDNUM_SIZE];
        rc = strcmp(verb, "unlock") == 0 ? account_unlock(&u.app, &u.a, n, &ri)
                                         : account_set_disabled(&u.app, &u.a, n, verb[0] == 'd', &ri);
        mask_idnum(n, idn);
        if (rc == RC_OK)
            audit_admin(&u, verb[0] == 'd' ? "admin.disable" : verb[0] == 'e' ? "admin.enable"
                                                                             : "admin.unlock",
                        idn);
    } else if (strcmp(verb, "reset-mfa") == 0)
        rc = reset_mfa(&u, n, &ri);
    else
        rc = RC_OK;
    if (rc == RC_OK)
        rc = account_find(&u.app, &u.a, n, &acct, &ri);
    if (rc == RC_OK)
        rc = account_lock_state(&u.app, &u.a, n, &lk, &ri);
    if (rc == RC_NOT_FOUND)
        rc_set(&ri, rc, NULL, "no account for this number");
    ex = rc == RC_OK ? print_json(with_factors(&u, &acct, account_json(&acct, &lk)))
                     : fail(rc, verb, &ri);
    close_ctx(&u);
    return ex;
}

/* Times COUNT hashes at the configured argon2id parameters (docs/accounts.md). */
static int
cmd_bench(struct authctl *ctl, int argc, char **argv)
{
    const struct config *c = ctl->config(ctl);
    struct app app = {.cfg = c, .clock = &clock_system, .rng = &rng_system};
    char phc[ACCOUNT_PHC_MAX];
    struct timespec t0, t1;
    long n = argc >= 4 && strcmp(argv[2], "--n") == 0 ? strtol(argv[3], NULL, 10) : 20;
    double ms;

    if (!c || n <= 0 || n > 100000)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++)
        if (account_hash_password(&app, SPAN("bench-password-1"), phc) != RC_OK)
            return 2;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / n;
    printf("{\"m_kib\":%u,\"t\":%u,\"p\":%u,\"hashes\":%ld,\"ms_per_hash\":%.1f,"
           "\"hashes_per_s\":%.1f}\n",
           c->argon2_memory_kib, c->argon2_iterations, c->argon2_parallelism, n, ms, 1000.0 / ms);
    return 0;
}

static int
cmd_user(struct authctl *ctl, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return cmd_add(ctl, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "bench-hash") == 0)
        return cmd_bench(ctl, argc, argv);
    if (argc == 3
        && (strcmp(argv[1], "show") == 0 || strcmp(argv[1], "disable") == 0
            || strcmp(argv[1], "enable") == 0 || strcmp(argv[1], "unlock") == 0
            || strcmp(argv[1], "reset-mfa") == 0))
        return cmd_one(ctl, argv[1], argv[2]);
    fprintf(stderr, "usage: authctl -c CONF %s\n", USAGE);
    return 2;
}

AUTHCTL_COMMAND(user, USAGE, cmd_user)
