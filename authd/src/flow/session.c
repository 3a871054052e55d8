#include "flow/session.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/policy.h"
#include "flow/grant.h"
#include "flow/staff.h"
#include "port/secrets.h"
#include "port/store.h"
#include "util/num.h"

struct lifetimes {
    uint32_t ttl, idle;
};

static struct lifetimes
lifetimes(struct app *app)
{
    struct policy *p = app_policy_get(app);
    struct lifetimes l = {28800, 3600};

    if (p)
        l = (struct lifetimes){p->tokens.session_ttl, p->tokens.session_idle_ttl};
    app_policy_put(p);
    return l;
}

/* The lifetimes of session s, checked at every load: a staff member's (flow/staff.h) are the
 * policy's staff_session_ttl / staff_session_idle_ttl (8 h / 15 min by default); a session
 * with an idle lifetime of its own (a kiosk card session) keeps the smaller idle one. */
static struct lifetimes
lifetimes_of(struct app *app, const struct session *s)
{
    struct lifetimes l = lifetimes(app);
    struct policy *p;

    if (staff_id_is(s->account_id) && (p = app_policy_get(app))) {
        l = (struct lifetimes){p->tokens.staff_session_ttl, p->tokens.staff_session_idle_ttl};
        app_policy_put(p);
    }
    if (s->idle_ttl && s->idle_ttl < l.idle)
        l.idle = s->idle_ttl;
    return l;
}

/* How recent a use may be for a touch to write nothing: 1/16 of the idle lifetime, at most
 * a minute. An SSO hop (a second service opened within the minute) then writes nothing
 * for the session (and a due touch rides in the code's pipeline: authz_issue); the idle
 * lifetime is kept to within that much. */
static int64_t
touch_every(struct lifetimes l)
{
    int64_t every = l.idle / 16;

    return every > 60 ? 60 : every;
}

/* Seconds the keys of a session created at `created` may live from now; 0: expired. */
static uint32_t
ttl_left(struct lifetimes l, int64_t created, int64_t now)
{
    int64_t left = (int64_t)l.ttl - (now - created);

    if (left <= 0)
        return 0;
    return left < (int64_t)l.idle ? (uint32_t)left : l.idle;
}

bool
session_cookie_valid(struct span cookie)
{
    return cookie.len == SESSION_COOKIE_LEN && span_is_b64url(cookie);
}

static enum rc
cookie_tag(struct app *app, struct span cookie, char tag[SESSION_TAG_LEN + 1])
{
    if (!session_cookie_valid(cookie))
        return RC_NOT_FOUND;
    return secrets_hmac_hex(app->secrets, SECRET_TOKEN, &cookie, 1, tag);
}

static struct span
num_str(struct arena *a, int64_t v)
{
    char *s = arena_printf(a, "%" PRId64, v);

    return s ? span_str(s) : (struct span){NULL, 0};
}

/* The record's fields (values in a). */
static size_t
to_fields(struct arena *a, const struct session *s, struct store_field f[11])
{
    f[0] = (struct store_field){SPAN("acct"), span_str(s->account_id)};
    f[1] = (struct store_field){SPAN("sid"), span_str(s->sid)};
    f[2] = (struct store_field){SPAN("ial"), num_str(a, s->loa.ial)};
    f[3] = (struct store_field){SPAN("aal"), num_str(a, s->loa.aal)};
    f[4] = (struct store_field){SPAN("amr"), span_str(s->amr)};
    f[5] = (struct store_field){SPAN("auth_time"), num_str(a, s->auth_time)};
    f[6] = (struct store_field){SPAN("created"), num_str(a, s->created)};
    f[7] = (struct store_field){SPAN("last_seen"), num_str(a, s->last_seen)};
    f[8] = (struct store_field){SPAN("dev"), span_str(s->device ? s->device : "")};
    f[9] = (struct store_field){SPAN("chan"), span_str(s->channel ? s->channel : "")};
    for (size_t i = 0; i < 10; i++)
        if (!f[i].value.p)
            return 0;
    if (!s->idle_ttl)
        return 10;
    f[10] = (struct store_field){SPAN("idle"), num_str(a, s->idle_ttl)};
    return f[10].value.p ? 11 : 0;
}

static bool
field_int(const struct store_record *r, const char *name, int64_t *out)
{
    uint64_t v;

    if (num_parse_u64(store_rec_field(r, name), 0, INT64_MAX, &v) != RC_OK)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool
field_copy(const struct store_record *r, const char *name, char *out, size_t cap)
{
    struct span v = store_rec_field(r, name);

    if (!v.p || v.len == 0 || v.len >= cap || span_has_nul(v))
        return false;
    memcpy(out, v.p, v.len);
    out[v.len] = 0;
    return true;
}

static enum rc
from_record(struct arena *a, const struct store_record *r, struct session *s)
{
    int64_t ial, aal;

    if (!field_copy(r, "acct", s->account_id, sizeof(s->account_id))
        || !field_copy(r, "sid", s->sid, sizeof(s->sid)) || !field_int(r, "ial", &ial)
        || !field_int(r, "aal", &aal) || !field_int(r, "auth_time", &s->auth_time)
        || !field_int(r, "created", &s->created) || !field_int(r, "last_seen", &s->last_seen)
        || ial > IAL5 || aal > AAL3)
        return RC_MALFORMED;
    s->loa = (struct loa){(enum ial)ial, (enum aal)aal};
    s->amr = arena_span_dup(a, store_rec_field(r, "amr"));
    s->device = arena_span_dup(a, store_rec_field(r, "dev")); /* older records: none */
    s->channel = arena_span_dup(a, store_rec_field(r, "chan"));
    if (field_int(r, "idle", &ial) && ial > 0 && ial <= UINT32_MAX) /* older records: none */
        s->idle_ttl = (uint32_t)ial;
    return s->amr && s->device && s->channel ? RC_OK : RC_NOMEM;
}

/* The session stored under tag, from its record as read (rc: the read's answer); checks
 * both lifetimes. */
static enum rc
from_read(struct app *app, struct arena *a, const char *tag, enum rc rc,
          const struct store_record *rec, struct session *out)
{
    struct lifetimes l = lifetimes(app);
    int64_t now = clock_now(app->clock);
    struct session s = {0};

    if (rc != RC_OK)
        return rc;
    memcpy(s.tag, tag, SESSION_TAG_LEN + 1);
    if (from_record(a, rec, &s) != RC_OK)
        return RC_NOT_FOUND; /* a damaged record is no session */
    l = lifetimes_of(app, &s);
    if (ttl_left(l, s.created, now) == 0 || now - s.last_seen > (int64_t)l.idle) {
        session_end(app, a, &s, NULL, NULL);
        return RC_NOT_FOUND;
    }
    *out = s;
    return RC_OK;
}

/* Loads the session stored under tag and checks both lifetimes. */
static enum rc
load_tag(struct app *app, struct arena *a, const char *tag, struct session *out)
{
    struct store_record rec;
    struct span key = store_key(a, "sess", span_str(tag), NULL);

    if (!key.p)
        return RC_NOMEM;
    return from_read(app, a, tag, store_rec_get(app->store, a, key, &rec), &rec, out);
}

enum rc
session_load(struct app *app, struct arena *a, struct span cookie, struct session *out)
{
    char tag[SESSION_TAG_LEN + 1];
    enum rc rc;

    if ((rc = cookie_tag(app, cookie, tag)) != RC_OK)
        return rc;
    return load_tag(app, a, tag, out);
}

enum rc
session_load_op(struct app *app, struct arena *a, struct span cookie,
                char tag[SESSION_TAG_LEN + 1], struct store_op *op)
{
    enum rc rc;

    if ((rc = cookie_tag(app, cookie, tag)) != RC_OK)
        return rc;
    *op = (struct store_op){.kind = STORE_OP_REC_GET,
                            .key = store_key(a, "sess", span_str(tag), NULL)};
    return op->key.p ? RC_OK : RC_NOMEM;
}

enum rc
session_load_answer(struct app *app, struct arena *a, const char *tag, const struct store_call *c,
                    struct session *out)
{
    return from_read(app, a, tag, c->rc, &c->rec, out);
}

enum rc
session_find_by_sid(struct app *app, struct arena *a, struct span sid, struct session *out)
{
    struct span key, tag;
    char t[SESSION_TAG_LEN + 1];
    enum rc rc;

    if (sid.len != SESSION_SID_LEN || !span_is_b64url(sid))
        return RC_NOT_FOUND;
    if (!(key = store_key(a, "sid", sid, NULL)).p)
        return RC_NOMEM;
    if ((rc = store_get(app->store, a, key, &tag)) != RC_OK)
        return rc;
    if (tag.len != SESSION_TAG_LEN)
        return RC_NOT_FOUND;
    memcpy(t, tag.p, SESSION_TAG_LEN);
    t[SESSION_TAG_LEN] = 0;
    if ((rc = load_tag(app, a, t, out)) != RC_OK)
        return rc;
    return span_eq_str(sid, out->sid) ? RC_OK : RC_NOT_FOUND;
}

/* Writes the record and the sid index with ttl. One batch when the store allows it; a
 * Redis Cluster refuses a batch across hash tags (RC_MALFORMED): then the index goes
 * first, so that it never points at a session that was not written. */
static enum rc
write_session(struct app *app, struct arena *a, const struct session *s, uint32_t ttl,
              unsigned flags)
{
    struct store_field f[11];
    struct span skey = store_key(a, "sess", span_str(s->tag), NULL);
    struct span ikey = store_key(a, "sid", span_str(s->sid), NULL);
    struct span rkey = store_key(a, "sess", span_str(s->tag), ":rps");
    size_t n = to_fields(a, s, f);
    struct store_op ops[3] = {
        {.kind = STORE_OP_PUT, .key = ikey, .value = span_str(s->tag), .ttl_s = ttl},
        {.kind = STORE_OP_REC_PUT,
         .key = skey,
         .fields = f,
         .nfields = n,
         .ttl_s = ttl,
         .flags = flags},
        {.kind = STORE_OP_SET_ADD, .key = rkey, .value = SPAN(SESSION_RPS_MARK), .ttl_s = ttl},
    };
    enum rc rc;

    if (!skey.p || !ikey.p || !rkey.p || n == 0)
        return RC_NOMEM;
    if ((rc = store_batch(app->store, ops, 3)) != RC_MALFORMED)
        return rc;
    if ((rc = store_put(app->store, ikey, span_str(s->tag), ttl, 0)) != RC_OK
        || (rc = store_rec_put(app->store, skey, f, n, ttl, flags)) != RC_OK)
        return rc;
    return store_set_add(app->store, rkey, SPAN(SESSION_RPS_MARK), ttl);
}

static struct span
index_key(struct arena *a, const char *account_id)
{
    return store_key(a, "acctsess", span_str(account_id), NULL);
}

/* The account's set of sessions gains s (best effort: a session missing from it is only
 * missing from the account page). */
static void
index_add(struct app *app, struct arena *a, const struct session *s, uint32_t ttl)
{
    struct span key = index_key(a, s->account_id);

    if (key.p)
        store_set_add(app->store, key, span_str(s->sid), ttl);
}

enum rc
session_create(struct app *app, struct arena *a, const struct session_login *l,
               char cookie[SESSION_COOKIE_LEN + 1], struct session *out)
{
    struct session s = {0};
    struct lifetimes lt = lifetimes(app);
    int64_t now = clock_now(app->clock);
    enum rc rc;

    if (strlen(l->account_id) > SESSION_ACCT_MAX)
        return RC_MALFORMED;
    if ((rc = grant_random_token(app, 32, cookie, SESSION_COOKIE_LEN + 1)) != RC_OK
        || (rc = grant_random_token(app, 32, s.sid, sizeof(s.sid))) != RC_OK
        || (rc = cookie_tag(app, span_str(cookie), s.tag)) != RC_OK)
        goto out;
    strcpy(s.account_id, l->account_id);
    s.loa = l->loa;
    s.amr = l->amr ? l->amr : "";
    s.auth_time = l->auth_time;
    s.created = s.last_seen = now;
    s.device = l->device && strlen(l->device) <= SESSION_LABEL_MAX ? l->device : "";
    s.channel = l->channel && strlen(l->channel) <= SESSION_LABEL_MAX ? l->channel : "";
    s.idle_ttl = l->idle_ttl;
    lt = lifetimes_of(app, &s);
    /* NX: 256 random bits never collide, but a collision must not join two sessions */
    if ((rc = write_session(app, a, &s, ttl_left(lt, now, now), STORE_NX)) != RC_OK)
        goto out;
    index_add(app, a, &s, lt.ttl);
    *out = s;
out:
    if (rc != RC_OK)
        OPENSSL_cleanse(cookie, SESSION_COOKIE_LEN + 1);
    return rc;
}

/* The token families of old go to new too (authd:sidfam), best effort. */
static void
carry_families(struct app *app, struct arena *a, const char *old_sid, const char *new_sid)
{
    struct policy *p = app_policy_get(app);
    uint32_t ttl = p ? p->tokens.refresh_token_ttl : 0;
    struct span from = store_key(a, "sidfam", span_str(old_sid), NULL);
    struct span to = store_key(a, "sidfam", span_str(new_sid), NULL), *fam = NULL;
    size_t n = 0;

    app_policy_put(p);
    if (!ttl || !from.p || !to.p || store_set_members(app->store, a, from, &fam, &n) != RC_OK)
        return;
    for (size_t i = 0; i < n; i++)
        store_set_add(app->store, to, fam[i], ttl);
}

enum rc
session_login(struct app *app, struct arena *a, const struct session_login *l,
              const struct session *same, char cookie[SESSION_COOKIE_LEN + 1], struct session *out)
{
    struct span *rps = NULL;
    size_t n = 0;
    enum rc rc;

    if (same)
        session_end(app, a, same, &rps, &n);
    if ((rc = session_create(app, a, l, cookie, out)) != RC_OK)
        return rc;
    for (size_t i = 0; i < n; i++)
        session_add_rp(app, a, out, arena_span_dup(a, rps[i]));
    if (n)
        carry_families(app, a, same->sid, out->sid);
    return RC_OK;
}

/* have's amr values followed by those of add it lacks, in a; NULL past SESSION_AMR_MAX
 * (or out of memory). */
static const char *
amr_join(struct arena *a, const char *have, const char *add)
{
    struct buf b;
    struct span w, h;
    size_t i = 0;
    enum rc rc;
    const char *out = NULL;

    buf_init(&b, SESSION_AMR_MAX);
    rc = buf_append_str(&b, have ? have : "");
    while (rc == RC_OK && add && span_next_word(span_str(add), &i, &w)) {
        bool dup = false;
        size_t j = 0;
        while (!dup && span_next_word(span_of(b.p, b.len), &j, &h))
            dup = span_eq(h, w);
        if (!dup && (rc = b.len ? buf_append(&b, " ", 1) : RC_OK) == RC_OK)
            rc = buf_append_span(&b, w);
    }
    if (rc == RC_OK)
        out = arena_strndup(a, b.len ? (const char *)b.p : "", b.len);
    buf_clear(&b);
    return out;
}

/* Moves t (the raised copy of s) to a new cookie: the new record and the sid index are
 * written first, then taking away the old record decides the race with a concurrent
 * upgrade or logout of s (the loser undoes its new record); the :rps set follows. */
static enum rc
rekey(struct app *app, struct arena *a, const struct session *s, struct session *t, uint32_t ttl,
      char cookie[SESSION_COOKIE_LEN + 1])
{
    struct span old = store_key(a, "sess", span_str(s->tag), NULL), *rps = NULL;
    struct span orps = store_key(a, "sess", span_str(s->tag), ":rps");
    size_t n = 0;
    enum rc rc;

    if (!old.p || !orps.p)
        return RC_NOMEM;
    if ((rc = grant_random_token(app, 32, cookie, SESSION_COOKIE_LEN + 1)) != RC_OK
        || (rc = cookie_tag(app, span_str(cookie), t->tag)) != RC_OK
        || (rc = write_session(app, a, t, ttl, STORE_NX)) != RC_OK)
        return rc;
    if ((rc = store_del(app->store, old)) != RC_OK) { /* it ended or moved meanwhile */
        store_del(app->store, store_key(a, "sess", span_str(t->tag), NULL));
        return rc;
    }
    if (store_set_members(app->store, a, orps, &rps, &n) == RC_OK)
        for (size_t i = 0; i < n; i++)
            session_add_rp(app, a, t, arena_span_dup(a, rps[i]));
    store_del(app->store, orps);
    return RC_OK;
}

enum rc
session_upgrade(struct app *app, struct arena *a, struct session *s, const struct session_login *l,
                char cookie[SESSION_COOKIE_LEN + 1])
{
    struct session t = *s;
    struct lifetimes lt = lifetimes_of(app, s);
    int64_t now = clock_now(app->clock);
    uint32_t ttl = ttl_left(lt, s->created, now);
    enum rc rc;

    if (strcmp(s->account_id, l->account_id) != 0)
        return RC_DENIED;
    if (ttl == 0)
        return RC_NOT_FOUND;
    if (!(t.amr = amr_join(a, s->amr, l->amr)))
        return RC_TOO_LARGE;
    t.loa = loa_max(s->loa, l->loa); /* levels never go down */
    t.auth_time = l->auth_time;
    t.last_seen = now;
    if ((rc = rekey(app, a, s, &t, ttl, cookie)) != RC_OK) {
        OPENSSL_cleanse(cookie, SESSION_COOKIE_LEN + 1);
        return rc;
    }
    *s = t;
    return RC_OK;
}

enum rc
session_touch_ops(struct app *app, struct arena *a, struct session *s,
                  struct store_op ops[SESSION_TOUCH_OPS], size_t *n)
{
    struct lifetimes l = lifetimes_of(app, s);
    int64_t now = clock_now(app->clock);
    uint32_t ttl = ttl_left(l, s->created, now);
    struct store_field *f = arena_alloc(a, sizeof(*f));
    struct span skey, rps, ikey, seen;

    *n = 0;
    if (ttl == 0)
        return RC_NOT_FOUND;
    if (now >= s->last_seen && now - s->last_seen < touch_every(l))
        return RC_OK; /* used a moment ago: its keys' TTLs already run from then */
    skey = store_key(a, "sess", span_str(s->tag), NULL);
    rps = store_key(a, "sess", span_str(s->tag), ":rps");
    ikey = store_key(a, "sid", span_str(s->sid), NULL);
    seen = num_str(a, now);
    if (!f || !skey.p || !rps.p || !ikey.p || !seen.p)
        return RC_NOMEM;
    *f = (struct store_field){SPAN("last_seen"), seen};
    /* XX: a session that ended meanwhile is not brought back; only last_seen is written,
     * so a concurrent change of another field is kept */
    ops[0] = (struct store_op){.kind = STORE_OP_REC_PUT,
                               .key = skey,
                               .fields = f,
                               .nfields = 1,
                               .ttl_s = ttl,
                               .flags = STORE_XX};
    ops[1] = (struct store_op){.kind = STORE_OP_EXPIRE, .key = ikey, .ttl_s = ttl};
    ops[2] = (struct store_op){.kind = STORE_OP_EXPIRE, .key = rps, .ttl_s = ttl};
    s->last_seen = now;
    *n = SESSION_TOUCH_OPS;
    return RC_OK;
}

enum rc
session_touch(struct app *app, struct arena *a, struct session *s)
{
    struct store_op ops[SESSION_TOUCH_OPS];
    struct store_call c[SESSION_TOUCH_OPS] = {0};
    size_t n;
    enum rc rc;

    if ((rc = session_touch_ops(app, a, s, ops, &n)) != RC_OK || n == 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        c[i].op = ops[i];
    if ((rc = store_pipeline(app->store, a, c, n)) != RC_OK)
        return rc;
    if (c[0].rc != RC_OK) /* RC_NOT_FOUND: it ended meanwhile */
        return c[0].rc;
    return c[1].rc != RC_OK && c[1].rc != RC_NOT_FOUND ? c[1].rc
           : c[2].rc == RC_NOT_FOUND                   ? RC_OK
                                                       : c[2].rc;
}

enum rc
session_add_rp_op(struct app *app, struct arena *a, const struct session *s, const char *client_id,
                  struct store_op *op)
{
    struct lifetimes l = lifetimes(app);
    uint32_t ttl = ttl_left(l, s->created, clock_now(app->clock));
    struct span key = store_key(a, "sess", span_str(s->tag), ":rps");

    if (!key.p)
        return RC_NOMEM;
    *op = (struct store_op){
        .kind = STORE_OP_SET_ADD, .key = key, .value = span_str(client_id), .ttl_s = ttl ? ttl : 1};
    return RC_OK;
}

enum rc
session_join_op(struct app *app, struct arena *a, const char *tag, int64_t created,
                const char *client_id, struct store_op *op)
{
    struct session s = {.created = created};
    enum rc rc;

    if (!tag || strlen(tag) != SESSION_TAG_LEN)
        return RC_MALFORMED;
    memcpy(s.tag, tag, SESSION_TAG_LEN + 1);
    if ((rc = session_add_rp_op(app, a, &s, client_id, op)) == RC_OK)
        op->flags = STORE_XX;
    return rc;
}

enum rc
session_add_rp(struct app *app, struct arena *a, const struct session *s, const char *client_id)
{
    struct store_op op;
    enum rc rc = session_add_rp_op(app, a, s, client_id, &op);

    return rc != RC_OK ? rc : store_set_add(app->store, op.key, op.value, op.ttl_s);
}

enum rc
session_end(struct app *app, struct arena *a, const struct session *s, struct span **rps,
            size_t *nrps)
{
    struct span skey = store_key(a, "sess", span_str(s->tag), NULL);
    struct span rkey = store_key(a, "sess", span_str(s->tag), ":rps");
    struct span ikey = store_key(a, "sid", span_str(s->sid), NULL);
    struct store_op ops[2] = {{.kind = STORE_OP_DEL, .key = skey},
                              {.kind = STORE_OP_DEL, .key = rkey}};
    struct span *m = NULL;
    size_t n = 0;
    enum rc rc;

    if (!skey.p || !rkey.p || !ikey.p)
        return RC_NOMEM;
    rc = store_set_members(app->store, a, rkey, &m, &n);
    if (rc != RC_OK && rc != RC_NOT_FOUND)
        return rc;
    if ((rc = store_batch(app->store, ops, 2)) != RC_OK)
        return rc;
    rc = store_del(app->store, ikey);
    if (rc != RC_OK && rc != RC_NOT_FOUND)
        return rc;
    if ((ikey = index_key(a, s->account_id)).p)
        store_set_rem(app->store, ikey, span_str(s->sid)); /* else dropped by session_list */
    for (size_t i = 0; i < n; i++) /* the mark is no client */
        if (span_eq_str(m[i], SESSION_RPS_MARK))
            m[i--] = m[--n];
    if (rps)
        *rps = m, *nrps = n;
    return RC_OK;
}

const char *
session_cookie(struct arena *a, const char *cookie, bool tls)
{
    return arena_printf(a, "%s%s=%s; Path=/; HttpOnly; SameSite=Lax%s", tls ? "__Host-" : "",
                        SESSION_COOKIE, cookie, tls ? "; Secure" : "");
}

const char *
session_cookie_clear(struct arena *a, bool tls)
{
    return arena_printf(a, "%s%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax%s",
                        tls ? "__Host-" : "", SESSION_COOKIE, tls ? "; Secure" : "");
}

bool
session_fresh(const struct session *s, int64_t now, uint32_t max_age_s, enum aal min)
{
    return s->loa.aal >= min && s->auth_time <= now && now - s->auth_time <= (int64_t)max_age_s;
}

static int
newest_first(const void *x, const void *y)
{
    const struct session *a = x, *b = y;

    if (a->created != b->created)
        return a->created > b->created ? -1 : 1;
    return strcmp(a->sid, b->sid);
}

enum rc
session_list(struct app *app, struct arena *a, const char *account_id, struct session **out,
             size_t *n)
{
    struct span key = index_key(a, account_id), *m = NULL;
    size_t nm = 0, k = 0;
    struct session *v;
    enum rc rc;

    *out = NULL, *n = 0;
    if (!key.p)
        return RC_NOMEM;
    if ((rc = store_set_members(app->store, a, key, &m, &nm)) != RC_OK)
        return rc == RC_NOT_FOUND ? RC_OK : rc;
    if (!(v = arena_alloc(a, (nm ? nm : 1) * sizeof(*v))))
        return RC_NOMEM;
    for (size_t i = 0; i < nm; i++) {
        rc = session_find_by_sid(app, a, m[i], &v[k]);
        if (rc == RC_OK && strcmp(v[k].account_id, account_id) == 0)
            k++;
        else if (rc == RC_NOT_FOUND) /* ended or expired: leaves the list */
            store_set_rem(app->store, key, m[i]);
        else if (rc != RC_OK)
            return rc;
    }
    qsort(v, k, sizeof(*v), newest_first);
    *out = v;
    *n = k < SESSION_LIST_MAX ? k : SESSION_LIST_MAX;
    return RC_OK;
}
