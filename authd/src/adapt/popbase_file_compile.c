/* Compiling a population CSV into a file population base index (see popbase_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/popbase_file.h"
#include "adapt/popbase_file_int.h"
#include "core/popcsv.h"

#define PROGRESS_EVERY (1u << 16) /* lines */
#define WRITE_BUF      (1u << 20)

struct crec {
    uint64_t word; /* number | status << 60 */
    uint8_t hash[POPIDX_HASH_LEN];
    uint64_t line;
};

struct compile {
    const struct popbase_compile_opts *o;
    struct popbase_compile_stats *st;
    struct popidx_hasher hasher;
    struct crec *recs;
    size_t n, cap;
};

static void
report(struct compile *c, uint64_t line, uint64_t first, const char *field, const char *msg)
{
    if (c->o->report)
        c->o->report(c->o->arg, line, first, field, msg);
}

static enum rc
add_line(struct compile *c, struct span line, uint64_t lineno)
{
    struct pop_row row;
    struct rc_info ri = {0};
    struct crec *r;

    if (popcsv_row(line, c->o->today_ymd, &row, &ri) != RC_OK) {
        c->st->bad++;
        report(c, lineno, 0, ri.field, ri.msg);
        return RC_OK;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1u << 16;
        struct crec *p = realloc(c->recs, cap * sizeof(*p));
        if (!p)
            return RC_NOMEM;
        c->recs = p, c->cap = cap;
    }
    r = &c->recs[c->n++];
    r->word = idnum_key(&row.id) | (uint64_t)row.status << POPIDX_STATUS_SHIFT;
    r->line = lineno;
    if (popidx_hash_name(&c->hasher, &row.name, r->hash) != RC_OK)
        return RC_INTERNAL;
    OPENSSL_cleanse(&row.name, sizeof(row.name));
    return RC_OK;
}

/* Walks the mapped CSV line by line. */
static enum rc
read_lines(struct compile *c, const uint8_t *p, size_t len, struct rc_info *ri)
{
    size_t off = 0;
    uint64_t lineno = 0;
    enum rc rc;

    while (off < len) {
        const uint8_t *nl = memchr(p + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - p) + 1 : len;
        struct span line = span_of(p + off, end - off);
        struct rc_info lri = {0};

        off = end;
        if (++lineno == 1) {
            if (popcsv_header(line, &lri) != RC_OK)
                return rc_set(ri, RC_MALFORMED, "header", "must be " POPCSV_HEADER);
            continue;
        }
        c->st->lines++;
        if ((rc = add_line(c, line, lineno)) != RC_OK)
            return rc_set(ri, rc, "csv", rc == RC_NOMEM ? "out of memory" : "hashing failed");
        if (c->o->progress && lineno % PROGRESS_EVERY == 0)
            c->o->progress(c->o->arg, off, len);
    }
    if (lineno == 0)
        return rc_set(ri, RC_MALFORMED, "header", "empty file");
    if (c->o->progress)
        c->o->progress(c->o->arg, len, len);
    return RC_OK;
}

static enum rc
read_csv(struct compile *c, const char *path, struct rc_info *ri)
{
    struct stat st;
    void *map;
    enum rc rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return rc_set(ri, errno == ENOENT ? RC_NOT_FOUND : RC_UNAVAILABLE, "csv",
                      "cannot open the CSV file");
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return rc_set(ri, RC_UNAVAILABLE, "csv", "not a regular file");
    }
    if (st.st_size == 0) {
        close(fd);
        return rc_set(ri, RC_MALFORMED, "header", "empty file");
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return rc_set(ri, RC_UNAVAILABLE, "csv", "cannot map the CSV file");
    (void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    rc = read_lines(c, map, (size_t)st.st_size, ri);
    munmap(map, (size_t)st.st_size);
    return rc;
}

static int
by_number_then_line(const void *a, const void *b)
{
    const struct crec *x = a, *y = b;
    uint64_t nx = x->word & POPIDX_NUM_MASK, ny = y->word & POPIDX_NUM_MASK;

    if (nx != ny)
        return nx < ny ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorts and drops repeated numbers (keeping the first line), reporting each repeat. */
static void
sort_dedup(struct compile *c)
{
    size_t w = 0;

    qsort(c->recs, c->n, sizeof(*c->recs), by_number_then_line);
    for (size_t i = 0; i < c->n; i++) {
        if (w > 0
            && (c->recs[i].word & POPIDX_NUM_MASK) == (c->recs[w - 1].word & POPIDX_NUM_MASK)) {
            c->st->duplicates++;
            report(c, c->recs[i].line, c->recs[w - 1].line, "id_number", "duplicate number");
            continue;
        }
        c->recs[w++] = c->recs[i];
    }
    c->n = w;
}

struct out {
    int fd;
    uint8_t *buf;
    size_t len;
    EVP_MD_CTX *md;
    int failed;
};

static void
out_put(struct out *w, const uint8_t *p, size_t n)
{
    if (w->len + n > WRITE_BUF) {
        if (write(w->fd, w->buf, w->len) != (ssize_t)w->len)
            w->failed = 1;
        w->len = 0;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    if (!EVP_DigestUpdate(w->md, p, n))
        w->failed = 1;
}

/* Writes header, records and fences to fd. */
static enum rc
write_index(struct compile *c, int fd)
{
    struct out w = {fd, malloc(WRITE_BUF), 0, EVP_MD_CTX_new(), 0};
    struct popidx_header h = {.count = c->n};
    uint8_t hdr[POPIDX_HEADER_SIZE] = {0}, rec[POPIDX_RECORD_SIZE];
    unsigned dlen = 0;
    enum rc rc = RC_UNAVAILABLE;

    if (!w.buf || !w.md || !EVP_DigestInit_ex(w.md, EVP_sha256(), NULL)) {
        rc = RC_NOMEM;
        goto out;
    }
    if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
        goto out;
    for (size_t i = 0; i < c->n; i++) {
        popidx_put64(rec, c->recs[i].word);
        memcpy(rec + 8, c->recs[i].hash, POPIDX_HASH_LEN);
        out_put(&w, rec, sizeof(rec));
    }
    for (size_t i = 0; i < c->n; i += POPIDX_FENCE) {
        popidx_put64(rec, c->recs[i].word & POPIDX_NUM_MASK);
        out_put(&w, rec, 8);
    }
    if (w.failed || write(fd, w.buf, w.len) != (ssize_t)w.len
        || !EVP_DigestFinal_ex(w.md, h.data_sha256, &dlen)
        || popidx_fingerprint(&c->hasher, h.fingerprint) != RC_OK)
        goto out;
    popidx_header_put(&h, hdr);
    if (pwrite(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr) || fsync(fd) != 0)
        goto out;
    rc = RC_OK;
out:
    free(w.buf);
    EVP_MD_CTX_free(w.md);
    return rc;
}

/* Writes the index next to path and renames it into place. */
static enum rc
write_file(struct compile *c, const char *path, struct rc_info *ri)
{
    char tmp[4096];
    enum rc rc;
    int fd;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp))
        return rc_set(ri, RC_TOO_LARGE, "index", "path too long");
    if ((fd = mkstemp(tmp)) < 0)
        return rc_set(ri, RC_UNAVAILABLE, "index", "cannot create the index file");
    rc = write_index(c, fd);
    if (rc == RC_OK && (fchmod(fd, 0640) != 0 || close(fd) != 0 || rename(tmp, path) != 0))
        rc = RC_UNAVAILABLE;
    else if (rc != RC_OK)
        close(fd);
    if (rc != RC_OK) {
        unlink(tmp);
        return rc_set(ri, rc, "index", "cannot write the index file");
    }
    return RC_OK;
}

enum rc
popbase_file_compile(const char *csv_path, const char *idx_path, const char *key_path,
                     const struct popbase_compile_opts *o, struct popbase_compile_stats *st,
                     struct rc_info *ri)
{
    struct compile c = {.o = o, .st = st};
    enum rc rc;

    memset(st, 0, sizeof(*st));
    if ((rc = popidx_hasher_load(&c.hasher, key_path, ri)) != RC_OK)
        return rc;
    if ((rc = read_csv(&c, csv_path, ri)) != RC_OK)
        goto out;
    sort_dedup(&c);
    if ((st->bad || st->duplicates) && !o->skip_bad) {
        rc = rc_set(ri, RC_MALFORMED, "csv", "bad lines or duplicate numbers (see above)");
        goto out;
    }
    if (c.n > POPIDX_MAX_RECORDS) {
        rc = rc_set(ri, RC_TOO_LARGE, "csv", "too many records");
        goto out;
    }
    if ((rc = write_file(&c, idx_path, ri)) != RC_OK)
        goto out;
    st->records = c.n;
out:
    free(c.recs);
    popidx_hasher_clear(&c.hasher);
    return rc;
}
