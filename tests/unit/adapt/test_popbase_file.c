#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/popbase_file.h"
#include "compose/compose.h"
#include "core/popgen.h"
#include "test.h"

#define NPEOPLE 2000

/* A temp dir with key, pop.csv (NPEOPLE generated people) and pop.idx. */
struct fixture {
    char dir[64], key[96], csv[96], idx[96], small[96];
    struct popgen_person people[NPEOPLE];
    size_t n;
};

static int
write_csv(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int
setup(struct fixture *fx)
{
    struct popgen g;
    FILE *f;

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/authd-popbase-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->key, sizeof(fx->key), "%s/popbase.key", fx->dir);
    snprintf(fx->csv, sizeof(fx->csv), "%s/pop.csv", fx->dir);
    snprintf(fx->idx, sizeof(fx->idx), "%s/pop.idx", fx->dir);
    snprintf(fx->small, sizeof(fx->small), "%s/small.csv", fx->dir);
    if (popbase_file_key_create(fx->key, NULL) != RC_OK || popgen_init(&g, 42, 0) != RC_OK)
        return -1;
    if (!(f = fopen(fx->csv, "w")))
        return -1;
    fprintf(f, "%s\n", POPCSV_HEADER);
    fx->n = 0;
    for (size_t i = 0; i < NPEOPLE; i++) {
        struct popgen_person *p = &fx->people[fx->n];
        popgen_person(&g, p);
        fprintf(f, "%s,%s,%c,%.4s-%.2s-%.2s,%.6s,%s\n", p->id, p->name, p->sex, p->id + 6,
                p->id + 10, p->id + 12, p->id, pop_status_name(p->status));
        fx->n++;
    }
    return fclose(f);
}

static void
teardown(struct fixture *fx)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", fx->dir);
}

static enum rc
compile_csv(struct fixture *fx, const char *csv, bool skip_bad, struct popbase_compile_stats *st)
{
    struct popbase_compile_opts o = {.skip_bad = skip_bad, .today_ymd = 20250301};
    return popbase_file_compile(csv, fx->idx, fx->key, &o, st, NULL);
}

static enum rc
compile(struct fixture *fx, bool skip_bad, struct popbase_compile_stats *st)
{
    return compile_csv(fx, fx->csv, skip_bad, st);
}

static struct fixture fx;

static void
cleanup(void)
{
    teardown(&fx);
}

/* Sets the fixture up once per process (so any test can run alone), removed at exit. */
static int
ensure(void)
{
    static int state; /* 0 not yet, 1 ready, -1 failed */
    struct popbase_compile_stats st;

    if (state == 0) {
        state = setup(&fx) == 0 && compile(&fx, true, &st) == RC_OK ? 1 : -1;
        atexit(cleanup);
    }
    return state == 1 ? 0 : -1;
}

TEST(popbase_file_answers)
{
    struct popbase_compile_stats st;
    struct popbase *pb = NULL;
    struct pop_attrs at;
    enum pop_answer a;
    struct popbase_opts o = {.name_key_path = fx.key};
    char spec[128];
    size_t matched = 0, cancelled = 0;

    REQUIRE(ensure() == 0);
    REQUIRE(compile(&fx, true, &st) == RC_OK);
    CHECK_INT(st.bad, 0);
    CHECK_INT(st.records + st.duplicates, NPEOPLE);
    snprintf(spec, sizeof(spec), "file:%s", fx.idx);
    REQUIRE(compose_popbase_open(spec, &o, &pb, NULL) == RC_OK);
    CHECK_RC(popbase_ping(pb), RC_OK);
    CHECK_RC(popbase_file_check(pb, NULL), RC_OK);
    for (size_t i = 0; i < fx.n; i++) {
        struct popgen_person *p = &fx.people[i];
        CHECK_RC(popbase_verify(pb, span_of(p->id, 18), span_of(p->name, p->name_len), &a, &at),
                 RC_OK);
        if (a == POP_MATCH) {
            matched++;
            CHECK_INT(at.birth_ymd, p->birth_ymd);
            CHECK_INT(at.sex, p->sex);
            CHECK_INT(at.region, p->region);
        }
        cancelled += a == POP_CANCELLED;
        /* a later duplicate with another name answers mismatch; every answer is definite */
        CHECK(a == POP_MATCH || a == POP_CANCELLED || a == POP_MISMATCH);
        if (p->status != POP_STATUS_NORMAL && a == POP_MATCH)
            test_fail(__FILE__, __LINE__, "deceased/cancelled person answered match");
    }
    CHECK(matched > NPEOPLE * 9 / 10);
    CHECK(cancelled > 0);
    /* the same number with another name */
    CHECK_RC(popbase_verify(pb, span_of(fx.people[0].id, 18), SPAN("某某某"), &a, NULL), RC_OK);
    CHECK_INT(a, POP_MISMATCH);
    CHECK_RC(popbase_verify(pb, span_of(fx.people[0].id, 18), SPAN("\xff"), &a, NULL), RC_OK);
    CHECK_INT(a, POP_MISMATCH);
    /* a valid number nobody has */
    CHECK_RC(popbase_verify(pb, SPAN("11010519491231002X"), SPAN("张三"), &a, NULL), RC_OK);
    CHECK_INT(a, POP_NOT_FOUND);
    /* not a number: refused, fail closed */
    CHECK_RC(popbase_verify(pb, SPAN("110105194912310021"), SPAN("张三"), &a, NULL), RC_MALFORMED);
    CHECK_INT(a, POP_UNAVAILABLE);
    CHECK(atomic_load(&pb->answers[POP_NOT_FOUND]) == 1);
    popbase_free(pb);
}

TEST(popbase_file_normalizes_names_on_both_sides)
{
    struct popbase_compile_stats st;
    struct popbase *pb = NULL;
    enum pop_answer a;

    REQUIRE(ensure() == 0);
    REQUIRE(write_csv(fx.small, POPCSV_HEADER
                      "\n"
                      "11010519491231002X,\" 阿依古丽•买买提\",F,1949-12-31,110105,normal\n"
                      "440524188001010014,张三,,,,cancelled\r\n")
            == 0);
    REQUIRE(compile_csv(&fx, fx.small, false, &st) == RC_OK);
    CHECK_INT(st.records, 2);
    REQUIRE(popbase_file_open(fx.idx, fx.key, &pb, NULL) == RC_OK);
    CHECK_RC(popbase_verify(pb, SPAN("11010519491231002X"), SPAN("阿依古丽.买买提　"), &a, NULL),
             RC_OK);
    CHECK_INT(a, POP_MATCH);
    CHECK_RC(popbase_verify(pb, SPAN("440524188001010014"), SPAN("张三"), &a, NULL), RC_OK);
    CHECK_INT(a, POP_CANCELLED);
    CHECK_RC(popbase_verify(pb, SPAN("440524188001010014"), SPAN("李四"), &a, NULL), RC_OK);
    CHECK_INT(a, POP_MISMATCH); /* status is not told without the name */
    popbase_free(pb);
}

TEST(popbase_file_compile_reports_bad_lines_and_duplicates)
{
    struct popbase_compile_stats st;

    REQUIRE(ensure() == 0);
    REQUIRE(write_csv(fx.small, POPCSV_HEADER "\n"
                                              "11010519491231002X,张三,F,,,normal\n"
                                              "110105194912310021,张三,F,,,normal\n"
                                              "11010519491231002X,李四,F,,,normal\n")
            == 0);
    CHECK_RC(compile_csv(&fx, fx.small, false, &st), RC_MALFORMED);
    CHECK_INT(st.bad, 1);
    CHECK_INT(st.duplicates, 1);
    CHECK_RC(compile_csv(&fx, fx.small, true, &st), RC_OK);
    CHECK_INT(st.records, 1);
    REQUIRE(write_csv(fx.small, "id,name\n") == 0);
    CHECK_RC(compile_csv(&fx, fx.small, true, &st), RC_MALFORMED);
    REQUIRE(write_csv(fx.small, "") == 0);
    CHECK_RC(compile_csv(&fx, fx.small, true, &st), RC_MALFORMED);
}

TEST(popbase_file_refuses_wrong_key_and_damaged_index)
{
    struct popbase *pb = NULL;
    struct rc_info ri = {0};
    char other[128];
    struct stat sb;
    int fd;
    uint8_t byte;
    struct popbase_compile_stats st;

    REQUIRE(ensure() == 0);
    REQUIRE(compile(&fx, true, &st) == RC_OK); /* a fresh index from the generated CSV */
    REQUIRE(popbase_file_open(fx.idx, fx.key, &pb, NULL) == RC_OK);
    popbase_free(pb);
    snprintf(other, sizeof(other), "%s/other.key", fx.dir);
    REQUIRE(popbase_file_key_create(other, NULL) == RC_OK);
    CHECK_RC(popbase_file_key_create(other, NULL), RC_CONFLICT);
    REQUIRE(stat(other, &sb) == 0);
    CHECK_INT(sb.st_mode & 0777, 0600);
    CHECK_RC(popbase_file_open(fx.idx, other, &pb, &ri), RC_DENIED);
    CHECK(strstr(ri.msg, "another name key") != NULL);
    CHECK_RC(popbase_file_open(fx.idx, fx.csv, &pb, &ri), RC_MALFORMED); /* not a key */
    /* a name key others can read is refused, like the signing keys (issue 13 item 7) */
    REQUIRE(chmod(fx.key, 0640) == 0);
    CHECK_RC(popbase_file_open(fx.idx, fx.key, &pb, &ri), RC_DENIED);
    CHECK(ri.msg && strstr(ri.msg, "chmod 600") != NULL);
    REQUIRE(chmod(fx.key, 0600) == 0);
    CHECK_RC(popbase_file_open("/nonexistent/pop.idx", fx.key, &pb, &ri), RC_NOT_FOUND);
    CHECK_RC(popbase_file_open(fx.csv, fx.key, &pb, &ri), RC_MALFORMED); /* not an index */
    /* corrupt one header byte */
    REQUIRE((fd = open(fx.idx, O_RDWR)) >= 0);
    REQUIRE(pread(fd, &byte, 1, 20) == 1);
    byte ^= 1;
    REQUIRE(pwrite(fd, &byte, 1, 20) == 1);
    CHECK_RC(popbase_file_open(fx.idx, fx.key, &pb, &ri), RC_MALFORMED);
    CHECK_STR(ri.msg, "header is corrupted");
    byte ^= 1;
    REQUIRE(pwrite(fd, &byte, 1, 20) == 1);
    /* corrupt one record byte: opens (no pre-reading), the full check finds it */
    REQUIRE(pread(fd, &byte, 1, POPIDX_HEADER_SIZE + 9) == 1);
    byte ^= 1;
    REQUIRE(pwrite(fd, &byte, 1, POPIDX_HEADER_SIZE + 9) == 1);
    REQUIRE(popbase_file_open(fx.idx, fx.key, &pb, NULL) == RC_OK);
    CHECK_RC(popbase_file_check(pb, &ri), RC_MALFORMED);
    popbase_free(pb);
    /* truncate */
    REQUIRE(fstat(fd, &sb) == 0);
    REQUIRE(ftruncate(fd, sb.st_size - 1) == 0);
    CHECK_RC(popbase_file_open(fx.idx, fx.key, &pb, &ri), RC_MALFORMED);
    REQUIRE(ftruncate(fd, 10) == 0);
    CHECK_RC(popbase_file_open(fx.idx, fx.key, &pb, &ri), RC_MALFORMED);
    close(fd);
}

TEST(popbase_open_dispatches_by_scheme)
{
    struct popbase *pb = NULL;
    struct rc_info ri = {0};

    /* the HTTP backend: reached, and it wants its TLS settings; plain http is refused */
    CHECK_RC(compose_popbase_open("https://pop.example/", NULL, &pb, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "popbase_tls_cert");
    CHECK_RC(compose_popbase_open("http://pop.example/", NULL, &pb, &ri), RC_UNSUPPORTED);
    CHECK_RC(compose_popbase_open("ftp://x", NULL, &pb, &ri), RC_MALFORMED);
    CHECK_RC(compose_popbase_open("file:/x", NULL, &pb, &ri), RC_MALFORMED); /* no key */
    CHECK_STR(pop_answer_name(POP_NOT_FOUND), "not_found");
    CHECK_STR(pop_answer_name(POP_UNAVAILABLE), "unavailable");
}
