/* Keys port over a directory of private JWK files and a state file. See keys_file.h. */
#include "adapt/keys_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4096

struct keys_file {
    struct keys base;
    char *dir;
    pthread_mutex_t mu; /* guards cur: held only to swap or retain it */
    struct jose_keyset *cur;
    pthread_mutex_t reload_mu; /* one reload at a time; guards seen */
    struct stat seen;          /* keyset.json as of the last load attempt */
    bool seen_valid;
};

static enum rc __attribute__((format(printf, 3, 4)))
errf(struct keys_error *err, enum rc rc, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!err)
        return rc;
    n = snprintf(err->text, sizeof(err->text), "keys: ");
    va_start(ap, fmt);
    vsnprintf(err->text + n, sizeof(err->text) - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

static enum rc
path_join(char out[PATH_CAP], const char *dir, const char *name, const char *ext,
          struct keys_error *err)
{
    int n = snprintf(out, PATH_CAP, "%s/%s%s", dir, name, ext);

    if (n < 0 || n >= PATH_CAP)
        return errf(err, RC_TOO_LARGE, "%s: path too long", dir);
    return RC_OK;
}

const char *
keys_status_name(enum keys_status s)
{
    return s == KEYS_NEXT ? "next" : s == KEYS_CURRENT ? "current" : "previous";
}

/* ---- files -------------------------------------------------------------------------------- */

/* Reads a regular file of at most max bytes into out. secret: refuse any group/other
 * permission bit (a private key); else refuse group/other write (the state file). */
static enum rc
read_file(const char *path, size_t max, bool secret, struct buf *out, struct keys_error *err)
{
    enum rc rc = RC_OK;
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    uint8_t chunk[4096];
    ssize_t r = 0;

    if (fd < 0)
        return errf(err, errno == ENOENT ? RC_NOT_FOUND : RC_UNAVAILABLE, "%s: cannot open: %s",
                    path, strerror(errno));
    if (fstat(fd, &st) != 0)
        rc = errf(err, RC_UNAVAILABLE, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = errf(err, RC_MALFORMED, "%s: not a regular file", path);
    else if (secret && (st.st_mode & 077))
        rc = errf(err, RC_DENIED,
                  "%s: private key readable by group or others (mode %04o); chmod 600 it", path,
                  (unsigned)(st.st_mode & 07777));
    else if (!secret && (st.st_mode & 022))
        rc = errf(err, RC_DENIED, "%s: writable by group or others (mode %04o)", path,
                  (unsigned)(st.st_mode & 07777));
    if (rc != RC_OK) {
        close(fd);
        return rc;
    }
    buf_init(out, max);
    while ((r = read(fd, chunk, sizeof(chunk))) > 0)
        if (buf_append(out, chunk, (size_t)r) != RC_OK)
            break;
    if (r < 0)
        rc = errf(err, RC_UNAVAILABLE, "%s: read: %s", path, strerror(errno));
    else if (r > 0)
        rc = errf(err, RC_MALFORMED, "%s: larger than %zu bytes", path, max);
    OPENSSL_cleanse(chunk, sizeof(chunk));
    if (rc != RC_OK)
        buf_clear(out);
    close(fd);
    return rc;
}

/* Writes bytes to path atomically (temp file, fsync, rename, fsync of the directory). */
static enum rc
write_atomic(const char *dir, const char *name, struct span s, mode_t mode, struct keys_error *err)
{
    char path[PATH_CAP], tmp[PATH_CAP];
    int fd, dfd;
    enum rc rc;

    if ((rc = path_join(path, dir, name, "", err)) != RC_OK
        || (rc = path_join(tmp, dir, name, ".tmp", err)) != RC_OK)
        return rc;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return errf(err, RC_UNAVAILABLE, "%s: cannot create: %s", tmp, strerror(errno));
    if (fchmod(fd, mode) != 0 || write(fd, s.p, s.len) != (ssize_t)s.len || fsync(fd) != 0) {
        rc = errf(err, RC_UNAVAILABLE, "%s: write: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return rc;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        rc = errf(err, RC_UNAVAILABLE, "%s: rename: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return RC_OK;
}

/* Creates dir/<kid>.jwk, mode 0600, holding jwk; fails if it exists. */
static enum rc
write_key_file(const char *dir, const char *kid, struct span jwk, struct keys_error *err)
{
    char path[PATH_CAP];
    enum rc rc;
    int fd;

    if ((rc = path_join(path, dir, kid, ".jwk", err)) != RC_OK)
        return rc;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errf(err, RC_UNAVAILABLE, "%s: cannot create: %s", path, strerror(errno));
    if (fchmod(fd, 0600) != 0 || write(fd, jwk.p, jwk.len) != (ssize_t)jwk.len || fsync(fd) != 0) {
        rc = errf(err, RC_UNAVAILABLE, "%s: write: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return rc;
    }
    close(fd);
    return RC_OK;
}

static void
unlink_key_file(const char *dir, const char *kid)
{
    char path[PATH_CAP];

    if (path_join(path, dir, kid, ".jwk", NULL) == RC_OK)
        unlink(path);
}

/* Takes an exclusive lock on dir/.lock so two authctl runs cannot interleave. */
static enum rc
lock_dir(const char *dir, int *fd, struct keys_error *err)
{
    char path[PATH_CAP];
    enum rc rc;

    if ((rc = path_join(path, dir, ".lock", "", err)) != RC_OK)
        return rc;
    if ((*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return errf(err, RC_UNAVAILABLE, "%s: cannot open: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        return errf(err, RC_CONFLICT, "%s: another authctl is changing the keys", path);
    }
    return RC_OK;
}

/* ---- state file ----------------------------------------------------------------------------- */

static bool
kid_is_filename(const char *kid)
{
    size_t n = strlen(kid);

    return n > 0 && n <= JOSE_MAX_KID && span_is_b64url(span_of(kid, n));
}

static bool
parse_status(const char *s, enum keys_status *out)
{
    for (int i = KEYS_NEXT; i <= KEYS_PREVIOUS; i++)
        if (s && strcmp(s, keys_status_name((enum keys_status)i)) == 0) {
            *out = (enum keys_status)i;
            return true;
        }
    return false;
}

/* Fills e from one member of "keys"; false if any field is missing or wrong. */
static bool
parse_entry(json_t *o, struct keys_entry *e)
{
    const char *kid = json_string_value(json_object_get(o, "kid"));
    const char *alg = json_string_value(json_object_get(o, "alg"));
    json_t *created = json_object_get(o, "created"), *retire = json_object_get(o, "retire_after");

    if (!kid || !kid_is_filename(kid) || !alg || !json_is_integer(created)
        || !json_is_integer(retire)
        || !parse_status(json_string_value(json_object_get(o, "status")), &e->status))
        return false;
    e->alg = jose_alg_parse(span_str(alg));
    if (!jose_alg_info(e->alg) || !jose_alg_info(e->alg)->signs)
        return false;
    memcpy(e->kid, kid, strlen(kid) + 1);
    e->created = json_integer_value(created);
    e->retire_after = json_integer_value(retire);
    return true;
}

static const struct keys_entry *
find_entry(const struct keys_state *st, enum jose_alg alg, enum keys_status s)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->e[i].alg == alg && st->e[i].status == s)
            return &st->e[i];
    return NULL;
}

/* The rules a state must keep: unique kids, at most one current and one next per alg, a
 * current ES256 key, and no next or previous key of an alg without a current one. */
static const char *
state_invalid(const struct keys_state *st)
{
    for (size_t i = 0; i < st->n; i++) {
        const struct keys_entry *e = &st->e[i];
        for (size_t j = i + 1; j < st->n; j++) {
            if (strcmp(e->kid, st->e[j].kid) == 0)
                return "duplicate kid";
            if (e->alg == st->e[j].alg && e->status == st->e[j].status
                && e->status != KEYS_PREVIOUS)
                return "two keys with the same alg and status";
        }
        if (!find_entry(st, e->alg, KEYS_CURRENT))
            return "a next or previous key without a current key of its alg";
    }
    if (!find_entry(st, JOSE_ES256, KEYS_CURRENT))
        return "no current ES256 key";
    return NULL;
}

static enum rc
state_parse(const char *path, struct span text, struct keys_state *st, struct keys_error *err)
{
    json_t *root = json_loadb((const char *)text.p, text.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(root, "keys"), *v;
    json_t *ver = json_object_get(root, "version");
    enum rc rc = errf(err, RC_MALFORMED, "%s: not a keys state file (version 1)", path);
    const char *why;
    size_t i;

    memset(st, 0, sizeof(*st));
    if (!json_is_object(root) || !json_is_integer(ver) || json_integer_value(ver) != 1
        || !json_is_array(keys))
        goto out;
    rc = errf(err, RC_MALFORMED, "%s: more than %d keys", path, JOSE_MAX_KEYS);
    if (json_array_size(keys) > JOSE_MAX_KEYS)
        goto out;
    json_array_foreach(keys, i, v)
    {
        rc = errf(err, RC_MALFORMED,
                  "%s: keys[%zu]: needs kid, alg (one authd signs with), status "
                  "(next, current, previous), created, retire_after",
                  path, i);
        if (!parse_entry(v, &st->e[st->n++]))
            goto out;
    }
    rc = RC_OK;
    if ((why = state_invalid(st)))
        rc = errf(err, RC_MALFORMED, "%s: %s", path, why);
out:
    json_decref(root);
    return rc;
}

enum rc
keys_file_state_read(const char *dir, struct keys_state *st, struct keys_error *err)
{
    char path[PATH_CAP];
    struct buf b;
    enum rc rc;

    if ((rc = path_join(path, dir, KEYS_STATE_FILE, "", err)) != RC_OK)
        return rc;
    if ((rc = read_file(path, KEYS_STATE_MAX, false, &b, err)) != RC_OK) {
        if (rc == RC_NOT_FOUND)
            errf(err, rc, "%s: no keys; run `authctl -c CONFIG keys init`", path);
        return rc;
    }
    rc = state_parse(path, buf_span(&b), st, err);
    buf_clear(&b);
    return rc;
}

static enum rc
state_write(const char *dir, const struct keys_state *st, struct keys_error *err)
{
    json_t *root = json_pack("{s:i,s:[]}", "version", 1, "keys");
    json_t *arr = json_object_get(root, "keys");
    enum rc rc = errf(err, RC_NOMEM, "%s: out of memory", dir);
    char *s = NULL;

    if (!root)
        return rc;
    for (size_t i = 0; i < st->n; i++) {
        const struct keys_entry *e = &st->e[i];
        if (json_array_append_new(
                arr, json_pack("{s:s,s:s,s:s,s:I,s:I}", "kid", e->kid, "alg", jose_alg_name(e->alg),
                               "status", keys_status_name(e->status), "created",
                               (json_int_t)e->created, "retire_after", (json_int_t)e->retire_after))
            != 0)
            goto out;
    }
    if ((s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
        rc = write_atomic(dir, KEYS_STATE_FILE, span_str(s), 0644, err);
out:
    free(s);
    json_decref(root);
    return rc;
}

/* ---- loading -------------------------------------------------------------------------------- */

/* Adds the key file of e to ks and checks it is the key the state says. */
static enum rc
load_one(const char *dir, const struct keys_entry *e, struct jose_keyset *ks,
         struct keys_error *err)
{
    char path[PATH_CAP];
    struct buf b;
    struct rc_info ri = {0};
    const char *kid = NULL;
    enum jose_alg alg = 0;
    enum rc rc;

    if ((rc = path_join(path, dir, e->kid, ".jwk", err)) != RC_OK
        || (rc = read_file(path, JOSE_MAX_JWK, true, &b, err)) != RC_OK)
        return rc;
    rc = jose_keyset_add_jwk(ks, buf_span(&b), e->status == KEYS_CURRENT ? JOSE_KEY_SIGN : 0, &ri);
    buf_clear(&b);
    if (rc != RC_OK)
        return errf(err, rc == RC_NOMEM ? rc : RC_MALFORMED, "%s: %s: %s", path,
                    ri.field ? ri.field : "jwk", ri.msg ? ri.msg : "not a usable private JWK");
    jose_keyset_key(ks, jose_keyset_count(ks) - 1, &kid, &alg, NULL, NULL);
    if (strcmp(kid, e->kid) != 0 || alg != e->alg)
        return errf(err, RC_MALFORMED, "%s: kid or alg differs from %s", path, KEYS_STATE_FILE);
    return RC_OK;
}

enum rc
keys_file_load(const char *dir, const struct keys_state *st, struct jose_keyset **out,
               struct keys_error *err)
{
    static const enum keys_status order[] = {KEYS_CURRENT, KEYS_NEXT, KEYS_PREVIOUS};
    struct jose_keyset *ks = NULL;
    enum rc rc;

    if ((rc = jose_keyset_new(&ks)) != RC_OK)
        return errf(err, rc, "%s: out of memory", dir);
    /* current keys first in the JWKS: some relying parties try keys in order */
    for (size_t o = 0; o < 3; o++)
        for (size_t i = 0; i < st->n; i++)
            if (st->e[i].status == order[o] && (rc = load_one(dir, &st->e[i], ks, err)) != RC_OK)
                goto out;
    if ((rc = jose_keyset_seal(ks)) != RC_OK)
        errf(err, rc, "%s: cannot build the JWKS", dir);
out:
    if (rc != RC_OK)
        jose_keyset_release(ks);
    else
        *out = ks;
    return rc;
}

/* ---- the port ------------------------------------------------------------------------------- */

static enum rc
kf_current(struct keys *k, struct jose_keyset **out)
{
    struct keys_file *kf = (struct keys_file *)k;

    pthread_mutex_lock(&kf->mu);
    *out = jose_keyset_retain(kf->cur);
    pthread_mutex_unlock(&kf->mu);
    return *out ? RC_OK : RC_UNAVAILABLE;
}

/* Loads the directory and swaps the new set in; caller holds reload_mu. */
static enum rc
reload_locked(struct keys_file *kf, struct keys_error *err)
{
    char path[PATH_CAP];
    struct keys_state st;
    struct jose_keyset *ks = NULL, *old;
    enum rc rc;

    if ((rc = path_join(path, kf->dir, KEYS_STATE_FILE, "", err)) != RC_OK)
        return rc;
    kf->seen_valid = stat(path, &kf->seen) == 0;
    if ((rc = keys_file_state_read(kf->dir, &st, err)) != RC_OK
        || (rc = keys_file_load(kf->dir, &st, &ks, err)) != RC_OK) {
        atomic_fetch_add(&kf->base.reload_failures, 1);
        return rc;
    }
    pthread_mutex_lock(&kf->mu);
    old = kf->cur;
    kf->cur = ks;
    pthread_mutex_unlock(&kf->mu);
    jose_keyset_release(old); /* freed when its last user releases it */
    atomic_fetch_add(&kf->base.reloads, 1);
    return RC_OK;
}

static enum rc
kf_reload(struct keys *k, struct keys_error *err)
{
    struct keys_file *kf = (struct keys_file *)k;
    enum rc rc;

    pthread_mutex_lock(&kf->reload_mu);
    rc = reload_locked(kf, err);
    pthread_mutex_unlock(&kf->reload_mu);
    return rc;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
           && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
           && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static enum rc
kf_maybe_reload(struct keys *k, bool *reloaded, struct keys_error *err)
{
    struct keys_file *kf = (struct keys_file *)k;
    char path[PATH_CAP];
    struct stat st;
    enum rc rc = RC_OK;
    bool changed;

    if (reloaded)
        *reloaded = false;
    if ((rc = path_join(path, kf->dir, KEYS_STATE_FILE, "", err)) != RC_OK)
        return rc;
    pthread_mutex_lock(&kf->reload_mu);
    changed = stat(path, &st) != 0 ? kf->seen_valid : !kf->seen_valid || !same_file(&st, &kf->seen);
    if (changed && (rc = reload_locked(kf, err)) == RC_OK && reloaded)
        *reloaded = true;
    pthread_mutex_unlock(&kf->reload_mu);
    return rc;
}

static void
kf_free(struct keys *k)
{
    struct keys_file *kf = (struct keys_file *)k;

    jose_keyset_release(kf->cur);
    pthread_mutex_destroy(&kf->mu);
    pthread_mutex_destroy(&kf->reload_mu);
    free(kf->dir);
    free(kf);
}

static const struct keys_ops keys_file_ops = {"file", kf_current, kf_reload, kf_maybe_reload,
                                              kf_free};

enum rc
keys_file_open(const char *dir, struct keys **out, struct keys_error *err)
{
    struct keys_file *kf = calloc(1, sizeof(*kf));
    enum rc rc;

    if (!kf || !(kf->dir = strdup(dir))) {
        free(kf);
        return errf(err, RC_NOMEM, "%s: out of memory", dir);
    }
    kf->base.ops = &keys_file_ops;
    pthread_mutex_init(&kf->mu, NULL);
    pthread_mutex_init(&kf->reload_mu, NULL);
    if ((rc = reload_locked(kf, err)) != RC_OK) {
        kf_free(&kf->base);
        return rc;
    }
    atomic_store(&kf->base.reloads, 0);
    *out = &kf->base;
    return RC_OK;
}

enum rc
keys_open(const char *keys_dir, struct keys **out, struct keys_error *err)
{
    return keys_file_open(keys_dir, out, err);
}

/* ---- administration (authctl) -------------------------------------------------------------- */

/* Generates a key for alg, writes its file and appends it to st with status s. */
static enum rc
add_new_key(const char *dir, struct keys_state *st, enum jose_alg alg, enum keys_status s,
            int64_t now, struct keys_error *err)
{
    struct buf jwk;
    struct arena a;
    struct span kid;
    struct keys_entry *e;
    enum rc rc;

    if (st->n == JOSE_MAX_KEYS)
        return errf(err, RC_TOO_LARGE, "%s: already %d keys", dir, JOSE_MAX_KEYS);
    buf_init(&jwk, JOSE_MAX_JWK);
    arena_init(&a, 0);
    if ((rc = jose_key_generate(alg, &jwk)) != RC_OK
        || (rc = jose_jwk_thumbprint(buf_span(&jwk), &a, &kid)) != RC_OK) {
        errf(err, rc, "%s: cannot generate a %s key", dir, jose_alg_name(alg));
        goto out;
    }
    if ((rc = write_key_file(dir, (const char *)kid.p, buf_span(&jwk), err)) != RC_OK)
        goto out;
    e = &st->e[st->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->kid, kid.p, kid.len);
    e->alg = alg;
    e->status = s;
    e->created = now;
out:
    buf_clear(&jwk);
    arena_clear(&a);
    return rc;
}

/* Removes the key files that new holds and old does not (a failed init or rotation). */
static void
discard_new(const char *dir, const struct keys_state *old, const struct keys_state *new)
{
    for (size_t i = 0; i < new->n; i++) {
        bool existed = false;
        for (size_t j = 0; j < old->n; j++)
            existed = existed || strcmp(old->e[j].kid, new->e[i].kid) == 0;
        if (!existed)
            unlink_key_file(dir, new->e[i].kid);
    }
}

/* Validates new by loading every key it names, then writes it; on failure discards the
 * key files it added. */
static enum rc
commit_state(const char *dir, const struct keys_state *old, const struct keys_state *new,
             struct keys_error *err)
{
    struct jose_keyset *ks = NULL;
    const char *why = state_invalid(new);
    enum rc rc = why ? errf(err, RC_INTERNAL, "%s: %s", dir, why) : RC_OK;

    if (rc == RC_OK && (rc = keys_file_load(dir, new, &ks, err)) == RC_OK)
        rc = state_write(dir, new, err);
    jose_keyset_release(ks);
    if (rc != RC_OK)
        discard_new(dir, old, new);
    return rc;
}

/* Creates dir and its missing parents, all mode 0700. */
static enum rc
mkdir_p(const char *dir, struct keys_error *err)
{
    char p[PATH_CAP];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(p))
        return errf(err, RC_MALFORMED, "keys_dir: empty or too long");
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        p[i] = 0;
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return errf(err, RC_UNAVAILABLE, "%s: cannot create: %s", p, strerror(errno));
        p[i] = i < n ? '/' : 0;
    }
    return RC_OK;
}

enum rc
keys_file_init(const char *dir, int64_t now, unsigned algs, bool *changed, struct keys_error *err)
{
    struct keys_state old, st;
    enum rc rc;
    int lock = -1;

    *changed = false;
    if ((rc = mkdir_p(dir, err)) != RC_OK)
        return rc;
    if ((rc = lock_dir(dir, &lock, err)) != RC_OK)
        return rc;
    rc = keys_file_state_read(dir, &old, err);
    if (rc == RC_NOT_FOUND)
        memset(&old, 0, sizeof(old));
    else if (rc != RC_OK)
        goto out;
    st = old;
    rc = RC_OK;
    algs |= JOSE_ES256;
    for (size_t i = 0; rc == RC_OK && jose_alg_info_at(i); i++) {
        const struct jose_alg_info *ai = jose_alg_info_at(i);
        if (ai->signs && (algs & ai->alg) && !find_entry(&st, ai->alg, KEYS_CURRENT))
            rc = add_new_key(dir, &st, ai->alg, KEYS_CURRENT, now, err);
    }
    if (rc != RC_OK)
        discard_new(dir, &old, &st);
    else if (st.n != old.n)
        rc = commit_state(dir, &old, &st, err);
    *changed = rc == RC_OK && st.n != old.n;
out:
    close(lock);
    return rc;
}

/* Phase 2 for alg: next becomes current, current becomes previous. */
static void
promote(struct keys_state *st, enum jose_alg alg, int64_t retire_after)
{
    for (size_t i = 0; i < st->n; i++) {
        struct keys_entry *e = &st->e[i];
        if (e->alg != alg)
            continue;
        if (e->status == KEYS_CURRENT) {
            e->status = KEYS_PREVIOUS;
            e->retire_after = retire_after;
        } else if (e->status == KEYS_NEXT) {
            e->status = KEYS_CURRENT;
        }
    }
}

/* Drops previous keys past retire_after from st, listing them in gone. */
static void
drop_retired(struct keys_state *st, int64_t now, struct keys_state *gone)
{
    size_t w = 0;

    gone->n = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (st->e[i].status == KEYS_PREVIOUS && st->e[i].retire_after <= now)
            gone->e[gone->n++] = st->e[i];
        else
            st->e[w++] = st->e[i];
    }
    st->n = w;
}

/* RC_CONFLICT if some alg's next key has not been published long enough. */
static enum rc
check_publish_time(const struct keys_state *st, const struct keys_rotate_opts *o,
                   struct keys_error *err)
{
    for (size_t i = 0; jose_alg_info_at(i); i++) {
        const struct keys_entry *n = find_entry(st, jose_alg_info_at(i)->alg, KEYS_NEXT);
        if (n && o->now - n->created < o->min_publish)
            return errf(err, RC_CONFLICT,
                        "next %s key %s published %lld s ago; promote it after %lld s more",
                        jose_alg_name(n->alg), n->kid, (long long)(o->now - n->created),
                        (long long)(o->min_publish - (o->now - n->created)));
    }
    return RC_OK;
}

enum rc
keys_file_rotate(const char *dir, const struct keys_rotate_opts *o, struct keys_state *out,
                 struct keys_error *err)
{
    struct keys_state old, st, gone;
    enum rc rc;
    int lock = -1;

    if ((rc = lock_dir(dir, &lock, err)) != RC_OK)
        return rc;
    if ((rc = keys_file_state_read(dir, &old, err)) != RC_OK
        || (rc = check_publish_time(&old, o, err)) != RC_OK)
        goto out;
    st = old;
    drop_retired(&st, o->now, &gone);
    for (size_t i = 0; jose_alg_info_at(i) && rc == RC_OK; i++) {
        enum jose_alg alg = jose_alg_info_at(i)->alg;
        if (!find_entry(&st, alg, KEYS_CURRENT))
            continue;
        if (find_entry(&st, alg, KEYS_NEXT))
            promote(&st, alg, o->now + o->max_token_lifetime);
        else
            rc = add_new_key(dir, &st, alg, KEYS_NEXT, o->now, err);
    }
    if (rc != RC_OK) {
        discard_new(dir, &old, &st);
        goto out;
    }
    if ((rc = commit_state(dir, &old, &st, err)) != RC_OK)
        goto out;
    for (size_t i = 0; i < gone.n; i++) /* only once the new state no longer names them */
        unlink_key_file(dir, gone.e[i].kid);
    if (out)
        *out = st;
out:
    close(lock);
    return rc;
}
