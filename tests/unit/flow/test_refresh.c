/* flow/refresh: token families called directly (test_token.c drives them through /token):
 * what rtf_create writes and for how long, rotation's store effects, refusals that must not
 * revoke, revocation and blocking, and the per-account bound. Memory store, fake clock. */
#include <stdio.h>
#include <string.h>

#include "fakes.h"
#include "flow/refresh.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"
#include "test.h"

#define NOW 1740787200 /* 2025-03-01 00:00 UTC */

/* ttl 3600, idle 600, access 300 + leeway 30: a record lives abs_exp - now + 330 s */
static const char policy_text[] =
    "[tokens]\nrefresh_grace_s = 10\nrefresh_token_idle_ttl = 600\nrefresh_token_ttl = 3600\n"
    "access_token_ttl = 300\nclock_leeway_s = 30\n"
    "[client web]\ntype = confidential\nauth_method = client_secret_post\n"
    "secret_hash = sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
    "redirect_uris = https://rp.example/cb\ngrant_types = authorization_code refresh_token\n"
    "scopes = openid profile\n";

static struct fake_app F;

static int
up(void)
{
    log_setup(LOG_ERROR + 1, 2); /* reuse and bound events are expected here */
    return fake_app_up(&F, policy_text, NOW);
}

static void
down(void)
{
    fake_app_down(&F);
    log_setup(LOG_INFO, 2);
}

static struct rtf
family(bool refresh, const char *sid)
{
    return (struct rtf){.client_id = "web",
                        .account_id = "acct-1",
                        .sid = sid,
                        .scope = "openid profile",
                        .amr = "pwd",
                        .loa = {IAL3, AAL1},
                        .auth_time = NOW - 5,
                        .refresh = refresh};
}

static struct span
fam_key(const char *id, const char *suffix)
{
    return store_key(&F.a, "rtf", span_str(id), suffix);
}

static struct span
field(const char *id, const char *name)
{
    struct store_record r;

    if (store_rec_get(F.app.store, &F.a, fam_key(id, NULL), &r) != RC_OK)
        return (struct span){NULL, 0};
    return store_rec_field(&r, name);
}

static int64_t
ttl_of(struct span key)
{
    int64_t t = -2;

    if (store_ttl(F.app.store, key, &t) != RC_OK)
        return -2;
    return t;
}

/* The memory store counts TTLs on the real clock: allow a second of slack. */
#define CHECK_TTL(key, want)                                                                       \
    do {                                                                                           \
        int64_t t_ = ttl_of(key);                                                                  \
        if (t_ < (want)-1 || t_ > (want))                                                          \
            test_fail(__FILE__, __LINE__, "ttl %lld, want %lld", (long long)t_,                    \
                      (long long)(want));                                                          \
    } while (0)

static void
hmac_hex(const char *tok, char out[65])
{
    struct span s = span_str(tok);

    if (secrets_hmac_hex(F.app.secrets, SECRET_TOKEN, &s, 1, out) != RC_OK)
        out[0] = 0;
}

static enum rc
rotate(const char *client, const char *tok, struct rtf *f, char next[REFRESH_TOKEN_LEN + 1])
{
    return rtf_rotate(&F.app, &F.a, F.p, client, span_str(tok), f, next, NULL);
}

TEST(refresh_create_writes_record_index_and_hashed_token)
{
    struct rtf f = family(true, "sid-1"), g;
    char tok[REFRESH_TOKEN_LEN + 1], h[65];
    struct span *m = NULL;
    size_t n = 0;

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    CHECK_INT(strlen(f.id), RTF_ID_LEN);
    CHECK_INT(strlen(tok), REFRESH_TOKEN_LEN);
    CHECK(memcmp(tok, f.id, RTF_ID_LEN) == 0);
    CHECK_INT(f.created, NOW);
    CHECK_INT(f.abs_exp, NOW + 3600);
    CHECK_INT(f.idle_exp, NOW + 600);
    /* the store holds the keyed hash of the token, never the token */
    hmac_hex(tok, h);
    CHECK_SPAN(field(f.id, "cur"), h);
    CHECK_SPAN(field(f.id, "rt"), "1");
    CHECK_SPAN(field(f.id, "revoked"), "0");
    CHECK_SPAN(field(f.id, "acr"), "urn:authd:acr:ial3:aal1");
    CHECK_TTL(fam_key(f.id, NULL), 3600 + 300 + 30);
    /* the session's set names the family, for logout, and lives as long */
    CHECK_RC(store_set_members(F.app.store, &F.a, store_key(&F.a, "sidfam", SPAN("sid-1"), NULL),
                               &m, &n),
             RC_OK);
    CHECK(n == 1 && span_eq_str(m[0], f.id));
    CHECK_TTL(store_key(&F.a, "sidfam", SPAN("sid-1"), NULL), 3600 + 300 + 30);
    /* read back whole */
    REQUIRE(rtf_get(&F.app, &F.a, span_str(f.id), &g) == RC_OK);
    CHECK_STR(g.client_id, "web");
    CHECK_STR(g.account_id, "acct-1");
    CHECK_STR(g.sid, "sid-1");
    CHECK_STR(g.scope, "openid profile");
    CHECK_STR(g.amr, "pwd");
    CHECK(g.loa.ial == IAL3 && g.loa.aal == AAL1);
    CHECK_INT(g.auth_time, NOW - 5);
    CHECK_INT(g.abs_exp, NOW + 3600);
    CHECK(g.refresh && !g.revoked);
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(tok), &g), RC_OK);
    down();
}

TEST(refresh_create_without_refresh_lives_as_long_as_its_access_tokens)
{
    struct rtf f = family(false, NULL), g;
    char tok[REFRESH_TOKEN_LEN + 1] = "", fake[REFRESH_TOKEN_LEN + 1];
    struct span *m = NULL;
    size_t n = 0;

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    CHECK_INT(tok[0], 0); /* no refresh token written */
    CHECK(f.abs_exp == NOW && f.idle_exp == NOW);
    CHECK(field(f.id, "cur").p == NULL);
    CHECK_TTL(fam_key(f.id, NULL), 300 + 30);
    CHECK_RC(
        store_set_members(F.app.store, &F.a, store_key(&F.a, "sidfam", SPAN(""), NULL), &m, &n),
        RC_NOT_FOUND);
    REQUIRE(rtf_get(&F.app, &F.a, span_str(f.id), &g) == RC_OK);
    CHECK(!g.refresh);
    /* a token shaped for the family is still not one of ours */
    memcpy(fake, f.id, RTF_ID_LEN);
    memset(fake + RTF_ID_LEN, 'A', REFRESH_TOKEN_LEN - RTF_ID_LEN);
    fake[REFRESH_TOKEN_LEN] = 0;
    CHECK_RC(rotate("web", fake, &g, tok), RC_NOT_FOUND);
    down();
}

TEST(refresh_idle_expiry_never_passes_the_absolute_one)
{
    struct policy p;
    struct rtf f = family(true, NULL);
    char tok[REFRESH_TOKEN_LEN + 1], next[REFRESH_TOKEN_LEN + 1];

    REQUIRE(up() == 0);
    p = *F.p;
    p.tokens.refresh_token_idle_ttl = 7200; /* longer than refresh_token_ttl */
    REQUIRE(rtf_create(&F.app, &F.a, &p, &f, tok) == RC_OK);
    CHECK_INT(f.idle_exp, NOW + 3600);
    p.tokens.refresh_token_idle_ttl = 600;
    fake_now = NOW + 3300; /* a rotation near the end slides idle only up to abs_exp */
    REQUIRE(rtf_rotate(&F.app, &F.a, &p, "web", span_str(tok), &f, next, NULL) == RC_OK);
    CHECK_INT(f.idle_exp, NOW + 3600);
    CHECK_SPAN(field(f.id, "idle_exp"), "1740790800");
    CHECK_TTL(fam_key(f.id, NULL), 300 + 330); /* abs_exp - now + 330 */
    down();
}

TEST(refresh_rotate_marks_the_old_token_used_and_hides_the_successor)
{
    struct rtf f = family(true, "sid-1"), g;
    char tok[REFRESH_TOKEN_LEN + 1], next[REFRESH_TOKEN_LEN + 1], h0[65], h1[65];
    char used[80], rawhex[65];
    struct span raw, v;

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    fake_now = NOW + 100;
    REQUIRE(rotate("web", tok, &g, next) == RC_OK);
    CHECK(strcmp(tok, next) != 0);
    CHECK(memcmp(next, f.id, RTF_ID_LEN) == 0); /* same family */
    CHECK_INT(g.idle_exp, NOW + 100 + 600);
    hmac_hex(tok, h0);
    hmac_hex(next, h1);
    CHECK_SPAN(field(f.id, "cur"), h1);
    CHECK_SPAN(field(f.id, "prev"), h0);
    CHECK_SPAN(field(f.id, "rot"), "1740787300");
    CHECK_SPAN(field(f.id, "idle_exp"), "1740787900");
    /* the old hash is marked used, for as long as the record lives */
    snprintf(used, sizeof(used), ":u:%s", h0);
    CHECK_RC(store_get(F.app.store, &F.a, fam_key(f.id, used), &v), RC_OK);
    CHECK_SPAN(v, "1");
    CHECK_TTL(fam_key(f.id, used), 3600 - 100 + 330);
    /* the successor's random part is not in the record as such (only XOR a pad) */
    REQUIRE(
        jose_b64url_decode(span_of(next + RTF_ID_LEN, REFRESH_TOKEN_LEN - RTF_ID_LEN), &F.a, &raw)
        == RC_OK);
    REQUIRE(raw.len == 32);
    for (size_t i = 0; i < 32; i++)
        sprintf(rawhex + 2 * i, "%02x", raw.p[i]);
    CHECK(field(f.id, "succ").len == 64);
    CHECK(!span_eq_str(field(f.id, "succ"), rawhex));
    /* only the current token is live */
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(tok), &g), RC_NOT_FOUND);
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(next), &g), RC_OK);
    down();
}

TEST(refresh_grace_retry_gets_the_same_successor_and_writes_nothing)
{
    struct rtf f = family(true, NULL), g;
    char tok[REFRESH_TOKEN_LEN + 1], next[REFRESH_TOKEN_LEN + 1], again[REFRESH_TOKEN_LEN + 1];
    struct span cur;

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    REQUIRE(rotate("web", tok, &g, next) == RC_OK);
    cur = field(f.id, "cur");
    fake_now = NOW + 10; /* refresh_grace_s: the edge is still inside */
    CHECK_RC(rotate("web", tok, &g, again), RC_OK);
    CHECK_STR(again, next);
    CHECK(span_eq(field(f.id, "cur"), cur));
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(next), &g), RC_OK);
    down();
}

TEST(refresh_refusals_that_must_not_revoke_the_family)
{
    struct rtf f = family(true, NULL), g;
    char tok[REFRESH_TOKEN_LEN + 1], next[REFRESH_TOKEN_LEN + 1], forged[REFRESH_TOKEN_LEN + 1];
    struct rc_info ri = {0};

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    /* anyone who learns a family id (it is the token's prefix) must not be able to revoke
     * the family by guessing: a wrong random part is unknown, not reuse */
    memcpy(forged, tok, sizeof(forged));
    forged[RTF_ID_LEN] = forged[RTF_ID_LEN] == 'A' ? 'B' : 'A';
    CHECK_RC(rtf_rotate(&F.app, &F.a, F.p, "web", span_str(forged), &g, next, &ri), RC_NOT_FOUND);
    CHECK_STR(ri.field, "refresh_token");
    /* another client presenting it is refused */
    CHECK_RC(rotate("other", tok, &g, next), RC_DENIED);
    /* shapes that are not ours never reach the store */
    CHECK_RC(rotate("web", "short", &g, next), RC_NOT_FOUND);
    memcpy(forged, tok, sizeof(forged));
    forged[30] = '+';
    CHECK_RC(rotate("web", forged, &g, next), RC_NOT_FOUND);
    forged[30] = '.';
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(forged), &g), RC_NOT_FOUND);
    /* none of it touched the family: the owner's token still rotates */
    CHECK_SPAN(field(f.id, "revoked"), "0");
    CHECK_RC(rotate("web", tok, &g, next), RC_OK);
    down();
}

TEST(refresh_reuse_after_grace_revokes_every_token_of_the_family)
{
    struct rtf f = family(true, NULL), g;
    char t0[REFRESH_TOKEN_LEN + 1], t1[REFRESH_TOKEN_LEN + 1], t2[REFRESH_TOKEN_LEN + 1];
    char x[REFRESH_TOKEN_LEN + 1];
    struct rc_info ri = {0};

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, t0) == RC_OK);
    REQUIRE(rotate("web", t0, &g, t1) == RC_OK);
    fake_now = NOW + 20;
    REQUIRE(rotate("web", t1, &g, t2) == RC_OK);
    /* t0 is neither current nor previous: its used marker convicts it */
    CHECK_RC(rtf_rotate(&F.app, &F.a, F.p, "web", span_str(t0), &g, x, &ri), RC_DENIED);
    CHECK(g.revoked);
    CHECK_SPAN(field(f.id, "revoked"), "1");
    CHECK_RC(rotate("web", t2, &g, x), RC_DENIED); /* the thief's and the owner's alike */
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(t2), &g), RC_NOT_FOUND);
    down();
}

TEST(refresh_expiry_idle_absolute_and_in_the_grace_window)
{
    struct rtf f = family(true, NULL), g;
    char tok[REFRESH_TOKEN_LEN + 1], next[REFRESH_TOKEN_LEN + 1];

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    fake_now = NOW + 600; /* idle_exp reached */
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(tok), &g), RC_NOT_FOUND);
    CHECK_RC(rotate("web", tok, &g, next), RC_EXPIRED);
    fake_now = NOW + 599;
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(tok), &g), RC_OK);
    /* slide to the end, then the previous token inside its grace window past abs_exp */
    for (fake_now = NOW + 500; fake_now <= NOW + 3500; fake_now += 500) {
        REQUIRE(rotate("web", tok, &g, next) == RC_OK);
        memcpy(tok, next, sizeof(tok));
    }
    fake_now = NOW + 3595;
    REQUIRE(rotate("web", tok, &g, next) == RC_OK);
    fake_now = NOW + 3600;
    CHECK_RC(rotate("web", next, &g, tok), RC_EXPIRED);
    CHECK_RC(rotate("web", tok, &g, next), RC_EXPIRED); /* previous, in grace, but over */
    CHECK_SPAN(field(f.id, "revoked"), "0");            /* expiry is not theft */
    down();
}

TEST(refresh_revoke_keeps_the_record_until_its_access_tokens_expire)
{
    struct rtf f = family(true, NULL), g;
    char tok[REFRESH_TOKEN_LEN + 1], next[REFRESH_TOKEN_LEN + 1];

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    fake_now = NOW + 1000;
    CHECK_RC(rtf_revoke(&F.app, &F.a, F.p, span_str(f.id)), RC_OK);
    CHECK_SPAN(field(f.id, "revoked"), "1");
    CHECK_SPAN(field(f.id, "client"), "web"); /* merged in, not replaced */
    CHECK_TTL(fam_key(f.id, NULL), 3600 - 1000 + 330);
    CHECK_RC(rtf_revoke(&F.app, &F.a, F.p, span_str(f.id)), RC_OK); /* again: fine */
    REQUIRE(rtf_get(&F.app, &F.a, span_str(f.id), &g) == RC_OK);
    CHECK(g.revoked);
    CHECK_RC(rotate("web", tok, &g, next), RC_DENIED);
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(tok), &g), RC_NOT_FOUND);
    CHECK_RC(rtf_revoke(&F.app, &F.a, F.p, SPAN("AAAAAAAAAAAAAAAAAAAAAA")), RC_NOT_FOUND);
    CHECK_RC(rtf_revoke(&F.app, &F.a, F.p, SPAN("short")), RC_NOT_FOUND);
    CHECK_RC(rtf_get(&F.app, &F.a, SPAN("short"), &g), RC_NOT_FOUND);
    down();
}

TEST(refresh_block_takes_an_id_before_it_is_created)
{
    struct rtf f = family(true, "sid-9");
    struct store_op ops[2];
    char tok[REFRESH_TOKEN_LEN + 1];
    size_t n = 0;

    REQUIRE(up() == 0);
    REQUIRE(rtf_new_id(&F.app, &f) == RC_OK);
    CHECK_INT(strlen(f.id), RTF_ID_LEN);
    CHECK_RC(rtf_block(&F.app, &F.a, span_str(f.id), 120), RC_OK);
    CHECK_SPAN(field(f.id, "revoked"), "1");
    CHECK_TTL(fam_key(f.id, NULL), 120);
    CHECK_RC(rtf_block(&F.app, &F.a, span_str(f.id), 120), RC_CONFLICT);
    CHECK_RC(rtf_block(&F.app, &F.a, SPAN("nope"), 120), RC_NOT_FOUND);
    REQUIRE(rtf_create_ops(&F.app, &F.a, F.p, &f, tok, ops, &n) == RC_OK);
    CHECK_INT(n, 2);
    CHECK(ops[0].kind == STORE_OP_REC_PUT && (ops[0].flags & STORE_NX));
    CHECK(ops[1].kind == STORE_OP_SET_ADD && span_eq_str(ops[1].value, f.id));
    CHECK_RC(store_batch(F.app.store, ops, n), RC_CONFLICT);
    CHECK_SPAN(field(f.id, "revoked"), "1"); /* the stand-in stays */
    CHECK(field(f.id, "client").p == NULL);
    down();
}

/* Adds family `id` created at `created` to acct-1's index and returns the index as read. */
static void
index_add(const char *id, int64_t created, struct store_record *idx)
{
    struct rtf f = family(true, NULL);
    struct store_op ops[2];

    memcpy(f.id, id, RTF_ID_LEN + 1);
    f.created = created;
    f.abs_exp = created + 3600;
    if (rtf_index_ops(&F.a, F.p, &f, ops) == RC_OK && ops[1].kind == STORE_OP_REC_GET
        && store_batch(F.app.store, ops, 1) == RC_OK)
        store_rec_get(F.app.store, &F.a, ops[1].key, idx);
}

/* A live family record for id (so that eviction has something to revoke). */
static void
put_family(const char *id)
{
    struct store_field fl[2] = {{SPAN("client"), SPAN("web")}, {SPAN("revoked"), SPAN("0")}};

    store_rec_put(F.app.store, fam_key(id, NULL), fl, 2, 5000, 0);
}

TEST(refresh_account_bound_revokes_the_oldest_live_families)
{
    static const char *const ids[] = {"AAAAAAAAAAAAAAAAAAAAA1", "AAAAAAAAAAAAAAAAAAAAA2",
                                      "AAAAAAAAAAAAAAAAAAAAA3", "AAAAAAAAAAAAAAAAAAAAA4"};
    struct store_record idx = {0}, after;
    struct span k;

    REQUIRE(up() == 0);
    k = store_key(&F.a, "acctrtf", SPAN("acct-1"), NULL);
    /* ids[0] was created first but expired long ago; ids[1] is the oldest live one */
    index_add(ids[0], NOW - 10000, &idx);
    for (int i = 1; i < 4; i++) {
        put_family(ids[i]);
        index_add(ids[i], NOW - 100 * (4 - i), &idx);
    }
    REQUIRE(idx.n == 4);
    CHECK_TTL(k, 3600 + 300 + 30);
    CHECK_RC(rtf_account_bound(&F.app, &F.a, F.p, "acct-1", &idx, 0), RC_OK); /* no bound */
    CHECK_RC(rtf_account_bound(&F.app, &F.a, F.p, "acct-1", &idx, 4), RC_OK); /* within */
    CHECK_SPAN(field(ids[1], "revoked"), "0");
    CHECK_RC(rtf_account_bound(&F.app, &F.a, F.p, "acct-1", &idx, 2), RC_OK);
    CHECK_SPAN(field(ids[1], "revoked"), "1");
    CHECK_TTL(fam_key(ids[1], NULL), 300 + 30 + 1); /* gone once its access tokens are */
    CHECK_SPAN(field(ids[2], "revoked"), "0");
    CHECK_SPAN(field(ids[3], "revoked"), "0");
    REQUIRE(store_rec_get(F.app.store, &F.a, k, &after) == RC_OK);
    CHECK_INT(after.n, 2); /* the expired and the revoked are dropped */
    CHECK(store_rec_field(&after, ids[2]).p && store_rec_field(&after, ids[3]).p);
    CHECK_TTL(k, 3600 + 300 + 30);
    down();
}

TEST(refresh_account_bound_only_rewrites_when_the_extra_entries_are_dead)
{
    static const char *const ids[] = {"BBBBBBBBBBBBBBBBBBBBB1", "BBBBBBBBBBBBBBBBBBBBB2",
                                      "BBBBBBBBBBBBBBBBBBBBB3"};
    struct store_record idx = {0}, after;
    struct store_field junk = {SPAN("not-a-family"), SPAN("1 2")};
    struct span k;

    REQUIRE(up() == 0);
    k = store_key(&F.a, "acctrtf", SPAN("acct-1"), NULL);
    store_rec_put(F.app.store, k, &junk, 1, 100, 0);
    index_add(ids[0], NOW - 20000, &idx); /* dead */
    put_family(ids[1]);
    index_add(ids[1], NOW - 50, &idx);
    put_family(ids[2]);
    index_add(ids[2], NOW - 40, &idx);
    REQUIRE(idx.n == 4);
    CHECK_RC(rtf_account_bound(&F.app, &F.a, F.p, "acct-1", &idx, 2), RC_OK);
    CHECK_SPAN(field(ids[1], "revoked"), "0");
    CHECK_SPAN(field(ids[2], "revoked"), "0");
    REQUIRE(store_rec_get(F.app.store, &F.a, k, &after) == RC_OK);
    CHECK_INT(after.n, 2);
    CHECK(store_rec_field(&after, "not-a-family").p == NULL);
    CHECK(store_rec_field(&after, ids[0]).p == NULL);
    down();
}

TEST(refresh_store_down_fails_closed_and_changes_nothing)
{
    struct rtf f = family(true, "sid-1"), g = family(true, NULL);
    char tok[REFRESH_TOKEN_LEN + 1], next[REFRESH_TOKEN_LEN + 1];
    struct store *mem;

    REQUIRE(up() == 0);
    REQUIRE(rtf_create(&F.app, &F.a, F.p, &f, tok) == RC_OK);
    mem = F.app.store;
    F.app.store = &fake_store_down;
    CHECK_RC(rotate("web", tok, &g, next), RC_UNAVAILABLE); /* never "unknown" */
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(tok), &g), RC_UNAVAILABLE);
    CHECK_RC(rtf_get(&F.app, &F.a, span_str(f.id), &g), RC_UNAVAILABLE);
    CHECK_RC(rtf_revoke(&F.app, &F.a, F.p, span_str(f.id)), RC_UNAVAILABLE);
    CHECK_RC(rtf_block(&F.app, &F.a, span_str(f.id), 60), RC_UNAVAILABLE);
    g = family(true, NULL);
    CHECK_RC(rtf_create(&F.app, &F.a, F.p, &g, next), RC_UNAVAILABLE);
    F.app.store = mem;
    CHECK_SPAN(field(f.id, "revoked"), "0");
    CHECK_RC(rtf_lookup(&F.app, &F.a, span_str(tok), &g), RC_OK); /* not rotated */
    down();
}
