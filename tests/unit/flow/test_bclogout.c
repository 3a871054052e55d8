/* flow/bclogout and flow/logout: the back-off, the logout token, the worker step against
 * the memory store and a fake outbound port (down, 500, then 200), give-up, and the
 * /end_session parameter parser. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/secrets_file.h"
#include "compose/compose.h"
#include "conf/policy.h"
#include "core/form.h"
#include "core/jose.h"
#include "fakes.h"
#include "flow/bclogout.h"
#include "flow/logout.h"
#include "log/log.h"
#include "port/keys.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200
#define ISS "https://id.example"

/* An outbound port that answers what the test says and keeps the last body. */
struct fake_ob {
    struct outbound o;
    enum rc rc;
    int status;
    int calls;
    char url[256], type[64];
    char body[20000];
};

static enum rc
fake_post(struct outbound *o, const struct outbound_req *req, struct outbound_resp *resp)
{
    struct fake_ob *f = (struct fake_ob *)o;

    f->calls++;
    snprintf(f->url, sizeof(f->url), "%s", req->url);
    snprintf(f->body, sizeof(f->body), "%.*s", (int)req->body.len, (const char *)req->body.p);
    snprintf(f->type, sizeof(f->type), "%s", req->content_type ? req->content_type : "");
    resp->status = f->status;
    return f->rc;
}

static const struct outbound_ops fake_ops = {"fake", fake_post, NULL};

static struct {
    char dir[64], master[96];
    struct config cfg;
    struct app app;
    struct fake_keys keys;
    struct fake_ob ob;
    struct arena a;
} F;

static const char policy_text[] =
    "[client rp]\ntype = confidential\nauth_method = client_secret_basic\n"
    "secret_hash = sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
    "redirect_uris = https://rp.example/cb\nbackchannel_logout_uri = https://rp.example/bc\n";

static int
fix_up(void)
{
    struct config_error err = {0};
    struct policy *p = NULL;
    struct buf jwk;

    memset(&F, 0, sizeof(F));
    fake_now = NOW;
    snprintf(F.dir, sizeof(F.dir), "/tmp/authd-bcl-XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(F.master, sizeof(F.master), "%s/master.key", F.dir);
    log_setup(LOG_ERROR + 1, 2); /* quiet: failures are expected here */
    F.cfg = (struct config){.issuer = ISS,
                            .backchannel_retry_min_ms = 1000,
                            .backchannel_retry_max_ms = 4000,
                            .backchannel_give_up_s = 60};
    F.app = (struct app){.cfg = &F.cfg, .clock = &fake_clock, .rng = &rng_system};
    pthread_mutex_init(&F.app.policy_mu, NULL);
    F.keys.k.ops = &fake_keys_ops;
    F.app.keys = &F.keys.k;
    F.ob.o.ops = &fake_ops;
    arena_init(&F.a, 0);
    buf_init(&jwk, 0);
    if (secrets_file_open(F.master, true, &F.app.secrets, NULL) != RC_OK
        || jose_key_generate(JOSE_ES256, &jwk) != RC_OK || jose_keyset_new(&F.keys.ks) != RC_OK
        || jose_keyset_add_jwk(F.keys.ks, buf_span(&jwk), JOSE_KEY_SIGN, NULL) != RC_OK
        || jose_keyset_seal(F.keys.ks) != RC_OK
        || compose_store_open("memory:", NULL, &F.app.store, NULL) != RC_OK
        || policy_parse("t.conf", policy_text, strlen(policy_text), &p, &err) != RC_OK) {
        buf_clear(&jwk);
        return -1;
    }
    buf_clear(&jwk);
    F.app.policy = p;
    return 0;
}

static void
fix_down(void)
{
    char cmd[128];

    policy_release(F.app.policy);
    jose_keyset_release(F.keys.ks);
    store_free(F.app.store);
    arena_clear(&F.a);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", F.dir);
    secrets_free(F.app.secrets);
    log_setup(LOG_INFO, 2);
}

static int64_t
queued(void)
{
    int64_t n = -1;

    store_q_len(F.app.store, store_key(&F.a, "bcl", SPAN("q"), NULL), &n);
    return n;
}

TEST(bclogout_backoff_doubles_caps_and_jitters_in_the_upper_half)
{
    CHECK(bclogout_backoff_ms(1000, 300000, 1, 1.0) == 1000);
    CHECK(bclogout_backoff_ms(1000, 300000, 1, 0.0) == 500);
    CHECK(bclogout_backoff_ms(1000, 300000, 3, 1.0) == 4000);
    CHECK(bclogout_backoff_ms(1000, 300000, 40, 1.0) == 300000); /* capped, no overflow */
    CHECK(bclogout_backoff_ms(1000, 300000, 40, 0.0) == 150000);
    CHECK(bclogout_backoff_ms(5000, 10, 1, 1.0) == 5000);    /* max below min: min wins */
    CHECK(bclogout_backoff_ms(1000, 4000, 2, 7.0) == 2000);  /* jitter clamped */
    CHECK(bclogout_backoff_ms(1000, 4000, 2, -1.0) == 1000); /* jitter clamped */
}

TEST(bclogout_token_has_the_claims_of_section_2_4_and_no_nonce)
{
    struct span tok, payload;
    struct jose_header hdr;
    struct jose_verify_opts vo = {JOSE_ES256, "logout+jwt"};
    struct jose_claims_opts co = {.iss = ISS, .aud = "rp", .now = NOW};
    json_t *o;

    REQUIRE(fix_up() == 0);
    CHECK_RC(bclogout_token(&F.app, &F.a, "rp", "SID", "SUB", &tok), RC_OK);
    CHECK_RC(jose_verify(F.keys.ks, &vo, tok, &F.a, &payload, &hdr, NULL), RC_OK);
    CHECK_RC(jose_claims_check(payload, &co, NULL), RC_OK);
    o = json_loadb((const char *)payload.p, payload.len, 0, NULL);
    CHECK(o != NULL);
    CHECK(json_object_get(o, "nonce") == NULL);
    CHECK(strcmp(json_string_value(json_object_get(o, "sid")), "SID") == 0);
    CHECK(strcmp(json_string_value(json_object_get(o, "sub")), "SUB") == 0);
    CHECK(json_is_string(json_object_get(o, "jti")));
    CHECK(json_integer_value(json_object_get(o, "exp")) == NOW + BCLOGOUT_TOKEN_TTL);
    CHECK(json_is_object(json_object_get(json_object_get(o, "events"), BCLOGOUT_EVENT)));
    json_decref(o);
    fix_down();
}

TEST(bclogout_enqueue_rejects_empty_values)
{
    REQUIRE(fix_up() == 0);
    CHECK_RC(bclogout_enqueue(&F.app, &F.a, "", "sid", "sub"), RC_MALFORMED);
    CHECK_RC(bclogout_enqueue(&F.app, &F.a, "rp", NULL, "sub"), RC_MALFORMED);
    CHECK(queued() == 0);
    fix_down();
}

TEST(bclogout_worker_retries_a_down_then_failing_rp_until_2xx)
{
    REQUIRE(fix_up() == 0);
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_NOT_FOUND);
    CHECK_RC(bclogout_enqueue(&F.app, &F.a, "rp", "SID", "SUB"), RC_OK);
    F.ob.rc = RC_UNAVAILABLE; /* connection refused */
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_OK);
    CHECK(F.ob.calls == 1 && strcmp(F.ob.url, "https://rp.example/bc") == 0);
    CHECK(strncmp(F.ob.body, "logout_token=ey", 15) == 0);
    CHECK(strcmp(F.ob.type, "application/x-www-form-urlencoded") == 0);
    CHECK(queued() == 1);
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_NOT_FOUND); /* backing off */
    fake_now += 1;
    F.ob.rc = RC_OK, F.ob.status = 500;
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_OK);
    CHECK(F.ob.calls == 2 && queued() == 1);
    fake_now += 2;
    F.ob.status = 204; /* any 2xx is success (some frameworks answer 204) */
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_OK);
    CHECK(F.ob.calls == 3 && queued() == 0);
    fix_down();
}

TEST(bclogout_gives_up_after_the_configured_time)
{
    REQUIRE(fix_up() == 0);
    CHECK_RC(bclogout_enqueue(&F.app, &F.a, "rp", "SID", "SUB"), RC_OK);
    F.ob.rc = RC_UNAVAILABLE;
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_OK);
    fake_now += 61;
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_OK);
    CHECK(queued() == 0);
    fix_down();
}

TEST(bclogout_drops_items_of_clients_without_a_backchannel_uri)
{
    REQUIRE(fix_up() == 0);
    CHECK_RC(bclogout_enqueue(&F.app, &F.a, "gone", "SID", "SUB"), RC_OK);
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_OK);
    CHECK(F.ob.calls == 0 && queued() == 0);
    store_q_push(F.app.store, store_key(&F.a, "bcl", SPAN("q"), NULL), SPAN("{not json"), NOW);
    CHECK_RC(bclogout_run_once(&F.app, &F.ob.o), RC_OK); /* a malformed item is dropped */
    CHECK(queued() == 0);
    fix_down();
}

static enum rc
parse(const char *q, struct logout_req *r)
{
    static struct arena a;
    struct form f;
    enum rc rc;

    arena_clear(&a);
    if ((rc = form_parse(&a, (const uint8_t *)q, strlen(q), &f, NULL)) != RC_OK)
        return rc;
    return logout_parse(&f, r, NULL);
}

TEST(logout_parse_rejects_long_values_and_a_bad_confirm)
{
    struct logout_req r;
    char big[3000];

    CHECK_RC(parse("client_id=rp&state=x&post_logout_redirect_uri=https%3A%2F%2Fa%2F", &r), RC_OK);
    CHECK(span_eq_str(r.state, "x") && !r.confirm && r.id_token_hint.p == NULL);
    CHECK_RC(parse("confirm=1&csrf=ab", &r), RC_OK);
    CHECK(r.confirm);
    CHECK_RC(parse("confirm=yes", &r), RC_MALFORMED);
    CHECK_RC(parse("state=a&state=b", &r), RC_MALFORMED);
    memset(big, 'a', sizeof(big));
    memcpy(big, "state=", 6);
    big[sizeof(big) - 1] = 0;
    CHECK_RC(parse(big, &r), RC_MALFORMED);
}

TEST(logout_csrf_needs_a_binding)
{
    char out[65];

    REQUIRE(fix_up() == 0);
    CHECK_RC(logout_csrf(&F.app, SPAN(""), out), RC_MALFORMED);
    CHECK_RC(logout_csrf(&F.app, SPAN("bind"), out), RC_OK);
    CHECK(strlen(out) == 64);
    fix_down();
}
