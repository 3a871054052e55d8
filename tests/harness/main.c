/* Runs every registered TEST; argv[1], if given, keeps only tests whose name or file
 * contains it. Prints `FAIL` lines as they happen and `N passed, N failed` at the end;
 * exits 1 if any test failed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define MAX_TESTS 4096

struct test_entry {
    const char *name, *file;
    test_fn fn;
};
static struct test_entry tests[MAX_TESTS];
static int ntests;
static int cur_failed;
static const char *cur_name;

void
test_register(const char *name, const char *file, test_fn fn)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "harness: too many tests\n");
        exit(2);
    }
    tests[ntests].name = name;
    tests[ntests].file = file;
    tests[ntests].fn = fn;
    ntests++;
}

void
test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    if (!cur_failed)
        printf("FAIL %s\n", cur_name);
    cur_failed = 1;
    printf("  %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

int
test_failed(void)
{
    return cur_failed;
}

static int
by_file(const void *a, const void *b)
{
    const struct test_entry *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : (x < y ? -1 : x > y);
}

int
main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    const char *filter = argc > 1 ? argv[1] : NULL;
    int verbose = getenv("TEST_VERBOSE") != NULL;

    qsort(tests, (size_t)ntests, sizeof(tests[0]), by_file);
    for (int i = 0; i < ntests; i++) {
        if (filter && !strstr(tests[i].name, filter) && !strstr(tests[i].file, filter))
            continue;
        cur_failed = 0;
        cur_name = tests[i].name;
        tests[i].fn();
        if (cur_failed)
            failed++;
        else
            passed++;
        if (verbose && !cur_failed)
            printf("PASS %s\n", tests[i].name);
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
