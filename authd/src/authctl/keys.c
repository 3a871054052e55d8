/* authctl keys: create, rotate and list the token-signing keys in keys_dir (docs/keys.md).
 * A running authd notices a change of keyset.json within a few seconds
 * (keys_maybe_reload) and swaps the new set in without a restart.
 *
 * Hidden helpers for tests and measurements (not in the usage line): `keys jwks` prints the
 * published JWKS, `keys sign-test [--alg A] [--typ T]` signs the JSON on stdin,
 * `keys verify-test JWKS_FILE [--alg A] [--typ T]` verifies the token on stdin, and
 * `keys bench [--seconds N]` measures ES256 signs/s and verifies/s through core/jose. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapt/keys_file.h"
#include "authctl/authctl.h"
#include "conf/config.h"
#include "core/jose.h"
#include "port/clock.h"
#include "util/num.h"

#define DEFAULT_MAX_TOKEN_LIFETIME 86400

/* "--" and s in lower case, into name (n bytes). */
static void
lower_flag(const char *s, char *name, size_t n)
{
    size_t j = 0;

    name[0] = name[1] = '-';
    for (; s[j] && j + 3 < n; j++)
        name[2 + j] = (char)tolower((unsigned char)s[j]);
    name[2 + j] = 0;
}

/* The algorithms named by --rs256, --ps256 ... (each algorithm authd signs with, lower case),
 * or by the curve of an algorithm that is the only one of its curve: --sm2 for SM2SM3. */
static unsigned
alg_flags(int argc, char **argv)
{
    unsigned algs = 0;

    for (size_t i = 0; jose_alg_info_at(i); i++) {
        const struct jose_alg_info *ai = jose_alg_info_at(i);
        char name[32], curve[32];
        lower_flag(ai->name, name, sizeof(name));
        lower_flag(ai->crv && strncmp(ai->crv, "P-", 2) != 0 ? ai->crv : "", curve, sizeof(curve));
        if (ai->signs && (authctl_flag(argc, argv, name) || (curve[2] && authctl_flag(argc, argv, curve))))
            algs |= ai->alg;
    }
    return algs;
}

/* Parses option name as seconds (default def); false after printing an error. */
static bool
opt_seconds(int argc, char **argv, const char *name, int64_t def, int64_t *out)
{
    const char *v = authctl_opt(argc, argv, name);
    uint64_t n;

    *out = def;
    if (!v)
        return true;
    if (num_parse_u64(span_str(v), 0, 10ull * 365 * 86400, &n) != RC_OK) {
        fprintf(stderr, "authctl keys: %s: not a number of seconds\n", name);
        return false;
    }
    *out = (int64_t)n;
    return true;
}

static const char *
keys_dir(struct authctl *ctl)
{
    const struct config *c = ctl->config(ctl);

    return c ? c->keys_dir : NULL;
}

static int
cmd_init(struct authctl *ctl, int argc, char **argv)
{
    const char *dir = keys_dir(ctl);
    struct keys_error err = {{0}};
    bool changed = false;

    if (!dir)
        return 1;
    if (keys_file_init(dir, clock_now(&clock_system), alg_flags(argc, argv), &changed, &err)
        != RC_OK) {
        fprintf(stderr, "authctl: %s\n", err.text);
        return 1;
    }
    fprintf(stderr, "authctl keys init: %s\n",
            changed ? "created the missing current keys" : "keys already present; nothing done");
    return 0;
}

static int
cmd_rotate(struct authctl *ctl, int argc, char **argv)
{
    const char *dir = keys_dir(ctl);
    struct keys_rotate_opts o = {clock_now(&clock_system), 0, 0};
    struct keys_error err = {{0}};
    struct keys_state st;

    if (!dir || !opt_seconds(argc, argv, "--min-publish", 0, &o.min_publish)
        || !opt_seconds(argc, argv, "--max-token-lifetime", DEFAULT_MAX_TOKEN_LIFETIME,
                        &o.max_token_lifetime))
        return dir ? 2 : 1;
    if (keys_file_rotate(dir, &o, &st, &err) != RC_OK) {
        fprintf(stderr, "authctl: %s\n", err.text);
        return 1;
    }
    for (size_t i = 0; i < st.n; i++)
        if (st.e[i].status != KEYS_PREVIOUS)
            fprintf(stderr, "authctl keys rotate: %s %s %s\n", jose_alg_name(st.e[i].alg),
                    st.e[i].kid, keys_status_name(st.e[i].status));
    return 0;
}

static void
iso8601(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}

static int
cmd_list(struct authctl *ctl)
{
    const char *dir = keys_dir(ctl);
    struct keys_error err = {{0}};
    struct keys_state st;
    char created[32], retire[32];

    if (!dir)
        return 1;
    if (keys_file_state_read(dir, &st, &err) != RC_OK) {
        fprintf(stderr, "authctl: %s\n", err.text);
        return 1;
    }
    printf("[");
    for (size_t i = 0; i < st.n; i++) {
        const struct keys_entry *e = &st.e[i];
        iso8601(e->created, created);
        iso8601(e->retire_after, retire);
        printf("%s\n  {\"kid\": \"%s\", \"alg\": \"%s\", \"status\": \"%s\", \"created\": %lld, "
               "\"created_at\": \"%s\", \"retire_after\": %lld%s%s%s}",
               i ? "," : "", e->kid, jose_alg_name(e->alg), keys_status_name(e->status),
               (long long)e->created, created, (long long)e->retire_after,
               e->retire_after ? ", \"retire_after_at\": \"" : "", e->retire_after ? retire : "",
               e->retire_after ? "\"" : "");
    }
    printf("\n]\n");
    return 0;
}

/* Loads the key set of keys_dir the way the daemon does. */
static struct jose_keyset *
load(struct authctl *ctl)
{
    const char *dir = keys_dir(ctl);
    struct keys_error err = {{0}};
    struct keys *k = NULL;
    struct jose_keyset *ks = NULL;

    if (!dir)
        return NULL;
    if (keys_open(dir, &k, &err) != RC_OK) {
        fprintf(stderr, "authctl: %s\n", err.text);
        return NULL;
    }
    keys_current(k, &ks);
    keys_free(k);
    return ks;
}

static bool
read_stdin(struct buf *b)
{
    char chunk[4096];
    size_t n;

    buf_init(b, JOSE_MAX_COMPACT * 4);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if (buf_append(b, chunk, n) != RC_OK)
            return false;
    while (b->len && (b->p[b->len - 1] == '\n' || b->p[b->len - 1] == '\r'))
        b->p[--b->len] = 0;
    return true;
}

static enum jose_alg
alg_opt(int argc, char **argv)
{
    const char *a = authctl_opt(argc, argv, "--alg");

    return a ? jose_alg_parse(span_str(a)) : JOSE_ES256;
}

static int
cmd_sign_test(struct authctl *ctl, int argc, char **argv)
{
    struct jose_keyset *ks = load(ctl);
    struct rc_info ri = {0};
    struct arena a;
    struct buf in;
    struct span t;
    enum rc rc = RC_MALFORMED;

    if (!ks)
        return 1;
    arena_init(&a, 0);
    if (read_stdin(&in))
        rc = jose_sign(ks, alg_opt(argc, argv), authctl_opt(argc, argv, "--typ"), buf_span(&in), &a,
                       &t, &ri);
    if (rc == RC_OK)
        printf("%s\n", (const char *)t.p);
    else
        fprintf(stderr, "authctl keys sign-test: %s %s\n", rc_name(rc), ri.msg ? ri.msg : "");
    buf_clear(&in);
    arena_clear(&a);
    jose_keyset_release(ks);
    return rc == RC_OK ? 0 : 1;
}

static int
cmd_verify_test(int argc, char **argv)
{
    struct jose_keyset *ks = NULL;
    struct jose_verify_opts o = {alg_opt(argc, argv), authctl_opt(argc, argv, "--typ")};
    struct rc_info ri = {0};
    struct arena a;
    struct buf jwks, tok;
    struct span p;
    enum rc rc = RC_MALFORMED;
    FILE *f = argc > 2 ? fopen(argv[2], "r") : NULL;
    char chunk[4096];
    size_t n;

    buf_init(&jwks, JOSE_MAX_JWKS);
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&jwks, chunk, n);
    if (f)
        fclose(f);
    arena_init(&a, 0);
    if (read_stdin(&tok) && (rc = jose_keyset_parse_jwks(buf_span(&jwks), &ks, &ri)) == RC_OK)
        rc = jose_verify(ks, &o, buf_span(&tok), &a, &p, NULL, &ri);
    if (rc == RC_OK)
        printf("%.*s\n", (int)p.len, (const char *)p.p);
    else
        printf("%s %s: %s\n", rc_name(rc), ri.field ? ri.field : "", ri.msg ? ri.msg : "");
    jose_keyset_release(ks);
    buf_clear(&jwks);
    buf_clear(&tok);
    arena_clear(&a);
    return rc == RC_OK ? 0 : 1;
}

static int
cmd_jwks(struct authctl *ctl)
{
    struct jose_keyset *ks = load(ctl);
    struct span j;

    if (!ks)
        return 1;
    j = jose_keyset_jwks(ks);
    printf("%.*s\n", (int)j.len, (const char *)j.p);
    jose_keyset_release(ks);
    return 0;
}

int keys_bench(int argc, char **argv); /* authctl/keys_bench.c */
int keys_rotate_data(struct authctl *ctl, int argc, char **argv); /* authctl/keys_data.c */

static int
cmd_keys(struct authctl *ctl, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";

    if (strcmp(sub, "init") == 0)
        return cmd_init(ctl, argc, argv);
    if (strcmp(sub, "rotate") == 0)
        return cmd_rotate(ctl, argc, argv);
    if (strcmp(sub, "rotate-data") == 0)
        return keys_rotate_data(ctl, argc, argv);
    if (strcmp(sub, "list") == 0)
        return cmd_list(ctl);
    if (strcmp(sub, "jwks") == 0)
        return cmd_jwks(ctl);
    if (strcmp(sub, "sign-test") == 0)
        return cmd_sign_test(ctl, argc, argv);
    if (strcmp(sub, "verify-test") == 0)
        return cmd_verify_test(argc, argv);
    if (strcmp(sub, "bench") == 0)
        return keys_bench(argc, argv);
    fprintf(stderr, "usage: authctl -c CONFIG keys init [--rs256] [--ps256] [--sm2]\n"
                    "       authctl -c CONFIG keys rotate [--min-publish SECONDS] "
                    "[--max-token-lifetime SECONDS]\n"
                    "       authctl -c CONFIG keys rotate-data [--no-walk] [--rate N] [--batch N]\n"
                    "       authctl -c CONFIG keys rotate-data walk|status|check\n"
                    "       authctl -c CONFIG keys list\n");
    return 2;
}

AUTHCTL_COMMAND(keys,
                "keys init [--rs256] [--ps256] [--sm2] | keys rotate [--min-publish S] "
                "[--max-token-lifetime S] "
                "| keys rotate-data [--no-walk] [--rate N] | keys rotate-data walk|status|check "
                "| keys list",
                cmd_keys)
