/* OpenID Federation 1.0: see fed.h and docs/federation.md.
 *
 * Trust chain resolution (§10), from the subject up:
 * 1. the subject's entity configuration is fetched and its self-signature checked (the
 *    configured anchor's own configuration is checked with the configured keys instead);
 * 2. from its authority_hints the configured anchor is taken if listed, else the first hint
 *    (one path, no backtracking: docs/federation.md); the superior's configuration is
 *    fetched, then from its federation_fetch_endpoint the subordinate statement about the
 *    entity below, which must name the superior as iss and the entity as sub;
 * 3. up to the anchor, at most FEDPOLICY_MAX_DEPTH statements;
 * 4. then the chain ES[0] = leaf configuration, ES[1..n] = subordinate statements, ES[n+1]
 *    = anchor configuration is checked link by link (§10.2): each ES[j] verifies with a key
 *    of ES[j+1]'s jwks, the anchor's with the configured keys; iss/sub chain; exp honoured;
 * 5. the superiors' constraints, the immediate superior's metadata, the merged metadata
 *    policies (anchor first) and the required trust marks are applied and checked. */
#include "flow/fed.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/fedpolicy.h"
#include "core/fedstmt.h"
#include "core/form.h"
#include "core/jose.h"
#include "flow/fed_int.h"
#include "log/log.h"
#include "port/keys.h"
#include "port/outbound.h"
#include "port/store.h"

#define FED_MAX_RECORD (128 * 1024)
#define FED_ENTITIES   (FEDPOLICY_MAX_DEPTH + 1)

static void
anchors_clear(struct fed *f)
{
    for (size_t i = 0; i < f->nanchors; i++) {
        free(f->anchors[i].id);
        jose_keyset_release(f->anchors[i].keys);
        json_decref(f->anchors[i].required_marks);
    }
    f->nanchors = 0;
}

static enum rc
anchor_parse(const json_t *o, struct fed_anchor *an, struct rc_info *ri)
{
    const json_t *id = json_object_get(o, "entity_id"), *marks;
    char *jwks;
    enum rc rc;
    size_t i;
    json_t *m;

    if (!json_is_string(id) || strncmp(json_string_value(id), "http", 4) != 0)
        return rc_set(ri, RC_MALFORMED, "federation_trust_anchors", "entity_id missing");
    marks = json_object_get(o, "required_trust_marks");
    if (marks && !json_is_array(marks))
        return rc_set(ri, RC_MALFORMED, "federation_trust_anchors",
                      "required_trust_marks not an array");
    json_array_foreach(marks, i, m) if (!json_is_string(m))
        return rc_set(ri, RC_MALFORMED, "federation_trust_anchors", "trust mark not a string");
    if (!(jwks = json_dumps(json_object_get(o, "jwks"), JSON_COMPACT)))
        return rc_set(ri, RC_MALFORMED, "federation_trust_anchors", "jwks missing");
    rc = jose_keyset_parse_jwks(span_str(jwks), &an->keys, ri);
    free(jwks);
    if (rc != RC_OK || jose_keyset_count(an->keys) == 0)
        return rc_set(ri, RC_MALFORMED, "federation_trust_anchors", "jwks without a usable key");
    an->required_marks = marks ? json_incref((json_t *)marks) : json_array();
    if (!(an->id = strdup(json_string_value(id))) || !an->required_marks)
        return RC_NOMEM;
    return RC_OK;
}

static enum rc
anchors_parse(struct fed *f, struct span text, struct rc_info *ri)
{
    json_t *a;
    size_t i;
    json_t *o;
    enum rc rc = RC_OK;

    if (!text.p || text.len == 0)
        return RC_OK;
    if (text.len > FED_MAX_ANCHORS_FILE)
        return rc_set(ri, RC_TOO_LARGE, "federation_trust_anchors", "file too large");
    a = json_loadb((const char *)text.p, text.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(a))
        rc = rc_set(ri, RC_MALFORMED, "federation_trust_anchors", "not a JSON array");
    else if (json_array_size(a) > FED_MAX_ANCHORS)
        rc = rc_set(ri, RC_TOO_LARGE, "federation_trust_anchors", "too many anchors");
    json_array_foreach(a, i, o)
    {
        if (rc != RC_OK)
            break;
        rc = anchor_parse(o, &f->anchors[f->nanchors++], ri);
    }
    json_decref(a);
    return rc;
}

enum rc
fed_new(struct keys *keys, struct span anchors, struct outbound *out, struct fed **out_fed,
        struct rc_info *ri)
{
    struct fed *f = calloc(1, sizeof(*f));
    enum rc rc;

    if (!f)
        return RC_NOMEM;
    if ((rc = anchors_parse(f, anchors, ri)) != RC_OK) {
        anchors_clear(f);
        free(f);
        return rc;
    }
    if ((rc = fed_clients_new(&f->clients)) != RC_OK) {
        anchors_clear(f);
        free(f);
        return rc;
    }
    f->keys = keys, f->out = out;
    *out_fed = f;
    return RC_OK;
}

void
fed_free(struct fed *f)
{
    if (!f)
        return;
    keys_free(f->keys);
    fed_clients_free(f->clients);
    anchors_clear(f);
    outbound_free(f->out);
    free(f);
}

const struct fed_anchor *
fed_anchor_find(const struct fed *f, const char *id)
{
    for (size_t i = 0; f && i < f->nanchors; i++)
        if (strcmp(f->anchors[i].id, id) == 0)
            return &f->anchors[i];
    return NULL;
}

static bool
is_superior(const struct config *c)
{
    return c->federation_role
           && (strcmp(c->federation_role, "anchor") == 0
               || strcmp(c->federation_role, "intermediate") == 0);
}

/* Dumps claims (stolen) and signs them with our federation key. */
static enum rc
sign(struct app *app, json_t *claims, const char *typ, struct arena *a, struct span *jwt,
     struct rc_info *ri)
{
    char *s = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    struct jose_keyset *ks = NULL;
    enum rc rc;

    json_decref(claims);
    if (!s)
        return RC_NOMEM;
    if ((rc = keys_current(app->fed->keys, &ks)) == RC_OK)
        rc = jose_sign(ks, JOSE_ES256, typ, span_str(s), a, jwt, ri);
    jose_keyset_release(ks);
    free(s);
    return rc;
}

enum rc
fed_sign(struct app *app, json_t *claims, const char *typ, struct arena *a, struct span *jwt,
         struct rc_info *ri)
{
    if (!app->fed)
        return json_decref(claims), rc_set(ri, RC_NOT_FOUND, "federation", "not configured");
    return sign(app, claims, typ, a, jwt, ri);
}

static json_t *
endpoint(const char *id, const char *path)
{
    char *u = NULL;
    json_t *j;

    if (asprintf(&u, "%s%s", id, path) < 0)
        return NULL;
    j = json_string(u);
    free(u);
    return j;
}

/* metadata.federation_entity (§5.1.1): the endpoints this node serves. */
static json_t *
fed_entity_metadata(const struct config *c, const struct fed *f)
{
    json_t *o = json_object();
    const char *id = c->federation_entity_id;

    if (is_superior(c)) {
        json_object_set_new(o, "federation_fetch_endpoint", endpoint(id, "/federation/fetch"));
        json_object_set_new(o, "federation_list_endpoint", endpoint(id, "/federation/list"));
    }
    if (f->nanchors)
        json_object_set_new(o, "federation_resolve_endpoint", endpoint(id, "/federation/resolve"));
    if (c->federation_region && *c->federation_region) /* extension: docs/federation.md */
        json_object_set_new(o, "region_code", json_string(c->federation_region));
    return o;
}

static json_t *
words(const char *s)
{
    json_t *a = json_array();
    struct span w;
    size_t pos = 0;

    while (s && span_next_word(span_str(s), &pos, &w))
        json_array_append_new(a, json_stringn((const char *)w.p, w.len));
    return a;
}

/* The claims every statement we sign starts with. */
static json_t *
base_claims(struct app *app, const char *sub)
{
    int64_t now = clock_now(app->clock);
    const struct config *c = app->cfg;

    return json_pack("{s:s, s:s, s:I, s:I}", "iss", c->federation_entity_id, "sub", sub, "iat",
                     (json_int_t)now, "exp",
                     (json_int_t)(now + (int64_t)c->federation_statement_lifetime_s));
}

/* Every published federation key: next, current, previous (docs/keys.md). */
static json_t *
our_jwks(struct app *app, struct arena *a)
{
    struct span j;

    if (keys_published(app->fed->keys, a, &j) != RC_OK)
        return NULL;
    return json_loadb((const char *)j.p, j.len, 0, NULL);
}

enum rc
fed_entity_configuration(struct app *app, struct span op_metadata, struct arena *a,
                         struct span *jwt, struct rc_info *ri)
{
    const struct config *c = app->cfg;
    json_t *claims, *md, *op, *hints;

    if (!app->fed || !c->federation_role)
        return rc_set(ri, RC_NOT_FOUND, "federation", "not configured");
    if (!(op = json_loadb((const char *)op_metadata.p, op_metadata.len, 0, NULL)))
        return rc_set(ri, RC_MALFORMED, "metadata", "discovery document");
    claims = base_claims(app, c->federation_entity_id);
    md = json_pack("{s:o, s:o}", "openid_provider", op, "federation_entity",
                   fed_entity_metadata(c, app->fed));
    if (c->federation_broker && app->fed->nanchors) /* automatic registration, §12.1 */
        json_object_set_new(md, "openid_relying_party",
                            fed_broker_rp_metadata(app, our_jwks(app, a)));
    json_object_set_new(claims, "metadata", md);
    json_object_set_new(claims, "jwks", our_jwks(app, a));
    hints = words(c->federation_authority_hints);
    if (json_array_size(hints) > 0)
        json_object_set_new(claims, "authority_hints", hints);
    else
        json_decref(hints);
    return sign(app, claims, FEDSTMT_TYP, a, jwt, ri);
}

static struct span
sub_key(struct arena *a, const char *entity_id)
{
    return store_key(a, "fedsub", span_str(entity_id), "");
}

static struct span
subs_key(struct arena *a)
{
    return store_key(a, "fedsubs", span_str("all"), "");
}

/* The enrolment record of sub, parsed. RC_NOT_FOUND, RC_UNAVAILABLE, RC_MALFORMED. */
static enum rc
load_record(struct app *app, const char *sub, struct arena *a, json_t **out, struct rc_info *ri)
{
    struct span v;
    enum rc rc = store_get(app->store, a, sub_key(a, sub), &v);

    if (rc == RC_NOT_FOUND)
        return rc_set(ri, rc, "sub", "not a subordinate of this entity");
    if (rc != RC_OK)
        return rc_set(ri, RC_UNAVAILABLE, "store", "cannot read");
    if (!(*out = json_loadb((const char *)v.p, v.len, 0, NULL)))
        return rc_set(ri, RC_INTERNAL, "store", "enrolment record unreadable");
    return RC_OK;
}

/* A trust mark (§7.1) of type we issue to sub. */
static json_t *
trust_mark(struct app *app, const char *sub, json_t *mark, struct arena *a)
{
    json_t *claims = base_claims(app, sub), *v;
    const char *type = json_string_value(json_object_get(mark, "trust_mark_type"));
    struct span jwt;

    if (!claims || !type)
        return json_decref(claims), NULL;
    json_object_update(claims, mark); /* trust_mark_type and any level claims ("ial") */
    if (sign(app, claims, FEDSTMT_TYP_MARK, a, &jwt, NULL) != RC_OK)
        return NULL;
    v = json_pack("{s:s, s:s%}", "trust_mark_type", type, "trust_mark", (const char *)jwt.p,
                  jwt.len);
    return v;
}

enum rc
fed_fetch(struct app *app, const char *sub, struct arena *a, struct span *jwt, struct rc_info *ri)
{
    json_t *rec = NULL, *claims, *marks, *m, *v;
    size_t i;
    enum rc rc;

    if (!app->fed || !is_superior(app->cfg))
        return rc_set(ri, RC_NOT_FOUND, "federation", "not an anchor or intermediate");
    if ((rc = load_record(app, sub, a, &rec, ri)) != RC_OK)
        return rc;
    claims = base_claims(app, sub);
    json_object_set(claims, "jwks", json_object_get(rec, "jwks"));
    if ((v = json_object_get(rec, "metadata_policy")))
        json_object_set(claims, "metadata_policy", v);
    if ((v = json_object_get(rec, "constraints")))
        json_object_set(claims, "constraints", v);
    marks = json_array();
    json_array_foreach(json_object_get(rec, "trust_marks"), i, m)
    {
        if ((v = trust_mark(app, sub, m, a)))
            json_array_append_new(marks, v);
    }
    if (json_array_size(marks))
        json_object_set_new(claims, "trust_marks", marks);
    else
        json_decref(marks);
    json_decref(rec);
    return sign(app, claims, FEDSTMT_TYP, a, jwt, ri);
}

enum rc
fed_list(struct app *app, struct arena *a, json_t **out, struct rc_info *ri)
{
    struct span *m;
    size_t n;
    enum rc rc;

    if (!app->fed || !is_superior(app->cfg))
        return rc_set(ri, RC_NOT_FOUND, "federation", "not an anchor or intermediate");
    rc = store_set_members(app->store, a, subs_key(a), &m, &n);
    if (rc == RC_NOT_FOUND)
        n = 0;
    else if (rc != RC_OK)
        return rc_set(ri, RC_UNAVAILABLE, "store", "cannot read");
    *out = json_array();
    for (size_t i = 0; i < n && i < FED_MAX_SUBORDINATES; i++)
        json_array_append_new(*out, json_stringn((const char *)m[i].p, m[i].len));
    return RC_OK;
}

/* An entity id we accept at enrolment: what fedstmt accepts, and no braces (they would
 * change the store key's hash tag). */
static bool
enrol_id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > FEDSTMT_MAX_URL || strpbrk(id, "{}?# \t") || id[n - 1] == '/')
        return false;
    return strncmp(id, "https://", 8) == 0 || strncmp(id, "http://", 7) == 0;
}

static enum rc
opt_json(struct span s, const char *field, json_t **out, struct rc_info *ri)
{
    *out = NULL;
    if (!s.p || s.len == 0)
        return RC_OK;
    *out = json_loadb((const char *)s.p, s.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(*out)) {
        json_decref(*out), *out = NULL;
        return rc_set(ri, RC_MALFORMED, field, "not a JSON object");
    }
    return RC_OK;
}

static json_t *
marks_json(const char *types)
{
    json_t *w = words(types), *out = json_array(), *t;
    size_t i;

    json_array_foreach(w, i, t)
    {
        /* "TYPE#ialN": the level the mark vouches for (default ial3; fed.h fed_enroll) */
        const char *v = json_string_value(t), *h = strrchr(v, '#');
        json_t *m = h ? json_pack("{s:s%, s:s}", "trust_mark_type", v, (size_t)(h - v), "ial", h + 1)
                      : json_pack("{s:O, s:s}", "trust_mark_type", t, "ial", "ial3");
        json_array_append_new(out, m);
    }
    json_decref(w);
    return out;
}

enum rc
fed_enroll(struct app *app, const char *entity_id, struct span jwks, struct span policy,
           struct span constraints, const char *trust_marks, struct rc_info *ri)
{
    struct jose_keyset *ks = NULL;
    json_t *rec = NULL, *jw = NULL, *pol = NULL, *con = NULL;
    struct arena a;
    char *s = NULL;
    enum rc rc;

    arena_init(&a, 1 << 20);
    if (!enrol_id_ok(entity_id)) {
        rc = rc_set(ri, RC_MALFORMED, "entity_id", "not an http(s) entity id");
        goto out;
    }
    if ((rc = jose_keyset_parse_jwks(jwks, &ks, ri)) != RC_OK)
        goto out;
    if (jose_keyset_count(ks) == 0) {
        rc = rc_set(ri, RC_MALFORMED, "jwks", "no usable key");
        goto out;
    }
    if ((rc = opt_json(jwks, "jwks", &jw, ri)) || (rc = opt_json(policy, "policy", &pol, ri))
        || (rc = opt_json(constraints, "constraints", &con, ri)))
        goto out;
    if (pol && (rc = fedpolicy_check(pol, ri)) != RC_OK)
        goto out;
    rec = json_pack("{s:O, s:o}", "jwks", jw, "trust_marks", marks_json(trust_marks));
    if (pol)
        json_object_set(rec, "metadata_policy", pol);
    if (con)
        json_object_set(rec, "constraints", con);
    if (!rec || !(s = json_dumps(rec, JSON_COMPACT))) {
        rc = RC_NOMEM;
        goto out;
    }
    if (strlen(s) > FED_MAX_RECORD) {
        rc = rc_set(ri, RC_TOO_LARGE, "enrolment", "record too large");
        goto out;
    }
    if (store_put(app->store, sub_key(&a, entity_id), span_str(s), 0, STORE_DURABLE) != RC_OK
        || store_set_add(app->store, subs_key(&a), span_str(entity_id), 0) != RC_OK)
        rc = rc_set(ri, RC_UNAVAILABLE, "store", "cannot write");
out:
    free(s);
    json_decref(rec), json_decref(jw), json_decref(pol), json_decref(con);
    jose_keyset_release(ks);
    arena_clear(&a);
    return rc;
}

enum rc
fed_remove(struct app *app, const char *entity_id, struct rc_info *ri)
{
    struct arena a;
    enum rc rc;

    arena_init(&a, 1 << 16);
    rc = store_del(app->store, sub_key(&a, entity_id));
    if (rc == RC_OK || rc == RC_NOT_FOUND) {
        enum rc r2 = store_set_rem(app->store, subs_key(&a), span_str(entity_id));
        if (rc == RC_NOT_FOUND && r2 == RC_OK)
            rc = RC_OK;
        else if (r2 != RC_OK && r2 != RC_NOT_FOUND)
            rc = RC_UNAVAILABLE;
    }
    arena_clear(&a);
    if (rc == RC_NOT_FOUND)
        return rc_set(ri, rc, "entity_id", "not enrolled");
    return rc == RC_OK ? RC_OK : rc_set(ri, RC_UNAVAILABLE, "store", "cannot write");
}

enum rc
fed_refresh(struct app *app, struct rc_info *ri)
{
    struct arena a;
    int64_t v;
    enum rc rc;

    arena_init(&a, 4096);
    rc = store_incr(app->store, fed_gen_key(&a), 1, 0, &v);
    arena_clear(&a);
    return rc == RC_OK ? RC_OK : rc_set(ri, RC_UNAVAILABLE, "store", "cannot write");
}

void
fed_resolved_clear(struct fed_resolved *r)
{
    json_decref(r->metadata), json_decref(r->trust_chain), json_decref(r->trust_marks);
    memset(r, 0, sizeof(*r));
}

enum rc
fed_resolve_response(struct app *app, const char *sub, const struct fed_resolved *r,
                     struct arena *a, struct span *jwt, struct rc_info *ri)
{
    json_t *claims = base_claims(app, sub);
    enum rc rc;

    if (!claims)
        return RC_NOMEM;
    /* §8.3.2: no later than the chain itself */
    if (json_integer_value(json_object_get(claims, "exp")) > r->exp)
        json_object_set_new(claims, "exp", json_integer(r->exp));
    json_object_set(claims, "metadata", r->metadata);
    if (json_array_size(r->trust_marks))
        json_object_set(claims, "trust_marks", r->trust_marks);
    /* The chain when it fits what core/jose signs (JOSE_MAX_PAYLOAD); three entity
     * configurations with full OpenID Provider metadata do not: then the answer goes
     * without it (docs/federation.md, Deviations). */
    json_object_set(claims, "trust_chain", r->trust_chain);
    rc = sign(app, json_incref(claims), FEDSTMT_TYP_RESOLVE, a, jwt, ri);
    if (rc == RC_TOO_LARGE) {
        json_object_del(claims, "trust_chain");
        rc = sign(app, json_incref(claims), FEDSTMT_TYP_RESOLVE, a, jwt, ri);
    }
    json_decref(claims);
    return rc;
}

struct span
fed_gen_key(struct arena *a)
{
    return store_key(a, "fedgen", span_str("all"), "");
}
