/* authctl popbase gen|compile|lookup|check|bench|serve: make a synthetic population,
 * compile a population CSV into the file backend's index, and query it. Messages never
 * hold a name or a full ID number from the data, only line numbers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapt/popbase_file.h"
#include "authctl/authctl.h"
#include "authctl/popbase_cmd.h"
#include "conf/config.h"
#include "core/popgen.h"
#include "util/num.h"

#define CHINA_UTC_OFFSET (8 * 3600)
#define MAX_GEN_COUNT    100000000ull
#define MAX_REPORTS      100
#define MAX_POSITIONAL   4

struct args {
    const char *count, *seed, *province, *out, *key, *index, *n;
    int skip_bad;
    const char *pos[MAX_POSITIONAL];
    int npos;
};

/* Parses argv[1..] (argv[0] is the verb); 0 or -1 after printing why. */
static int
parse_args(int argc, char **argv, struct args *a)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {
        {"--count", offsetof(struct args, count)},
        {"--seed", offsetof(struct args, seed)},
        {"--province", offsetof(struct args, province)},
        {"--out", offsetof(struct args, out)},
        {"--key", offsetof(struct args, key)},
        {"--index", offsetof(struct args, index)},
        {"--n", offsetof(struct args, n)},
    };

    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        if (strcmp(argv[i], "--skip-bad") == 0) {
            a->skip_bad = 1;
            continue;
        }
        for (; k < sizeof(opts) / sizeof(opts[0]); k++) {
            if (strcmp(argv[i], opts[k].name) == 0)
                break;
        }
        if (k < sizeof(opts) / sizeof(opts[0]) && i + 1 < argc) {
            *(const char **)((char *)a + opts[k].off) = argv[++i];
        } else if (argv[i][0] != '-' && a->npos < MAX_POSITIONAL) {
            a->pos[a->npos++] = argv[i];
        } else {
            fprintf(stderr, "authctl popbase: bad argument '%s'\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static int
parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (num_parse_u64(span_str(s), min, max, out) != RC_OK) {
        fprintf(stderr, "authctl popbase: %s must be a number in [%" PRIu64 ", %" PRIu64 "]\n",
                what, min, max);
        return -1;
    }
    return 0;
}

static double
now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A progress bar on stderr, only when stderr is a terminal. */
struct progress {
    int tty, last;
    const char *what;
};

static void
progress_init(struct progress *p, const char *what)
{
    p->tty = isatty(STDERR_FILENO);
    p->last = -1;
    p->what = what;
}

static void
progress_show(void *arg, uint64_t done, uint64_t total)
{
    struct progress *p = arg;
    int pct = total ? (int)(done * 100 / total) : 100, bar = pct * 40 / 100;

    if (!p->tty || pct == p->last)
        return;
    p->last = pct;
    fprintf(stderr, "\r%s [%.*s%*s] %3d%%", p->what, bar,
            "########################################", 40 - bar, "", pct);
    if (pct == 100)
        fputc('\n', stderr);
}

/* A set of 64-bit numbers (open addressing), so gen never repeats a number. */
struct numset {
    uint64_t *slot; /* number + 1; 0 is empty */
    uint64_t mask;
};

static int
numset_init(struct numset *s, uint64_t count)
{
    uint64_t cap = 1024;

    while (cap < count * 2)
        cap *= 2;
    s->slot = calloc(cap, sizeof(uint64_t));
    s->mask = cap - 1;
    return s->slot ? 0 : -1;
}

/* 1 if added, 0 if already there. */
static int
numset_add(struct numset *s, uint64_t v)
{
    uint64_t i = (v * 0x9e3779b97f4a7c15ull) >> 20 & s->mask;

    for (;; i = (i + 1) & s->mask) {
        if (s->slot[i] == v + 1)
            return 0;
        if (s->slot[i] == 0) {
            s->slot[i] = v + 1;
            return 1;
        }
    }
}

/* Writes count distinct people to f; 0, or -1 after printing why. */
static int
gen_write(FILE *f, uint64_t count, uint64_t seed, uint32_t province)
{
    struct popgen g;
    struct popgen_person p;
    struct numset set;
    struct progress pr;
    uint64_t made = 0, tries = 0;

    if (popgen_init(&g, seed, province) != RC_OK) {
        fprintf(stderr, "authctl popbase gen: no county of province %u in the table\n",
                (unsigned)province);
        return -1;
    }
    if (numset_init(&set, count) != 0) {
        fprintf(stderr, "authctl popbase gen: out of memory\n");
        return -1;
    }
    progress_init(&pr, "gen");
    fprintf(f, "%s\n", POPCSV_HEADER);
    while (made < count) {
        if (++tries > count * 4 + 10000) {
            fprintf(stderr, "authctl popbase gen: too few distinct numbers for --count\n");
            free(set.slot);
            return -1;
        }
        popgen_person(&g, &p);
        if (!numset_add(&set, strtoull(p.id, NULL, 10) / 10)) /* the first 17 digits */
            continue;
        fprintf(f, "%s,%s,%c,%.4s-%.2s-%.2s,%.6s,%s\n", p.id, p.name, p.sex, p.id + 6, p.id + 10,
                p.id + 12, p.id, pop_status_name(p.status));
        if (++made % 65536 == 0)
            progress_show(&pr, made, count);
    }
    progress_show(&pr, count, count);
    free(set.slot);
    return 0;
}

static int
cmd_gen(struct args *a)
{
    uint64_t count, seed, province = 0;
    char tmp[4096];
    FILE *f;
    int bad;
    double t0 = now_s();

    if (!a->count || !a->seed || !a->out || a->npos) {
        fprintf(stderr, "usage: authctl popbase gen --count N --seed S [--province NN] "
                        "--out FILE.csv\n");
        return 2;
    }
    if (parse_u64("--count", a->count, 1, MAX_GEN_COUNT, &count)
        || parse_u64("--seed", a->seed, 0, UINT64_MAX, &seed)
        || (a->province && parse_u64("--province", a->province, 11, 99, &province)))
        return 2;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", a->out) >= sizeof(tmp)
        || !(f = fopen(tmp, "w"))) {
        fprintf(stderr, "authctl popbase gen: cannot create %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    bad = gen_write(f, count, seed, (uint32_t)province) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, a->out) != 0) {
        fprintf(stderr, "authctl popbase gen: cannot write %s\n", a->out);
        unlink(tmp);
        return 1;
    }
    fprintf(stderr, "gen: %" PRIu64 " people in %.1f s -> %s\n", count, now_s() - t0, a->out);
    return 0;
}

/* The name key: --key, else the config's popbase_name_key (with -c). */
static const char *
key_path(struct authctl *ctl, const struct args *a)
{
    const struct config *c;

    if (a->key)
        return a->key;
    if (ctl->config_path && (c = ctl->config(ctl)) && c->popbase_name_key)
        return c->popbase_name_key;
    fprintf(stderr, "authctl popbase: give --key FILE (or -c CONFIG with popbase_name_key)\n");
    return NULL;
}

/* The index: --index, else the config's popbase = file:PATH (with -c). */
static const char *
index_path(struct authctl *ctl, const struct args *a)
{
    const struct config *c;

    if (a->index)
        return a->index;
    if (ctl->config_path && (c = ctl->config(ctl)) && c->popbase
        && strncmp(c->popbase, "file:", 5) == 0)
        return c->popbase + 5;
    fprintf(stderr, "authctl popbase: give --index FILE (or -c CONFIG with popbase = file:)\n");
    return NULL;
}

/* What compile's callbacks get: the progress bar and the problem reporter. */
struct compile_ui {
    struct progress pr;
    const char *csv;
    uint64_t n; /* problems reported */
};

static void
compile_progress(void *arg, uint64_t done, uint64_t total)
{
    progress_show(&((struct compile_ui *)arg)->pr, done, total);
}

static void
report_line(void *arg, uint64_t line, uint64_t first, const char *field, const char *msg)
{
    struct compile_ui *r = arg;

    if (++r->n > MAX_REPORTS) {
        if (r->n == MAX_REPORTS + 1)
            fprintf(stderr, "%s: more problems not shown\n", r->csv);
        return;
    }
    if (first)
        fprintf(stderr, "%s:%" PRIu64 ": %s: %s (first on line %" PRIu64 ")\n", r->csv, line,
                field ? field : "line", msg ? msg : "bad", first);
    else
        fprintf(stderr, "%s:%" PRIu64 ": %s: %s\n", r->csv, line, field ? field : "line",
                msg ? msg : "bad");
}

static int
cmd_compile(struct authctl *ctl, struct args *a)
{
    struct popbase_compile_stats st;
    struct compile_ui ui = {.n = 0};
    struct popbase_compile_opts o = {0};
    struct rc_info ri = {0};
    struct stat sb;
    const char *key;
    double t0 = now_s();
    enum rc rc;

    if (a->npos != 2) {
        fprintf(stderr, "usage: authctl popbase compile POP.csv POP.idx [--key FILE] "
                        "[--skip-bad]\n");
        return 2;
    }
    if (!(key = key_path(ctl, a)))
        return 2;
    rc = popbase_file_key_create(key, &ri);
    if (rc == RC_OK)
        fprintf(stderr, "compile: created a new name key %s (mode 0600)\n", key);
    else if (rc != RC_CONFLICT) {
        fprintf(stderr, "authctl popbase compile: %s: %s\n", key, ri.msg);
        return 1;
    }
    ui.csv = a->pos[0];
    progress_init(&ui.pr, "compile");
    o.skip_bad = a->skip_bad;
    o.today_ymd = idnum_ymd_from_unix((int64_t)time(NULL), CHINA_UTC_OFFSET);
    o.progress = compile_progress;
    o.report = report_line;
    o.arg = &ui;
    rc = popbase_file_compile(a->pos[0], a->pos[1], key, &o, &st, &ri);
    if (rc != RC_OK) {
        fprintf(stderr,
                "authctl popbase compile: %s: %s (%" PRIu64 " bad lines, %" PRIu64 " duplicates)\n",
                ri.field ? ri.field : "", ri.msg ? ri.msg : rc_name(rc), st.bad, st.duplicates);
        return 1;
    }
    if (stat(a->pos[1], &sb) != 0)
        sb.st_size = 0;
    fprintf(stderr,
            "compile: %" PRIu64 " records (%" PRIu64 " bad lines and %" PRIu64
            " duplicates skipped) in %.1f s -> %s, %lld bytes, %.2f bytes/record\n",
            st.records, st.bad, st.duplicates, now_s() - t0, a->pos[1], (long long)sb.st_size,
            st.records ? (double)sb.st_size / (double)st.records : 0.0);
    return 0;
}

static int
open_index(struct authctl *ctl, const struct args *a, struct popbase **pb)
{
    const char *idx = index_path(ctl, a), *key = idx ? key_path(ctl, a) : NULL;
    struct rc_info ri = {0};

    if (!idx || !key)
        return 2;
    if (popbase_file_open(idx, key, pb, &ri) != RC_OK) {
        fprintf(stderr, "authctl popbase: %s: %s\n", idx, ri.msg ? ri.msg : "cannot open");
        return 1;
    }
    return 0;
}

static int
cmd_check(struct authctl *ctl, struct args *a)
{
    struct popbase *pb = NULL;
    struct rc_info ri = {0};
    double t0 = now_s();
    enum rc rc;
    int e;

    if ((e = open_index(ctl, a, &pb)) != 0)
        return e;
    rc = popbase_file_check(pb, &ri);
    if (rc == RC_OK)
        printf("ok: %" PRIu64 " records, checksum and order verified in %.1f s\n",
               popbase_file_count(pb), now_s() - t0);
    else
        fprintf(stderr, "authctl popbase check: %s\n", ri.msg);
    popbase_free(pb);
    return rc == RC_OK ? 0 : 1;
}

static int
by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Times n verify calls over ids (18 bytes each); prints median and p99. */
static int
bench_pass(struct popbase *pb, const char *ids, uint64_t n, const char *label)
{
    uint64_t *ns = malloc(n * sizeof(uint64_t));
    enum pop_answer ans;

    if (!ns)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        (void)popbase_verify(pb, span_of(ids + i * 18, 18), SPAN("王伟"), &ans, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ns[i] = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    }
    qsort(ns, n, sizeof(uint64_t), by_u64);
    printf("lookup %-12s %" PRIu64 " calls: median %" PRIu64 " ns, p99 %" PRIu64 " ns\n", label, n,
           ns[n / 2], ns[n * 99 / 100]);
    free(ns);
    return 0;
}

/* Random numbers of the index as 18-character IDs (check char recomputed). */
static char *
bench_ids(struct popbase *pb, uint64_t n)
{
    char *ids = malloc(n * 18);
    uint64_t count = popbase_file_count(pb);
    struct popgen g;

    if (!ids || popgen_init(&g, 1, 0) != RC_OK) {
        free(ids);
        return NULL;
    }
    for (uint64_t i = 0; i < n; i++) {
        char *d = ids + i * 18, buf[20];
        snprintf(buf, sizeof(buf), "%017" PRIu64,
                 popbase_file_number_at(pb, popgen_next(&g) % count));
        memcpy(d, buf, 17);
        d[17] = idnum_check_char(d);
    }
    return ids;
}

static int
cmd_bench(struct authctl *ctl, struct args *a)
{
    struct popbase *pb = NULL;
    uint64_t n = 200000;
    struct stat sb;
    char *ids;
    double t0;
    int e;

    if (a->n && parse_u64("--n", a->n, 1, 100000000, &n))
        return 2;
    if (!a->index && !ctl->config_path) {
        fprintf(stderr, "usage: authctl popbase bench --index POP.idx --key FILE [--n N]\n");
        return 2;
    }
    t0 = now_s();
    if ((e = open_index(ctl, a, &pb)) != 0)
        return e;
    printf("open %.3f ms\n", (now_s() - t0) * 1e3);
    if (stat(index_path(ctl, a), &sb) == 0 && popbase_file_count(pb))
        printf("index %" PRIu64 " records, %lld bytes, %.2f bytes/record\n", popbase_file_count(pb),
               (long long)sb.st_size, (double)sb.st_size / (double)popbase_file_count(pb));
    if (popbase_file_count(pb) == 0 || !(ids = bench_ids(pb, n))) {
        popbase_free(pb);
        fprintf(stderr, "authctl popbase bench: empty index or out of memory\n");
        return 1;
    }
    e = bench_pass(pb, ids, n, "pass 1") || bench_pass(pb, ids, n, "pass 2");
    free(ids);
    popbase_free(pb);
    return e ? 1 : 0;
}

static int
cmd_popbase(struct authctl *ctl, int argc, char **argv)
{
    struct args a;
    const char *verb = argc > 1 ? argv[1] : "";

    if (strcmp(verb, "serve") == 0)
        return popbase_serve(ctl, argc - 1, argv + 1);
    if (strcmp(verb, "lookup") == 0)
        return popbase_lookup(ctl, argc - 1, argv + 1);
    if (argc < 2 || parse_args(argc - 1, argv + 1, &a) != 0) {
        fprintf(stderr, "usage: authctl popbase gen|compile|lookup|check|bench|serve ...\n");
        return 2;
    }
    if (strcmp(verb, "gen") == 0)
        return cmd_gen(&a);
    if (strcmp(verb, "compile") == 0)
        return cmd_compile(ctl, &a);
    if (strcmp(verb, "check") == 0)
        return cmd_check(ctl, &a);
    if (strcmp(verb, "bench") == 0)
        return cmd_bench(ctl, &a);
    fprintf(stderr, "authctl popbase: unknown verb '%s'\n", verb);
    return 2;
}

AUTHCTL_COMMAND(popbase,
                "popbase gen --count N --seed S [--province NN] --out POP.csv | "
                "popbase compile POP.csv POP.idx [--key FILE] [--skip-bad] | "
                "popbase lookup (--index POP.idx --key FILE | --url https://... --tls-cert C "
                "--tls-key K --tls-ca CA) (NUMBER NAME | --stdin) | "
                "popbase check|bench --index POP.idx --key FILE [--n N] | popbase serve ...",
                cmd_popbase)
