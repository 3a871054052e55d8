/* A few macros for unit tests. A test file holds TEST(name) { ... } blocks; they register
 * themselves and tests/harness/main.c runs them (optionally filtered by a substring given
 * on the command line), printing one line per failure and `N passed, N failed` at the end. */
#ifndef AUTHD_TEST_H
#define AUTHD_TEST_H

#include <stdio.h>
#include <string.h>

#include "util/rc.h"
#include "util/span.h"

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Nonzero when the running test has failed a CHECK (REQUIRE stops it). */
int test_failed(void);

#define TEST(name)                                                                                 \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void test_reg_##name(void)                                 \
    {                                                                                              \
        test_register(#name, __FILE__, test_##name);                                               \
    }                                                                                              \
    static void test_##name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                     \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        enum rc got_ = (expr), want_ = (want);                                                     \
        if (got_ != want_)                                                                         \
            test_fail(__FILE__, __LINE__, "%s: got %s, want %s", #expr, rc_name(got_),             \
                      rc_name(want_));                                                             \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            test_fail(__FILE__, __LINE__, "%s == %s: got %lld, want %lld", #a, #b, a_, b_);        \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            test_fail(__FILE__, __LINE__, "%s == %s: got \"%s\", want \"%s\"", #a, #b,             \
                      a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                     \
    } while (0)

#define CHECK_SPAN(a, s)                                                                           \
    do {                                                                                           \
        struct span a_ = (a);                                                                      \
        const char *s_ = (s);                                                                      \
        if (!span_eq_str(a_, s_))                                                                  \
            test_fail(__FILE__, __LINE__, "%s: got \"%.*s\", want \"%s\"", #a, (int)a_.len,        \
                      (const char *)a_.p, s_);                                                     \
    } while (0)

#endif
