/* Internal to adapt/popbase_file*.c: the name hasher and the index header codec. The
 * name hasher's key also keys the HTTP backend's cache entries (adapt/popbase_http.c). */
#ifndef AUTHD_ADAPT_POPBASE_FILE_INT_H
#define AUTHD_ADAPT_POPBASE_FILE_INT_H

#include <openssl/evp.h>
#include <stdint.h>

#include "adapt/popbase_file.h"
#include "core/name.h"

/* Record word 0: the 17-digit number in the low 57 bits, the status above. */
#define POPIDX_NUM_MASK     ((1ull << 57) - 1)
#define POPIDX_STATUS_SHIFT 60

/* HMAC-SHA-256 with the name key: EVP_MAC fetched once, a keyed context prepared once and
 * duplicated per use (thread safe: the prepared context is only read). */
struct popidx_hasher {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

/* Loads the key file (exactly POPIDX_KEY_LEN bytes) and prepares the hasher; the key bytes
 * are wiped before returning. RC_NOT_FOUND, RC_MALFORMED (wrong size), RC_UNAVAILABLE. */
enum rc popidx_hasher_load(struct popidx_hasher *h, const char *key_path, struct rc_info *ri);
/* Frees the hasher (OpenSSL cleanses the key schedule); safe on a cleared hasher. */
void popidx_hasher_clear(struct popidx_hasher *h);
/* The truncated name hash of a normalized name. RC_OK or RC_INTERNAL. */
enum rc popidx_hash_name(const struct popidx_hasher *h, const struct name_norm *n,
                         uint8_t out[POPIDX_HASH_LEN]);
/* The key fingerprint stored in the header. */
enum rc popidx_fingerprint(const struct popidx_hasher *h, uint8_t out[POPIDX_FP_LEN]);

struct popidx_header {
    uint64_t count;
    uint8_t fingerprint[POPIDX_FP_LEN];
    uint8_t data_sha256[32]; /* over records and fences */
};

/* Encodes h into 128 bytes (magic, version, sizes, fingerprint, digest, header check). */
void popidx_header_put(const struct popidx_header *h, uint8_t out[POPIDX_HEADER_SIZE]);
/* Decodes and checks magic, version, record size, fence stride and the header check.
 * RC_MALFORMED with a reason otherwise. */
enum rc popidx_header_get(const uint8_t in[POPIDX_HEADER_SIZE], struct popidx_header *h,
                          struct rc_info *ri);
/* Number of fences for count records. */
static inline uint64_t
popidx_nfences(uint64_t count)
{
    return (count + POPIDX_FENCE - 1) / POPIDX_FENCE;
}

static inline uint64_t
popidx_le64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void
popidx_put64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    __builtin_memcpy(p, &v, 8);
}

#endif
