/* flow/access_log and the audit chain's per-account index (flow/audit.c): records of every
 * kind appended with audit_append on the memory store show on the citizen's page with their
 * agent, service (the policy's display name), purpose and outcome, newest first, in pages;
 * another citizen's records never do; an unknown event is shown by its name; the chain
 * still verifies; the index keeps the last AUDIT_ACCT_KEEP records of an account; no session
 * is the account page's login. */
#include <string.h>

#include "core/auditlog.h"
#include "fakes.h"
#include "flow/access_log.h"
#include "flow/audit.h"
#include "log/log.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200

static const char policy_text[] = "[client tax-portal]\ntype = public\nauth_method = none\n"
                                  "name = 税务服务\n"
                                  "redirect_uris = https://tax.example/cb\n"
                                  "[purpose tax_query]\nname = 税务查询\nscopes = openid\n";

struct env {
    struct fake_app f;
    struct audit *au;
    char key[160];
    char cookie[SESSION_COOKIE_LEN + 1];
    struct session s;
    struct account_ctx ctx;
};

static int
env_up(struct env *e)
{
    struct audit_opts o = {4, 0};

    log_setup(LOG_ERROR + 1, 2);
    memset(e, 0, sizeof(*e));
    if (fake_app_up(&e->f, policy_text, NOW) != 0)
        return -1;
    e->f.cfg.account_client = "authd-account";
    snprintf(e->key, sizeof(e->key), "%s/audit-key.jwk", e->f.dir);
    if (audit_open(e->key, true, &o, &e->au, NULL) != RC_OK)
        return -1;
    e->f.app.audit = e->au;
    return 0;
}

static int
env_login(struct env *e, const char *acct)
{
    struct session_login l = {acct, {IAL3, AAL1}, "pwd", fake_now, "Chrome 120", "rp"};

    if (session_login(&e->f.app, &e->f.a, &l, NULL, e->cookie, &e->s) != RC_OK)
        return -1;
    e->ctx = (struct account_ctx){span_str(e->cookie), SPAN("bind"), "zh", false};
    return 0;
}

static void
env_down(struct env *e)
{
    e->f.app.audit = NULL;
    audit_free(e->au);
    fake_app_down(&e->f);
    log_setup(LOG_INFO, 2);
}

#define APPEND(app, ev, ...)                                                                       \
    do {                                                                                           \
        const char *kv_[] = {__VA_ARGS__};                                                         \
        CHECK_RC(audit_append((app), (ev), kv_, sizeof(kv_) / sizeof(kv_[0])), RC_OK);             \
        fake_now += 60;                                                                            \
    } while (0)

/* One record of every kind about "acct-a", some about "acct-b", one about nobody. */
static void
append_all(struct app *app)
{
    APPEND(app, "hotline.lookup", "acct", "acct-a", "agent", "staff-1", "agent_name", "王*明",
           "emp", "1001", "purpose", "tax_query", "by", "id_number", "outcome", "found");
    APPEND(app, "hotline.lookup", "agent", "staff-1", "agent_name", "王*明", "emp", "1001",
           "purpose", "tax_query", "by", "phone", "outcome", "not_found"); /* no acct */
    APPEND(app, "ciba.request", "acct", "acct-a", "client", "tax-portal", "agent", "staff-1",
           "agent_name", "王*明", "emp", "1001", "purpose", "tax_query");
    APPEND(app, "ciba.answer", "acct", "acct-a", "client", "tax-portal", "agent", "staff-1",
           "agent_name", "王*明", "emp", "1001", "purpose", "tax_query", "outcome", "approved");
    APPEND(app, "token.act", "acct", "acct-a", "agent", "staff-1", "client", "tax-portal",
           "audience", "workflow");
    APPEND(app, "claims.id_number", "client", "tax-portal", "acct", "acct-a", "idn",
           "110101********123X", "jti", "j1", "via", "userinfo");
    APPEND(app, "claims.id_number", "client", "tax-portal", "acct", "acct-b", "idn",
           "310101********0011", "jti", "j2", "via", "token");
    APPEND(app, "card.login", "acct", "acct-a", "kiosk", "k-07", "location", "朝阳区政务中心",
           "client", "kiosk-app");
    APPEND(app, "future.thing", "acct", "acct-a", "secret_detail", "not shown");
    APPEND(app, "ciba.request", "acct", "acct-a", "client", "tax-portal", "agent", "", "agent_name",
           "", "emp", "", "purpose", ""); /* the last four may be empty */
}

TEST(access_log_shows_every_kind_newest_first_only_to_its_citizen)
{
    struct env e;
    struct access_view v;
    struct account_result res;

    REQUIRE(env_up(&e) == 0);
    append_all(&e.f.app);
    REQUIRE(env_login(&e, "acct-a") == 0);
    CHECK_RC(access_log_view(&e.f.app, &e.f.a, &e.ctx, 0, &v, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_VIEW);
    REQUIRE(v.n == 8);
    CHECK(v.first);
    CHECK_INT(v.older, 0);
    for (size_t i = 1; i < v.n; i++)
        CHECK(v.entries[i - 1].seq > v.entries[i].seq && v.entries[i - 1].ts > v.entries[i].ts);
    /* newest first: the empty consent request, the unknown event, the card login, ... */
    CHECK_INT(v.entries[0].kind, ACCESS_CONSENT_REQUEST);
    CHECK(!v.entries[0].agent_name && !v.entries[0].emp && !v.entries[0].purpose);
    CHECK_STR(v.entries[0].service, "税务服务");
    CHECK_INT(v.entries[1].kind, ACCESS_OTHER);
    CHECK_STR(v.entries[1].ev, "future.thing");
    CHECK(!v.entries[1].service && !v.entries[1].purpose && !v.entries[1].outcome);
    CHECK_INT(v.entries[2].kind, ACCESS_CARD_LOGIN);
    CHECK_STR(v.entries[2].kiosk, "k-07");
    CHECK_STR(v.entries[2].location, "朝阳区政务中心");
    CHECK_STR(v.entries[2].service, "kiosk-app"); /* not in the policy: its id */
    CHECK_INT(v.entries[3].kind, ACCESS_RELEASE);
    CHECK_STR(v.entries[3].idn, "110101********123X");
    CHECK_STR(v.entries[3].service, "税务服务");
    CHECK_STR(v.entries[3].via, "userinfo");
    CHECK_INT(v.entries[4].kind, ACCESS_ACT);
    CHECK_STR(v.entries[4].audience, "workflow");
    CHECK(!v.entries[4].agent_name); /* a sub is not shown */
    CHECK_INT(v.entries[5].kind, ACCESS_CONSENT_ANSWER);
    CHECK_STR(v.entries[5].outcome, "approved");
    CHECK_STR(v.entries[5].agent_name, "王*明");
    CHECK_STR(v.entries[5].emp, "1001");
    CHECK_STR(v.entries[5].purpose, "税务查询"); /* the policy's name of the code */
    CHECK_INT(v.entries[6].kind, ACCESS_CONSENT_REQUEST);
    CHECK_INT(v.entries[7].kind, ACCESS_LOOKUP);
    CHECK_STR(v.entries[7].by, "id_number");
    CHECK_STR(v.entries[7].outcome, "found");
    CHECK_STR(v.entries[7].purpose, "税务查询");
    /* the other citizen sees only the one release about them */
    REQUIRE(env_login(&e, "acct-b") == 0);
    CHECK_RC(access_log_view(&e.f.app, &e.f.a, &e.ctx, 0, &v, &res), RC_OK);
    REQUIRE(v.n == 1);
    CHECK_STR(v.entries[0].idn, "310101********0011");
    /* a third has none */
    REQUIRE(env_login(&e, "acct-c") == 0);
    CHECK_RC(access_log_view(&e.f.app, &e.f.a, &e.ctx, 0, &v, &res), RC_OK);
    CHECK_INT(v.n, 0);
    env_down(&e);
}

TEST(access_log_pages_and_the_chain_still_verifies)
{
    struct env e;
    struct access_view v;
    struct account_result res;
    struct auditlog_report rep;
    char *text = NULL;
    size_t len = 0;
    uint64_t n = 0, seen = 0, before = 0;
    FILE *f;

    REQUIRE(env_up(&e) == 0);
    for (int i = 0; i < 45; i++)
        APPEND(&e.f.app, "claims.id_number", "client", "tax-portal", "acct", "acct-a", "idn",
               "110101********123X", "jti", "j", "via", "token");
    REQUIRE(env_login(&e, "acct-a") == 0);
    for (int page = 0; page < 3; page++) {
        CHECK_RC(access_log_view(&e.f.app, &e.f.a, &e.ctx, before, &v, &res), RC_OK);
        CHECK_INT(v.n, page < 2 ? ACCESS_LOG_PAGE : 5);
        CHECK(v.first == (page == 0));
        CHECK(page == 2 ? v.older == 0 : v.older == v.entries[v.n - 1].seq);
        seen += v.n;
        before = v.older;
    }
    CHECK_INT(seen, 45);
    /* a before past any score is refused; the chain (checkpoints included) verifies */
    CHECK_RC(access_log_view(&e.f.app, &e.f.a, &e.ctx, (uint64_t)1 << 60, &v, &res), RC_MALFORMED);
    REQUIRE((f = open_memstream(&text, &len)) != NULL);
    CHECK_RC(audit_export(e.f.app.store, f, &n, NULL), RC_OK);
    fclose(f);
    CHECK(n > 45); /* checkpoints in between */
    CHECK_RC(auditlog_verify(span_of((const uint8_t *)text, len), audit_keyset(e.au), &rep), RC_OK);
    free(text);
    env_down(&e);
}

TEST(access_log_index_keeps_the_last_records_of_an_account)
{
    struct env e;
    struct auditlog_rec *r;
    size_t n;
    uint64_t older;
    struct span *all;
    size_t nall;

    REQUIRE(env_up(&e) == 0);
    e.au = NULL; /* a writer without checkpoints every 4: reopen with the default */
    audit_free(e.f.app.audit);
    struct audit_opts o = {0, 0};
    REQUIRE(audit_open(e.key, false, &o, &e.au, NULL) == RC_OK);
    e.f.app.audit = e.au;
    for (int i = 0; i < AUDIT_ACCT_KEEP + 5; i++) {
        const char *kv[] = {"acct", "acct-a", "n", "x"};
        REQUIRE(audit_append(&e.f.app, "test.event", kv, 4) == RC_OK);
    }
    struct span k = store_key(&e.f.a, "audit", SPAN("chain"), ":acct:acct-a");
    CHECK_RC(
        store_index_range(e.f.app.store, &e.f.a, k, INT64_MAX, STORE_INDEX_READ_MAX, &all, &nall),
        RC_OK);
    CHECK_INT(nall, AUDIT_ACCT_KEEP);
    CHECK_RC(audit_account_records(e.f.app.store, &e.f.a, "acct-a", 0, 3, &r, &n, &older), RC_OK);
    CHECK_INT(n, 3);
    CHECK_STR(r[0].ev, "test.event");
    CHECK_STR(auditlog_field(&r[0], "n"), "x");
    CHECK_RC(audit_account_records(e.f.app.store, &e.f.a, "", 0, 3, &r, &n, &older), RC_MALFORMED);
    CHECK_RC(audit_account_records(e.f.app.store, &e.f.a, "acct-a", 0, AUDIT_ACCT_PAGE + 1, &r, &n,
                                   &older),
             RC_MALFORMED);
    env_down(&e);
}

TEST(access_log_reindex_rebuilds_a_lost_index)
{
    struct env e;
    struct access_view v;
    struct account_result res;
    uint64_t n = 0;

    REQUIRE(env_up(&e) == 0);
    append_all(&e.f.app);
    CHECK_RC(store_del(e.f.app.store, store_key(&e.f.a, "audit", SPAN("chain"), ":acct:acct-a")),
             RC_OK);
    REQUIRE(env_login(&e, "acct-a") == 0);
    CHECK_RC(access_log_view(&e.f.app, &e.f.a, &e.ctx, 0, &v, &res), RC_OK);
    CHECK_INT(v.n, 0); /* the records are in the chain, not in the index */
    CHECK_RC(audit_reindex(e.f.app.store, &n, NULL), RC_OK);
    CHECK(n >= 10); /* every record read, checkpoints included */
    CHECK_RC(audit_reindex(e.f.app.store, &n, NULL), RC_OK); /* idempotent */
    CHECK_RC(access_log_view(&e.f.app, &e.f.a, &e.ctx, 0, &v, &res), RC_OK);
    CHECK_INT(v.n, 8);
    CHECK_INT(v.entries[7].kind, ACCESS_LOOKUP);
    env_down(&e);
}

TEST(access_log_without_a_session_is_the_account_login)
{
    struct env e;
    struct access_view v;
    struct account_result res;
    struct account_ctx ctx = {SPAN(""), SPAN("bind"), "en", false};

    REQUIRE(env_up(&e) == 0);
    CHECK_RC(access_log_view(&e.f.app, &e.f.a, &ctx, 0, &v, &res), RC_OK);
    CHECK_INT(res.kind, ACCOUNT_LOGIN);
    REQUIRE(res.location);
    CHECK(strstr(res.location, "client_id=authd-account") != NULL);
    env_down(&e);
}

TEST(access_log_store_down_is_an_error_page)
{
    struct env e;
    struct access_view v;
    struct account_result res;
    struct store *real;

    REQUIRE(env_up(&e) == 0);
    REQUIRE(env_login(&e, "acct-a") == 0);
    real = e.f.app.store;
    e.f.app.store = &fake_store_down;
    CHECK_RC(access_log_view(&e.f.app, &e.f.a, &e.ctx, 0, &v, &res), RC_UNAVAILABLE);
    CHECK_INT(res.kind, ACCOUNT_ERROR);
    e.f.app.store = real;
    env_down(&e);
}

TEST(auditlog_read_refuses_what_is_not_a_record)
{
    struct arena a;
    struct auditlog_rec r;

    arena_init(&a, 0);
    CHECK_RC(auditlog_read(&a,
                           SPAN("{\"ev\":\"x\",\"f\":{\"b\":\"2\",\"a\":\"1\"},\"seq\":3,"
                                "\"ts\":5}"),
                           &r),
             RC_OK);
    CHECK_INT(r.nf, 2);
    CHECK_STR(r.f[0], "a"); /* sorted by name */
    CHECK_STR(auditlog_field(&r, "b"), "2");
    CHECK(auditlog_field(&r, "c") == NULL);
    CHECK_RC(auditlog_read(&a, SPAN("not json"), &r), RC_MALFORMED);
    CHECK_RC(auditlog_read(&a, SPAN("{\"ev\":\"x\",\"seq\":0,\"ts\":5}"), &r), RC_MALFORMED);
    CHECK_RC(auditlog_read(&a, SPAN("{\"seq\":1,\"ts\":5}"), &r), RC_MALFORMED);
    CHECK_RC(auditlog_read(&a, SPAN("{\"ev\":\"x\",\"f\":{\"a\":1},\"seq\":1,\"ts\":5}"), &r),
             RC_MALFORMED);
    CHECK_RC(auditlog_read(&a, SPAN("{\"ev\":\"x\",\"f\":[],\"seq\":1,\"ts\":5}"), &r),
             RC_MALFORMED);
    arena_clear(&a);
}
