/* The audit chain over the store port (flow/audit.h). Keys (docs/storage.md):
 * authd:audit:{chain}:head = "SEQ HASH", authd:audit:{chain}:r:SEQ = the record line and
 * authd:audit:{chain}:acct:ACCT = the index of an account's records (seqs, scored by seq),
 * no expiry; one hash tag, so a Redis Cluster keeps the chain on one node and the append
 * batch stays atomic. */
#include "flow/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/auditlog.h"
#include "core/jose.h"
#include "core/jsonout.h"
#include "log/log.h"
#include "port/store.h"

#define MAX_TRIES 32
#define KEY_MAX   8192

struct audit {
    struct jose_keyset *ks;
    struct audit_opts o;
    char node[96];
    pthread_mutex_t mu; /* one append at a time on this node; guards the cached head */
    bool have_head;
    uint64_t seq;
    char hash[AUDIT_HASH_LEN + 1];
    int64_t last_cp;
};

static enum rc
read_key(const char *path, bool create, struct buf *jwk, struct rc_info *ri)
{
    FILE *f = fopen(path, "re");
    char chunk[1024];
    size_t n;
    int fd;

    if (!f && errno == ENOENT && create) {
        if (jose_key_generate(JOSE_ES256, jwk) != RC_OK)
            return rc_set(ri, RC_INTERNAL, "audit key", "cannot generate");
        if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0
            || write(fd, jwk->p, jwk->len) != (ssize_t)jwk->len || close(fd) != 0)
            return rc_set(ri, RC_INTERNAL, "audit key", "cannot write the key file");
        return RC_OK;
    }
    if (!f)
        return rc_set(ri, RC_NOT_FOUND, "audit key", "no key file");
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(jwk, chunk, n) != RC_OK) {
            fclose(f);
            OPENSSL_cleanse(chunk, sizeof(chunk));
            return rc_set(ri, RC_MALFORMED, "audit key", "file too large");
        }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    fclose(f);
    return RC_OK;
}

enum rc
audit_open(const char *key_path, bool create, const struct audit_opts *o, struct audit **out,
           struct rc_info *ri)
{
    struct audit *au = calloc(1, sizeof(*au));
    struct buf jwk;
    char host[64] = "node";
    enum rc rc;

    *out = NULL;
    if (!au)
        return RC_NOMEM;
    buf_init(&jwk, KEY_MAX);
    if ((rc = read_key(key_path, create, &jwk, ri)) == RC_OK
        && (rc = jose_keyset_new(&au->ks)) == RC_OK
        && (rc = jose_keyset_add_jwk(au->ks, buf_span(&jwk), JOSE_KEY_SIGN, ri)) == RC_OK)
        rc = jose_keyset_seal(au->ks);
    buf_clear(&jwk);
    if (rc == RC_OK && !jose_keyset_signing_kid(au->ks, JOSE_ES256))
        rc = rc_set(ri, RC_MALFORMED, "audit key", "not an EC P-256 private key");
    if (rc != RC_OK) {
        audit_free(au);
        return rc;
    }
    au->o = *o;
    if (!au->o.checkpoint_every)
        au->o.checkpoint_every = 100;
    gethostname(host, sizeof(host) - 1);
    snprintf(au->node, sizeof(au->node), "%s:%ld", host, (long)getpid());
    pthread_mutex_init(&au->mu, NULL);
    *out = au;
    return RC_OK;
}

void
audit_free(struct audit *au)
{
    if (!au)
        return;
    jose_keyset_release(au->ks);
    if (au->node[0])
        pthread_mutex_destroy(&au->mu);
    free(au);
}

const struct jose_keyset *
audit_keyset(const struct audit *au)
{
    return au ? au->ks : NULL;
}

static struct span
rec_key(struct arena *a, uint64_t seq)
{
    char suffix[32];

    snprintf(suffix, sizeof(suffix), ":r:%" PRIu64, seq);
    return store_key(a, "audit", SPAN("chain"), suffix);
}

static struct span
acct_key(struct arena *a, const char *acct)
{
    const char *suffix = arena_printf(a, ":acct:%s", acct);

    return suffix ? store_key(a, "audit", SPAN("chain"), suffix) : (struct span){NULL, 0};
}

/* The account a record is about (its non-empty `acct` field), or NULL. */
static const char *
record_acct(const char *const *kv, size_t nkv)
{
    for (size_t i = 0; i + 1 < nkv; i += 2)
        if (kv[i] && kv[i + 1] && strcmp(kv[i], "acct") == 0 && *kv[i + 1])
            return kv[i + 1];
    return NULL;
}

/* The head in the store: (0, genesis) when there is no chain yet. */
static enum rc
load_head(struct store *s, struct arena *a, uint64_t *seq, char hash[AUDIT_HASH_LEN + 1])
{
    struct span v, key = store_key(a, "audit", SPAN("chain"), ":head");
    char buf[64];
    unsigned long long n;
    enum rc rc;

    if (!key.p)
        return RC_NOMEM;
    if ((rc = store_get(s, a, key, &v)) == RC_NOT_FOUND) {
        *seq = 0;
        memcpy(hash, auditlog_genesis, AUDIT_HASH_LEN + 1);
        return RC_OK;
    }
    if (rc != RC_OK)
        return rc;
    if (v.len >= sizeof(buf))
        return RC_INTERNAL;
    memcpy(buf, v.p, v.len);
    buf[v.len] = 0;
    if (sscanf(buf, "%llu %43s", &n, hash) != 2 || strlen(hash) != AUDIT_HASH_LEN)
        return RC_INTERNAL;
    *seq = n;
    return RC_OK;
}

/* One append under au->mu. */
static enum rc
append_locked(struct app *app, struct audit *au, struct arena *a, const char *ev,
              const char *const *kv, size_t nkv)
{
    int64_t now = clock_now(app->clock);
    const char *acct = record_acct(kv, nkv);
    struct span ak = {NULL, 0};
    enum rc rc = RC_INTERNAL;

    if (acct && !(ak = acct_key(a, acct)).p)
        return RC_NOMEM;

    for (int tries = 0; tries < MAX_TRIES; tries++) {
        struct auditlog_in in = {0, now, au->node, ev, au->hash, kv, nkv};
        char h[AUDIT_HASH_LEN + 1], head[AUDIT_HASH_LEN + 32], seqs[24];
        struct span line;

        if (!au->have_head) {
            if ((rc = load_head(app->store, a, &au->seq, au->hash)) != RC_OK)
                return rc;
            au->have_head = true;
        }
        in.seq = au->seq + 1;
        if ((rc = auditlog_build(a, &in, &line, h)) != RC_OK)
            return rc;
        snprintf(head, sizeof(head), "%" PRIu64 " %s", in.seq, h);
        snprintf(seqs, sizeof(seqs), "%" PRIu64, in.seq);
        struct store_op ops[3] = {
            {.kind = STORE_OP_PUT,
             .key = rec_key(a, in.seq),
             .value = line,
             .flags = STORE_NX | STORE_DURABLE},
            {.kind = STORE_OP_PUT,
             .key = store_key(a, "audit", SPAN("chain"), ":head"),
             .value = span_str(head),
             .flags = STORE_DURABLE},
            /* the account's index, in the same step (flow/audit.h) */
            {.kind = STORE_OP_INDEX_ADD,
             .key = ak,
             .value = span_str(seqs),
             .score = (int64_t)in.seq,
             .keep = AUDIT_ACCT_KEEP,
             .flags = STORE_DURABLE},
        };
        if (!ops[0].key.p || !ops[1].key.p)
            return RC_NOMEM;
        rc = store_batch(app->store, ops, acct ? 3 : 2);
        if (rc == RC_OK) {
            au->seq = in.seq;
            memcpy(au->hash, h, sizeof(h));
            return RC_OK;
        }
        au->have_head = false; /* another node appended (RC_CONFLICT) or we do not know */
        if (rc != RC_CONFLICT)
            return rc;
    }
    return rc;
}

static enum rc
checkpoint_locked(struct app *app, struct audit *au, struct arena *a)
{
    json_t *p = json_object();
    char *claims = NULL, upto[24];
    struct span jws;
    const char *kv[4];
    enum rc rc = RC_NOMEM;

    if (!au->have_head && (rc = load_head(app->store, a, &au->seq, au->hash)) != RC_OK)
        goto out;
    au->have_head = true;
    if (au->seq == 0) { /* nothing to sign */
        rc = RC_OK;
        goto out;
    }
    if (!p || json_object_set_new(p, "seq", json_integer((json_int_t)au->seq))
        || json_object_set_new(p, "hash", json_string(au->hash))
        || json_object_set_new(p, "iat", json_integer(clock_now(app->clock)))
        || !(claims = jsonout_compact(p)))
        goto out;
    if ((rc = jose_sign(au->ks, JOSE_ES256, AUDIT_CHECKPOINT_TYP, span_str(claims), a, &jws, NULL))
        != RC_OK)
        goto out;
    snprintf(upto, sizeof(upto), "%" PRIu64, au->seq);
    kv[0] = "upto";
    kv[1] = upto;
    kv[2] = "jws";
    kv[3] = (const char *)jws.p;
    if ((rc = append_locked(app, au, a, AUDIT_EV_CHECKPOINT, kv, 4)) == RC_OK) {
        au->last_cp = clock_now(app->clock);
    }
out:
    free(claims);
    json_decref(p);
    return rc;
}

static void
log_failure(const char *ev, enum rc rc)
{
    struct log_rec *lr = log_begin(LOG_ERROR, "audit.append");

    log_str(lr, "event", ev);
    log_str(lr, "rc", rc_name(rc));
    log_end(lr);
}

enum rc
audit_append(struct app *app, const char *ev, const char *const *kv, size_t nkv)
{
    struct audit *au = app->audit;
    struct arena a;
    enum rc rc;

    if (!au)
        return RC_OK;
    arena_init(&a, 0);
    pthread_mutex_lock(&au->mu);
    if (!au->last_cp)
        au->last_cp = clock_now(app->clock);
    rc = append_locked(app, au, &a, ev, kv, nkv);
    if (rc == RC_OK
        && (au->seq % au->o.checkpoint_every == 0
            || (au->o.checkpoint_s && clock_now(app->clock) - au->last_cp >= au->o.checkpoint_s))) {
        /* the record is in either way; a checkpoint that failed is made up by the next one
         * due (the time condition holds again on this node's next append) */
        enum rc crc = checkpoint_locked(app, au, &a);
        if (crc != RC_OK)
            log_failure(AUDIT_EV_CHECKPOINT, crc);
    }
    pthread_mutex_unlock(&au->mu);
    arena_clear(&a);
    if (rc != RC_OK)
        log_failure(ev, rc);
    return rc;
}

enum rc
audit_checkpoint(struct app *app)
{
    struct audit *au = app->audit;
    struct arena a;
    enum rc rc;

    if (!au)
        return RC_OK;
    arena_init(&a, 0);
    pthread_mutex_lock(&au->mu);
    au->have_head = false;
    rc = checkpoint_locked(app, au, &a);
    pthread_mutex_unlock(&au->mu);
    arena_clear(&a);
    return rc;
}

enum rc
audit_account_records(struct store *s, struct arena *a, const char *acct, uint64_t before,
                      size_t max, struct auditlog_rec **out, size_t *n, uint64_t *older)
{
    struct span key, *seqs = NULL;
    size_t nseq = 0;
    enum rc rc;

    *out = NULL;
    *n = 0;
    *older = 0;
    if (!acct || !*acct || max == 0 || max > AUDIT_ACCT_PAGE)
        return RC_MALFORMED;
    if (!(key = acct_key(a, acct)).p || !(*out = arena_alloc(a, max * sizeof(**out))))
        return RC_NOMEM;
    /* one more than asked: whether an older page follows */
    if ((rc = store_index_range(
             s, a, key,
             before && before <= (uint64_t)STORE_INDEX_SCORE_MAX ? (int64_t)before : INT64_MAX,
             max + 1, &seqs, &nseq))
        != RC_OK)
        return rc;
    if (nseq > max) {
        nseq = max;
        *older = strtoull((const char *)seqs[max - 1].p, NULL, 10);
    }
    for (size_t i = 0; i < nseq; i += STORE_MAX_BATCH) {
        struct store_call c[STORE_MAX_BATCH];
        size_t k = 0;
        memset(c, 0, sizeof(c));
        for (; k < STORE_MAX_BATCH && i + k < nseq; k++) {
            unsigned long long v = strtoull((const char *)seqs[i + k].p, NULL, 10);
            c[k].op.kind = STORE_OP_GET;
            c[k].op.key = rec_key(a, (uint64_t)v);
        }
        if ((rc = store_pipeline(s, a, c, k)) != RC_OK)
            return rc;
        for (size_t j = 0; j < k; j++) {
            struct auditlog_rec *r = &(*out)[*n];
            const char *owner;
            if (c[j].rc == RC_NOT_FOUND)
                continue;
            if (c[j].rc != RC_OK)
                return c[j].rc;
            if (auditlog_read(a, c[j].value, r) != RC_OK || !(owner = auditlog_field(r, "acct"))
                || strcmp(owner, acct) != 0)
                continue;
            (*n)++;
        }
    }
    return RC_OK;
}

/* Calls fn(ctx, a, seq, line) for every record of the chain in s, in order (a record gone
 * from the store is skipped); *n: the records fn took. what: the operation, for ri. */
static enum rc
walk(struct store *s, uint64_t *n, struct rc_info *ri, const char *what,
     enum rc (*fn)(void *ctx, struct arena *a, uint64_t seq, struct span line), void *ctx)
{
    struct arena a;
    uint64_t last = 0;
    char h[AUDIT_HASH_LEN + 1];
    enum rc rc;

    *n = 0;
    arena_init(&a, 0);
    if ((rc = load_head(s, &a, &last, h)) != RC_OK) {
        arena_clear(&a);
        return rc_set(ri, rc, "store", "cannot read the audit chain's head");
    }
    if (last == 0) {
        arena_clear(&a);
        return rc_set(ri, RC_NOT_FOUND, "audit", "no audit records yet");
    }
    for (uint64_t seq = 1; rc == RC_OK && seq <= last; seq += STORE_MAX_BATCH) {
        struct store_call c[STORE_MAX_BATCH];
        size_t k = 0;

        memset(c, 0, sizeof(c));
        for (; k < STORE_MAX_BATCH && seq + k <= last; k++) {
            c[k].op.kind = STORE_OP_GET;
            c[k].op.key = rec_key(&a, seq + k);
        }
        if ((rc = store_pipeline(s, &a, c, k)) != RC_OK)
            break;
        for (size_t i = 0; i < k && rc == RC_OK; i++) {
            if (c[i].rc == RC_NOT_FOUND)
                continue;
            if ((rc = c[i].rc) == RC_OK && (rc = fn(ctx, &a, seq + i, c[i].value)) == RC_OK)
                (*n)++;
        }
        arena_clear(&a);
    }
    arena_clear(&a);
    return rc == RC_OK ? RC_OK : rc_set(ri, rc, "audit", what);
}

static enum rc
export_line(void *ctx, struct arena *a, uint64_t seq, struct span line)
{
    FILE *out = ctx;

    (void)a, (void)seq;
    if (fwrite(line.p, 1, line.len, out) != line.len || fputc('\n', out) == EOF)
        return RC_INTERNAL;
    return RC_OK;
}

enum rc
audit_export(struct store *s, FILE *out, uint64_t *n, struct rc_info *ri)
{
    return walk(s, n, ri, "export interrupted", export_line, out);
}

/* Indexes record seq under its account, if it names one (an index entry is idempotent). */
static enum rc
index_line(void *ctx, struct arena *a, uint64_t seq, struct span line)
{
    struct store *s = ctx;
    struct auditlog_rec r;
    const char *acct;
    char seqs[24];

    if (auditlog_read(a, line, &r) != RC_OK || !(acct = auditlog_field(&r, "acct")) || !*acct)
        return RC_OK; /* verify reports a bad record; it names no account to index */
    snprintf(seqs, sizeof(seqs), "%" PRIu64, seq);
    struct store_op op = {.kind = STORE_OP_INDEX_ADD,
                          .key = acct_key(a, acct),
                          .value = span_str(seqs),
                          .score = (int64_t)seq,
                          .keep = AUDIT_ACCT_KEEP,
                          .flags = STORE_DURABLE};
    return op.key.p ? store_batch(s, &op, 1) : RC_NOMEM;
}

enum rc
audit_reindex(struct store *s, uint64_t *n, struct rc_info *ri)
{
    return walk(s, n, ri, "reindex interrupted", index_line, s);
}
