/* `authctl popbase lookup`: asks the population base, through the port, exactly as authd
 * would: the file index (--index/--key, or the config's popbase = file:), or the HTTP
 * service (--url with --tls-*, or the config's popbase = https:// with all its popbase_*
 * settings and the config's store as the answer cache). With --stdin it answers one
 * query per input line, in one process, so that the breaker and the cache carry over
 * between queries (the integration tests drive it this way):
 *
 *     NUMBER NAME   -> {"answer":"match","birth_date":"1990-03-07","sex":"M",
 *                       "region":"110105","us":812}
 *     ping          -> {"ping":"ok","us":640}
 *     stats         -> {"requests":3,"retries":1,...}   (HTTP backend only)
 *
 * Output never holds the name; the number is only echoed back by the caller's input. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapt/popbase_file.h"
#include "adapt/popbase_http.h"
#include "authctl/authctl.h"
#include "authctl/popbase_cmd.h"
#include "compose/compose.h"
#include "conf/config.h"
#include "port/store.h"

#define LINE_MAX_BYTES 1024

struct lookup_args {
    const char *index, *key, *url, *tls_cert, *tls_key, *tls_ca;
    const char *pos[2];
    int npos;
    bool stdin_mode;
};

static const char usage_text[] =
    "usage: authctl popbase lookup --index POP.idx --key FILE NUMBER NAME\n"
    "       authctl popbase lookup --url https://HOST:PORT --tls-cert C --tls-key K "
    "--tls-ca CA NUMBER NAME\n"
    "       authctl -c CONFIG popbase lookup [--url ...] (NUMBER NAME | --stdin)\n";

static int
parse_args(int argc, char **argv, struct lookup_args *a)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {
        {"--index", offsetof(struct lookup_args, index)},
        {"--key", offsetof(struct lookup_args, key)},
        {"--url", offsetof(struct lookup_args, url)},
        {"--tls-cert", offsetof(struct lookup_args, tls_cert)},
        {"--tls-key", offsetof(struct lookup_args, tls_key)},
        {"--tls-ca", offsetof(struct lookup_args, tls_ca)},
    };

    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        if (strcmp(argv[i], "--stdin") == 0) {
            a->stdin_mode = true;
            continue;
        }
        while (k < sizeof(opts) / sizeof(opts[0]) && strcmp(argv[i], opts[k].name) != 0)
            k++;
        if (k < sizeof(opts) / sizeof(opts[0]) && i + 1 < argc)
            *(const char **)((char *)a + opts[k].off) = argv[++i];
        else if (argv[i][0] != '-' && a->npos < 2)
            a->pos[a->npos++] = argv[i];
        else
            return -1;
    }
    return (a->npos == 2) != a->stdin_mode ? 0 : -1;
}

/* The popbase_* settings of the config (if any), overridden by the command line. */
static void
http_opts(const struct config *c, const struct lookup_args *a, struct popbase_opts *o)
{
    memset(o, 0, sizeof(*o));
    if (c)
        compose_popbase_opts(c, NULL, o);
    if (a->tls_cert)
        o->tls_cert = a->tls_cert;
    if (a->tls_key)
        o->tls_key = a->tls_key;
    if (a->tls_ca)
        o->tls_ca = a->tls_ca;
}

/* Opens what the arguments and the config name; *st gets the cache store, if any.
 * 0, or the exit code after printing why. */
static int
open_backend(struct authctl *ctl, const struct lookup_args *a, struct popbase **pb,
             struct store **st)
{
    const struct config *c = ctl->config_path ? ctl->config(ctl) : NULL;
    const char *spec = a->url;
    struct store_opts so;
    struct popbase_opts o;
    struct rc_info ri = {0};
    char buf[4096];

    if (ctl->config_path && !c)
        return 2;
    if (!spec && a->index)
        spec = snprintf(buf, sizeof(buf), "file:%s", a->index) < (int)sizeof(buf) ? buf : NULL;
    if (!spec && c)
        spec = c->popbase;
    if (!spec) {
        fputs(usage_text, stderr);
        return 2;
    }
    http_opts(c, a, &o);
    if (a->key)
        o.name_key_path = a->key;
    if (c && strncmp(spec, "https://", 8) == 0) {
        compose_store_opts(c, &so);
        if (compose_store_open(c->store, &so, st, &ri) != RC_OK) {
            fprintf(stderr, "authctl popbase lookup: store: %s\n", ri.msg ? ri.msg : "cannot open");
            return 1;
        }
        o.cache = *st;
    }
    if (compose_popbase_open(spec, &o, pb, &ri) != RC_OK) {
        fprintf(stderr, "authctl popbase lookup: %s: %s\n", ri.field ? ri.field : "popbase",
                ri.msg ? ri.msg : "cannot open");
        return 1;
    }
    return 0;
}

static int64_t
now_us(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* One query; prints its JSON line. Returns the exit code of a one-shot lookup. */
static int
query(struct popbase *pb, const char *number, size_t nlen, const char *name, size_t namelen)
{
    struct pop_attrs at = {0};
    enum pop_answer ans = POP_UNAVAILABLE;
    int64_t t0 = now_us();
    enum rc rc = popbase_verify(pb, span_of(number, nlen), span_of(name, namelen), &ans, &at);
    long long us = (long long)(now_us() - t0);

    if (rc == RC_MALFORMED)
        printf("{\"error\":\"not a valid ID number\",\"us\":%lld}\n", us);
    else if ((ans == POP_MATCH || ans == POP_MISMATCH) && at.birth_ymd)
        printf("{\"answer\":\"%s\",\"birth_date\":\"%04u-%02u-%02u\",\"sex\":\"%c\","
               "\"region\":\"%06u\",\"us\":%lld}\n",
               pop_answer_name(ans), (unsigned)at.birth_ymd / 10000,
               (unsigned)at.birth_ymd / 100 % 100, (unsigned)at.birth_ymd % 100, at.sex,
               (unsigned)at.region, us);
    else
        printf("{\"answer\":\"%s\",\"us\":%lld}\n", pop_answer_name(ans), us);
    fflush(stdout);
    return rc == RC_MALFORMED ? 2 : ans == POP_MATCH ? 0 : rc == RC_OK ? 1 : 2;
}

static void
print_stats(struct popbase *pb)
{
    struct popbase_http_stats s;

    if (popbase_http_stats(pb, &s) != RC_OK) {
        printf("{\"error\":\"not an HTTP population base\"}\n");
    } else {
        printf("{\"requests\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"failures\":%" PRIu64
               ",\"fast_fails\":%" PRIu64 ",\"breaker_opens\":%" PRIu64
               ",\"breaker_open\":%d,\"cache_hits\":%" PRIu64 ",\"cache_misses\":%" PRIu64 "}\n",
               s.requests, s.retries, s.failures, s.fast_fails, s.breaker_opens, s.breaker_open,
               s.cache_hits, s.cache_misses);
    }
    fflush(stdout);
}

/* --stdin: one query per line until end of input. */
static int
serve_lines(struct popbase *pb)
{
    char line[LINE_MAX_BYTES];

    while (fgets(line, sizeof(line), stdin)) {
        size_t n = strcspn(line, "\r\n"), sp;
        int64_t t0;
        line[n] = 0;
        if (strcmp(line, "ping") == 0) {
            t0 = now_us();
            enum rc rc = popbase_ping(pb);
            printf("{\"ping\":\"%s\",\"us\":%lld}\n", rc == RC_OK ? "ok" : "unavailable",
                   (long long)(now_us() - t0));
            fflush(stdout);
        } else if (strcmp(line, "stats") == 0) {
            print_stats(pb);
        } else if ((sp = strcspn(line, " ")) < n) {
            (void)query(pb, line, sp, line + sp + 1, n - sp - 1);
        } else {
            printf("{\"error\":\"expected NUMBER NAME, ping or stats\"}\n");
            fflush(stdout);
        }
    }
    return 0;
}

int
popbase_lookup(struct authctl *ctl, int argc, char **argv)
{
    struct lookup_args a;
    struct popbase *pb = NULL;
    struct store *st = NULL;
    int e;

    if (parse_args(argc, argv, &a) != 0) {
        fputs(usage_text, stderr);
        return 2;
    }
    if ((e = open_backend(ctl, &a, &pb, &st)) != 0)
        return e;
    if (a.stdin_mode)
        e = serve_lines(pb);
    else
        e = query(pb, a.pos[0], strlen(a.pos[0]), a.pos[1], strlen(a.pos[1]));
    popbase_free(pb);
    store_free(st);
    return e;
}
