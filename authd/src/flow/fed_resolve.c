/* Trust chain resolution with the shared cache: fed.h fed_resolve; the steps are in the
 * comment at the top of fed.c. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/fedpolicy.h"
#include "core/fedstmt.h"
#include "core/form.h"
#include "core/jose.h"
#include "core/jsonget.h"
#include "flow/fed.h"
#include "flow/fed_int.h"
#include "log/log.h"
#include "port/outbound.h"
#include "port/store.h"

#define FED_MAX_CACHED (256 * 1024)

struct link {
    struct span token;
    struct fedstmt st;
};

/* e[0] the subject's configuration ... e[n] the anchor's; s[i] by e[i+1] about e[i]. */
struct chain {
    struct link e[FEDPOLICY_MAX_DEPTH];
    struct link s[FEDPOLICY_MAX_DEPTH];
    size_t n;
};

static void
chain_clear(struct chain *c)
{
    for (size_t i = 0; i < FEDPOLICY_MAX_DEPTH; i++)
        fedstmt_clear(&c->e[i].st), fedstmt_clear(&c->s[i].st);
}

static enum rc
deny(struct rc_info *ri, enum rc rc, enum rc_reason why, const char *field, const char *msg)
{
    return rc_fail(ri, rc, why, field, msg);
}

/* GET url, a statement body (at most JOSE_MAX_COMPACT bytes) into a. */
static enum rc
http_get(struct app *app, const char *url, const char *accept, struct arena *a, struct span *body,
         struct rc_info *ri)
{
    struct outbound_req req = {.url = url, .accept = accept};
    uint8_t *buf = arena_alloc(a, JOSE_MAX_COMPACT + 1);
    struct outbound_resp resp = {.buf = buf, .cap = JOSE_MAX_COMPACT};
    enum rc rc;

    if (!buf)
        return RC_NOMEM;
    rc = outbound_send(app->fed->out, &req, &resp);
    if (rc == RC_TOO_LARGE)
        return deny(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "statement", "too large");
    if (rc != RC_OK)
        return deny(ri, RC_UNAVAILABLE, RC_WHY_FED_UNREACHABLE, "fetch", "entity unreachable");
    if (resp.status == 404) /* a removed subordinate, or no entity there */
        return deny(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "fetch", "no such statement");
    if (resp.status != 200)
        return deny(ri, RC_UNAVAILABLE, RC_WHY_FED_UNREACHABLE, "fetch",
                    "entity answered an error");
    buf[resp.len] = 0;
    *body = span_of(buf, resp.len);
    return RC_OK;
}

/* Verifies token as a statement of kind signed by a key of the jwks of `by`. */
static enum rc
verify_by(const struct fedstmt *by, struct span token, enum fedstmt_kind kind, int64_t now,
          struct arena *a, struct fedstmt *out, struct rc_info *ri)
{
    struct jose_keyset *ks = NULL;
    struct fedstmt tmp = {0};
    enum rc rc = fedstmt_keys(by, &ks, ri);

    if (rc == RC_OK)
        rc = fedstmt_verify(ks, token, kind, now, a, out ? out : &tmp, ri);
    fedstmt_clear(&tmp);
    jose_keyset_release(ks);
    return rc;
}

/* Fetches id's entity configuration into l: checked with trusted (the configured anchor
 * keys) or else with the keys it claims itself (checked against its superior later). */
static enum rc
get_config(struct app *app, const char *id, const struct jose_keyset *trusted, int64_t now,
           struct arena *a, struct link *l, struct rc_info *ri)
{
    struct fedstmt self = {0};
    const char *url = arena_printf(a, "%s/.well-known/openid-federation", id);
    enum rc rc;

    if (!url)
        return RC_NOMEM;
    if ((rc = http_get(app, url, "application/entity-statement+jwt", a, &l->token, ri)))
        return rc;
    if (trusted)
        rc = fedstmt_verify(trusted, l->token, FEDSTMT_CONFIGURATION, now, a, &l->st, ri);
    else if ((rc = fedstmt_peek(l->token, FEDSTMT_CONFIGURATION, now, a, &self, ri)) == RC_OK)
        rc = verify_by(&self, l->token, FEDSTMT_CONFIGURATION, now, a, &l->st, ri);
    fedstmt_clear(&self);
    if (rc == RC_OK && strcmp(l->st.sub, id) != 0)
        rc = deny(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "sub", "configuration of another entity");
    return rc;
}

/* Fetches the statement sup makes about sub from sup's fetch endpoint (§8.1.1), unchecked. */
static enum rc
get_subordinate_url(struct app *app, const struct link *sup, const char *sub, struct arena *a,
                    struct span *token, struct rc_info *ri)
{
    json_t *fe = json_object_get(json_object_get(sup->st.metadata, "federation_entity"),
                                 "federation_fetch_endpoint");
    struct buf url;
    enum rc rc;

    if (!json_is_string(fe))
        return deny(ri, RC_DENIED, RC_WHY_FED_ANCHOR, "federation_fetch_endpoint", "missing");
    buf_init(&url, FEDSTMT_MAX_URL * 4);
    if ((rc = buf_append_str(&url, json_string_value(fe)))
        || (rc = buf_append_str(&url, strchr(json_string_value(fe), '?') ? "" : "?"))
        || (rc = form_append(&url, "sub", span_str(sub))) || (rc = buf_append(&url, "", 1))) {
        buf_clear(&url);
        return rc == RC_TOO_LARGE ? deny(ri, rc, RC_WHY_FED_STATEMENT, "sub", "too long") : rc;
    }
    rc = http_get(app, (const char *)url.p, "application/entity-statement+jwt", a, token, ri);
    buf_clear(&url);
    return rc;
}

/* Fetches the statement sup makes about sub and checks it with sup's keys. */
static enum rc
get_subordinate(struct app *app, const struct link *sup, const char *sub, int64_t now,
                struct arena *a, struct link *l, struct rc_info *ri)
{
    enum rc rc = get_subordinate_url(app, sup, sub, a, &l->token, ri);

    if (rc != RC_OK)
        return rc;
    if ((rc = verify_by(&sup->st, l->token, FEDSTMT_SUBORDINATE, now, a, &l->st, ri)))
        return rc;
    if (strcmp(l->st.iss, sup->st.sub) != 0 || strcmp(l->st.sub, sub) != 0)
        return deny(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "iss", "iss/sub do not chain");
    return RC_OK;
}

/* The configured anchor if hints lists it, else the first hint; NULL if none. */
static const char *
pick_superior(const json_t *hints, const char *anchor)
{
    size_t i;
    json_t *h;

    json_array_foreach(hints, i, h) if (jsonget_str_is(h, anchor)) return anchor;
    return json_string_value(json_array_get(hints, 0));
}

static bool
seen(const struct chain *c, size_t upto, const char *id)
{
    for (size_t i = 0; i <= upto; i++)
        if (strcmp(c->e[i].st.sub, id) == 0)
            return true;
    return false;
}

/* Steps 1-3: fetches the chain from sub up to anchor. */
static enum rc
walk(struct app *app, const char *sub, const struct fed_anchor *ta, int64_t now, struct arena *a,
     struct chain *c, struct rc_info *ri)
{
    const struct jose_keyset *ak = ta->keys;
    const char *anchor = ta->id;
    const char *sup;
    size_t i = 0;
    enum rc rc;

    if ((rc = get_config(app, sub, strcmp(sub, anchor) == 0 ? ak : NULL, now, a, &c->e[0], ri)))
        return rc;
    while (strcmp(c->e[i].st.sub, anchor) != 0) {
        if (i + 1 >= FEDPOLICY_MAX_DEPTH)
            return deny(ri, RC_DENIED, RC_WHY_FED_ANCHOR, "authority_hints", "chain too long");
        if (!(sup = pick_superior(c->e[i].st.authority_hints, anchor)))
            return deny(ri, RC_DENIED, RC_WHY_FED_ANCHOR, "authority_hints",
                        "no path to the trust anchor");
        if (seen(c, i, sup))
            return deny(ri, RC_DENIED, RC_WHY_FED_ANCHOR, "authority_hints", "loop");
        if ((rc = get_config(app, sup, strcmp(sup, anchor) == 0 ? ak : NULL, now, a, &c->e[i + 1],
                             ri))
            || (rc = get_subordinate(app, &c->e[i + 1], c->e[i].st.sub, now, a, &c->s[i], ri)))
            return rc;
        c->n = ++i;
    }
    return RC_OK;
}

/* Step 4 (§10.2): ES[j] verifies with a key of ES[j+1]'s jwks, where ES = [e[0], s[0] ..
 * s[n-1], e[n]]; e[n] was verified with the configured anchor keys. */
static enum rc
check_links(const struct chain *c, int64_t now, struct arena *a, struct rc_info *ri)
{
    enum rc rc;

    if (c->n == 0)
        return RC_OK;
    if ((rc = verify_by(&c->s[0].st, c->e[0].token, FEDSTMT_CONFIGURATION, now, a, NULL, ri)))
        return rc;
    for (size_t j = 0; j + 1 < c->n; j++)
        if ((rc = verify_by(&c->s[j + 1].st, c->s[j].token, FEDSTMT_SUBORDINATE, now, a, NULL, ri)))
            return rc;
    return verify_by(&c->e[c->n].st, c->s[c->n - 1].token, FEDSTMT_SUBORDINATE, now, a, NULL, ri);
}

/* The immediate superior's metadata about the leaf overrides the leaf's own (§6.1.4.1). */
static json_t *
leaf_metadata(const struct chain *c)
{
    json_t *md = c->e[0].st.metadata ? json_deep_copy(c->e[0].st.metadata) : json_object();
    const char *type, *param;
    json_t *params, *v, *t;

    if (c->n == 0 || !c->s[0].st.metadata)
        return md;
    json_object_foreach(c->s[0].st.metadata, type, params)
    {
        if (!json_is_object(params))
            continue;
        if (!(t = json_object_get(md, type)))
            json_object_set_new(md, type, t = json_object());
        json_object_foreach(params, param, v) json_object_set(t, param, v);
    }
    return md;
}

/* Step 5: constraints, metadata, policies. */
static enum rc
apply_policies(const struct chain *c, json_t *md, struct rc_info *ri)
{
    const char *ids[FEDPOLICY_MAX_DEPTH];
    json_t *acc = json_object();
    enum rc rc = RC_OK;

    for (size_t k = 0; k < c->n && rc == RC_OK; k++) {
        for (size_t j = 0; j <= k; j++)
            ids[j] = c->e[k - j].st.sub;
        rc = fedpolicy_constraints(c->s[k].st.constraints, k, ids, k + 1, md, ri);
    }
    for (size_t k = c->n; k-- > 0 && rc == RC_OK;)
        rc = fedpolicy_merge(acc, c->s[k].st.metadata_policy, ri);
    if (rc == RC_OK)
        rc = fedpolicy_apply(acc, md, ri);
    json_decref(acc);
    return rc;
}

/* A verified trust mark of type for the leaf, from its configuration or its superior's
 * statement (docs/federation.md), appended to marks; RC_DENIED if none. */
static enum rc
find_mark(const struct fed_anchor *ta, const struct chain *c, const char *type, int64_t now,
          struct arena *a, json_t *marks, struct rc_info *ri)
{
    const json_t *lists[2] = {c->e[0].st.trust_marks, c->n ? c->s[0].st.trust_marks : NULL};
    enum rc rc = deny(ri, RC_DENIED, RC_WHY_FED_TRUST_MARK, "trust_marks",
                      "a required trust mark is missing");
    size_t i;
    json_t *m;

    for (size_t l = 0; l < 2; l++)
        json_array_foreach(lists[l], i, m)
        {
            const char *tok = json_string_value(json_object_get(m, "trust_mark"));
            if (!jsonget_str_is(json_object_get(m, "trust_mark_type"), type) || !tok)
                continue;
            rc = fedstmt_trust_mark_verify(ta->keys, span_str(tok), ta->id, c->e[0].st.sub, type,
                                           now, a, ri);
            if (rc == RC_OK)
                return json_array_append(marks, m) ? RC_NOMEM : RC_OK;
        }
    return rc;
}

/* Every trust mark type the anchor's configuration requires of a leaf. */
static enum rc
check_marks(const struct fed_anchor *ta, const struct chain *c, int64_t now, struct arena *a,
            json_t *marks, struct rc_info *ri)
{
    size_t i;
    json_t *t;
    enum rc rc;

    json_array_foreach(ta->required_marks, i, t)
    {
        if ((rc = find_mark(ta, c, json_string_value(t), now, a, marks, ri)) != RC_OK)
            return rc;
    }
    return RC_OK;
}

static enum rc
build(const struct fed_anchor *ta, const struct chain *c, int64_t now, struct arena *a,
      struct fed_resolved *out, struct rc_info *ri)
{
    enum rc rc;

    out->metadata = leaf_metadata(c);
    out->trust_marks = json_array();
    out->trust_chain = json_array();
    out->exp = c->e[0].st.exp;
    json_array_append_new(out->trust_chain,
                          json_stringn((char *)c->e[0].token.p, c->e[0].token.len));
    for (size_t k = 0; k < c->n; k++) {
        json_array_append_new(out->trust_chain,
                              json_stringn((char *)c->s[k].token.p, c->s[k].token.len));
        if (c->s[k].st.exp < out->exp)
            out->exp = c->s[k].st.exp;
        if (c->e[k + 1].st.exp < out->exp)
            out->exp = c->e[k + 1].st.exp;
    }
    if (c->n)
        json_array_append_new(out->trust_chain,
                              json_stringn((char *)c->e[c->n].token.p, c->e[c->n].token.len));
    if ((rc = apply_policies(c, out->metadata, ri)) != RC_OK)
        return rc;
    /* the anchor resolved to itself (fed_vouched) is no leaf: its marks are not asked */
    return c->n == 0 ? RC_OK : check_marks(ta, c, now, a, out->trust_marks, ri);
}

/* authd:fedchain:{GEN}:HASH (fed.h). RC_UNAVAILABLE when the generation cannot be read. */
static enum rc
cache_key(struct app *app, const char *sub, const char *anchor, struct arena *a, struct span *key)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct span gen, h;
    char *in = arena_printf(a, "%s\n%s", sub, anchor);
    enum rc rc;

    if (!in)
        return RC_NOMEM;
    rc = store_get(app->store, a, fed_gen_key(a), &gen);
    if (rc == RC_NOT_FOUND)
        gen = span_str("0");
    else if (rc != RC_OK)
        return RC_UNAVAILABLE;
    if (!EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha256(), NULL))
        return RC_INTERNAL;
    if ((rc = jose_b64url_encode(span_of(md, mdlen), a, &h)) != RC_OK)
        return rc;
    *key = store_key(a, "fedchain", gen, arena_printf(a, ":%s", (const char *)h.p));
    return key->p ? RC_OK : RC_NOMEM;
}

static enum rc
cache_get(struct app *app, struct span key, int64_t now, struct arena *a, struct fed_resolved *out)
{
    struct span v;
    json_t *j;
    enum rc rc = store_get(app->store, a, key, &v);

    if (rc != RC_OK)
        return rc;
    if (!(j = json_loadb((const char *)v.p, v.len, 0, NULL)))
        return RC_NOT_FOUND;
    out->exp = json_integer_value(json_object_get(j, "exp"));
    out->metadata = json_incref(json_object_get(j, "metadata"));
    out->trust_chain = json_incref(json_object_get(j, "trust_chain"));
    out->trust_marks = json_incref(json_object_get(j, "trust_marks"));
    json_decref(j);
    if (out->exp <= now || !out->metadata || !out->trust_chain || !out->trust_marks) {
        fed_resolved_clear(out);
        return RC_NOT_FOUND;
    }
    out->cached = true;
    return RC_OK;
}

/* Best effort: a chain not cached is fetched again next time. */
static void
cache_put(struct app *app, struct span key, int64_t now, const struct fed_resolved *r)
{
    int64_t ttl = r->exp - now;
    json_t *j;
    char *s;

    if (ttl > (int64_t)app->cfg->federation_cache_max_s)
        ttl = app->cfg->federation_cache_max_s;
    if (ttl <= 0)
        return;
    j = json_pack("{s:I, s:O, s:O, s:O}", "exp", (json_int_t)r->exp, "metadata", r->metadata,
                  "trust_chain", r->trust_chain, "trust_marks", r->trust_marks);
    if (j && (s = json_dumps(j, JSON_COMPACT))) {
        if (strlen(s) <= FED_MAX_CACHED)
            store_put(app->store, key, span_str(s), (uint32_t)ttl, 0);
        free(s);
    }
    json_decref(j);
}

static void
log_outcome(const char *sub, const char *anchor, enum rc rc, const struct rc_info *ri, bool cached)
{
    struct log_rec *lr = log_begin(rc == RC_OK ? LOG_INFO : LOG_WARN, "fed.resolve");

    if (!lr)
        return;
    log_str(lr, "sub", sub);
    log_str(lr, "trust_anchor", anchor);
    log_str(lr, "result", rc == RC_OK ? "ok" : rc_name(rc));
    if (rc == RC_OK)
        log_str(lr, "cached", cached ? "yes" : "no");
    else {
        log_str(lr, "why", rc_reason_name(ri->why));
        log_str(lr, "field", ri->field ? ri->field : "-");
        log_str(lr, "msg", ri->msg ? ri->msg : "-");
    }
    log_end(lr);
}

static enum rc
resolve(struct app *app, const char *sub, const char *anchor, struct arena *a,
        struct fed_resolved *out, struct rc_info *ri)
{
    const struct fed_anchor *ta = fed_anchor_find(app->fed, anchor);
    int64_t now = clock_now(app->clock);
    struct chain c;
    struct span key;
    enum rc rc;

    if (!ta)
        return deny(ri, RC_DENIED, RC_WHY_FED_ANCHOR, "trust_anchor", "not a trust anchor here");
    if ((rc = cache_key(app, sub, anchor, a, &key)) != RC_OK)
        return rc_set(ri, rc, "store", "cannot read");
    if ((rc = cache_get(app, key, now, a, out)) == RC_OK)
        return RC_OK;
    if (rc != RC_NOT_FOUND)
        return rc_set(ri, RC_UNAVAILABLE, "store", "cannot read");
    memset(&c, 0, sizeof(c));
    if ((rc = walk(app, sub, ta, now, a, &c, ri)) == RC_OK
        && (rc = check_links(&c, now, a, ri)) == RC_OK
        && (rc = build(ta, &c, now, a, out, ri)) == RC_OK)
        cache_put(app, key, now, out);
    chain_clear(&c);
    if (rc != RC_OK)
        fed_resolved_clear(out);
    return rc;
}

enum rc
fed_resolve(struct app *app, const char *sub, const char *anchor, struct arena *a,
            struct fed_resolved *out, struct rc_info *ri)
{
    struct rc_info lri = {0};
    enum rc rc;

    memset(out, 0, sizeof(*out));
    rc = resolve(app, sub, anchor, a, out, &lri);
    log_outcome(sub, anchor, rc, &lri, out->cached);
    if (ri)
        *ri = lri;
    return rc;
}

/* The anchor's configuration comes from the chain cache (the anchor resolved to itself,
 * checked with its configured keys); its federation_fetch_endpoint is asked about sub
 * (§8.1.1) and the answer must verify with the configured keys and chain iss/sub. */
static enum rc
vouched(struct app *app, const struct fed_anchor *ta, const char *sub, struct arena *a,
        struct rc_info *ri)
{
    struct fed_resolved self = {0};
    struct link sup = {0}, l = {0};
    enum rc rc;

    if ((rc = fed_resolve(app, ta->id, ta->id, a, &self, ri)) != RC_OK)
        return rc;
    sup.st.metadata = self.metadata;
    sup.st.sub = ta->id;
    rc = get_subordinate_url(app, &sup, sub, a, &l.token, ri);
    fed_resolved_clear(&self);
    if (rc == RC_DENIED && ri->why == RC_WHY_FED_STATEMENT)
        rc = deny(ri, RC_DENIED, RC_WHY_FED_NOT_VOUCHED, "sub", "not known to the trust anchor");
    if (rc != RC_OK)
        return rc;
    rc = fedstmt_verify(ta->keys, l.token, FEDSTMT_SUBORDINATE, clock_now(app->clock), a, &l.st,
                        ri);
    if (rc == RC_OK && (strcmp(l.st.iss, ta->id) != 0 || strcmp(l.st.sub, sub) != 0))
        rc = deny(ri, RC_DENIED, RC_WHY_FED_NOT_VOUCHED, "iss", "iss/sub do not chain");
    fedstmt_clear(&l.st);
    return rc;
}

enum rc
fed_vouched(struct app *app, const char *sub, const char *anchor, struct arena *a,
            struct rc_info *ri)
{
    const struct fed_anchor *ta = fed_anchor_find(app->fed, anchor);
    struct rc_info lri = {0};
    enum rc rc;

    rc = ta ? vouched(app, ta, sub, a, &lri)
            : deny(&lri, RC_DENIED, RC_WHY_FED_ANCHOR, "trust_anchor", "not a trust anchor here");
    if (rc != RC_OK)
        log_outcome(sub, anchor, rc, &lri, false);
    if (ri)
        *ri = lri;
    return rc;
}
