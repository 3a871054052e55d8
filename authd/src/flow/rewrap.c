/* The walk that re-seals every sealed record under the current data key (see rewrap.h). */
#include "flow/rewrap.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/seal.h"
#include "flow/account.h"
#include "flow/totp.h"
#include "log/log.h"
#include "port/clock.h"
#include "port/store.h"
#include "util/num.h"

#define PREFIX "authd:"

enum outcome { OUT_GONE, OUT_CURRENT, OUT_STALE, OUT_RESEALED, OUT_FAILED, OUT_RETRY };

static struct span
state_key(struct arena *a)
{
    return store_key(a, "datakey", SPAN("walk"), NULL);
}

/* The account id of key when it is exactly "authd:<kind>:{<64 hex>}". */
static bool
record_of(struct span key, const char *kind, char acct[ACCOUNT_ID_LEN + 1])
{
    char head[32];
    int w = snprintf(head, sizeof(head), PREFIX "%s:{", kind);
    size_t h = (size_t)w;

    if (w < 0 || h >= sizeof(head) || key.len != h + ACCOUNT_ID_LEN + 1
        || memcmp(key.p, head, h) != 0 || key.p[key.len - 1] != '}')
        return false;
    for (size_t i = 0; i < ACCOUNT_ID_LEN; i++) {
        uint8_t c = key.p[h + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        acct[i] = (char)c;
    }
    acct[ACCOUNT_ID_LEN] = 0;
    return true;
}

/* The account record at key once: reads it, re-seals the fields not under kid, writes them
 * back if they are still what was read. */
static enum rc
account_once(struct app *app, struct arena *a, struct span key, const char *acct, const char *kid,
             bool check, enum outcome *o)
{
    struct store_field exp[ATREST_NACCOUNT], f[ATREST_NACCOUNT];
    struct atrest_keys kopen = {0}, kseal = {0};
    struct store_record rec;
    size_t n = 0;
    enum rc rc = store_rec_get(app->store, a, key, &rec);

    *o = OUT_GONE;
    if (rc == RC_NOT_FOUND || rc == RC_CONFLICT) /* deleted (or reused) since the scan */
        return RC_OK;
    if (rc != RC_OK)
        return rc;
    for (size_t j = 0; j < ATREST_NACCOUNT && rc == RC_OK; j++) {
        const char *name = atrest_account_fields[j];
        struct span v = store_rec_field(&rec, name), plain = {0};
        bool stale = false;
        if (!v.len)
            continue;
        rc = atrest_open(app, a, &kopen, acct, name, v, kid, &plain, &stale);
        if (rc == RC_OK && stale && !check) {
            exp[n] = (struct store_field){span_str(name), v};
            f[n].name = span_str(name);
            rc = atrest_seal(app, a, &kseal, kid, acct, name, plain, &f[n].value);
        }
        n += rc == RC_OK && stale;
        if (plain.p)
            OPENSSL_cleanse((void *)plain.p, plain.len);
    }
    atrest_keys_clear(&kopen);
    atrest_keys_clear(&kseal);
    if (rc == RC_NOMEM || rc == RC_UNAVAILABLE)
        return rc;
    if (rc != RC_OK)
        *o = OUT_FAILED;
    else if (n == 0)
        *o = OUT_CURRENT;
    else if (check)
        *o = OUT_STALE;
    else if ((rc = store_rec_cas(app->store, key, exp, f, n)) == RC_OK)
        *o = OUT_RESEALED;
    else if (rc == RC_CONFLICT)
        *o = OUT_RETRY; /* a live write came first: read again */
    else if (rc == RC_NOT_FOUND)
        *o = OUT_GONE;
    else
        return rc;
    return RC_OK;
}

/* The TOTP record at key once: its seed, re-sealed if it is not under kid. */
static enum rc
totp_once(struct app *app, struct arena *a, struct span key, const char *acct, const char *kid,
          bool check, enum outcome *o)
{
    struct store_record rec;
    struct store_field exp, f;
    struct span blob;
    enum rc rc = store_rec_get(app->store, a, key, &rec);

    *o = OUT_GONE;
    if (rc == RC_NOT_FOUND || rc == RC_CONFLICT)
        return RC_OK;
    if (rc != RC_OK)
        return rc;
    if (!(blob = store_rec_field(&rec, "seed")).len) {
        *o = OUT_CURRENT;
        return RC_OK;
    }
    if (atrest_current(app, blob, kid)) {
        *o = OUT_CURRENT;
        return RC_OK;
    }
    if (check) {
        *o = OUT_STALE;
        return RC_OK;
    }
    exp = (struct store_field){SPAN("seed"), blob};
    f.name = SPAN("seed");
    if ((rc = totp_seed_reseal(app, a, acct, blob, &f.value)) != RC_OK) {
        *o = OUT_FAILED;
        return rc == RC_UNAVAILABLE || rc == RC_NOMEM ? rc : RC_OK;
    }
    rc = store_rec_cas(app->store, key, &exp, &f, 1);
    *o = rc == RC_OK ? OUT_RESEALED : rc == RC_CONFLICT ? OUT_RETRY : OUT_GONE;
    return rc == RC_OK || rc == RC_CONFLICT || rc == RC_NOT_FOUND ? RC_OK : rc;
}

static void
log_failed(const char *kind, const char *acct, enum outcome o)
{
    struct log_rec *r = log_begin(LOG_WARN, "rewrap.failed");
    log_str(r, "kind", kind);
    log_str(r, "acct", acct); /* a keyed hash of the ID number, not the number */
    log_str(r, "why", o == OUT_RETRY ? "kept changing" : "does not open");
    log_end(r);
}

/* One record key: re-sealed (or counted), retried while live writes win. */
static enum rc
one_record(struct app *app, struct arena *a, struct span key, struct rewrap_state *st, bool check,
           uint32_t *seen)
{
    char acct[ACCOUNT_ID_LEN + 1];
    bool is_acct = record_of(key, "acct", acct);
    enum outcome o = OUT_GONE;
    enum rc rc = RC_OK;

    if (!is_acct && !record_of(key, "totp", acct))
        return RC_OK;
    st->records++;
    (*seen)++;
    for (int t = 0; t < REWRAP_TRIES && rc == RC_OK; t++) {
        rc = is_acct ? account_once(app, a, key, acct, st->kid, check, &o)
                     : totp_once(app, a, key, acct, st->kid, check, &o);
        if (o != OUT_RETRY)
            break;
        st->retried++;
    }
    if (rc != RC_OK)
        return rc;
    switch (o) {
    case OUT_CURRENT:
        st->current++;
        break;
    case OUT_STALE:
    case OUT_RESEALED:
        st->resealed++; /* check: the ones that would be */
        break;
    case OUT_FAILED:
    case OUT_RETRY:
        st->failed++;
        log_failed(is_acct ? "account" : "totp", acct, o);
        break;
    case OUT_GONE:
        st->records--;
        break;
    }
    return RC_OK;
}

static void
fmt_u(char out[24], uint64_t v)
{
    snprintf(out, 24, "%" PRIu64, v);
}

static enum rc
save(struct app *app, struct arena *a, const struct rewrap_state *st)
{
    char v[9][24];
    uint64_t nums[9] = {st->cursor,           st->keys,    st->records, st->resealed,
                        st->current,          st->retried, st->failed,  (uint64_t)st->started,
                        (uint64_t)st->updated};
    static const char *const names[9] = {"cursor",  "keys",   "records", "resealed", "current",
                                         "retried", "failed", "started", "updated"};
    struct store_field f[11];
    struct span key = state_key(a);

    if (!key.p)
        return RC_NOMEM;
    for (int i = 0; i < 9; i++) {
        fmt_u(v[i], nums[i]);
        f[i] = (struct store_field){span_str(names[i]), span_str(v[i])};
    }
    f[9] = (struct store_field){SPAN("kid"), span_str(st->kid)};
    f[10] = (struct store_field){SPAN("done"), st->done ? SPAN("1") : SPAN("0")};
    return store_rec_put(app->store, key, f, 11, 0, 0) == RC_OK ? RC_OK : RC_UNAVAILABLE;
}

static uint64_t
field_u64(const struct store_record *rec, const char *name, bool *ok)
{
    uint64_t v = 0;

    if (num_parse_u64(store_rec_field(rec, name), 0, UINT64_MAX, &v) != RC_OK)
        *ok = false;
    return v;
}

enum rc
rewrap_load(struct app *app, struct arena *a, struct rewrap_state *st)
{
    struct store_record rec;
    struct span key = state_key(a), kid;
    bool ok = true;
    enum rc rc;

    memset(st, 0, sizeof(*st));
    if (!key.p)
        return RC_NOMEM;
    if ((rc = store_rec_get(app->store, a, key, &rec)) != RC_OK)
        return rc == RC_NOT_FOUND ? rc : rc == RC_CONFLICT ? RC_INTERNAL : RC_UNAVAILABLE;
    kid = store_rec_field(&rec, "kid");
    if (kid.len == 0 || kid.len >= sizeof(st->kid))
        return RC_INTERNAL;
    memcpy(st->kid, kid.p, kid.len);
    st->cursor = field_u64(&rec, "cursor", &ok);
    st->keys = field_u64(&rec, "keys", &ok);
    st->records = field_u64(&rec, "records", &ok);
    st->resealed = field_u64(&rec, "resealed", &ok);
    st->current = field_u64(&rec, "current", &ok);
    st->retried = field_u64(&rec, "retried", &ok);
    st->failed = field_u64(&rec, "failed", &ok);
    st->started = (int64_t)field_u64(&rec, "started", &ok);
    st->updated = (int64_t)field_u64(&rec, "updated", &ok);
    st->done = span_eq_str(store_rec_field(&rec, "done"), "1");
    return ok ? RC_OK : RC_INTERNAL;
}

/* A fresh state for the current key id into st. */
enum rc
rewrap_fresh(struct app *app, struct arena *a, struct rewrap_state *st)
{
    uint32_t gen;
    enum rc rc = atrest_generation(app, a, &gen);

    if (rc != RC_OK)
        return rc;
    memset(st, 0, sizeof(*st));
    atrest_kid(gen, st->kid);
    st->started = st->updated = clock_now(app->clock);
    return RC_OK;
}

enum rc
rewrap_begin(struct app *app, struct arena *a, struct rewrap_state *st, bool *resumed)
{
    struct rewrap_state cur;
    enum rc rc = rewrap_fresh(app, a, &cur), lr;

    *resumed = false;
    if (rc != RC_OK)
        return rc;
    lr = rewrap_load(app, a, st);
    if (lr == RC_UNAVAILABLE)
        return lr;
    if (lr == RC_OK && strcmp(st->kid, cur.kid) == 0) {
        *resumed = true;
        if (st->done) { /* a finished walk asked again: walk again, the count afresh */
            *st = cur;
            *resumed = false;
        }
    } else {
        *st = cur;
    }
    return save(app, a, st);
}

enum rc
rewrap_step(struct app *app, struct arena *a, struct rewrap_state *st, uint32_t count, bool check,
            uint32_t *seen)
{
    struct rewrap_state before = *st, cur;
    struct span *keys = NULL;
    uint64_t cursor = st->cursor;
    uint32_t seen_here = 0; /* when the caller does not ask how many were seen */
    size_t n = 0;
    enum rc rc;

    if (!seen)
        seen = &seen_here;
    *seen = 0;
    if ((rc = rewrap_fresh(app, a, &cur)) != RC_OK)
        return rc;
    if (strcmp(cur.kid, st->kid) != 0) { /* rotated again since: start over for the new one */
        *st = cur;
        before = cur;
        cursor = 0;
    }
    if (st->done)
        return RC_OK;
    if ((rc = store_scan(app->store, a, &cursor, SPAN(PREFIX), count, &keys, &n)) != RC_OK)
        return rc == RC_NOMEM ? rc : RC_UNAVAILABLE;
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        st->keys++;
        rc = one_record(app, a, keys[i], st, check, seen);
    }
    if (rc != RC_OK) {
        *st = before; /* the page is done again from its start: re-sealing twice is harmless */
        return rc == RC_NOMEM ? rc : RC_UNAVAILABLE;
    }
    st->cursor = cursor;
    st->done = cursor == 0;
    st->updated = clock_now(app->clock);
    if (!check && (rc = save(app, a, st)) != RC_OK) {
        *st = before;
        return rc;
    }
    return RC_OK;
}
