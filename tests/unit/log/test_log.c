/* log/log: one event is one line holding one JSON object with ts, lvl and ev; values are
 * escaped, capped at LOG_MAX_STR on a UTF-8 boundary, invalid UTF-8 never copied; the
 * threshold drops whole events. And the lines the account flows write hold ID numbers only
 * masked (core/mask) and never a name. Lines are captured in a file. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/idnum.h"
#include "core/mask.h"
#include "fakes.h"
#include "flow/account.h"
#include "log/log.h"
#include "test.h"

static char path[] = "/tmp/authd-log-XXXXXX";
static int fd = -1;
static char text[16384];

/* Sends log lines to a fresh file. */
static int
capture(enum log_level min)
{
    if (fd >= 0)
        close(fd);
    memcpy(path + strlen(path) - 6, "XXXXXX", 6);
    if ((fd = mkstemp(path)) < 0)
        return -1;
    unlink(path);
    log_setup(min, fd);
    return 0;
}

/* Everything logged since capture(), NUL-terminated in text; the number of lines. */
static int
captured(void)
{
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    int lines = 0;

    text[n > 0 ? n : 0] = 0;
    for (char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    return lines;
}

static void
release(void)
{
    log_setup(LOG_INFO, 2);
    if (fd >= 0)
        close(fd);
    fd = -1;
}

/* The first captured line as a JSON object (caller decrefs). */
static json_t *
first_line(void)
{
    char *nl;

    captured();
    if (!(nl = strchr(text, '\n')))
        return NULL;
    return json_loadb(text, (size_t)(nl - text), JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
}

TEST(log_one_event_is_one_json_line)
{
    struct log_rec *r;
    json_t *o;
    const char *ts;

    REQUIRE(capture(LOG_INFO) == 0);
    r = log_begin(LOG_WARN, "test.event");
    log_str(r, "client", "web");
    log_str(r, "why", "line one\nline two \"quoted\"\t\x01");
    log_int(r, "n", -42);
    log_str(r, "absent", NULL); /* left out */
    log_end(r);
    CHECK_INT(captured(), 1);
    REQUIRE((o = first_line()));
    CHECK_STR(json_string_value(json_object_get(o, "lvl")), "warn");
    CHECK_STR(json_string_value(json_object_get(o, "ev")), "test.event");
    CHECK_STR(json_string_value(json_object_get(o, "client")), "web");
    CHECK_STR(json_string_value(json_object_get(o, "why")), "line one\nline two \"quoted\"\t\x01");
    CHECK_INT(json_integer_value(json_object_get(o, "n")), -42);
    CHECK(json_object_get(o, "absent") == NULL);
    ts = json_string_value(json_object_get(o, "ts"));
    CHECK(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
    json_decref(o);
    log_msg(LOG_ERROR, "second", "k", "v");
    CHECK_INT(captured(), 2);
    CHECK(strstr(text, "\"ev\":\"second\",\"k\":\"v\"}\n") != NULL);
    release();
}

TEST(log_threshold_drops_whole_events)
{
    struct log_rec *r;

    REQUIRE(capture(LOG_WARN) == 0);
    CHECK(!log_enabled(LOG_INFO) && log_enabled(LOG_WARN) && log_enabled(LOG_ERROR));
    CHECK((r = log_begin(LOG_INFO, "quiet")) == NULL);
    log_str(r, "k", "v"); /* NULL is accepted everywhere */
    log_int(r, "n", 1);
    log_span(r, "s", SPAN("x"));
    log_end(r);
    log_msg(LOG_DEBUG, "quiet", "k", "v");
    CHECK_INT(captured(), 0);
    log_set_level(LOG_DEBUG);
    log_msg(LOG_DEBUG, "loud", "k", "v");
    CHECK_INT(captured(), 1);
    CHECK(strstr(text, "\"lvl\":\"debug\"") != NULL);
    release();
}

TEST(log_values_are_capped_on_a_utf8_boundary)
{
    char big[1024], cjk[LOG_MAX_STR + 8];
    struct log_rec *r;
    json_t *o;

    REQUIRE(capture(LOG_INFO) == 0);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    memset(cjk, 'b', LOG_MAX_STR - 1);
    memcpy(cjk + LOG_MAX_STR - 1, "张", 4); /* a 3-byte character across the cap */
    r = log_begin(LOG_INFO, "cap");
    log_str(r, "big", big);
    log_str(r, "cjk", cjk);
    log_span(r, "bad", SPAN("\xff\xfe"));
    log_span(r, "tail", SPAN("ok\xff"));
    log_span(r, "empty", SPAN(""));
    log_span(r, "nul", span_of("a\0b", 3));
    log_end(r);
    REQUIRE((o = first_line()));
    CHECK_INT(strlen(json_string_value(json_object_get(o, "big"))), LOG_MAX_STR);
    CHECK_INT(strlen(json_string_value(json_object_get(o, "cjk"))), LOG_MAX_STR - 1);
    CHECK_STR(json_string_value(json_object_get(o, "bad")), "(unprintable)");
    CHECK_STR(json_string_value(json_object_get(o, "tail")), "ok");
    CHECK_STR(json_string_value(json_object_get(o, "empty")), "");
    CHECK_INT(json_string_length(json_object_get(o, "nul")), 3); /* escaped, not cut */
    json_decref(o);
    CHECK(strstr(text, "\\u0000") != NULL);
    release();
}

/* ---- ID numbers and names in the lines the flows write ---------------------------------- */

static const char policy_text[] = "[scope openid]\nclaims = sub\n";

TEST(log_account_lines_hold_id_numbers_masked_and_no_names)
{
    struct fake_app f;
    struct register_req rq = {.name = span_str("欧阳娜娜"),
                              .phone = SPAN("13800000001"),
                              .password = SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};
    struct account acct;
    char idn[19], masked[MASK_IDNUM_SIZE], bad[19];
    uint32_t retry = 0;

    REQUIRE(fake_app_up(&f, policy_text, 1740787200) == 0);
    memcpy(idn, "11010519900307123", 17);
    idn[17] = idnum_check_char(idn);
    idn[18] = 0;
    mask_idnum(span_str(idn), masked);
    memcpy(bad, idn, sizeof(bad));
    bad[17] = bad[17] == '0' ? '1' : '0'; /* wrong check digit */
    rq.id_number = span_str(idn);
    REQUIRE(capture(LOG_DEBUG) == 0);
    CHECK_RC(account_add(&f.app, &f.a, &rq, &o, &acct, NULL), RC_OK);
    CHECK_RC(account_add(&f.app, &f.a, &rq, &o, &acct, NULL), RC_CONFLICT);
    CHECK_RC(account_login_ex(&f.app, &f.a, span_str(idn), SPAN("Long-enough-1"), "192.0.2.1",
                              &acct, NULL, &retry),
             RC_OK);
    CHECK_RC(account_login_ex(&f.app, &f.a, span_str(idn), SPAN("wrong-password"), "192.0.2.1",
                              &acct, NULL, &retry),
             RC_DENIED);
    CHECK(account_login_ex(&f.app, &f.a, span_str(bad), SPAN("Long-enough-1"), "192.0.2.1", &acct,
                           NULL, &retry)
          != RC_OK);
    CHECK(captured() >= 5);
    CHECK(strstr(text, masked) != NULL); /* 110105********123X: who, without the number */
    CHECK_INT(strlen(masked), 18);
    CHECK(strstr(text, idn) == NULL);
    CHECK(strstr(text, bad) == NULL);
    CHECK(strstr(text, "19900307") == NULL); /* not even the birth date */
    CHECK(strstr(text, "欧阳娜娜") == NULL && strstr(text, "娜娜") == NULL);
    CHECK(strstr(text, "Long-enough-1") == NULL && strstr(text, "wrong-password") == NULL);
    CHECK(strstr(text, "13800000001") == NULL);
    release();
    fake_app_down(&f);
}
