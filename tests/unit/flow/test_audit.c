#include <string.h>

#include "core/auditlog.h"
#include "core/jose.h"
#include "fakes.h"
#include "flow/audit.h"
#include "test.h"

/* Two audit writers ("nodes") over one store, a checkpoint every 4 records. */
struct two {
    struct fake_app f;
    struct app second; /* the other node: same store, its own audit state */
    struct audit *au1, *au2;
    char key[160];
};

static int
two_up(struct two *t)
{
    struct audit_opts o = {4, 0};

    if (fake_app_up(&t->f, "", 1000) != 0)
        return -1;
    snprintf(t->key, sizeof(t->key), "%s/audit-key.jwk", t->f.dir);
    if (audit_open(t->key, true, &o, &t->au1, NULL) != RC_OK
        || audit_open(t->key, false, &o, &t->au2, NULL) != RC_OK)
        return -1;
    t->f.app.audit = t->au1;
    t->second = t->f.app;
    t->second.audit = t->au2;
    return 0;
}

static void
two_down(struct two *t)
{
    t->f.app.audit = NULL;
    audit_free(t->au1);
    audit_free(t->au2);
    fake_app_down(&t->f);
}

/* The chain exported from the store into a malloc'ed string. */
static char *
export(struct store *s, uint64_t *n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (!f)
        return NULL;
    if (audit_export(s, f, n, NULL) != RC_OK) {
        fclose(f);
        free(text);
        return NULL;
    }
    fclose(f);
    return text;
}

static enum rc
append_one(struct app *app, const char *what)
{
    const char *kv[] = {"client", "portal", "idn", what};

    return audit_append(app, "claims.id_number", kv, 4);
}

TEST(audit_two_nodes_append_one_chain_with_checkpoints)
{
    struct two t;
    struct auditlog_report rep;
    uint64_t n = 0;
    char *text;

    REQUIRE(two_up(&t) == 0);
    for (int i = 0; i < 5; i++) { /* interleaved: each node's cached head goes stale */
        CHECK_RC(append_one(&t.f.app, "110101********123X"), RC_OK);
        CHECK_RC(append_one(&t.second, "310101********0011"), RC_OK);
    }
    text = export(t.f.app.store, &n);
    REQUIRE(text);
    /* 10 records and a checkpoint after every 4 of one node's appends */
    CHECK(n >= 11);
    CHECK_RC(auditlog_verify(span_str(text), audit_keyset(t.au1), &rep), RC_OK);
    CHECK_INT(rep.records, n);
    CHECK(rep.checkpoints >= 2);
    CHECK(rep.signed_upto >= 8);
    CHECK_RC(audit_checkpoint(&t.f.app), RC_OK);
    free(text);
    text = export(t.f.app.store, &n);
    REQUIRE(text);
    CHECK_RC(auditlog_verify(span_str(text), audit_keyset(t.au2), &rep), RC_OK);
    CHECK_INT(rep.signed_upto, n - 1);
    free(text);
    two_down(&t);
}

/* Replaces line i (from 0) of text by repl, or deletes it (repl NULL); swaps with j if j >= 0. */
static char *
edit(const char *text, int i, const char *repl, int j)
{
    const char *lines[64];
    size_t lens[64], n = 0;
    char *out = calloc(1, strlen(text) + (repl ? strlen(repl) : 0) + 2);

    for (const char *p = text; *p && n < 64;) {
        const char *nl = strchr(p, '\n');
        lines[n] = p;
        lens[n] = nl ? (size_t)(nl - p) : strlen(p);
        n++;
        p = nl ? nl + 1 : p + strlen(p);
    }
    if (j >= 0) {
        const char *tl = lines[i];
        size_t tn = lens[i];
        lines[i] = lines[j], lens[i] = lens[j];
        lines[j] = tl, lens[j] = tn;
    }
    for (size_t k = 0; k < n; k++) {
        if ((int)k == i && j < 0) {
            if (!repl)
                continue;
            strcat(out, repl);
        } else {
            strncat(out, lines[k], lens[k]);
        }
        strcat(out, "\n");
    }
    return out;
}

TEST(audit_verify_names_the_first_broken_record)
{
    struct two t;
    struct auditlog_report rep;
    uint64_t n = 0;
    char *text, *bad, *line3;

    REQUIRE(two_up(&t) == 0);
    for (int i = 0; i < 6; i++)
        CHECK_RC(append_one(&t.f.app, "110101********123X"), RC_OK);
    text = export(t.f.app.store, &n);
    REQUIRE(text);
    CHECK_RC(auditlog_verify(span_str(text), audit_keyset(t.au1), &rep), RC_OK);

    /* one byte changed in record 3 */
    bad = strdup(text);
    line3 = bad;
    for (int k = 0; k < 2; k++)
        line3 = strchr(line3, '\n') + 1;
    *strstr(line3, "portal") = 'P';
    CHECK_RC(auditlog_verify(span_str(bad), audit_keyset(t.au1), &rep), RC_DENIED);
    CHECK_INT(rep.bad_seq, 3);
    CHECK_INT(rep.bad_line, 3);
    CHECK(strstr(rep.why, "altered") != NULL);
    free(bad);

    /* record 2 deleted */
    bad = edit(text, 1, NULL, -1);
    CHECK_RC(auditlog_verify(span_str(bad), audit_keyset(t.au1), &rep), RC_DENIED);
    CHECK_INT(rep.bad_seq, 2);
    CHECK(strstr(rep.why, "missing") != NULL);
    free(bad);

    /* records 4 and 5 swapped */
    bad = edit(text, 3, NULL, 4);
    CHECK_RC(auditlog_verify(span_str(bad), audit_keyset(t.au1), &rep), RC_DENIED);
    CHECK_INT(rep.bad_seq, 4);
    CHECK(strstr(rep.why, "missing") != NULL || strstr(rep.why, "order") != NULL);
    free(bad);

    /* a record rebuilt with a consistent hash but another prev: the chain breaks there */
    {
        char forged_hash[AUDIT_HASH_LEN + 1];
        struct span line;
        const char *kv[] = {"client", "evil"};
        struct auditlog_in in = {2, 1000, "x", "claims.id_number", auditlog_genesis, kv, 2};
        REQUIRE(auditlog_build(&t.f.a, &in, &line, forged_hash) == RC_OK);
        bad = edit(text, 1, (const char *)line.p, -1);
        CHECK_RC(auditlog_verify(span_str(bad), audit_keyset(t.au1), &rep), RC_DENIED);
        CHECK_INT(rep.bad_seq, 2);
        CHECK(strstr(rep.why, "chain broken") != NULL);
        free(bad);
    }
    free(text);
    two_down(&t);
}

TEST(audit_checkpoint_needs_the_audit_key)
{
    struct two t;
    struct auditlog_report rep;
    struct jose_keyset *other = NULL;
    struct buf jwk;
    uint64_t n = 0;
    char *text;

    REQUIRE(two_up(&t) == 0);
    for (int i = 0; i < 4; i++) /* the 4th triggers a checkpoint */
        CHECK_RC(append_one(&t.f.app, "110101********123X"), RC_OK);
    text = export(t.f.app.store, &n);
    REQUIRE(text);
    CHECK_INT(n, 5);
    buf_init(&jwk, 0);
    REQUIRE(jose_key_generate(JOSE_ES256, &jwk) == RC_OK);
    REQUIRE(jose_keyset_new(&other) == RC_OK);
    REQUIRE(jose_keyset_add_jwk(other, buf_span(&jwk), 0, NULL) == RC_OK);
    REQUIRE(jose_keyset_seal(other) == RC_OK);
    buf_clear(&jwk);
    CHECK_RC(auditlog_verify(span_str(text), other, &rep), RC_DENIED);
    CHECK_INT(rep.bad_seq, 5);
    CHECK(strstr(rep.why, "checkpoint") != NULL);
    jose_keyset_release(other);
    free(text);
    two_down(&t);
}

TEST(audit_store_down_fails_the_append)
{
    struct two t;

    REQUIRE(two_up(&t) == 0);
    {
        struct store *real = t.f.app.store;
        t.f.app.store = &fake_store_down;
        CHECK_RC(append_one(&t.f.app, "x"), RC_UNAVAILABLE);
        t.f.app.store = real;
    }
    CHECK_RC(append_one(&t.f.app, "x"), RC_OK);
    two_down(&t);
}

TEST(auditlog_build_refuses_bad_fields)
{
    struct arena a;
    struct span line;
    char h[AUDIT_HASH_LEN + 1];
    const char *kv[] = {"k", "\xff\xfe"};
    struct auditlog_in in = {1, 1, "n", "e", auditlog_genesis, kv, 2};

    arena_init(&a, 0);
    CHECK_RC(auditlog_build(&a, &in, &line, h), RC_MALFORMED);
    in.nkv = 1;
    CHECK_RC(auditlog_build(&a, &in, &line, h), RC_MALFORMED);
    in.nkv = 0;
    in.prev = "short";
    CHECK_RC(auditlog_build(&a, &in, &line, h), RC_MALFORMED);
    arena_clear(&a);
}
