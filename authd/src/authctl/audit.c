/* authctl audit: export the audit chain from the store, verify an exported file offline,
 * append a checkpoint now, print the audit key's public JWKS, index the chain's records by
 * account again (docs/audit.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authctl/authctl.h"
#include "compose/compose.h"
#include "core/auditlog.h"
#include "core/jose.h"
#include "flow/app.h"
#include "flow/audit.h"
#include "log/log.h"
#include "port/store.h"

#define USAGE                                                                                      \
    "audit export FILE | audit verify FILE [--key JWK-OR-JWKS-FILE] | audit checkpoint | "         \
    "audit pubkey | audit reindex"
#define MAX_EXPORT (1u << 30) /* 1 GiB: verify reads the whole file */

static int
fail(const char *what, const struct rc_info *ri, enum rc rc)
{
    fprintf(stderr, "authctl audit: %s: %s%s%s (%s)\n", what, ri && ri->field ? ri->field : "",
            ri && ri->field ? ": " : "", ri && ri->msg ? ri->msg : "", rc_name(rc));
    return rc == RC_UNAVAILABLE ? 3 : 2;
}

/* The whole of path in *out (malloc'ed, NUL-terminated). */
static int
slurp(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "re");
    size_t cap = 65536, n = 0, r;
    char *b = malloc(cap + 1);

    if (!f || !b) {
        if (f)
            fclose(f);
        free(b);
        fprintf(stderr, "authctl audit: cannot read %s\n", path);
        return 2;
    }
    while ((r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = cap < max ? realloc(b, cap * 2 + 1) : NULL;
            if (!nb) {
                fclose(f);
                free(b);
                fprintf(stderr, "authctl audit: %s is too large\n", path);
                return 2;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

/* The public key set to verify with: --key FILE (a JWK or a JWKS), else the configured
 * audit key. */
static int
load_pub(struct authctl *ctl, const char *key_path, struct jose_keyset **ks, struct audit **au)
{
    struct rc_info ri = {0};
    char *text = NULL;
    size_t len = 0;
    enum rc rc;
    int ex;

    if (!key_path) {
        const struct config *c = ctl->config(ctl);
        if (!c)
            return 2;
        if ((rc = compose_audit_open(c, false, au, &ri)) != RC_OK)
            return fail("audit key", &ri, rc);
        *ks = jose_keyset_retain((struct jose_keyset *)audit_keyset(*au));
        return 0;
    }
    if ((ex = slurp(key_path, 1u << 20, &text, &len)) != 0)
        return ex;
    if (strstr(text, "\"keys\""))
        rc = jose_keyset_parse_jwks(span_of(text, len), ks, &ri);
    else if ((rc = jose_keyset_new(ks)) == RC_OK
             && (rc = jose_keyset_add_jwk(*ks, span_of(text, len), 0, &ri)) == RC_OK)
        rc = jose_keyset_seal(*ks);
    free(text);
    return rc == RC_OK ? 0 : fail("key", &ri, rc);
}

static int
cmd_verify(struct authctl *ctl, const char *file, const char *key_path)
{
    struct jose_keyset *ks = NULL;
    struct audit *au = NULL;
    struct auditlog_report rep;
    char *text = NULL;
    size_t len = 0;
    int ex;
    enum rc rc;

    if ((ex = load_pub(ctl, key_path, &ks, &au)) != 0
        || (ex = slurp(file, MAX_EXPORT, &text, &len)) != 0) {
        jose_keyset_release(ks);
        audit_free(au);
        return ex;
    }
    rc = auditlog_verify(span_of(text, len), ks, &rep);
    if (rc == RC_OK) {
        printf("ok: %" PRIu64 " records, %" PRIu64 " checkpoints, signed up to record %" PRIu64,
               rep.records, rep.checkpoints, rep.signed_upto);
        if (rep.unsigned_tail)
            printf(" (%" PRIu64 " records after the last checkpoint are not signed yet)",
                   rep.unsigned_tail);
        printf("\n");
    } else if (rc == RC_DENIED) {
        printf("BROKEN at record %" PRIu64 " (line %" PRIu64 "): %s\n", rep.bad_seq, rep.bad_line,
               rep.why);
    } else {
        fprintf(stderr, "authctl audit: verify: %s\n", rc_name(rc));
    }
    free(text);
    jose_keyset_release(ks);
    audit_free(au);
    return rc == RC_OK ? 0 : rc == RC_DENIED ? 1 : 2;
}

/* Opens what export and checkpoint need: the store, and for checkpoint the audit key. */
static int
open_app(struct authctl *ctl, struct app *app, bool key)
{
    const struct config *c = ctl->config(ctl);
    struct store_opts so;
    struct rc_info ri = {0};
    enum rc rc;

    if (!c)
        return 2;
    *app = (struct app){.cfg = c, .clock = &clock_system, .rng = &rng_system};
    log_setup(LOG_WARN, 2);
    compose_store_opts(c, &so);
    if ((rc = compose_store_open(c->store, &so, &app->store, &ri)) != RC_OK)
        return fail("store", &ri, RC_UNAVAILABLE);
    if (key && (rc = compose_audit_open(c, false, &app->audit, &ri)) != RC_OK)
        return fail("audit key", &ri, rc);
    return 0;
}

static int
cmd_audit(struct authctl *ctl, int argc, char **argv)
{
    struct app app = {0};
    struct rc_info ri = {0};
    enum rc rc;
    int ex = 0;

    if (argc == 3 && strcmp(argv[1], "export") == 0) {
        FILE *out;
        uint64_t n = 0;
        if ((ex = open_app(ctl, &app, false)) == 0) {
            if (!(out = strcmp(argv[2], "-") == 0 ? stdout : fopen(argv[2], "we"))) {
                fprintf(stderr, "authctl audit: cannot write %s\n", argv[2]);
                ex = 2;
            } else {
                rc = audit_export(app.store, out, &n, &ri);
                if ((out != stdout && fclose(out) != 0) || (out == stdout && fflush(out) != 0))
                    rc = rc == RC_OK ? RC_INTERNAL : rc;
                if (rc == RC_OK)
                    fprintf(stderr, "authctl audit: %" PRIu64 " records written\n", n);
                ex = rc == RC_OK ? 0 : fail("export", &ri, rc);
            }
        }
    } else if ((argc == 3 || (argc == 5 && strcmp(argv[3], "--key") == 0))
               && strcmp(argv[1], "verify") == 0) {
        return cmd_verify(ctl, argv[2], argc == 5 ? argv[4] : NULL);
    } else if (argc == 2 && strcmp(argv[1], "checkpoint") == 0) {
        if ((ex = open_app(ctl, &app, true)) == 0 && (rc = audit_checkpoint(&app)) != RC_OK)
            ex = fail("checkpoint", NULL, rc);
    } else if (argc == 2 && strcmp(argv[1], "reindex") == 0) {
        uint64_t n = 0;
        if ((ex = open_app(ctl, &app, false)) == 0) {
            rc = audit_reindex(app.store, &n, &ri);
            if (rc == RC_OK)
                fprintf(stderr, "authctl audit: reindexed (%" PRIu64 " records read)\n", n);
            ex = rc == RC_OK ? 0 : fail("reindex", &ri, rc);
        }
    } else if (argc == 2 && strcmp(argv[1], "pubkey") == 0) {
        const struct config *c = ctl->config(ctl);
        struct audit *au = NULL;
        if (!c)
            return 2;
        if ((rc = compose_audit_open(c, false, &au, &ri)) != RC_OK)
            return fail("audit key", &ri, rc);
        struct span j = jose_keyset_jwks(audit_keyset(au));
        fwrite(j.p, 1, j.len, stdout);
        fputc('\n', stdout);
        audit_free(au);
        return 0;
    } else {
        fprintf(stderr, "usage: authctl %s\n", USAGE);
        return 2;
    }
    audit_free(app.audit);
    store_free(app.store);
    return ex;
}

AUTHCTL_COMMAND(audit, USAGE, cmd_audit)
