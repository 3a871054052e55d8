/* Pending interactions: one record type, its state machine and poll bookkeeping. */
#include "flow/pending.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonget.h"
#include "flow/grant.h"
#include "port/store.h"

static const char *const kinds[] = {"authz", "device", "ciba", "par"};

/* The kinds a decision is written for beside the record (the others complete directly). */
static bool
decided_apart(enum pending_kind kind)
{
    return kind != PENDING_AUTHZ && kind != PENDING_PAR;
}

static struct span
rec_key(struct arena *a, enum pending_kind kind, struct span id, const char *suffix)
{
    return store_key(a, kinds[kind], id, suffix);
}

/* How long a record of kind stays in the store past its expiry (pending.h). */
static uint32_t
linger(enum pending_kind kind)
{
    return kind == PENDING_AUTHZ ? 0 : PENDING_LINGER_S;
}

static bool
id_ok(struct span id)
{
    if (id.len != PENDING_ID_LEN)
        return false;
    for (size_t i = 0; i < id.len; i++) {
        uint8_t c = id.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
              || c == '_'))
            return false;
    }
    return true;
}

static bool
fits(const char *s, size_t max)
{
    return !s || strlen(s) <= max;
}

/* Every stored field against its cap. */
static enum rc
check_caps(const struct pending *p)
{
    if (!p->client_id || !*p->client_id)
        return RC_MALFORMED;
    if (!fits(p->client_id, PENDING_CLIENT_MAX) || !fits(p->scope, PENDING_SCOPE_MAX)
        || !fits(p->claims, PENDING_CLAIMS_MAX) || !fits(p->account_id, PENDING_ACCT_MAX)
        || p->nattr > PENDING_ATTR_MAX)
        return RC_TOO_LARGE;
    for (size_t i = 0; i < p->nattr; i++)
        if (!fits(p->attr[i].name, PENDING_NAME_MAX) || !fits(p->attr[i].value, PENDING_VALUE_MAX))
            return RC_TOO_LARGE;
    return RC_OK;
}

static void
jset(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *
to_json(const struct pending *p)
{
    json_t *o = json_object(), *x = json_object();

    if (!o || !x) {
        json_decref(o), json_decref(x);
        return NULL;
    }
    json_object_set_new(o, "v", json_integer(1));
    jset(o, "client_id", p->client_id), jset(o, "scope", p->scope), jset(o, "claims", p->claims);
    json_object_set_new(o, "ial", json_integer(p->acr.ial));
    json_object_set_new(o, "aal", json_integer(p->acr.aal));
    json_object_set_new(o, "created", json_integer(p->created));
    json_object_set_new(o, "exp", json_integer(p->expires));
    json_object_set_new(o, "interval", json_integer(p->interval));
    json_object_set_new(o, "poll", json_integer(p->last_poll));
    for (size_t i = 0; i < p->nattr; i++)
        jset(x, p->attr[i].name, p->attr[i].value);
    json_object_set_new(o, "x", x);
    return o;
}

static int64_t
jint(json_t *o, const char *k, int64_t lo, int64_t hi, bool *ok)
{
    json_t *v = json_object_get(o, k);
    int64_t n = json_is_integer(v) ? json_integer_value(v) : lo - 1;

    if (n < lo || n > hi)
        *ok = false;
    return n;
}

/* The record's fields into out; false for anything that is not a record we wrote (an
 * earlier format included: it is treated as expired). */
static bool
from_json(struct arena *a, json_t *o, struct pending *out)
{
    json_t *x = json_object_get(o, "x"), *v;
    const char *k;
    bool ok = json_is_integer(json_object_get(o, "v")) && json_is_object(x);

    out->client_id = jsonget_str(a, o, "client_id");
    out->scope = jsonget_str(a, o, "scope"), out->claims = jsonget_str(a, o, "claims");
    out->acr.ial = (enum ial)jint(o, "ial", IAL_NONE, IAL5, &ok);
    out->acr.aal = (enum aal)jint(o, "aal", AAL_NONE, AAL3, &ok);
    out->created = jint(o, "created", 0, INT64_MAX / 2, &ok);
    out->expires = jint(o, "exp", 0, INT64_MAX / 2, &ok);
    out->interval = (uint32_t)jint(o, "interval", 0, 3600, &ok);
    out->last_poll = jint(o, "poll", 0, INT64_MAX / 2, &ok);
    if (!ok || !out->client_id)
        return false;
    json_object_foreach(x, k, v)
    {
        if (!json_is_string(v) || out->nattr >= PENDING_ATTR_MAX)
            return false;
        out->attr[out->nattr].name = arena_printf(a, "%s", k);
        out->attr[out->nattr++].value = jsonget_str(a, x, k);
    }
    return check_caps(out) == RC_OK;
}

enum rc
pending_save(struct app *app, struct arena *a, struct pending *p, uint32_t ttl_s)
{
    int64_t now = clock_now(app->clock);
    bool fresh = p->id[0] == 0;
    json_t *o = NULL;
    char *s = NULL;
    enum rc rc;

    if ((rc = check_caps(p)) != RC_OK)
        return rc;
    if (fresh) {
        if (ttl_s == 0 || ttl_s > PENDING_TTL_MAX)
            return RC_MALFORMED;
        p->created = now, p->expires = now + ttl_s;
    }
    if (p->expires <= now)
        return RC_EXPIRED;
    if (fresh && (rc = grant_random_token(app, 32, p->id, sizeof(p->id))) != RC_OK)
        return rc;
    rc = RC_NOMEM;
    if ((o = to_json(p)) && (s = json_dumps(o, JSON_COMPACT)))
        /* A new interaction may not eat into the store's reserve, which keeps room for the
         * citizens already in a login (port/store.h STORE_LOW); saving one again must not
         * bring back one completed meanwhile (STORE_XX). */
        rc =
            store_put(app->store, rec_key(a, p->kind, span_str(p->id), NULL), span_str(s),
                      (uint32_t)(p->expires - now + linger(p->kind)), fresh ? STORE_LOW : STORE_XX);
    free(s);
    json_decref(o);
    if (rc != RC_OK && fresh)
        p->id[0] = 0;
    return rc;
}

/* The approval's JSON into p->by (false for anything we did not write). */
static bool
approval_from_json(struct arena *a, struct span v, struct pending *p)
{
    json_t *o = json_loadb((const char *)v.p, v.len, 0, NULL);
    bool ok = json_is_object(o);

    if (ok) {
        p->by.account_id = jsonget_str(a, o, "acct");
        p->by.sid = jsonget_str(a, o, "sid"), p->by.amr = jsonget_str(a, o, "amr");
        p->by.loa.ial = (enum ial)jint(o, "ial", IAL_NONE, IAL5, &ok);
        p->by.loa.aal = (enum aal)jint(o, "aal", AAL_NONE, AAL3, &ok);
        p->by.auth_time = jint(o, "at", 0, INT64_MAX / 2, &ok);
        ok = ok && p->by.account_id && *p->by.account_id;
    }
    json_decref(o);
    p->account_id = ok ? p->by.account_id : NULL;
    return ok;
}

/* The decision written beside the record, if any. */
static enum rc
load_decision(struct app *app, struct arena *a, struct pending *p)
{
    struct span v;
    enum rc rc = store_get(app->store, a, rec_key(a, p->kind, span_str(p->id), ":decided"), &v);

    if (rc == RC_NOT_FOUND)
        return RC_OK;
    if (rc != RC_OK)
        return rc;
    if (span_eq_str(v, "denied"))
        p->state = PENDING_DENIED;
    else if (approval_from_json(a, v, p))
        p->state = PENDING_APPROVED;
    return RC_OK; /* anything else: undecided (a damaged decision approves nothing) */
}

static enum rc
parse(struct arena *a, enum pending_kind kind, struct span id, struct span v, struct pending *out)
{
    json_t *o = json_loadb((const char *)v.p, v.len, 0, NULL);
    bool ok;

    memset(out, 0, sizeof(*out));
    out->kind = kind;
    memcpy(out->id, id.p, PENDING_ID_LEN);
    ok = o && json_is_object(o) && from_json(a, o, out);
    json_decref(o);
    if (!ok)
        return RC_NOT_FOUND; /* a damaged or earlier-format record is no interaction */
    return RC_OK;
}

enum rc
pending_load(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
             struct pending *out)
{
    struct span v;
    enum rc rc;

    if (!id_ok(id) || (unsigned)kind > PENDING_PAR)
        return RC_NOT_FOUND;
    if ((rc = store_get(app->store, a, rec_key(a, kind, id, NULL), &v)) != RC_OK)
        return rc;
    if ((rc = parse(a, kind, id, v, out)) != RC_OK)
        return rc;
    /* the authorization request is never decided from elsewhere: no second read */
    if (decided_apart(kind) && (rc = load_decision(app, a, out)) != RC_OK)
        return rc;
    if (clock_now(app->clock) >= out->expires)
        out->state = PENDING_EXPIRED;
    return RC_OK;
}

/* The approval as stored: one JSON object. NULL when out of memory. */
static char *
approval_json(const struct pending_approval *ap)
{
    json_t *o = json_object();
    char *s;

    if (!o)
        return NULL;
    jset(o, "acct", ap->account_id), jset(o, "sid", ap->sid), jset(o, "amr", ap->amr);
    json_object_set_new(o, "ial", json_integer(ap->loa.ial));
    json_object_set_new(o, "aal", json_integer(ap->loa.aal));
    json_object_set_new(o, "at", json_integer(ap->auth_time));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

enum rc
pending_approve(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
                const struct pending_approval *ap)
{
    struct pending p;
    char *v = NULL;
    enum rc rc;

    if (ap && (!ap->account_id || !*ap->account_id || !fits(ap->account_id, PENDING_ACCT_MAX)))
        return RC_MALFORMED;
    if (ap && (!fits(ap->sid, PENDING_SID_MAX) || !fits(ap->amr, PENDING_AMR_MAX)))
        return RC_TOO_LARGE;
    if ((rc = pending_load(app, a, kind, id, &p)) != RC_OK)
        return rc;
    if (p.state == PENDING_EXPIRED)
        return RC_EXPIRED;
    if (p.state != PENDING_WAITING)
        return RC_CONFLICT;
    if (ap && !(v = approval_json(ap)))
        return RC_NOMEM;
    /* put-if-absent: of two concurrent decisions exactly one is written */
    rc = store_put(app->store, rec_key(a, kind, id, ":decided"), span_str(v ? v : "denied"),
                   (uint32_t)(p.expires - clock_now(app->clock) + linger(kind)), STORE_NX);
    free(v);
    return rc;
}

enum rc
pending_decide(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
               const char *account_id)
{
    struct pending_approval ap = {.account_id = account_id};

    if (account_id && !*account_id)
        return RC_MALFORMED;
    return pending_approve(app, a, kind, id, account_id ? &ap : NULL);
}

enum rc
pending_poll(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
             struct pending *out)
{
    int64_t now = clock_now(app->clock);
    bool soon;
    enum rc rc;

    if ((rc = pending_load(app, a, kind, id, out)) != RC_OK)
        return rc;
    if (out->state == PENDING_EXPIRED)
        return RC_OK; /* nothing to remember: the caller answers expired */
    soon = out->last_poll && now - out->last_poll < (int64_t)out->interval;
    if (soon && out->interval <= 3600 - PENDING_SLOW_DOWN_S)
        out->interval += PENDING_SLOW_DOWN_S; /* RFC 8628 §3.5 */
    out->last_poll = now;
    rc = pending_save(app, a, out, 0);
    if (rc != RC_OK)
        return rc == RC_EXPIRED ? RC_OK : rc;
    return soon ? RC_LIMITED : RC_OK;
}

enum rc
pending_complete(struct app *app, struct arena *a, enum pending_kind kind, struct span id,
                 struct pending *out)
{
    struct pending tmp, *p = out ? out : &tmp;
    struct span v;
    enum rc rc;

    if (!id_ok(id) || (unsigned)kind > PENDING_PAR)
        return RC_NOT_FOUND;
    if ((rc = store_take(app->store, a, rec_key(a, kind, id, NULL), &v)) != RC_OK)
        return rc;
    rc = parse(a, kind, id, v, p);
    if (rc == RC_OK && decided_apart(kind))
        rc = load_decision(app, a, p);
    if (decided_apart(kind)) /* best effort: it expires with the record */
        store_del(app->store, rec_key(a, kind, id, ":decided"));
    if (rc == RC_OK && clock_now(app->clock) >= p->expires)
        p->state = PENDING_EXPIRED;
    return rc;
}

const char *
pending_attr(const struct pending *p, const char *name)
{
    for (size_t i = 0; i < p->nattr; i++)
        if (strcmp(p->attr[i].name, name) == 0)
            return p->attr[i].value;
    return NULL;
}

enum rc
pending_attr_set(struct pending *p, const char *name, const char *value)
{
    size_t i = 0;

    if (!value)
        return RC_OK;
    if (strlen(name) > PENDING_NAME_MAX || strlen(value) > PENDING_VALUE_MAX)
        return RC_TOO_LARGE;
    while (i < p->nattr && strcmp(p->attr[i].name, name) != 0)
        i++;
    if (i == PENDING_ATTR_MAX)
        return RC_TOO_LARGE;
    p->attr[i] = (struct pending_attr){name, value};
    if (i == p->nattr)
        p->nattr++;
    return RC_OK;
}
