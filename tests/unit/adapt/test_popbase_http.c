/* The HTTP population base's pure parts: breaker states with an explicit clock, the URL
 * check, the answer and cache codecs, back-off bounds, and what popbase_http_open refuses.
 * The network paths are tested against `authctl popbase serve` in
 * tests/integration/test_popbase_http.py. */
#include <pthread.h>
#include <stdlib.h>

#include "adapt/popbase_http.h"
#include "adapt/popbase_http_int.h"
#include "compose/compose.h"
#include "test.h"

TEST(pophttp_breaker_opens_after_threshold_failures)
{
    struct breaker b;

    breaker_init(&b, 3, 1000);
    CHECK(breaker_allow(&b, 0));
    breaker_failure(&b, 0);
    breaker_failure(&b, 1);
    CHECK_INT(breaker_state(&b), BREAKER_CLOSED);
    breaker_failure(&b, 2);
    CHECK_INT(breaker_state(&b), BREAKER_OPEN);
    CHECK_INT(breaker_opens(&b), 1);
    CHECK(!breaker_allow(&b, 3));
    CHECK(!breaker_allow(&b, 1001));
    breaker_clear(&b);
}

TEST(pophttp_breaker_success_resets_the_count)
{
    struct breaker b;

    breaker_init(&b, 2, 1000);
    breaker_failure(&b, 0);
    breaker_success(&b);
    breaker_failure(&b, 1);
    CHECK_INT(breaker_state(&b), BREAKER_CLOSED);
    breaker_clear(&b);
}

TEST(pophttp_breaker_half_open_lets_one_probe_through)
{
    struct breaker b;

    breaker_init(&b, 1, 100);
    breaker_failure(&b, 0);
    CHECK(!breaker_allow(&b, 99));
    CHECK(breaker_allow(&b, 100)); /* the probe */
    CHECK_INT(breaker_state(&b), BREAKER_HALF_OPEN);
    CHECK(!breaker_allow(&b, 101)); /* everyone else still fails fast */
    breaker_success(&b);
    CHECK_INT(breaker_state(&b), BREAKER_CLOSED);
    CHECK(breaker_allow(&b, 102));
    breaker_clear(&b);
}

TEST(pophttp_breaker_failed_probe_reopens_for_another_period)
{
    struct breaker b;

    breaker_init(&b, 1, 100);
    breaker_failure(&b, 0);
    CHECK(breaker_allow(&b, 150));
    breaker_failure(&b, 160);
    CHECK_INT(breaker_state(&b), BREAKER_OPEN);
    CHECK(!breaker_allow(&b, 259));
    CHECK(breaker_allow(&b, 260));
    CHECK_INT(breaker_opens(&b), 1); /* a re-open is not a new opening */
    breaker_clear(&b);
}

TEST(pophttp_breaker_replaces_a_silent_probe)
{
    struct breaker b;

    breaker_init(&b, 1, 100);
    breaker_failure(&b, 0);
    CHECK(breaker_allow(&b, 100)); /* a probe that never reports */
    CHECK(!breaker_allow(&b, 199));
    CHECK(breaker_allow(&b, 200));
    breaker_clear(&b);
}

TEST(pophttp_url_check_accepts_https_only)
{
    CHECK_RC(pophttp_url_check("https://pop.example.gov.cn", NULL), RC_OK);
    CHECK_RC(pophttp_url_check("https://127.0.0.1:8443/", NULL), RC_OK);
    CHECK_RC(pophttp_url_check("https://[::1]:8443/pop", NULL), RC_OK);
    CHECK_RC(pophttp_url_check("http://127.0.0.1:8443", NULL), RC_UNSUPPORTED);
    CHECK_RC(pophttp_url_check("ftp://x", NULL), RC_MALFORMED);
    CHECK_RC(pophttp_url_check("https://", NULL), RC_MALFORMED);
    CHECK_RC(pophttp_url_check("https:///v1", NULL), RC_MALFORMED);
    CHECK_RC(pophttp_url_check("https://h/?q=1", NULL), RC_MALFORMED);
    CHECK_RC(pophttp_url_check("https://h/#f", NULL), RC_MALFORMED);
    CHECK_RC(pophttp_url_check("https://user:pw@h", NULL), RC_MALFORMED);
    CHECK_RC(pophttp_url_check("https://h /x", NULL), RC_MALFORMED);
    CHECK_RC(pophttp_url_check(NULL, NULL), RC_MALFORMED);
}

TEST(pophttp_url_check_rejects_a_long_url)
{
    char url[POPHTTP_MAX_URL + 16];

    memset(url, 'a', sizeof(url) - 1);
    memcpy(url, "https://", 8);
    url[sizeof(url) - 1] = 0;
    CHECK_RC(pophttp_url_check(url, NULL), RC_MALFORMED);
}

TEST(pophttp_request_body_is_escaped_json)
{
    char *s = NULL;

    CHECK_RC(pophttp_request_body(SPAN("11010519491231002X"), SPAN("阿\"依"), &s), RC_OK);
    REQUIRE(s);
    CHECK_STR(s, "{\"id_number\":\"11010519491231002X\",\"name\":\"阿\\\"依\"}");
    free(s);
}

TEST(pophttp_parse_answer_reads_each_result)
{
    struct pop_attrs at = {0};
    enum pop_answer a = POP_UNAVAILABLE;

    CHECK_RC(pophttp_parse_answer(SPAN("{\"result\":\"match\",\"birth_date\":\"19900307\","
                                       "\"sex\":\"M\",\"region\":\"110105\"}"),
                                  &a, &at),
             RC_OK);
    CHECK_INT(a, POP_MATCH);
    CHECK_INT(at.birth_ymd, 19900307);
    CHECK_INT(at.sex, 'M');
    CHECK_INT(at.region, 110105);
    CHECK_RC(pophttp_parse_answer(SPAN("{\"result\":\"mismatch\"}"), &a, NULL), RC_OK);
    CHECK_INT(a, POP_MISMATCH);
    CHECK_RC(pophttp_parse_answer(SPAN("{\"result\":\"not_found\",\"extra\":1}"), &a, NULL), RC_OK);
    CHECK_INT(a, POP_NOT_FOUND);
    CHECK_RC(pophttp_parse_answer(SPAN("{\"result\":\"cancelled\"}"), &a, NULL), RC_OK);
    CHECK_INT(a, POP_CANCELLED);
}

TEST(pophttp_parse_answer_rejects_what_is_not_the_api)
{
    enum pop_answer a = POP_MISMATCH;
    static const char *bad[] = {
        "",
        "[]",
        "{}",
        "{\"result\":\"unavailable\"}",
        "{\"result\":\"MATCH\"}",
        "{\"result\":1}",
        "{\"result\":\"mismatch\",\"result\":\"match\"}",
        "{\"result\":\"match\"}",
        "{\"result\":\"match\",\"birth_date\":\"1990037\",\"sex\":\"M\",\"region\":\"110105\"}",
        "{\"result\":\"match\",\"birth_date\":\"19901307\",\"sex\":\"M\",\"region\":\"110105\"}",
        "{\"result\":\"match\",\"birth_date\":\"19900307\",\"sex\":\"X\",\"region\":\"110105\"}",
        "{\"result\":\"match\",\"birth_date\":\"19900307\",\"sex\":\"M\",\"region\":\"11010\"}",
        "{\"result\":\"match\",\"birth_date\":\"19900307\",\"sex\":\"M\",\"region\":110105}",
        "{\"result\":\"match\"",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (pophttp_parse_answer(span_str(bad[i]), &a, NULL) != RC_MALFORMED)
            test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
    }
    CHECK_INT(a, POP_MISMATCH); /* untouched on failure */
}

TEST(pophttp_parse_answer_rejects_an_oversized_body)
{
    static char big[POPHTTP_MAX_RESPONSE + 2];
    enum pop_answer a;

    memset(big, ' ', sizeof(big) - 1);
    memcpy(big, "{\"result\":\"match\"}", 18);
    CHECK_RC(pophttp_parse_answer(span_str(big), &a, NULL), RC_MALFORMED);
}

TEST(pophttp_cache_value_round_trips)
{
    struct pop_attrs at = {19900307, 'F', 110105}, got = {0};
    char v[POPHTTP_CACHE_VALUE];
    enum pop_answer a;
    size_t n;

    n = pophttp_cache_encode(POP_MATCH, &at, v);
    CHECK_SPAN(span_of(v, n), "match 19900307 F 110105");
    CHECK_RC(pophttp_cache_decode(span_of(v, n), &a, &got), RC_OK);
    CHECK_INT(a, POP_MATCH);
    CHECK_INT(got.birth_ymd, 19900307);
    CHECK_INT(got.sex, 'F');
    CHECK_INT(got.region, 110105);
    for (int k = POP_MISMATCH; k < POP_UNAVAILABLE; k++) {
        n = pophttp_cache_encode((enum pop_answer)k, NULL, v);
        CHECK_RC(pophttp_cache_decode(span_of(v, n), &a, NULL), RC_OK);
        CHECK_INT(a, k);
    }
}

TEST(pophttp_cache_never_holds_unavailable)
{
    char v[POPHTTP_CACHE_VALUE];
    enum pop_answer a;

    CHECK_INT(pophttp_cache_encode(POP_UNAVAILABLE, NULL, v), 0);
    CHECK_RC(pophttp_cache_decode(SPAN("unavailable"), &a, NULL), RC_MALFORMED);
    CHECK_RC(pophttp_cache_decode(SPAN("match"), &a, NULL), RC_MALFORMED);
    CHECK_RC(pophttp_cache_decode(SPAN("match 19900307 Q 110105"), &a, NULL), RC_MALFORMED);
    CHECK_RC(pophttp_cache_decode(SPAN("match 19900307 F 11010"), &a, NULL), RC_MALFORMED);
    CHECK_RC(pophttp_cache_decode(SPAN("match 19900307 F 110105x"), &a, NULL), RC_MALFORMED);
    CHECK_RC(pophttp_cache_decode(SPAN("not_found\0"), &a, NULL), RC_MALFORMED);
    CHECK_RC(pophttp_cache_decode(SPAN(""), &a, NULL), RC_MALFORMED);
}

TEST(pophttp_backoff_grows_and_stays_bounded)
{
    for (uint32_t r = 0; r < 1000; r += 37) {
        uint32_t d1 = pophttp_backoff_ms(1, 20, 400, r), d3 = pophttp_backoff_ms(3, 20, 400, r),
                 d9 = pophttp_backoff_ms(9, 20, 400, r);
        CHECK(d1 >= 10 && d1 <= 20);
        CHECK(d3 >= 40 && d3 <= 80);
        CHECK(d9 >= 200 && d9 <= 400);
    }
    CHECK_INT(pophttp_backoff_ms(40, 20, 400, 0xffffffffu) <= 400, 1);
}

TEST(pophttp_open_refuses_missing_tls_settings)
{
    struct popbase_opts o = {0};
    struct popbase *p = NULL;
    struct rc_info ri = {0};

    CHECK_RC(compose_popbase_open("https://127.0.0.1:1", &o, &p, &ri), RC_MALFORMED);
    CHECK_STR(ri.field, "popbase_tls_cert");
    o.tls_cert = "/nonexistent/client.crt";
    o.tls_key = "/nonexistent/client.key";
    o.tls_ca = "/nonexistent/ca.crt";
    CHECK_RC(compose_popbase_open("https://127.0.0.1:1", &o, &p, &ri), RC_NOT_FOUND);
    CHECK_STR(ri.field, "popbase_tls_cert");
    CHECK_RC(compose_popbase_open("http://127.0.0.1:1", &o, &p, &ri), RC_UNSUPPORTED);
    CHECK(p == NULL);
}

TEST(pophttp_unreachable_service_is_unavailable_then_fails_fast)
{
    struct popbase_opts o = {.tls_cert = "/dev/null",
                             .tls_key = "/dev/null",
                             .tls_ca = "/dev/null",
                             .connect_timeout_ms = 200,
                             .timeout_ms = 200,
                             .breaker_failures = 1,
                             .breaker_open_ms = 60000};
    struct popbase_http_stats st;
    struct popbase *p = NULL;
    enum pop_answer a = POP_MATCH;

    /* port 1 on loopback: connection refused at once */
    REQUIRE(compose_popbase_open("https://127.0.0.1:1", &o, &p, NULL) == RC_OK);
    CHECK_RC(popbase_verify(p, SPAN("11010519491231002X"), SPAN("张三"), &a, NULL), RC_UNAVAILABLE);
    CHECK_INT(a, POP_UNAVAILABLE);
    CHECK_RC(popbase_verify(p, SPAN("11010519491231002X"), SPAN("张三"), &a, NULL), RC_UNAVAILABLE);
    CHECK_RC(popbase_ping(p), RC_UNAVAILABLE);
    CHECK_RC(popbase_http_stats(p, &st), RC_OK);
    CHECK_INT(st.requests, 1);
    CHECK_INT(st.fast_fails, 2);
    CHECK_INT(st.breaker_open, 1);
    CHECK_RC(popbase_verify(p, SPAN("110105194912310021"), SPAN("张三"), &a, NULL), RC_MALFORMED);
    popbase_free(p);
}

#define STRESS_THREADS 8
#define STRESS_CALLS   50

static void *
stress(void *arg)
{
    enum pop_answer a;

    for (int i = 0; i < STRESS_CALLS; i++)
        (void)popbase_verify(arg, SPAN("11010519491231002X"), SPAN("张三"), &a, NULL);
    return NULL;
}

TEST(pophttp_threads_share_the_breaker_and_the_handles)
{
    struct popbase_opts o = {.tls_cert = "/dev/null",
                             .tls_key = "/dev/null",
                             .tls_ca = "/dev/null",
                             .connect_timeout_ms = 200,
                             .timeout_ms = 200,
                             .breaker_failures = 5,
                             .breaker_open_ms = 60000};
    struct popbase_http_stats st;
    struct popbase *p = NULL;
    pthread_t th[STRESS_THREADS];

    REQUIRE(compose_popbase_open("https://127.0.0.1:1", &o, &p, NULL) == RC_OK);
    for (int i = 0; i < STRESS_THREADS; i++)
        REQUIRE(pthread_create(&th[i], NULL, stress, p) == 0);
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_RC(popbase_http_stats(p, &st), RC_OK);
    /* at most the threshold, plus the calls already past the breaker when it opened */
    CHECK(st.requests >= 5 && st.requests <= 5 + STRESS_THREADS - 1);
    CHECK_INT(st.requests + st.fast_fails, STRESS_THREADS * STRESS_CALLS);
    CHECK_INT(st.breaker_opens, 1);
    CHECK_INT(p->answers[POP_UNAVAILABLE], STRESS_THREADS * STRESS_CALLS);
    popbase_free(p);
}
