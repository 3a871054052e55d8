#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/keys_file.h"
#include "core/jose.h"
#include "port/keys.h"
#include "test.h"

#define T0 1700000000

/* A fresh temporary keys directory (not yet created: init must create it). */
static char *
tmpdir(char *buf, size_t n)
{
    char tmpl[] = "/tmp/authd-keys-XXXXXX";

    if (!mkdtemp(tmpl))
        return NULL;
    snprintf(buf, n, "%s/keys", tmpl);
    return buf;
}

static void
rmtree(const char *dir)
{
    char cmd[4200];

    /* only our own mkdtemp directories */
    if (strncmp(dir, "/tmp/authd-keys-", 16) == 0 && !strchr(dir, '\'')) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    }
}

static int
count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name), s = strlen(suffix);
        if (l > s && strcmp(e->d_name + l - s, suffix) == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int
count_status(const struct keys_state *st, enum keys_status s)
{
    int n = 0;

    for (size_t i = 0; i < st->n; i++)
        n += st->e[i].status == s;
    return n;
}

static const struct jose_verify_opts es = {JOSE_ES256, NULL};

TEST(keys_init_creates_a_private_es256_key_once)
{
    char dir[256], path[512];
    struct keys_state st;
    struct keys_error err = {{0}};
    struct stat sb;
    bool changed = false;

    REQUIRE(tmpdir(dir, sizeof(dir)));
    CHECK_RC(keys_file_init(dir, T0, 0, &changed, &err), RC_OK);
    CHECK(changed);
    CHECK_RC(keys_file_state_read(dir, &st, &err), RC_OK);
    CHECK_INT(st.n, 1);
    CHECK_INT(st.e[0].alg, JOSE_ES256);
    CHECK_INT(st.e[0].status, KEYS_CURRENT);
    snprintf(path, sizeof(path), "%s/%s.jwk", dir, st.e[0].kid);
    REQUIRE(stat(path, &sb) == 0);
    CHECK_INT(sb.st_mode & 0777, 0600);
    REQUIRE(stat(dir, &sb) == 0);
    CHECK_INT(sb.st_mode & 0777, 0700);
    CHECK_RC(keys_file_init(dir, T0 + 5, 0, &changed, &err), RC_OK);
    CHECK(!changed);
    CHECK_RC(keys_file_init(dir, T0 + 5, JOSE_RS256, &changed, &err), RC_OK);
    CHECK(changed);
    CHECK_RC(keys_file_state_read(dir, &st, &err), RC_OK);
    CHECK_INT(st.n, 2);
    CHECK_INT(count_status(&st, KEYS_CURRENT), 2);
    rmtree(dir);
}

TEST(keys_open_signs_with_current_and_publishes_everything)
{
    char dir[256];
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct jose_keyset *ks = NULL;
    struct arena a;
    struct span t, p, jwks;
    bool changed;

    REQUIRE(tmpdir(dir, sizeof(dir)));
    arena_init(&a, 0);
    REQUIRE(keys_file_init(dir, T0, JOSE_RS256, &changed, &err) == RC_OK);
    CHECK_RC(keys_open(dir, &k, &err), RC_OK);
    REQUIRE(k != NULL);
    CHECK_RC(keys_current(k, &ks), RC_OK);
    CHECK_RC(jose_sign(ks, JOSE_ES256, NULL, SPAN("{}"), &a, &t, NULL), RC_OK);
    CHECK_RC(jose_verify(ks, &es, t, &a, &p, NULL, NULL), RC_OK);
    CHECK_RC(jose_sign(ks, JOSE_RS256, NULL, SPAN("{}"), &a, &t, NULL), RC_OK);
    CHECK_RC(keys_published(k, &a, &jwks), RC_OK);
    CHECK(memmem(jwks.p, jwks.len, "\"RS256\"", 7) && memmem(jwks.p, jwks.len, "\"ES256\"", 7));
    CHECK(!memmem(jwks.p, jwks.len, "\"d\"", 3));
    jose_keyset_release(ks);
    keys_free(k);
    arena_clear(&a);
    rmtree(dir);
}

/* init -> rotate (next published, not signing) -> rotate (promoted; previous still
 * published and verifying) -> rotate after retire_after (previous removed). */
TEST(keys_rotation_state_machine)
{
    char dir[256];
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct keys_state st;
    struct jose_keyset *ks = NULL;
    struct keys_rotate_opts o = {T0 + 10, 60, 3600};
    struct arena a;
    struct span t_old, t_new, p;
    char kid0[JOSE_MAX_KID + 1], kid1[JOSE_MAX_KID + 1];
    bool changed, reloaded = false;

    REQUIRE(tmpdir(dir, sizeof(dir)));
    arena_init(&a, 0);
    REQUIRE(keys_file_init(dir, T0, 0, &changed, &err) == RC_OK);
    REQUIRE(keys_open(dir, &k, &err) == RC_OK);
    REQUIRE(keys_current(k, &ks) == RC_OK);
    strcpy(kid0, jose_keyset_signing_kid(ks, JOSE_ES256));
    REQUIRE(jose_sign(ks, JOSE_ES256, NULL, SPAN("{\"n\":0}"), &a, &t_old, NULL) == RC_OK);
    jose_keyset_release(ks);

    /* phase 1: a next key, published but not signing */
    CHECK_RC(keys_file_rotate(dir, &o, &st, &err), RC_OK);
    CHECK_INT(count_status(&st, KEYS_NEXT), 1);
    CHECK_RC(keys_maybe_reload(k, &reloaded, &err), RC_OK);
    CHECK(reloaded);
    REQUIRE(keys_current(k, &ks) == RC_OK);
    CHECK_INT(jose_keyset_count(ks), 2);
    CHECK_STR(jose_keyset_signing_kid(ks, JOSE_ES256), kid0);
    jose_keyset_release(ks);
    CHECK_RC(keys_maybe_reload(k, &reloaded, &err), RC_OK); /* nothing changed */
    CHECK(!reloaded);

    /* too early to promote: refused, nothing written */
    o.now = T0 + 30;
    CHECK_RC(keys_file_rotate(dir, &o, NULL, &err), RC_CONFLICT);
    CHECK(strstr(err.text, "s more") != NULL);

    /* phase 2: promoted; the old key is previous and still verifies */
    o.now = T0 + 70;
    CHECK_RC(keys_file_rotate(dir, &o, &st, &err), RC_OK);
    CHECK_INT(count_status(&st, KEYS_PREVIOUS), 1);
    CHECK_INT(count_status(&st, KEYS_NEXT), 0);
    CHECK_RC(keys_maybe_reload(k, &reloaded, &err), RC_OK);
    CHECK(reloaded);
    REQUIRE(keys_current(k, &ks) == RC_OK);
    strcpy(kid1, jose_keyset_signing_kid(ks, JOSE_ES256));
    CHECK(strcmp(kid0, kid1) != 0);
    CHECK_RC(jose_verify(ks, &es, t_old, &a, &p, NULL, NULL), RC_OK);
    CHECK_RC(jose_sign(ks, JOSE_ES256, NULL, SPAN("{\"n\":1}"), &a, &t_new, NULL), RC_OK);
    jose_keyset_release(ks);
    CHECK_INT(count_files(dir, ".jwk"), 2);

    /* after retire_after (T0 + 70 + 3600): the next rotation removes the previous key */
    o.now = T0 + 70 + 3600;
    CHECK_RC(keys_file_rotate(dir, &o, &st, &err), RC_OK); /* phase 1 again + removal */
    CHECK_INT(count_status(&st, KEYS_PREVIOUS), 0);
    CHECK_INT(count_status(&st, KEYS_NEXT), 1);
    CHECK_INT(count_files(dir, ".jwk"), 2);
    CHECK_RC(keys_maybe_reload(k, &reloaded, &err), RC_OK);
    REQUIRE(keys_current(k, &ks) == RC_OK);
    CHECK_RC(jose_verify(ks, &es, t_old, &a, &p, NULL, NULL), RC_NOT_FOUND);
    CHECK_RC(jose_verify(ks, &es, t_new, &a, &p, NULL, NULL), RC_OK);
    jose_keyset_release(ks);
    keys_free(k);
    arena_clear(&a);
    rmtree(dir);
}

TEST(keys_snapshot_outlives_a_swap)
{
    char dir[256];
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct keys_rotate_opts o = {T0, 0, 60};
    struct jose_keyset *held = NULL;
    struct arena a;
    struct span t, p;
    bool changed;

    REQUIRE(tmpdir(dir, sizeof(dir)));
    arena_init(&a, 0);
    REQUIRE(keys_file_init(dir, T0, 0, &changed, &err) == RC_OK);
    REQUIRE(keys_open(dir, &k, &err) == RC_OK);
    REQUIRE(keys_current(k, &held) == RC_OK);
    for (int i = 0; i < 4; i++) {
        o.now = T0 + 100 * (i + 1);
        CHECK_RC(keys_file_rotate(dir, &o, NULL, &err), RC_OK);
        CHECK_RC(keys_reload(k, &err), RC_OK);
    }
    /* held is the first snapshot, unchanged, though its key file is long gone */
    CHECK_RC(jose_sign(held, JOSE_ES256, NULL, SPAN("{}"), &a, &t, NULL), RC_OK);
    CHECK_RC(jose_verify(held, &es, t, &a, &p, NULL, NULL), RC_OK);
    jose_keyset_release(held);
    keys_free(k);
    arena_clear(&a);
    rmtree(dir);
}

TEST(keys_with_bad_permissions_are_refused)
{
    char dir[256], path[512];
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct keys_state st;
    bool changed;

    REQUIRE(tmpdir(dir, sizeof(dir)));
    REQUIRE(keys_file_init(dir, T0, 0, &changed, &err) == RC_OK);
    REQUIRE(keys_file_state_read(dir, &st, &err) == RC_OK);
    snprintf(path, sizeof(path), "%s/%s.jwk", dir, st.e[0].kid);
    REQUIRE(chmod(path, 0640) == 0);
    CHECK_RC(keys_open(dir, &k, &err), RC_DENIED);
    CHECK(strstr(err.text, path) != NULL);
    CHECK(strstr(err.text, "readable by group or others") != NULL);
    REQUIRE(chmod(path, 0604) == 0);
    CHECK_RC(keys_open(dir, &k, &err), RC_DENIED);
    REQUIRE(chmod(path, 0600) == 0);
    CHECK_RC(keys_open(dir, &k, &err), RC_OK);
    keys_free(k);
    snprintf(path, sizeof(path), "%s/keyset.json", dir);
    REQUIRE(chmod(path, 0666) == 0);
    CHECK_RC(keys_open(dir, &k, &err), RC_DENIED);
    rmtree(dir);
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

TEST(keys_corrupt_or_missing_files_are_refused_naming_the_file)
{
    char dir[256], path[512];
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct keys_state st;
    bool changed, reloaded = true;

    REQUIRE(tmpdir(dir, sizeof(dir)));
    CHECK_RC(keys_open(dir, &k, &err), RC_NOT_FOUND);
    CHECK(strstr(err.text, "keys init") != NULL);
    REQUIRE(keys_file_init(dir, T0, 0, &changed, &err) == RC_OK);
    REQUIRE(keys_file_state_read(dir, &st, &err) == RC_OK);
    REQUIRE(keys_open(dir, &k, &err) == RC_OK);
    snprintf(path, sizeof(path), "%s/%s.jwk", dir, st.e[0].kid);
    write_text(path, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"garbage\"}", 0600);
    CHECK_RC(keys_reload(k, &err), RC_MALFORMED);
    CHECK(strstr(err.text, path) != NULL);
    CHECK_INT(atomic_load(&k->reload_failures), 1);
    keys_free(k);
    CHECK_RC(keys_open(dir, &k, &err), RC_MALFORMED);
    unlink(path);
    CHECK_RC(keys_open(dir, &k, &err), RC_NOT_FOUND);
    CHECK(strstr(err.text, path) != NULL);
    snprintf(path, sizeof(path), "%s/keyset.json", dir);
    write_text(path,
               "{\"version\":1,\"keys\":[{\"kid\":\"../../etc/x\",\"alg\":\"ES256\","
               "\"status\":\"current\",\"created\":0,\"retire_after\":0}]}",
               0644);
    CHECK_RC(keys_open(dir, &k, &err), RC_MALFORMED);
    CHECK(strstr(err.text, "keys[0]") != NULL);
    write_text(path, "{\"version\":1,\"keys\":[]}", 0644);
    CHECK_RC(keys_open(dir, &k, &err), RC_MALFORMED);
    CHECK(strstr(err.text, "no current ES256 key") != NULL);
    (void)reloaded;
    rmtree(dir);
}

TEST(keys_failed_reload_keeps_the_old_set)
{
    char dir[256], path[512];
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct jose_keyset *ks = NULL;
    bool changed, reloaded = true;
    const char *kid;

    REQUIRE(tmpdir(dir, sizeof(dir)));
    REQUIRE(keys_file_init(dir, T0, 0, &changed, &err) == RC_OK);
    REQUIRE(keys_open(dir, &k, &err) == RC_OK);
    snprintf(path, sizeof(path), "%s/keyset.json", dir);
    write_text(path, "{\"version\":1,\"keys\":[", 0644);
    CHECK_RC(keys_maybe_reload(k, &reloaded, &err), RC_MALFORMED);
    CHECK(!reloaded);
    CHECK_RC(keys_maybe_reload(k, &reloaded, &err), RC_OK); /* reported once per change */
    REQUIRE(keys_current(k, &ks) == RC_OK);
    kid = jose_keyset_signing_kid(ks, JOSE_ES256);
    CHECK(kid != NULL);
    jose_keyset_release(ks);
    keys_free(k);
    rmtree(dir);
}

#include <pthread.h>
#include <sched.h>

struct reader {
    struct keys *k;
    atomic_int *stop;
    long bad, signs;
    atomic_int *started;
};

static void *
reader_main(void *arg)
{
    struct reader *r = arg;
    static const struct jose_verify_opts o = {JOSE_ES256, NULL};

    while (!atomic_load(r->stop)) {
        struct jose_keyset *ks = NULL;
        struct arena a;
        struct span t, p;
        arena_init(&a, 0);
        if (keys_current(r->k, &ks) != RC_OK
            || jose_sign(ks, JOSE_ES256, NULL, SPAN("{}"), &a, &t, NULL) != RC_OK
            || jose_verify(ks, &o, t, &a, &p, NULL, NULL) != RC_OK)
            r->bad++;
        if (r->signs++ == 0)
            atomic_fetch_add(r->started, 1);
        jose_keyset_release(ks);
        arena_clear(&a);
    }
    return NULL;
}

/* Workers keep signing through keys_current while rotations are swapped in underneath
 * them (run under -fsanitize=thread by hand: docs/keys.md). */
TEST(keys_swap_while_workers_sign)
{
    char dir[256];
    struct keys *k = NULL;
    struct keys_error err = {{0}};
    struct keys_rotate_opts o = {T0, 0, 60};
    struct reader r[4];
    pthread_t th[4];
    atomic_int stop = 0, started = 0;
    bool changed, reloaded;

    REQUIRE(tmpdir(dir, sizeof(dir)));
    REQUIRE(keys_file_init(dir, T0, 0, &changed, &err) == RC_OK);
    REQUIRE(keys_open(dir, &k, &err) == RC_OK);
    for (int i = 0; i < 4; i++) {
        r[i] = (struct reader){k, &stop, 0, 0, &started};
        REQUIRE(pthread_create(&th[i], NULL, reader_main, &r[i]) == 0);
    }
    /* every worker is signing before the first swap, however busy the machine is */
    while (atomic_load(&started) < 4)
        sched_yield();
    for (int i = 0; i < 6; i++) {
        o.now = T0 + 100 * (i + 1);
        CHECK_RC(keys_file_rotate(dir, &o, NULL, &err), RC_OK);
        CHECK_RC(keys_maybe_reload(k, &reloaded, &err), RC_OK);
        CHECK(reloaded);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(r[i].bad, 0);
        CHECK(r[i].signs > 0);
    }
    CHECK_INT(atomic_load(&k->reloads), 6);
    keys_free(k);
    rmtree(dir);
}
