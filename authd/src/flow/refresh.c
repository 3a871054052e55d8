#include "flow/refresh.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jose.h"
#include "flow/grant.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"
#include "util/num.h"

#define NFIELDS_MAX 16

/* ---- record <-> struct ------------------------------------------------------------------ */

static struct span
fam_key(struct arena *a, struct span id, const char *suffix)
{
    return store_key(a, "rtf", id, suffix);
}

/* The record outlives the family's last access token. */
static uint32_t
rec_ttl(const struct rtf *f, const struct policy *p, int64_t now)
{
    int64_t t = f->abs_exp - now + p->tokens.access_token_ttl + p->tokens.clock_leeway_s;

    return t < 1 ? 1 : (uint32_t)t;
}

static void
field(struct store_field *fl, size_t *n, const char *name, const char *v)
{
    fl[*n].name = span_str(name);
    fl[*n].value = span_str(v ? v : "");
    (*n)++;
}

static void
field_int(struct arena *a, struct store_field *fl, size_t *n, const char *name, int64_t v)
{
    field(fl, n, name, arena_printf(a, "%lld", (long long)v));
}

static int64_t
rec_int(const struct store_record *r, const char *name)
{
    uint64_t v = 0;

    if (num_parse_u64(store_rec_field(r, name), 0, INT64_MAX, &v) != RC_OK)
        return 0;
    return (int64_t)v;
}

static const char *
rec_str(struct arena *a, const struct store_record *r, const char *name)
{
    struct span s = store_rec_field(r, name);

    return s.p ? arena_span_dup(a, s) : NULL;
}

static enum rc
rec_to_rtf(struct arena *a, struct span id, const struct store_record *r, struct rtf *f)
{
    struct span acr = store_rec_field(r, "acr");

    memset(f, 0, sizeof(*f));
    if (id.len != RTF_ID_LEN)
        return RC_MALFORMED;
    memcpy(f->id, id.p, RTF_ID_LEN);
    f->client_id = rec_str(a, r, "client");
    f->account_id = rec_str(a, r, "acct");
    f->sid = rec_str(a, r, "sid");
    f->scope = rec_str(a, r, "scope");
    f->amr = rec_str(a, r, "amr");
    f->jkt = rec_str(a, r, "jkt");
    if (f->jkt && !*f->jkt)
        f->jkt = NULL;
    if (!f->client_id || !f->account_id || !f->scope || loa_parse(acr, &f->loa) != RC_OK)
        return RC_MALFORMED;
    f->auth_time = rec_int(r, "auth_time");
    f->created = rec_int(r, "created");
    f->abs_exp = rec_int(r, "abs_exp");
    f->idle_exp = rec_int(r, "idle_exp");
    f->refresh = span_eq_str(store_rec_field(r, "rt"), "1");
    f->revoked = span_eq_str(store_rec_field(r, "revoked"), "1");
    return RC_OK;
}

enum rc
rtf_get(struct app *app, struct arena *a, struct span id, struct rtf *f)
{
    struct store_record rec;
    enum rc rc;

    if (id.len != RTF_ID_LEN)
        return RC_NOT_FOUND;
    if ((rc = store_rec_get(app->store, a, fam_key(a, id, NULL), &rec)) != RC_OK)
        return rc;
    return rec_to_rtf(a, id, &rec, f) == RC_OK ? RC_OK : RC_NOT_FOUND;
}

/* ---- tokens ----------------------------------------------------------------------------- */

/* The successor's random part is kept XOR a pad only the old token's holder can compute. */
static enum rc
successor_pad(struct app *app, struct span old_tok, uint8_t pad[32])
{
    struct span parts[2] = {SPAN("rt-successor"), old_tok};

    return secrets_hmac(app->secrets, SECRET_TOKEN, parts, 2, pad);
}

/* tok = family id + base64url(raw). */
static enum rc
token_from_raw(struct arena *a, const char *fam, const uint8_t raw[32],
               char tok[REFRESH_TOKEN_LEN + 1])
{
    struct span enc;
    enum rc rc;

    if ((rc = jose_b64url_encode(span_of(raw, 32), a, &enc)) != RC_OK)
        return rc;
    if (enc.len != REFRESH_TOKEN_LEN - RTF_ID_LEN)
        return RC_INTERNAL;
    memcpy(tok, fam, RTF_ID_LEN);
    memcpy(tok + RTF_ID_LEN, enc.p, enc.len);
    tok[REFRESH_TOKEN_LEN] = 0;
    OPENSSL_cleanse((void *)enc.p, enc.len);
    return RC_OK;
}

static enum rc
token_hash(struct app *app, struct span tok, char h[65])
{
    return secrets_hmac_hex(app->secrets, SECRET_TOKEN, &tok, 1, h);
}

static bool
token_shape_ok(struct span tok)
{
    return tok.len == REFRESH_TOKEN_LEN && span_is_b64url(tok);
}

static bool
hash_eq(struct span stored, const char h[65])
{
    return stored.len == 64 && CRYPTO_memcmp(stored.p, h, 64) == 0;
}

/* ---- create ----------------------------------------------------------------------------- */

static size_t
base_fields(struct arena *a, const struct rtf *f, struct store_field *fl)
{
    char acr[LOA_ACR_MAX];
    size_t n = 0;

    loa_format(f->loa, acr);
    field(fl, &n, "client", f->client_id);
    field(fl, &n, "acct", f->account_id);
    field(fl, &n, "sid", f->sid);
    field(fl, &n, "scope", f->scope);
    field(fl, &n, "amr", f->amr);
    field(fl, &n, "acr", arena_strndup(a, acr, strlen(acr)));
    field_int(a, fl, &n, "auth_time", f->auth_time);
    field_int(a, fl, &n, "created", f->created);
    field_int(a, fl, &n, "abs_exp", f->abs_exp);
    field_int(a, fl, &n, "idle_exp", f->idle_exp);
    field(fl, &n, "rt", f->refresh ? "1" : "0");
    field(fl, &n, "revoked", "0");
    if (f->jkt)
        field(fl, &n, "jkt", f->jkt);
    return n;
}

enum rc
rtf_new_id(struct app *app, struct rtf *f)
{
    return grant_random_token(app, 16, f->id, sizeof(f->id));
}

enum rc
rtf_create_ops(struct app *app, struct arena *a, const struct policy *p, struct rtf *f,
               char tok[REFRESH_TOKEN_LEN + 1], struct store_op ops[2], size_t *nops)
{
    struct store_field *fl = arena_alloc(a, NFIELDS_MAX * sizeof(*fl));
    uint8_t raw[32];
    char h[65];
    int64_t now = clock_now(app->clock);
    size_t n;
    enum rc rc = RC_OK;

    if (!fl)
        return RC_NOMEM;
    f->created = now;
    f->abs_exp = f->refresh ? now + p->tokens.refresh_token_ttl : now;
    f->idle_exp = f->refresh ? now + p->tokens.refresh_token_idle_ttl : now;
    if (f->idle_exp > f->abs_exp)
        f->idle_exp = f->abs_exp;
    f->revoked = false;
    n = base_fields(a, f, fl);
    if (f->refresh) {
        if ((rc = rng_bytes(app->rng, raw, sizeof(raw))) != RC_OK
            || (rc = token_from_raw(a, f->id, raw, tok)) != RC_OK
            || (rc = token_hash(app, span_of(tok, REFRESH_TOKEN_LEN), h)) != RC_OK)
            goto out;
        field(fl, &n, "cur", arena_strndup(a, h, 64));
    }
    ops[0] = (struct store_op){.kind = STORE_OP_REC_PUT,
                               .key = fam_key(a, span_str(f->id), NULL),
                               .fields = fl,
                               .nfields = n,
                               .ttl_s = rec_ttl(f, p, now),
                               .flags = STORE_NX};
    *nops = 1;
    if (f->sid && *f->sid)
        ops[(*nops)++] = (struct store_op){.kind = STORE_OP_SET_ADD,
                                           .key = store_key(a, "sidfam", span_str(f->sid), NULL),
                                           .value = span_str(f->id),
                                           .ttl_s = rec_ttl(f, p, now)};
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

enum rc
rtf_create(struct app *app, struct arena *a, const struct policy *p, struct rtf *f,
           char tok[REFRESH_TOKEN_LEN + 1])
{
    struct store_op ops[2];
    size_t n = 0;
    enum rc rc;

    if ((rc = rtf_new_id(app, f)) != RC_OK
        || (rc = rtf_create_ops(app, a, p, f, tok, ops, &n)) != RC_OK)
        return rc;
    rc = store_rec_put(app->store, ops[0].key, ops[0].fields, ops[0].nfields, ops[0].ttl_s,
                       ops[0].flags);
    if (rc == RC_OK && n > 1)
        rc = store_set_add(app->store, ops[1].key, ops[1].value, ops[1].ttl_s);
    return rc;
}

/* ---- revoke ----------------------------------------------------------------------------- */

enum rc
rtf_revoke(struct app *app, struct arena *a, const struct policy *p, struct span id)
{
    struct rtf f;
    struct store_field fl[1] = {{SPAN("revoked"), SPAN("1")}};
    enum rc rc;

    if ((rc = rtf_get(app, a, id, &f)) != RC_OK)
        return rc;
    return store_rec_put(app->store, fam_key(a, id, NULL), fl, 1,
                         rec_ttl(&f, p, clock_now(app->clock)), STORE_XX);
}

enum rc
rtf_block(struct app *app, struct arena *a, struct span id, uint32_t ttl_s)
{
    struct store_field fl[1] = {{SPAN("revoked"), SPAN("1")}};

    if (id.len != RTF_ID_LEN)
        return RC_NOT_FOUND;
    return store_rec_put(app->store, fam_key(a, id, NULL), fl, 1, ttl_s, STORE_NX);
}

/* ---- the per-account bound -------------------------------------------------------------- */

static struct span
index_key(struct arena *a, const char *account_id)
{
    return store_key(a, "acctrtf", span_str(account_id), NULL);
}

/* The index outlives every family it lists: the longest a family can live, and then some. */
static uint32_t
index_ttl(const struct policy *p)
{
    return p->tokens.refresh_token_ttl + p->tokens.access_token_ttl + p->tokens.clock_leeway_s;
}

enum rc
rtf_index_ops(struct arena *a, const struct policy *p, const struct rtf *f, struct store_op ops[2])
{
    struct store_field *fl = arena_alloc(a, sizeof(*fl));
    int64_t exp = f->abs_exp + p->tokens.access_token_ttl + p->tokens.clock_leeway_s;
    const char *v = arena_printf(a, "%lld %lld", (long long)f->created, (long long)exp);
    struct span k = index_key(a, f->account_id);

    if (!fl || !v || !k.p)
        return RC_NOMEM;
    fl->name = span_str(f->id);
    fl->value = span_str(v);
    ops[0] = (struct store_op){
        .kind = STORE_OP_REC_PUT, .key = k, .fields = fl, .nfields = 1, .ttl_s = index_ttl(p)};
    ops[1] = (struct store_op){.kind = STORE_OP_REC_GET, .key = k};
    return RC_OK;
}

struct entry {
    struct span id;
    long long created, exp;
};

static int
by_age(const void *x, const void *y)
{
    const struct entry *a = x, *b = y;

    if (a->created != b->created)
        return a->created < b->created ? -1 : 1;
    return memcmp(a->id.p, b->id.p, a->id.len < b->id.len ? a->id.len : b->id.len);
}

enum rc
rtf_retire(struct app *app, struct arena *a, struct span id, uint32_t ttl_s)
{
    struct store_field fl[1] = {{SPAN("revoked"), SPAN("1")}};

    return store_rec_put(app->store, fam_key(a, id, NULL), fl, 1, ttl_s, STORE_XX);
}

/* Revokes family id and lets its record go once its access tokens have expired (a revoked
 * family must not keep its refresh lifetime of store). RC_NOT_FOUND if it is gone. */
static enum rc
evict(struct app *app, struct arena *a, const struct policy *p, struct span id)
{
    return rtf_retire(app, a, id, p->tokens.access_token_ttl + p->tokens.clock_leeway_s + 1);
}

/* Parses idx into e (live entries first come out sorted by age); *nlive of them live. */
static size_t
index_entries(const struct store_record *idx, int64_t now, struct entry *e, size_t *nlive)
{
    size_t n = 0;

    *nlive = 0;
    for (size_t i = 0; i < idx->n; i++) {
        char v[48];
        struct span s = idx->f[i].value;
        if (idx->f[i].name.len != RTF_ID_LEN || s.len >= sizeof(v))
            continue; /* not ours: dropped by the rewrite */
        memcpy(v, s.p, s.len);
        v[s.len] = 0;
        e[n].id = idx->f[i].name;
        if (sscanf(v, "%lld %lld", &e[n].created, &e[n].exp) != 2)
            continue;
        if (e[n].exp > now)
            (*nlive)++;
        else
            e[n].created = -1; /* dead: not kept */
        n++;
    }
    qsort(e, n, sizeof(*e), by_age);
    return n;
}

enum rc
rtf_account_bound(struct app *app, struct arena *a, const struct policy *p, const char *account_id,
                  const struct store_record *idx, uint32_t max)
{
    struct entry *e;
    struct store_field *keep;
    struct store_op ops[2];
    size_t n, nlive, nkeep = 0, revoked = 0;
    enum rc rc = RC_OK;

    if (max == 0 || idx->n <= max)
        return RC_OK;
    if (!(e = arena_alloc(a, idx->n * sizeof(*e))) || !(keep = arena_alloc(a, max * sizeof(*keep))))
        return RC_NOMEM;
    n = index_entries(idx, clock_now(app->clock), e, &nlive);
    for (size_t i = 0; i < n && rc == RC_OK; i++) {
        if (e[i].created < 0)
            continue;
        if (nlive - revoked > max) { /* the oldest live ones beyond the bound */
            rc = evict(app, a, p, e[i].id);
            rc = rc == RC_NOT_FOUND ? RC_OK : rc;
            revoked++;
            continue;
        }
        keep[nkeep].name = e[i].id;
        keep[nkeep++].value = span_str(arena_printf(a, "%lld %lld", e[i].created, e[i].exp));
    }
    if (rc != RC_OK)
        return rc;
    /* rewritten whole, atomically; a family added meanwhile by another redemption of the
     * same account may drop out of the index (it then escapes the bound, nothing else) */
    ops[0] = (struct store_op){.kind = STORE_OP_DEL, .key = index_key(a, account_id)};
    ops[1] = (struct store_op){.kind = STORE_OP_REC_PUT,
                               .key = ops[0].key,
                               .fields = keep,
                               .nfields = nkeep,
                               .ttl_s = index_ttl(p)};
    rc = store_batch(app->store, ops, nkeep ? 2 : 1);
    if (revoked) {
        struct log_rec *lr = log_begin(LOG_INFO, "token.family_bound");
        log_int(lr, "revoked", (int64_t)revoked);
        log_int(lr, "max", max);
        log_end(lr);
    }
    return rc;
}

/* ---- rotate ----------------------------------------------------------------------------- */

static void
to_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++)
        out[2 * i] = hx[p[i] >> 4], out[2 * i + 1] = hx[p[i] & 15];
    out[2 * n] = 0;
}

static bool
from_hex32(struct span s, uint8_t out[32])
{
    if (s.len != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;
        for (size_t k = 0; k < 2; k++) {
            uint8_t c = s.p[2 * i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        out[i] = (uint8_t)v;
    }
    return true;
}

/* One atomic batch: old hash marked used (NX: RC_CONFLICT if another redemption won),
 * successor current, idle expiry slid forward. */
static enum rc
rotate_batch(struct app *app, struct arena *a, const struct policy *p, struct rtf *f,
             struct span tok, const char h[65], int64_t now, char next[REFRESH_TOKEN_LEN + 1])
{
    uint8_t raw[32], pad[32];
    char hn[65], succ[65];
    struct store_field fl[5];
    size_t n = 0;
    int64_t idle = now + p->tokens.refresh_token_idle_ttl;
    struct span fam = span_of(f->id, RTF_ID_LEN);
    enum rc rc;

    if ((rc = rng_bytes(app->rng, raw, sizeof(raw))) != RC_OK
        || (rc = successor_pad(app, tok, pad)) != RC_OK
        || (rc = token_from_raw(a, f->id, raw, next)) != RC_OK
        || (rc = token_hash(app, span_of(next, REFRESH_TOKEN_LEN), hn)) != RC_OK)
        goto out;
    for (size_t i = 0; i < 32; i++)
        pad[i] ^= raw[i];
    to_hex(pad, 32, succ);
    f->idle_exp = idle < f->abs_exp ? idle : f->abs_exp;
    field(fl, &n, "cur", arena_strndup(a, hn, 64));
    field(fl, &n, "prev", arena_strndup(a, h, 64));
    field_int(a, fl, &n, "rot", now);
    field(fl, &n, "succ", arena_strndup(a, succ, 64));
    field_int(a, fl, &n, "idle_exp", f->idle_exp);
    struct store_op ops[2] = {
        {.kind = STORE_OP_PUT,
         .key = fam_key(a, fam, arena_printf(a, ":u:%s", h)),
         .value = SPAN("1"),
         .ttl_s = rec_ttl(f, p, now),
         .flags = STORE_NX},
        {.kind = STORE_OP_REC_PUT,
         .key = fam_key(a, fam, NULL),
         .fields = fl,
         .nfields = n,
         .ttl_s = rec_ttl(f, p, now)},
    };
    rc = store_batch(app->store, ops, 2);
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(succ, sizeof(succ));
    if (rc != RC_OK)
        OPENSSL_cleanse(next, REFRESH_TOKEN_LEN + 1);
    return rc;
}

/* Within the grace window, the previous token gets its successor back. */
static enum rc
grace_successor(struct app *app, struct arena *a, const struct store_record *rec,
                const struct rtf *f, struct span tok, char next[REFRESH_TOKEN_LEN + 1])
{
    uint8_t raw[32], pad[32];
    char hn[65];
    enum rc rc = RC_INTERNAL;

    if (!from_hex32(store_rec_field(rec, "succ"), raw) || successor_pad(app, tok, pad) != RC_OK)
        goto out;
    for (size_t i = 0; i < 32; i++)
        raw[i] ^= pad[i];
    if ((rc = token_from_raw(a, f->id, raw, next)) != RC_OK
        || (rc = token_hash(app, span_of(next, REFRESH_TOKEN_LEN), hn)) != RC_OK)
        goto out;
    rc = hash_eq(store_rec_field(rec, "cur"), hn) ? RC_OK : RC_NOT_FOUND;
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(pad, sizeof(pad));
    return rc;
}

/* tok is not the current token: the grace window, reuse (revoke), or unknown. */
static enum rc
not_current(struct app *app, struct arena *a, const struct policy *p,
            const struct store_record *rec, struct rtf *f, struct span tok, const char h[65],
            int64_t now, char next[REFRESH_TOKEN_LEN + 1], struct rc_info *ri)
{
    struct span fam = span_of(f->id, RTF_ID_LEN), used;
    bool is_prev = hash_eq(store_rec_field(rec, "prev"), h);
    enum rc rc;

    if (is_prev && now - rec_int(rec, "rot") <= (int64_t)p->tokens.refresh_grace_s) {
        if (now >= f->abs_exp)
            return rc_set(ri, RC_EXPIRED, "refresh_token", "expired");
        if ((rc = grace_successor(app, a, rec, f, tok, next)) == RC_OK)
            return RC_OK;
        if (rc != RC_NOT_FOUND)
            return rc;
    }
    rc = is_prev ? RC_OK
                 : store_get(app->store, a, fam_key(a, fam, arena_printf(a, ":u:%s", h)), &used);
    if (rc == RC_NOT_FOUND)
        return rc_set(ri, RC_NOT_FOUND, "refresh_token", "unknown");
    if (rc != RC_OK)
        return rc;
    /* RFC 9700 §4.14.2: an old token used again means one copy was stolen */
    if ((rc = rtf_revoke(app, a, p, fam)) != RC_OK && rc != RC_NOT_FOUND)
        return rc;
    f->revoked = true;
    return rc_set(ri, RC_DENIED, "refresh_token", "reused; the grant is revoked");
}

enum rc
rtf_rotate(struct app *app, struct arena *a, const struct policy *p, const char *client_id,
           struct span tok, struct rtf *f, char next[REFRESH_TOKEN_LEN + 1], struct rc_info *ri)
{
    struct store_record rec;
    struct span fam;
    char h[65];
    int64_t now = clock_now(app->clock);
    enum rc rc;

    if (!token_shape_ok(tok))
        return rc_set(ri, RC_NOT_FOUND, "refresh_token", "unknown");
    fam = span_of(tok.p, RTF_ID_LEN);
    if ((rc = token_hash(app, tok, h)) != RC_OK)
        return rc;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((rc = store_rec_get(app->store, a, fam_key(a, fam, NULL), &rec)) == RC_NOT_FOUND)
            return rc_set(ri, RC_NOT_FOUND, "refresh_token", "unknown or expired");
        if (rc != RC_OK || (rc = rec_to_rtf(a, fam, &rec, f)) != RC_OK)
            return rc == RC_MALFORMED ? RC_INTERNAL : rc;
        if (!f->refresh)
            return rc_set(ri, RC_NOT_FOUND, "refresh_token", "unknown");
        if (f->revoked)
            return rc_set(ri, RC_DENIED, "refresh_token", "revoked");
        if (strcmp(f->client_id, client_id) != 0)
            return rc_set(ri, RC_DENIED, "refresh_token", "issued to another client");
        if (!hash_eq(store_rec_field(&rec, "cur"), h))
            return not_current(app, a, p, &rec, f, tok, h, now, next, ri);
        if (now >= f->abs_exp || now >= f->idle_exp)
            return rc_set(ri, RC_EXPIRED, "refresh_token", "expired");
        if ((rc = rotate_batch(app, a, p, f, tok, h, now, next)) != RC_CONFLICT)
            return rc;
        /* a concurrent redemption rotated it first: read again, the grace path answers */
    }
    return rc_set(ri, RC_DENIED, "refresh_token", "concurrent redemption");
}

enum rc
rtf_lookup(struct app *app, struct arena *a, struct span tok, struct rtf *f)
{
    struct store_record rec;
    struct span fam;
    char h[65];
    int64_t now = clock_now(app->clock);
    enum rc rc;

    if (!token_shape_ok(tok))
        return RC_NOT_FOUND;
    fam = span_of(tok.p, RTF_ID_LEN);
    if ((rc = token_hash(app, tok, h)) != RC_OK)
        return rc;
    if ((rc = store_rec_get(app->store, a, fam_key(a, fam, NULL), &rec)) != RC_OK)
        return rc;
    if (rec_to_rtf(a, fam, &rec, f) != RC_OK || !f->refresh || f->revoked
        || !hash_eq(store_rec_field(&rec, "cur"), h) || now >= f->abs_exp || now >= f->idle_exp)
        return RC_NOT_FOUND;
    return RC_OK;
}

enum rc
rtf_revoke_client(struct app *app, struct arena *a, const struct policy *p, const char *account_id,
                  const char *client_id, size_t *n)
{
    struct store_record idx;
    struct rtf f;
    size_t k = 0;
    enum rc rc = store_rec_get(app->store, a, index_key(a, account_id), &idx);

    if (n)
        *n = 0;
    if (rc == RC_NOT_FOUND)
        return RC_OK;
    for (size_t i = 0; rc == RC_OK && i < idx.n; i++) {
        rc = rtf_get(app, a, idx.f[i].name, &f);
        if (rc == RC_OK && !f.revoked && strcmp(f.client_id, client_id) == 0
            && strcmp(f.account_id, account_id) == 0 && (rc = rtf_revoke(app, a, p, idx.f[i].name)) == RC_OK)
            k++;
        rc = rc == RC_NOT_FOUND ? RC_OK : rc;
    }
    if (n)
        *n = k;
    return rc;
}
