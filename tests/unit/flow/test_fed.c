/* flow/fed: enrolment, the anchor's statements and trust chain resolution with its cache,
 * over the memory store and a fake outbound client that serves a leaf's configuration
 * (signed here) and the anchor's endpoints (this app, as the anchor and the resolver). */
#include <string.h>

#include "conf/policy.h"
#include "core/fedstmt.h"
#include "core/form.h"
#include "core/jsonget.h"
#include "fakes.h"
#include "flow/fed.h"
#include "port/outbound.h"
#include "test.h"

#define TA   "https://ta.example"
#define LEAF "https://leaf.example"
#define MARK TA "/trust-marks/province-idp"
#define NOW  1800000000
#define FETCH TA "/federation/fetch?sub="

struct fake_out {
    struct outbound o;
    struct fake_app *fa;
    struct jose_keyset *leaf;
    int fetches; /* requests served */
    int elsewhere; /* of which to an address other than the anchor's */
    bool down;   /* answer RC_UNAVAILABLE */
    bool rp;     /* the leaf also publishes openid_relying_party metadata (a broker) */
};

static struct span
leaf_configuration(struct fake_out *fo, struct arena *a)
{
    struct span jwks = jose_keyset_jwks(fo->leaf), out = {0};
    const char *rp = !fo->rp
                         ? ""
                         : arena_printf(a,
                                        ",\"openid_relying_party\":{\"redirect_uris\":[\"" LEAF
                                        "/federation/callback\"],\"scope\":\"openid profile\","
                                        "\"backchannel_logout_uri\":\"" LEAF "/bc\",\"jwks\":%.*s}",
                                        (int)jwks.len, (const char *)jwks.p);
    char *claims = arena_printf(
        a,
        "{\"iss\":\"" LEAF "\",\"sub\":\"" LEAF "\",\"iat\":%lld,\"exp\":%lld,\"jwks\":%.*s,"
        "\"authority_hints\":[\"" TA "\"],\"metadata\":{\"openid_provider\":{\"issuer\":\"" LEAF
        "\",\"id_token_signing_alg_values_supported\":[\"ES256\",\"RS256\"]}%s}}",
        (long long)fake_now, (long long)fake_now + 600, (int)jwks.len, (const char *)jwks.p, rp);
    jose_sign(fo->leaf, JOSE_ES256, FEDSTMT_TYP, span_str(claims), a, &out, NULL);
    return out;
}

static enum rc
fake_send(struct outbound *o, const struct outbound_req *req, struct outbound_resp *resp)
{
    struct fake_out *fo = (struct fake_out *)o;
    struct app *app = &fo->fa->app;
    struct arena a;
    struct span body = {0};
    enum rc rc = RC_OK;

    if (fo->down)
        return RC_UNAVAILABLE;
    fo->fetches++;
    if (strncmp(req->url, TA "/", strlen(TA "/")) != 0)
        fo->elsewhere++;
    arena_init(&a, 1 << 20);
    if (strcmp(req->url, LEAF "/.well-known/openid-federation") == 0)
        body = leaf_configuration(fo, &a);
    else if (strcmp(req->url, TA "/.well-known/openid-federation") == 0)
        rc = fed_entity_configuration(app, SPAN("{\"issuer\":\"" TA "\"}"), &a, &body, NULL);
    else if (strncmp(req->url, FETCH, strlen(FETCH)) == 0) {
        struct span sub = {0};
        const char *q = req->url + strlen(FETCH);
        rc = form_decode(&a, span_str(q), &sub);
        if (rc == RC_OK)
            rc = fed_fetch(app, arena_span_dup(&a, sub), &a, &body, NULL);
    } else
        rc = RC_NOT_FOUND;
    resp->status = rc == RC_OK ? 200 : 404;
    resp->len = 0;
    if (rc == RC_OK && body.len <= resp->cap) {
        memcpy(resp->buf, body.p, body.len);
        resp->len = body.len;
    }
    arena_clear(&a);
    return RC_OK;
}

static const struct outbound_ops fake_out_ops = {"fake", fake_send, NULL};

struct fixture {
    struct fake_app fa;
    struct fake_out fo;
    struct fed fed;
};

static const char policy[] = "{\"openid_provider\":{\"id_token_signing_alg_values_supported\":"
                             "{\"subset_of\":[\"ES256\",\"ES384\"]},\"service_documentation\":"
                             "{\"value\":\"" TA "/docs\"}}}";

static int
up(struct fixture *x)
{
    struct buf jwk;

    memset(x, 0, sizeof(*x));
    if (fake_app_up(&x->fa, "", NOW) != 0)
        return -1;
    x->fa.cfg.federation_role = "anchor";
    x->fa.cfg.federation_entity_id = TA;
    x->fa.cfg.federation_statement_lifetime_s = 3600;
    x->fa.cfg.federation_cache_max_s = 3600;
    x->fo.o.ops = &fake_out_ops;
    x->fo.fa = &x->fa;
    buf_init(&jwk, 0);
    if (jose_key_generate(JOSE_ES256, &jwk) != RC_OK || jose_keyset_new(&x->fo.leaf) != RC_OK
        || jose_keyset_add_jwk(x->fo.leaf, buf_span(&jwk), JOSE_KEY_SIGN, NULL) != RC_OK
        || jose_keyset_seal(x->fo.leaf) != RC_OK)
        return buf_clear(&jwk), -1;
    buf_clear(&jwk);
    /* the app is the anchor (its token key signs as the federation key here) */
    x->fed = (struct fed){.keys = &x->fa.keys.k, .out = &x->fo.o, .nanchors = 1};
    x->fed.anchors[0] = (struct fed_anchor){TA, x->fa.keys.ks, json_pack("[s]", MARK)};
    x->fa.app.fed = &x->fed;
    return fed_clients_new(&x->fed.clients) == RC_OK ? 0 : -1;
}

static void
down(struct fixture *x)
{
    jose_keyset_release(x->fo.leaf);
    json_decref(x->fed.anchors[0].required_marks);
    fed_clients_free(x->fed.clients);
    x->fa.app.fed = NULL;
    fake_app_down(&x->fa);
}

static enum rc
enroll_leaf(struct fixture *x, const char *marks)
{
    return fed_enroll(&x->fa.app, LEAF, jose_keyset_jwks(x->fo.leaf), span_str(policy),
                      (struct span){0}, marks, NULL);
}

TEST(fed_new_parses_the_trust_anchors_file)
{
    struct fixture x;
    struct fed *f = NULL;
    struct rc_info ri = {0};
    struct span jwks;
    char *text;

    REQUIRE(up(&x) == 0);
    jwks = jose_keyset_jwks(x.fo.leaf);
    text = arena_printf(&x.fa.a,
                        "[{\"entity_id\":\"" TA "\",\"jwks\":%.*s,"
                        "\"required_trust_marks\":[\"" MARK "\"]},"
                        "{\"entity_id\":\"https://ta2.example\",\"jwks\":%.*s}]",
                        (int)jwks.len, (const char *)jwks.p, (int)jwks.len, (const char *)jwks.p);
    REQUIRE(fed_new(NULL, span_str(text), NULL, &f, &ri) == RC_OK);
    CHECK_INT(f->nanchors, 2);
    CHECK(fed_anchor_find(f, "https://ta2.example") == &f->anchors[1]);
    CHECK(json_array_size(f->anchors[0].required_marks) == 1);
    CHECK(fed_anchor_find(f, "https://ta3.example") == NULL);
    fed_free(f);
    CHECK_RC(fed_new(NULL, SPAN("{}"), NULL, &f, NULL), RC_MALFORMED);
    CHECK_RC(
        fed_new(NULL, SPAN("[{\"entity_id\":\"" TA "\",\"jwks\":{\"keys\":[]}}]"), NULL, &f, NULL),
        RC_MALFORMED);
    CHECK_RC(fed_new(NULL, SPAN("[{\"jwks\":{\"keys\":[]}}]"), NULL, &f, NULL), RC_MALFORMED);
    down(&x);
}

TEST(fed_enroll_refuses_bad_input)
{
    struct fixture x;
    struct rc_info ri = {0};

    REQUIRE(up(&x) == 0);
    CHECK_RC(fed_enroll(&x.fa.app, "leaf.example", jose_keyset_jwks(x.fo.leaf), (struct span){0},
                        (struct span){0}, NULL, &ri),
             RC_MALFORMED);
    CHECK_STR(ri.field, "entity_id");
    CHECK_RC(fed_enroll(&x.fa.app, LEAF "/{x}", jose_keyset_jwks(x.fo.leaf), (struct span){0},
                        (struct span){0}, NULL, NULL),
             RC_MALFORMED);
    CHECK_RC(fed_enroll(&x.fa.app, LEAF, SPAN("{\"keys\":[]}"), (struct span){0}, (struct span){0},
                        NULL, NULL),
             RC_MALFORMED);
    CHECK_RC(fed_enroll(&x.fa.app, LEAF, jose_keyset_jwks(x.fo.leaf),
                        SPAN("{\"t\":{\"p\":{\"add\":[\"a\"],\"one_of\":[\"a\"]}}}"),
                        (struct span){0}, NULL, NULL),
             RC_DENIED);
    CHECK_RC(fed_enroll(&x.fa.app, LEAF, jose_keyset_jwks(x.fo.leaf), SPAN("[]"), (struct span){0},
                        NULL, NULL),
             RC_MALFORMED);
    CHECK_RC(fed_remove(&x.fa.app, LEAF, NULL), RC_NOT_FOUND);
    down(&x);
}

TEST(fed_resolve_applies_policy_caches_and_refreshes)
{
    struct fixture x;
    struct fed_resolved r;
    struct rc_info ri = {0};
    json_t *op;
    int n;

    REQUIRE(up(&x) == 0);
    REQUIRE(enroll_leaf(&x, MARK) == RC_OK);
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, &ri), RC_OK);
    op = json_object_get(r.metadata, "openid_provider");
    CHECK(json_array_size(json_object_get(op, "id_token_signing_alg_values_supported")) == 1);
    CHECK(jsonget_str_is(json_object_get(op, "service_documentation"), TA "/docs"));
    CHECK(json_array_size(r.trust_chain) == 3);
    CHECK(json_array_size(r.trust_marks) == 1);
    CHECK_INT(r.exp, NOW + 600); /* the leaf's, the earliest */
    CHECK(!r.cached);
    fed_resolved_clear(&r);
    n = x.fo.fetches;
    CHECK(n == 3);
    /* warm: nothing fetched, even with every entity unreachable */
    x.fo.down = true;
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, NULL), RC_OK);
    CHECK(r.cached);
    fed_resolved_clear(&r);
    CHECK_INT(x.fo.fetches, n);
    /* a refresh drops the cache: unreachable now refuses */
    CHECK_RC(fed_refresh(&x.fa.app, NULL), RC_OK);
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, &ri), RC_UNAVAILABLE);
    CHECK_INT(ri.why, RC_WHY_FED_UNREACHABLE);
    /* removed at the anchor: refused once the cache is gone */
    x.fo.down = false;
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, NULL), RC_OK);
    fed_resolved_clear(&r);
    CHECK_RC(fed_remove(&x.fa.app, LEAF, NULL), RC_OK);
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, NULL), RC_OK); /* cached */
    fed_resolved_clear(&r);
    fake_now += 601; /* past the chain's earliest exp */
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_STATEMENT);
    down(&x);
}

TEST(fed_resolve_refusals)
{
    struct fixture x;
    struct fed_resolved r;
    struct rc_info ri = {0};

    REQUIRE(up(&x) == 0);
    REQUIRE(enroll_leaf(&x, NULL) == RC_OK); /* no trust mark */
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, "https://other.example", &x.fa.a, &r, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_ANCHOR);
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_TRUST_MARK);
    /* enrolled with keys other than the leaf's: its configuration fails the anchor's check */
    json_array_clear(x.fed.anchors[0].required_marks);
    REQUIRE(fed_enroll(&x.fa.app, LEAF, jose_keyset_jwks(x.fa.keys.ks), span_str(policy),
                       (struct span){0}, NULL, NULL)
            == RC_OK);
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_STATEMENT);
    /* the leaf's metadata breaks the policy (essential missing) */
    REQUIRE(fed_enroll(&x.fa.app, LEAF, jose_keyset_jwks(x.fo.leaf),
                       SPAN("{\"openid_provider\":{\"jwks_uri\":{\"essential\":true}}}"),
                       (struct span){0}, NULL, NULL)
            == RC_OK);
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_POLICY);
    /* a constraint: no intermediates, names under .example only -> fine; excluded -> not */
    REQUIRE(fed_enroll(&x.fa.app, LEAF, jose_keyset_jwks(x.fo.leaf), (struct span){0},
                       SPAN("{\"naming_constraints\":{\"excluded\":[\"leaf.example\"]}}"), NULL,
                       NULL)
            == RC_OK);
    CHECK_RC(fed_resolve(&x.fa.app, LEAF, TA, &x.fa.a, &r, &ri), RC_DENIED);
    CHECK_INT(ri.why, RC_WHY_FED_CONSTRAINT);
    down(&x);
}

TEST(fed_client_registers_a_relying_party_automatically)
{
    struct fixture x;
    const struct policy_client *c, *again;
    int fetches;

    REQUIRE(up(&x) == 0);
    REQUIRE(enroll_leaf(&x, MARK) == RC_OK);
    /* an OP-only leaf is no client (and is remembered as refused for FED_REFUSED_TTL_S) */
    CHECK(fed_client(&x.fa.app, SPAN(LEAF)) == NULL);
    REQUIRE(fed_refresh(&x.fa.app, NULL) == RC_OK);
    x.fo.rp = true;
    fake_now += FED_REFUSED_TTL_S + 1;
    c = fed_client(&x.fa.app, SPAN(LEAF));
    REQUIRE(c != NULL);
    CHECK_STR(c->id, LEAF);
    CHECK(c->auth == AUTH_PRIVATE_KEY_JWT && c->type == CLIENT_CONFIDENTIAL);
    CHECK(c->require_par && c->pkce_required && c->grants == GRANT_AUTHORIZATION_CODE);
    CHECK(c->subject_type == SUBJECT_PAIRWISE);
    CHECK_STR(c->sector, LEAF);
    CHECK_INT(c->redirect_uris.n, 1);
    CHECK_STR(c->redirect_uris.v[0], LEAF "/federation/callback");
    CHECK_STR(c->backchannel_logout_uri, LEAF "/bc");
    CHECK_INT(c->scopes.n, 2);
    CHECK(c->jwks && strstr(c->jwks, "\"keys\""));
    /* kept until the chain's exp: no fetch for the second lookup */
    fetches = x.fo.fetches;
    again = fed_client(&x.fa.app, SPAN(LEAF));
    CHECK(again == c);
    CHECK_INT(x.fo.fetches, fetches);
    /* past the chain's exp it is resolved and built again */
    fake_now += 700;
    REQUIRE(fed_refresh(&x.fa.app, NULL) == RC_OK);
    again = fed_client(&x.fa.app, SPAN(LEAF));
    CHECK(again != NULL && again != c);
    CHECK(x.fo.fetches > fetches);
    /* not entity ids, or entities that do not resolve: no client, and no fetch for the
     * former */
    fetches = x.fo.fetches;
    CHECK(fed_client(&x.fa.app, SPAN("demo-app")) == NULL);
    CHECK(fed_client(&x.fa.app, SPAN("ftp://leaf.example")) == NULL);
    CHECK_INT(x.fo.fetches, fetches);
    CHECK(fed_client(&x.fa.app, SPAN("https://nobody.example")) == NULL);
    x.fo.down = true;
    CHECK(fed_client(&x.fa.app, SPAN("https://other.example")) == NULL);
    down(&x);
}

TEST(fed_client_asks_the_anchor_before_fetching_the_entity)
{
    struct fixture x;
    int fetches;

    REQUIRE(up(&x) == 0);
    x.fo.rp = true;
    CHECK(fed_client_would_fetch(&x.fa.app, SPAN(LEAF)));
    CHECK(!fed_client_would_fetch(&x.fa.app, SPAN("https://user@leaf.example")));
    CHECK_INT(x.fo.fetches, 0);
    /* not enrolled: the anchor is asked and answers no statement; the leaf itself is never
     * contacted */
    CHECK(fed_client(&x.fa.app, SPAN(LEAF)) == NULL);
    CHECK(!fed_client_would_fetch(&x.fa.app, SPAN(LEAF)));
    CHECK(x.fo.fetches > 0);
    CHECK_INT(x.fo.elsewhere, 0);
    /* the negative cache: the same id again within FED_REFUSED_TTL_S costs no fetch, even
     * once enrolled */
    fetches = x.fo.fetches;
    for (int i = 0; i < 20; i++)
        CHECK(fed_client(&x.fa.app, SPAN(LEAF)) == NULL);
    REQUIRE(enroll_leaf(&x, MARK) == RC_OK);
    CHECK(fed_client(&x.fa.app, SPAN(LEAF)) == NULL);
    CHECK_INT(x.fo.fetches, fetches);
    /* past it, the anchor vouches for the enrolled leaf: fetched, resolved, registered */
    fake_now += FED_REFUSED_TTL_S + 1;
    CHECK(fed_client_would_fetch(&x.fa.app, SPAN(LEAF)));
    CHECK(fed_client(&x.fa.app, SPAN(LEAF)) != NULL);
    CHECK(x.fo.elsewhere > 0);
    CHECK(!fed_client_would_fetch(&x.fa.app, SPAN(LEAF))); /* live */
    /* another id the anchor does not know: only the anchor is asked */
    fetches = x.fo.elsewhere;
    CHECK(fed_client(&x.fa.app, SPAN("https://internal.example/admin")) == NULL);
    CHECK_INT(x.fo.elsewhere, fetches);
    down(&x);
}

TEST(fed_client_refuses_what_is_no_entity_identifier_without_a_fetch)
{
    static const char *const bad[] = {
        "https://user@leaf.example",   "https://leaf.example/?a=1", "https://leaf.example#f",
        "https:///path",               "https://",                  "http://leaf.example",
        "https://leaf.example/a b",    "https://a:b@leaf.example/", "file:///etc/passwd",
        "https://leaf.example\\@h.example",
    };
    struct fixture x;

    REQUIRE(up(&x) == 0);
    x.fo.rp = true;
    REQUIRE(enroll_leaf(&x, MARK) == RC_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(fed_client(&x.fa.app, span_str(bad[i])) == NULL);
    CHECK_INT(x.fo.fetches, 0);
    /* the well-formed id of the same entity registers */
    CHECK(fed_client(&x.fa.app, SPAN(LEAF)) != NULL);
    down(&x);
}
