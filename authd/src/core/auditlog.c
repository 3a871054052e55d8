/* Audit records and chain verification (core/auditlog.h). */
#include "core/auditlog.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/jose.h"
#include "core/jsonget.h"
#include "core/jsonout.h"

const char auditlog_genesis[AUDIT_HASH_LEN + 1] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static bool
is_hash(const char *s)
{
    if (!s || strlen(s) != AUDIT_HASH_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '-' || *p == '_'))
            return false;
    return true;
}

/* base64url(SHA-256(canonical JSON of o)) into hash; o must not hold "hash". */
static enum rc
hash_of(struct arena *a, const json_t *o, char hash[AUDIT_HASH_LEN + 1])
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[32];
    struct span b64;
    enum rc rc = RC_NOMEM;

    if (s && EVP_Digest(s, strlen(s), md, NULL, EVP_sha256(), NULL) == 1
        && (rc = jose_b64url_encode(span_of(md, sizeof(md)), a, &b64)) == RC_OK) {
        memcpy(hash, b64.p, AUDIT_HASH_LEN);
        hash[AUDIT_HASH_LEN] = 0;
    }
    free(s);
    return rc;
}

enum rc
auditlog_build(struct arena *a, const struct auditlog_in *in, struct span *line,
               char hash[AUDIT_HASH_LEN + 1])
{
    json_t *o = NULL, *f = NULL;
    char *s = NULL;
    enum rc rc = RC_NOMEM;

    if (in->nkv % 2 || !is_hash(in->prev) || !in->ev || !in->node)
        return RC_MALFORMED;
    if (in->nkv / 2 > AUDIT_MAX_FIELDS)
        return RC_TOO_LARGE;
    if (!(o = json_object()) || !(f = json_object()))
        goto out;
    for (size_t i = 0; i < in->nkv; i += 2) {
        json_t *v = in->kv[i + 1] ? json_string(in->kv[i + 1]) : json_null();
        if (!v || json_object_set_new(f, in->kv[i], v) != 0) {
            rc = RC_MALFORMED; /* not UTF-8 */
            goto out;
        }
    }
    if (json_object_set_new(o, "seq", json_integer((json_int_t)in->seq))
        || json_object_set_new(o, "ts", json_integer(in->ts))
        || json_object_set_new(o, "node", json_string(in->node))
        || json_object_set_new(o, "ev", json_string(in->ev))
        || json_object_set_new(o, "prev", json_string(in->prev)) || json_object_set(o, "f", f)) {
        rc = RC_MALFORMED;
        goto out;
    }
    if ((rc = hash_of(a, o, hash)) != RC_OK)
        goto out;
    if (json_object_set_new(o, "hash", json_string(hash))) {
        rc = RC_NOMEM;
        goto out;
    }
    if (!(s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS))) {
        rc = RC_NOMEM;
        goto out;
    }
    if (strlen(s) > AUDIT_MAX_LINE) {
        rc = RC_TOO_LARGE;
        goto out;
    }
    rc = (line->p = (const uint8_t *)arena_strndup(a, s, strlen(s))) ? RC_OK : RC_NOMEM;
    line->len = strlen(s);
out:
    free(s);
    json_decref(f);
    json_decref(o);
    return rc;
}

enum rc
auditlog_read(struct arena *a, struct span line, struct auditlog_rec *out)
{
    json_t *o =
        line.len <= AUDIT_MAX_LINE ? json_loadb((const char *)line.p, line.len, 0, NULL) : NULL;
    json_t *seq = json_object_get(o, "seq"), *ts = json_object_get(o, "ts");
    json_t *f = json_object_get(o, "f"), *v;
    const char *name;
    enum rc rc = RC_MALFORMED;

    memset(out, 0, sizeof(*out));
    if (!json_is_integer(seq) || json_integer_value(seq) < 1 || !json_is_integer(ts)
        || (f && !json_is_object(f)) || json_object_size(f) > AUDIT_MAX_FIELDS)
        goto out;
    out->seq = (uint64_t)json_integer_value(seq);
    out->ts = (int64_t)json_integer_value(ts);
    if (!(out->ev = jsonget_str(a, o, "ev")))
        goto out;
    json_object_foreach(f, name, v)
    {
        const char *val = json_is_string(v) ? jsonget_str(a, f, name) : NULL;
        const char *key = arena_printf(a, "%s", name);
        size_t i = out->nf++;
        if (!val || !key)
            goto out;
        /* jansson keeps no order: insertion sort by name, as auditlog_build wrote them */
        for (; i > 0 && strcmp(out->f[2 * (i - 1)], key) > 0; i--) {
            out->f[2 * i] = out->f[2 * (i - 1)];
            out->f[2 * i + 1] = out->f[2 * (i - 1) + 1];
        }
        out->f[2 * i] = key;
        out->f[2 * i + 1] = val;
    }
    rc = RC_OK;
out:
    json_decref(o);
    return rc;
}

const char *
auditlog_field(const struct auditlog_rec *r, const char *name)
{
    for (size_t i = 0; i < r->nf; i++)
        if (strcmp(r->f[2 * i], name) == 0)
            return r->f[2 * i + 1];
    return NULL;
}

static enum rc
bad(struct auditlog_report *rep, uint64_t seq, uint64_t line, const char *what)
{
    rep->bad_seq = seq;
    rep->bad_line = line;
    snprintf(rep->why, sizeof(rep->why), "%s", what);
    return RC_DENIED;
}

/* The checkpoint in f (record seq): its JWS verifies under pub and names a record we
 * have seen with that hash. hashes[i] is record i+1's hash. */
static bool
checkpoint_ok(struct arena *a, const json_t *f, const struct jose_keyset *pub,
              char (*hashes)[AUDIT_HASH_LEN + 1], uint64_t seen, uint64_t *upto)
{
    const char *jws = json_string_value(json_object_get(f, "jws"));
    struct jose_verify_opts vo = {JOSE_ES256, AUDIT_CHECKPOINT_TYP};
    struct span payload;
    json_t *p = NULL;
    json_int_t s;
    const char *h;
    bool ok = false;

    if (!jws || !pub || jose_verify(pub, &vo, span_str(jws), a, &payload, NULL, NULL) != RC_OK
        || !(p = json_loadb((const char *)payload.p, payload.len, 0, NULL)))
        return false;
    s = json_integer_value(json_object_get(p, "seq"));
    h = json_string_value(json_object_get(p, "hash"));
    if (json_is_integer(json_object_get(p, "seq")) && s >= 1 && (uint64_t)s <= seen && h
        && strcmp(hashes[s - 1], h) == 0) {
        *upto = (uint64_t)s;
        ok = true;
    }
    json_decref(p);
    return ok;
}

enum rc
auditlog_verify(struct span text, const struct jose_keyset *pub, struct auditlog_report *rep)
{
    struct arena a;
    char prev[AUDIT_HASH_LEN + 1], h[AUDIT_HASH_LEN + 1];
    char(*hashes)[AUDIT_HASH_LEN + 1] = NULL;
    size_t cap = 0, pos = 0;
    uint64_t lineno = 0, want = 1;
    enum rc rc = RC_OK;

    memset(rep, 0, sizeof(*rep));
    memcpy(prev, auditlog_genesis, sizeof(prev));
    arena_init(&a, 0);
    while (rc == RC_OK && pos < text.len) {
        const uint8_t *nl = memchr(text.p + pos, '\n', text.len - pos);
        size_t len = nl ? (size_t)(nl - (text.p + pos)) : text.len - pos;
        json_t *o = NULL, *hv;
        json_int_t seq;
        const char *hash, *pv, *ev;

        lineno++;
        o = len <= AUDIT_MAX_LINE ? json_loadb((const char *)text.p + pos, len, 0, NULL) : NULL;
        pos += len + (nl ? 1 : 0);
        if (!o || !json_is_object(o) || !json_is_integer(json_object_get(o, "seq"))) {
            rc = bad(rep, want, lineno, "not a record (the line does not parse)");
        } else if ((seq = json_integer_value(json_object_get(o, "seq"))) < 1
                   || (uint64_t)seq < want) {
            rc = bad(rep, (uint64_t)seq, lineno, "out of order (a record before it came later)");
        } else if ((uint64_t)seq > want) {
            rc = bad(rep, want, lineno, "missing (the next record has a higher seq)");
        } else if (!(hash = json_string_value(hv = json_object_get(o, "hash"))) || !is_hash(hash)) {
            rc = bad(rep, want, lineno, "no hash");
        } else {
            char mine[AUDIT_HASH_LEN + 1];
            memcpy(mine, hash, sizeof(mine));
            json_object_del(o, "hash");
            pv = json_string_value(json_object_get(o, "prev"));
            ev = json_string_value(json_object_get(o, "ev"));
            if ((rc = hash_of(&a, o, h)) != RC_OK)
                ;
            else if (strcmp(h, mine) != 0)
                rc = bad(rep, want, lineno, "altered (its content does not match its hash)");
            else if (!pv || strcmp(pv, prev) != 0)
                rc = bad(rep, want, lineno,
                         "chain broken (prev is not the hash of the record before it)");
            else {
                if (want > cap) {
                    size_t ncap = cap ? cap * 2 : 1024;
                    void *n = realloc(hashes, ncap * sizeof(*hashes));
                    if (!n) {
                        rc = RC_NOMEM;
                        json_decref(o);
                        break;
                    }
                    hashes = n;
                    cap = ncap;
                }
                memcpy(hashes[want - 1], h, sizeof(h));
                memcpy(prev, h, sizeof(h));
                if (ev && strcmp(ev, AUDIT_EV_CHECKPOINT) == 0) {
                    uint64_t upto = 0;
                    if (!checkpoint_ok(&a, json_object_get(o, "f"), pub, hashes, want - 1, &upto))
                        rc = bad(rep, want, lineno,
                                 "checkpoint does not verify (signature, key or position)");
                    else {
                        rep->checkpoints++;
                        rep->signed_upto = upto;
                        rep->unsigned_tail = (uint64_t)-1; /* becomes 0 just below */
                    }
                }
                if (rc == RC_OK) {
                    rep->records++;
                    rep->unsigned_tail++;
                    want++;
                }
            }
        }
        json_decref(o);
        arena_clear(&a);
    }
    free(hashes);
    arena_clear(&a);
    return rc;
}
