/* flow/pending: the record, its caps, the state machine, poll bookkeeping and single-use
 * completion, with the memory store and the fake clock. */
#include <string.h>

#include "compose/compose.h"
#include "fakes.h"
#include "flow/pending.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200

struct fixture {
    struct app app;
    struct arena a;
};

static int
setup(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    fake_now = NOW;
    f->app.clock = &fake_clock;
    f->app.rng = &rng_system;
    arena_init(&f->a, 0);
    return compose_store_open("memory:", NULL, &f->app.store, NULL) == RC_OK ? 0 : -1;
}

static void
teardown(struct fixture *f)
{
    arena_clear(&f->a);
    store_free(f->app.store);
}

/* A new device-grant interaction polled every 5 s. */
static enum rc
device_new(struct fixture *f, struct pending *p)
{
    memset(p, 0, sizeof(*p));
    p->kind = PENDING_DEVICE;
    p->client_id = "kiosk";
    p->scope = "openid profile";
    p->acr = (struct loa){IAL4, AAL1};
    p->interval = 5;
    pending_attr_set(p, "user_code", "WDJB-MJHT");
    return pending_save(&f->app, &f->a, p, 600);
}

TEST(pending_round_trips_every_field)
{
    struct fixture f;
    struct pending p, l;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(device_new(&f, &p), RC_OK);
    CHECK_INT(strlen(p.id), PENDING_ID_LEN);
    CHECK_INT(p.created, NOW);
    CHECK_INT(p.expires, NOW + 600);
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_STR(l.client_id, "kiosk");
    CHECK_STR(l.scope, "openid profile");
    CHECK(l.claims == NULL);
    CHECK_INT(l.acr.ial, IAL4);
    CHECK_INT(l.acr.aal, AAL1);
    CHECK_INT(l.interval, 5);
    CHECK_INT(l.state, PENDING_WAITING);
    CHECK_STR(pending_attr(&l, "user_code"), "WDJB-MJHT");
    CHECK(pending_attr(&l, "nope") == NULL);
    /* one kind never reads another's record */
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_CIBA, span_str(p.id), &l), RC_NOT_FOUND);
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_DEVICE, SPAN("short"), &l), RC_NOT_FOUND);
    teardown(&f);
}

TEST(pending_caps_every_stored_field)
{
    struct fixture f;
    struct pending p;
    char big[PENDING_VALUE_MAX + 2];

    REQUIRE(setup(&f) == 0);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    memset(&p, 0, sizeof(p));
    p.client_id = "c";
    CHECK_RC(pending_attr_set(&p, "v", big), RC_TOO_LARGE);
    big[PENDING_SCOPE_MAX + 1] = 0;
    p.scope = big;
    CHECK_RC(pending_save(&f.app, &f.a, &p, 600), RC_TOO_LARGE);
    CHECK(p.id[0] == 0);
    p.scope = NULL;
    p.client_id = NULL;
    CHECK_RC(pending_save(&f.app, &f.a, &p, 600), RC_MALFORMED);
    p.client_id = "c";
    CHECK_RC(pending_save(&f.app, &f.a, &p, 0), RC_MALFORMED);
    CHECK_RC(pending_save(&f.app, &f.a, &p, PENDING_TTL_MAX + 1), RC_MALFORMED);
    for (size_t i = 0; i < PENDING_ATTR_MAX; i++)
        CHECK_RC(pending_attr_set(&p, arena_printf(&f.a, "a%zu", i), "v"), RC_OK);
    CHECK_RC(pending_attr_set(&p, "one-more", "v"), RC_TOO_LARGE);
    CHECK_RC(pending_attr_set(&p, "a0", "replaced"), RC_OK);
    CHECK_STR(pending_attr(&p, "a0"), "replaced");
    teardown(&f);
}

TEST(pending_expires_by_the_clock)
{
    struct fixture f;
    struct pending p, l;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(device_new(&f, &p), RC_OK);
    fake_now = NOW + 599;
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_WAITING);
    fake_now = NOW + 600;
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_EXPIRED);
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), "acct-1"), RC_EXPIRED);
    CHECK_RC(pending_save(&f.app, &f.a, &l, 0), RC_EXPIRED);
    teardown(&f);
}

TEST(pending_is_decided_once)
{
    struct fixture f;
    struct pending p, l;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(device_new(&f, &p), RC_OK);
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), ""), RC_MALFORMED);
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), "acct-1"), RC_OK);
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), NULL), RC_CONFLICT);
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), "acct-2"), RC_CONFLICT);
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_APPROVED);
    CHECK_STR(l.account_id, "acct-1");
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, SPAN("unknown"), NULL), RC_NOT_FOUND);
    /* a denial */
    CHECK_RC(device_new(&f, &p), RC_OK);
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), NULL), RC_OK);
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_DENIED);
    CHECK(l.account_id == NULL);
    teardown(&f);
}

TEST(pending_poll_too_soon_slows_down)
{
    struct fixture f;
    struct pending p, l;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(device_new(&f, &p), RC_OK);
    CHECK_RC(pending_poll(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.last_poll, NOW);
    fake_now = NOW + 4; /* sooner than 5 s: slow_down, interval 10 from now on */
    CHECK_RC(pending_poll(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_LIMITED);
    CHECK_INT(l.interval, 5 + PENDING_SLOW_DOWN_S);
    fake_now = NOW + 13;
    CHECK_RC(pending_poll(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_LIMITED);
    CHECK_INT(l.interval, 15);
    fake_now = NOW + 28;
    CHECK_RC(pending_poll(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_WAITING);
    CHECK_INT(l.interval, 15);
    /* the approval is seen by the next poll */
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), "acct-1"), RC_OK);
    fake_now = NOW + 43;
    CHECK_RC(pending_poll(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_APPROVED);
    fake_now = NOW + 700;
    CHECK_RC(pending_poll(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_EXPIRED);
    teardown(&f);
}

TEST(pending_completes_once)
{
    struct fixture f;
    struct pending p, l;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(device_new(&f, &p), RC_OK);
    CHECK_RC(pending_decide(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), "acct-1"), RC_OK);
    CHECK_RC(pending_complete(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_APPROVED);
    CHECK_STR(l.account_id, "acct-1");
    CHECK_RC(pending_complete(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_NOT_FOUND);
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_NOT_FOUND);
    /* a poll racing the completion does not bring the record back */
    CHECK_RC(pending_save(&f.app, &f.a, &p, 0), RC_NOT_FOUND);
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_NOT_FOUND);
    teardown(&f);
}

TEST(pending_refuses_a_record_of_another_format)
{
    struct fixture f;
    struct pending l;
    const char *id = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    REQUIRE(setup(&f) == 0);
    /* what /authorize wrote before pending interactions: it is treated as expired */
    CHECK_RC(store_put(f.app.store, store_key(&f.a, "authz", span_str(id), NULL),
                       SPAN("{\"client_id\":\"demo\",\"redirect_uri\":\"x\",\"scope\":\"openid\"}"),
                       600, 0),
             RC_OK);
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_AUTHZ, span_str(id), &l), RC_NOT_FOUND);
    CHECK_RC(store_put(f.app.store, store_key(&f.a, "authz", span_str(id), NULL),
                       SPAN("{\"v\":1,\"client_id\":\"demo\",\"ial\":9,\"aal\":1,\"created\":1,"
                            "\"exp\":2,\"interval\":0,\"poll\":0,\"x\":{}}"),
                       600, 0),
             RC_OK);
    CHECK_RC(pending_load(&f.app, &f.a, PENDING_AUTHZ, span_str(id), &l), RC_NOT_FOUND);
    teardown(&f);
}

TEST(pending_approval_carries_the_approving_session)
{
    struct fixture f;
    struct pending p, l;
    struct pending_approval ap = {"acct-1", "sid-1", "pwd", {IAL3, AAL1}, NOW - 30};
    struct pending_approval bad = ap;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(device_new(&f, &p), RC_OK);
    char amr[PENDING_AMR_MAX + 2];

    memset(amr, 'x', sizeof(amr) - 1), amr[sizeof(amr) - 1] = 0;
    bad.amr = amr;
    CHECK_RC(pending_approve(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &bad), RC_TOO_LARGE);
    bad = ap, bad.account_id = NULL;
    CHECK_RC(pending_approve(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &bad), RC_MALFORMED);
    CHECK_RC(pending_approve(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &ap), RC_OK);
    CHECK_RC(pending_approve(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), NULL), RC_CONFLICT);
    CHECK_RC(pending_complete(&f.app, &f.a, PENDING_DEVICE, span_str(p.id), &l), RC_OK);
    CHECK_INT(l.state, PENDING_APPROVED);
    CHECK_STR(l.account_id, "acct-1");
    CHECK_STR(l.by.sid, "sid-1");
    CHECK_STR(l.by.amr, "pwd");
    CHECK_INT(l.by.loa.ial, IAL3);
    CHECK_INT(l.by.loa.aal, AAL1);
    CHECK_INT(l.by.auth_time, NOW - 30);
    teardown(&f);
}

TEST(pending_polled_kinds_linger_past_expiry)
{
    struct fixture f;
    struct pending p;
    int64_t ttl = 0;

    REQUIRE(setup(&f) == 0);
    CHECK_RC(device_new(&f, &p), RC_OK);
    CHECK_RC(store_ttl(f.app.store, store_key(&f.a, "device", span_str(p.id), NULL), &ttl), RC_OK);
    CHECK(ttl > 600 && ttl <= 600 + PENDING_LINGER_S);
    teardown(&f);
}
