/* The file population base: open, verify, check (see popbase_file.h). */
#include "adapt/popbase_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/popbase_file_int.h"
#include "core/idnum.h"
#include "core/popcsv.h"

struct popbase_file {
    struct popbase base; /* first: the port's view */
    struct popidx_hasher hasher;
    const uint8_t *map;
    size_t map_len;
    const uint8_t *records;
    const uint8_t *fences;
    uint64_t count, nfences;
    uint8_t data_sha256[32];
};

static enum rc
read_key(const char *path, uint8_t key[POPIDX_KEY_LEN], struct rc_info *ri)
{
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return rc_set(ri, errno == ENOENT ? RC_NOT_FOUND : RC_UNAVAILABLE, "name_key",
                      errno == ENOENT ? "key file not found" : "cannot open key file");
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != POPIDX_KEY_LEN) {
        close(fd);
        return rc_set(ri, RC_MALFORMED, "name_key", "key file must hold exactly 32 bytes");
    }
    if (st.st_mode & 077) { /* like the signing keys and the master key: a secret */
        close(fd);
        return rc_set(ri, RC_DENIED, "name_key",
                      "key file readable or writable by group or others (chmod 600)");
    }
    n = read(fd, key, POPIDX_KEY_LEN);
    close(fd);
    if (n != POPIDX_KEY_LEN)
        return rc_set(ri, RC_UNAVAILABLE, "name_key", "cannot read key file");
    return RC_OK;
}

enum rc
popidx_hasher_load(struct popidx_hasher *h, const char *key_path, struct rc_info *ri)
{
    uint8_t key[POPIDX_KEY_LEN];
    OSSL_PARAM params[2];
    enum rc rc;

    h->mac = NULL;
    h->ctx = NULL;
    if ((rc = read_key(key_path, key, ri)) != RC_OK)
        goto out;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    rc = rc_set(ri, RC_INTERNAL, "name_key", "cannot prepare HMAC-SHA-256");
    if (!(h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) || !(h->ctx = EVP_MAC_CTX_new(h->mac))
        || !EVP_MAC_init(h->ctx, key, sizeof(key), params)) {
        popidx_hasher_clear(h);
        goto out;
    }
    rc = rc_set(ri, RC_OK, NULL, NULL);
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

void
popidx_hasher_clear(struct popidx_hasher *h)
{
    EVP_MAC_CTX_free(h->ctx); /* cleanses the key schedule */
    EVP_MAC_free(h->mac);
    h->ctx = NULL;
    h->mac = NULL;
}

static enum rc
hmac(const struct popidx_hasher *h, uint8_t tag, const uint8_t *p, size_t n, uint8_t out[32])
{
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(h->ctx);
    size_t len = 0;
    int ok;

    if (!c)
        return RC_INTERNAL;
    ok = EVP_MAC_update(c, &tag, 1) && EVP_MAC_update(c, p, n) && EVP_MAC_final(c, out, &len, 32)
         && len == 32;
    EVP_MAC_CTX_free(c);
    return ok ? RC_OK : RC_INTERNAL;
}

enum rc
popidx_hash_name(const struct popidx_hasher *h, const struct name_norm *n,
                 uint8_t out[POPIDX_HASH_LEN])
{
    uint8_t full[32];
    enum rc rc = hmac(h, 0x01, n->p, n->len, full);

    memcpy(out, full, POPIDX_HASH_LEN);
    return rc;
}

enum rc
popidx_fingerprint(const struct popidx_hasher *h, uint8_t out[POPIDX_FP_LEN])
{
    static const char what[] = "authd popbase name key fingerprint v1";
    uint8_t full[32];
    enum rc rc = hmac(h, 0x00, (const uint8_t *)what, sizeof(what) - 1, full);

    memcpy(out, full, POPIDX_FP_LEN);
    return rc;
}

/* Header: 0 magic[8] | 8 version u32 | 12 record size u32 | 16 count u64 | 24 fence u32 |
 * 28 zero u32 | 32 fingerprint[16] | 48 data SHA-256[32] | 80 zero[40] | 120 check[8]:
 * the first 8 bytes of SHA-256 over bytes 0..120. */
void
popidx_header_put(const struct popidx_header *h, uint8_t out[POPIDX_HEADER_SIZE])
{
    uint8_t d[32];

    memset(out, 0, POPIDX_HEADER_SIZE);
    memcpy(out, POPIDX_MAGIC, 8);
    popidx_put64(out + 8, (uint64_t)POPIDX_VERSION | (uint64_t)POPIDX_RECORD_SIZE << 32);
    popidx_put64(out + 16, h->count);
    popidx_put64(out + 24, POPIDX_FENCE);
    memcpy(out + 32, h->fingerprint, POPIDX_FP_LEN);
    memcpy(out + 48, h->data_sha256, 32);
    SHA256(out, 120, d);
    memcpy(out + 120, d, 8);
}

enum rc
popidx_header_get(const uint8_t in[POPIDX_HEADER_SIZE], struct popidx_header *h, struct rc_info *ri)
{
    uint8_t d[32];

    if (memcmp(in, POPIDX_MAGIC, 8) != 0)
        return rc_set(ri, RC_MALFORMED, "index", "not a population index (bad magic)");
    if (popidx_le64(in + 8) != ((uint64_t)POPIDX_VERSION | (uint64_t)POPIDX_RECORD_SIZE << 32))
        return rc_set(ri, RC_MALFORMED, "index", "unsupported index version");
    SHA256(in, 120, d);
    if (memcmp(in + 120, d, 8) != 0)
        return rc_set(ri, RC_MALFORMED, "index", "header is corrupted");
    if (popidx_le64(in + 24) != POPIDX_FENCE)
        return rc_set(ri, RC_MALFORMED, "index", "unsupported fence stride");
    h->count = popidx_le64(in + 16);
    if (h->count > POPIDX_MAX_RECORDS)
        return rc_set(ri, RC_MALFORMED, "index", "record count out of range");
    memcpy(h->fingerprint, in + 32, POPIDX_FP_LEN);
    memcpy(h->data_sha256, in + 48, 32);
    return RC_OK;
}

enum rc
popbase_file_key_create(const char *path, struct rc_info *ri)
{
    uint8_t key[POPIDX_KEY_LEN];
    enum rc rc = RC_OK;
    int fd;

    if (RAND_bytes(key, sizeof(key)) != 1)
        return rc_set(ri, RC_UNAVAILABLE, "name_key", "random generator failed");
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno == EEXIST ? rc_set(ri, RC_CONFLICT, "name_key", "key file exists")
                             : rc_set(ri, RC_UNAVAILABLE, "name_key", "cannot create key file");
        goto out;
    }
    if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd) != 0) {
        rc = rc_set(ri, RC_UNAVAILABLE, "name_key", "cannot write key file");
        unlink(path);
    }
    close(fd);
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* Maps the file and checks that its size matches the header's count. */
static enum rc
map_index(struct popbase_file *f, const char *path, struct popidx_header *h, struct rc_info *ri)
{
    struct stat st;
    enum rc rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return rc_set(ri, errno == ENOENT ? RC_NOT_FOUND : RC_UNAVAILABLE, "index",
                      errno == ENOENT ? "index file not found" : "cannot open index file");
    rc = rc_set(ri, RC_MALFORMED, "index", "truncated or not a population index");
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < POPIDX_HEADER_SIZE)
        goto out;
    f->map_len = (size_t)st.st_size;
    f->map = mmap(NULL, f->map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        rc = rc_set(ri, RC_UNAVAILABLE, "index", "cannot map index file");
        goto out;
    }
    if ((rc = popidx_header_get(f->map, h, ri)) != RC_OK)
        goto out;
    f->count = h->count;
    f->nfences = popidx_nfences(h->count);
    if ((uint64_t)st.st_size
        != POPIDX_HEADER_SIZE + h->count * POPIDX_RECORD_SIZE + f->nfences * 8) {
        rc = rc_set(ri, RC_MALFORMED, "index", "size does not match the header (truncated?)");
        goto out;
    }
    f->records = f->map + POPIDX_HEADER_SIZE;
    f->fences = f->records + h->count * POPIDX_RECORD_SIZE;
    memcpy(f->data_sha256, h->data_sha256, 32);
    (void)madvise((void *)f->map, f->map_len, MADV_RANDOM);
out:
    close(fd);
    return rc;
}

/* Index of the record holding number num, or UINT64_MAX. */
static uint64_t
find(const struct popbase_file *f, uint64_t num)
{
    uint64_t lo = 0, hi = f->nfences, end;

    while (lo < hi) { /* first fence > num */
        uint64_t mid = lo + (hi - lo) / 2;
        if (popidx_le64(f->fences + mid * 8) <= num)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return UINT64_MAX;
    lo = (lo - 1) * POPIDX_FENCE;
    end = lo + POPIDX_FENCE < f->count ? lo + POPIDX_FENCE : f->count;
    hi = end;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if ((popidx_le64(f->records + mid * POPIDX_RECORD_SIZE) & POPIDX_NUM_MASK) < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < end && (popidx_le64(f->records + lo * POPIDX_RECORD_SIZE) & POPIDX_NUM_MASK) == num)
        return lo;
    return UINT64_MAX;
}

static enum rc
file_verify(struct popbase *p, struct span id18, struct span name, enum pop_answer *ans,
            struct pop_attrs *attrs)
{
    struct popbase_file *f = (struct popbase_file *)p;
    struct idnum id;
    struct name_norm n;
    uint8_t h[POPIDX_HASH_LEN] = {0};
    const uint8_t *rec;
    bool name_ok;
    uint64_t i, w;

    *ans = POP_UNAVAILABLE;
    if (idnum_parse(id18, &id, NULL) != RC_OK)
        return RC_MALFORMED;
    /* A name that cannot be normalized matches nobody, but the work is the same. */
    name_ok = name_normalize(name, &n, NULL) == RC_OK;
    if (name_ok && popidx_hash_name(&f->hasher, &n, h) != RC_OK)
        return RC_UNAVAILABLE;
    if ((i = find(f, idnum_key(&id))) == UINT64_MAX) {
        *ans = POP_NOT_FOUND;
        return RC_OK;
    }
    rec = f->records + i * POPIDX_RECORD_SIZE;
    if (attrs)
        *attrs = (struct pop_attrs){id.birth_ymd, id.sex, id.region};
    w = popidx_le64(rec);
    /* Status is told only to someone who knows the name: a mismatch hides it. */
    if (CRYPTO_memcmp(rec + 8, h, POPIDX_HASH_LEN) != 0 || !name_ok)
        *ans = POP_MISMATCH;
    else if ((w >> POPIDX_STATUS_SHIFT) != POP_STATUS_NORMAL)
        *ans = POP_CANCELLED;
    else
        *ans = POP_MATCH;
    return RC_OK;
}

static enum rc
file_ping(struct popbase *p)
{
    return ((struct popbase_file *)p)->map ? RC_OK : RC_UNAVAILABLE;
}

static void
file_free(struct popbase *p)
{
    struct popbase_file *f = (struct popbase_file *)p;

    if (f->map)
        munmap((void *)f->map, f->map_len);
    popidx_hasher_clear(&f->hasher);
    free(f);
}

static const struct popbase_ops file_ops = {"file", file_verify, file_ping, file_free};

enum rc
popbase_file_open(const char *path, const char *key_path, struct popbase **out, struct rc_info *ri)
{
    struct popbase_file *f = calloc(1, sizeof(*f));
    struct popidx_header h;
    uint8_t fp[POPIDX_FP_LEN];
    enum rc rc;

    if (!f)
        return rc_set(ri, RC_NOMEM, "index", "out of memory");
    f->base.ops = &file_ops;
    if (!key_path) {
        rc = rc_set(ri, RC_MALFORMED, "name_key", "no name key configured");
        goto fail;
    }
    if ((rc = popidx_hasher_load(&f->hasher, key_path, ri)) != RC_OK)
        goto fail;
    if ((rc = map_index(f, path, &h, ri)) != RC_OK)
        goto fail;
    if ((rc = popidx_fingerprint(&f->hasher, fp)) != RC_OK)
        goto fail;
    if (CRYPTO_memcmp(fp, h.fingerprint, POPIDX_FP_LEN) != 0) {
        rc = rc_set(ri, RC_DENIED, "name_key",
                    "index was compiled with another name key: recompile it with this key");
        goto fail;
    }
    *out = &f->base;
    return RC_OK;
fail:
    file_free(&f->base);
    return rc;
}

uint64_t
popbase_file_count(const struct popbase *p)
{
    return ((const struct popbase_file *)p)->count;
}

uint64_t
popbase_file_number_at(const struct popbase *p, uint64_t i)
{
    const struct popbase_file *f = (const struct popbase_file *)p;

    return i < f->count ? popidx_le64(f->records + i * POPIDX_RECORD_SIZE) & POPIDX_NUM_MASK : 0;
}

enum rc
popbase_file_check(struct popbase *p, struct rc_info *ri)
{
    const struct popbase_file *f = (const struct popbase_file *)p;
    uint8_t d[32];
    uint64_t prev = 0;

    if (p->ops != &file_ops)
        return rc_set(ri, RC_UNSUPPORTED, "index", "not a file population base");
    SHA256(f->records, f->map_len - POPIDX_HEADER_SIZE, d);
    if (memcmp(d, f->data_sha256, 32) != 0)
        return rc_set(ri, RC_MALFORMED, "index", "data checksum does not match");
    for (uint64_t i = 0; i < f->count; i++) {
        uint64_t w = popidx_le64(f->records + i * POPIDX_RECORD_SIZE);
        if ((i > 0 && (w & POPIDX_NUM_MASK) <= prev) || (w >> POPIDX_STATUS_SHIFT) > 2)
            return rc_set(ri, RC_MALFORMED, "index", "records out of order or bad status");
        if (i % POPIDX_FENCE == 0
            && popidx_le64(f->fences + i / POPIDX_FENCE * 8) != (w & POPIDX_NUM_MASK))
            return rc_set(ri, RC_MALFORMED, "index", "fence does not match its record");
        prev = w & POPIDX_NUM_MASK;
    }
    return RC_OK;
}
