/* flow/notify: which sub a module may notify (remembered per client, for 90 days), what
 * reaches the notify port, every refusal with its rc and field, and a log line that never
 * holds the phone number or the text. Memory store, fake clock, a fake notify port. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/idnum.h"
#include "fakes.h"
#include "flow/account.h"
#include "flow/notify.h"
#include "flow/subject.h"
#include "log/log.h"
#include "port/notify.h"
#include "test.h"

#define NOW 1740787200

static const char policy_text[] =
    "[client mod]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
    "grant_types = client_credentials\nscopes = notify.send api.read\n"
    "[client mod2]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
    "grant_types = client_credentials\nscopes = notify.send\n"
    "[client quiet]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
    "grant_types = client_credentials\nscopes = api.read\n";

static struct fake_app F;
static struct fake_notify N;
static struct account citizen;
static char idn[19], sub[SUBJECT_MAX];

static int
up(const char *phone)
{
    struct register_req rq = {
        .name = span_str("张三"), .phone = span_str(phone), .password = SPAN("Long-enough-1")};
    struct account_add_opts o = {.skip_popbase = true};

    log_setup(LOG_ERROR, 2);
    if (fake_app_up(&F, policy_text, NOW) != 0)
        return -1;
    memset(&N, 0, sizeof(N));
    N.n.ops = &fake_notify_ops;
    F.app.notify = &N.n;
    memcpy(idn, "11010519900307123", 17);
    idn[17] = idnum_check_char(idn);
    idn[18] = 0;
    rq.id_number = span_str(idn);
    if (account_add(&F.app, &F.a, &rq, &o, &citizen, NULL) != RC_OK
        || subject_for(&F.app, policy_client(F.p, SPAN("mod")), citizen.id, sub) != RC_OK)
        return -1;
    return 0;
}

static void
down(void)
{
    F.app.notify = NULL; /* ours, not the fixture's */
    fake_app_down(&F);
    log_setup(LOG_INFO, 2);
}

static const struct policy_client *
client(const char *id)
{
    return policy_client(F.p, span_str(id));
}

static enum rc
remember(const char *client_id)
{
    return notify_subject_remember(&F.app, &F.a, F.p, client(client_id), sub, citizen.id);
}

static enum rc
ask(const char *client_id, const char *s, const char *text, const char *ref, struct rc_info *ri)
{
    struct notify_req rq = {span_str(s), span_str(text), {NULL, 0}};

    if (ref)
        rq.ref = span_str(ref);
    return notify_citizen(&F.app, &F.a, client(client_id), &rq, ri);
}

TEST(notify_remembers_the_sub_per_client_for_ninety_days)
{
    char suffix[40];
    struct span k, v;
    int64_t ttl = 0;

    REQUIRE(up("13800000001") == 0);
    CHECK_RC(remember("quiet"), RC_OK); /* no notify.send: nothing written */
    k = store_key(&F.a, "subrev", span_str(sub), ":quiet");
    CHECK_RC(store_get(F.app.store, &F.a, k, &v), RC_NOT_FOUND);
    CHECK_RC(remember("mod"), RC_OK);
    snprintf(suffix, sizeof(suffix), ":mod");
    k = store_key(&F.a, "subrev", span_str(sub), suffix);
    REQUIRE(store_get(F.app.store, &F.a, k, &v) == RC_OK);
    CHECK_SPAN(v, citizen.id);
    REQUIRE(store_ttl(F.app.store, k, &ttl) == RC_OK);
    CHECK(ttl >= NOTIFY_SUBJECT_TTL - 1 && ttl <= NOTIFY_SUBJECT_TTL);
    CHECK_INT(NOTIFY_SUBJECT_TTL, 90 * 86400);
    down();
}

TEST(notify_sends_to_the_phone_of_the_sub_this_client_was_given)
{
    struct rc_info ri = {0};

    REQUIRE(up("13800000001") == 0);
    /* not given to this client yet */
    CHECK_RC(ask("mod", sub, "已受理", "A-1", &ri), RC_NOT_FOUND);
    CHECK_STR(ri.field, "sub");
    CHECK_INT(N.calls, 0);
    REQUIRE(remember("mod") == RC_OK);
    fake_now = NOW + 42;
    CHECK_RC(ask("mod", sub, "已受理", "A-1", NULL), RC_OK);
    CHECK_INT(N.calls, 1);
    CHECK_STR(N.to, "13800000001");
    CHECK_STR(N.text, "已受理");
    CHECK_STR(N.sender, "mod");
    CHECK_STR(N.ref, "A-1");
    CHECK_INT(N.ts, NOW + 42);
    CHECK_RC(ask("mod", sub, "no ref", NULL, NULL), RC_OK);
    CHECK_STR(N.ref, "");
    /* another module with the same sub was never given it: the key is per client */
    CHECK_RC(ask("mod2", sub, "hello", NULL, NULL), RC_NOT_FOUND);
    CHECK_INT(N.calls, 2);
    /* the gateway's failure is the caller's */
    N.rc = RC_UNAVAILABLE;
    ri = (struct rc_info){0};
    CHECK_RC(ask("mod", sub, "hello", NULL, &ri), RC_UNAVAILABLE);
    CHECK_STR(ri.field, "notify");
    down();
}

TEST(notify_refusals_name_the_field)
{
    struct rc_info ri;
    char text[NOTICE_TEXT_MAX + 2], ref[NOTICE_REF_MAX + 2];

    REQUIRE(up("13800000001") == 0);
    REQUIRE(remember("mod") == RC_OK);
#define REFUSED(client_id, s, t, r, want_rc, want_field)                                           \
    do {                                                                                           \
        ri = (struct rc_info){0};                                                                  \
        CHECK_RC(ask(client_id, s, t, r, &ri), want_rc);                                           \
        CHECK_STR(ri.field, want_field);                                                           \
    } while (0)
    REFUSED("quiet", sub, "hello", NULL, RC_DENIED, "client");
    REFUSED("mod", "", "hello", NULL, RC_MALFORMED, "sub");
    REFUSED("mod", "xyz", "hello", NULL, RC_MALFORMED, "sub");
    REFUSED("mod", "00000000000000000000000000000000000000000000000000000000000000000", "hello",
            NULL, RC_MALFORMED, "sub"); /* 65 hex digits */
    REFUSED("mod", sub, "", NULL, RC_MALFORMED, "text");
    REFUSED("mod", sub, "line\nbreak", NULL, RC_MALFORMED, "text");
    REFUSED("mod", sub, "del\x7f", NULL, RC_MALFORMED, "text");
    REFUSED("mod", sub, "\xe5\xb7", NULL, RC_MALFORMED, "text"); /* cut UTF-8 */
    memset(text, 'a', sizeof(text) - 1);
    text[sizeof(text) - 1] = 0;
    REFUSED("mod", sub, text, NULL, RC_TOO_LARGE, "text");
    text[NOTICE_TEXT_MAX] = 0;
    CHECK_RC(ask("mod", sub, text, NULL, NULL), RC_OK); /* exactly the maximum */
    memset(ref, 'r', sizeof(ref) - 1);
    ref[sizeof(ref) - 1] = 0;
    REFUSED("mod", sub, "hello", ref, RC_TOO_LARGE, "ref");
    REFUSED("mod", sub, "hello", "a b", RC_MALFORMED, "ref");
    REFUSED("mod", sub, "hello", "a/b", RC_MALFORMED, "ref");
#undef REFUSED
    CHECK_INT(N.calls, 1);
    down();
}

TEST(notify_refuses_disabled_accounts_and_ones_without_a_phone)
{
    struct rc_info ri = {0};

    REQUIRE(up("13800000001") == 0);
    REQUIRE(remember("mod") == RC_OK);
    REQUIRE(account_set_disabled(&F.app, &F.a, span_str(idn), true, NULL) == RC_OK);
    CHECK_RC(ask("mod", sub, "hello", NULL, &ri), RC_NOT_FOUND);
    CHECK_STR(ri.field, "sub");
    REQUIRE(account_set_disabled(&F.app, &F.a, span_str(idn), false, NULL) == RC_OK);
    CHECK_RC(ask("mod", sub, "hello", NULL, NULL), RC_OK);
    down();
    REQUIRE(up("") == 0);
    REQUIRE(remember("mod") == RC_OK);
    CHECK_RC(ask("mod", sub, "hello", NULL, NULL), RC_CONFLICT);
    CHECK_INT(N.calls, 0);
    down();
}

TEST(notify_log_line_has_no_phone_and_no_text)
{
    char path[128], line[1024] = "";
    ssize_t n;
    int fd;

    REQUIRE(up("13800000001") == 0);
    REQUIRE(remember("mod") == RC_OK);
    snprintf(path, sizeof(path), "%s/log", F.dir);
    REQUIRE((fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600)) >= 0);
    log_setup(LOG_INFO, fd);
    CHECK_RC(ask("mod", sub, "您的申请已受理", "APP-7", NULL), RC_OK);
    log_setup(LOG_ERROR, 2);
    n = pread(fd, line, sizeof(line) - 1, 0);
    close(fd);
    REQUIRE(n > 0);
    line[n] = 0;
    CHECK(strstr(line, "\"ev\":\"notify\"") != NULL);
    CHECK(strstr(line, "\"client\":\"mod\"") != NULL);
    CHECK(strstr(line, "\"ref\":\"APP-7\"") != NULL);
    CHECK(strstr(line, "\"rc\":\"") != NULL);
    CHECK(strstr(line, "13800000001") == NULL);
    CHECK(strstr(line, "申请") == NULL);
    CHECK(strstr(line, idn) == NULL);
    CHECK(strchr(line, '\n') == line + n - 1); /* one event, one line */
    down();
}

TEST(notify_store_down_fails_closed)
{
    struct rc_info ri = {0};
    struct store *mem;

    REQUIRE(up("13800000001") == 0);
    REQUIRE(remember("mod") == RC_OK);
    mem = F.app.store;
    F.app.store = &fake_store_down;
    CHECK_RC(remember("mod"), RC_UNAVAILABLE);
    CHECK_RC(remember("quiet"), RC_OK); /* nothing to write for it */
    CHECK_RC(ask("mod", sub, "hello", NULL, &ri), RC_UNAVAILABLE);
    CHECK_INT(N.calls, 0);
    F.app.store = mem;
    down();
}
