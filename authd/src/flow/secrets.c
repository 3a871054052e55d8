#include "flow/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const labels[SECRET__COUNT] = {"authd account v1", "authd subject v1",
                                                   "authd csrf v1", "authd token v1"};
static EVP_MAC *mac;
static EVP_MAC_CTX *ctx[SECRET__COUNT];

static enum rc
read_or_create(const char *path, uint8_t key[32], struct rc_info *ri)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0 && errno == ENOENT) {
        if (RAND_bytes(key, 32) != 1)
            return rc_set(ri, RC_INTERNAL, "master key", "no randomness");
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, key, 32) != 32 || fsync(fd) != 0) {
            if (fd >= 0)
                close(fd);
            return rc_set(ri, RC_INTERNAL, "master key", "cannot create the file");
        }
        close(fd);
        return RC_OK;
    }
    if (fd < 0)
        return rc_set(ri, RC_NOT_FOUND, "master key", "cannot open the file");
    if (fstat(fd, &st) != 0 || (st.st_mode & 077)) {
        close(fd);
        return rc_set(ri, RC_DENIED, "master key", "file readable by group or others (chmod 600)");
    }
    n = read(fd, key, 32);
    if (n != 32 || read(fd, key + 31, 1) != 0) {
        close(fd);
        OPENSSL_cleanse(key, 32);
        return rc_set(ri, RC_MALFORMED, "master key", "the file must hold exactly 32 bytes");
    }
    close(fd);
    return RC_OK;
}

enum rc
secrets_init(const char *path, struct rc_info *ri)
{
    uint8_t master[32], sub[32];
    size_t len = 0;
    enum rc rc = RC_INTERNAL;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                            OSSL_PARAM_construct_end()};

    secrets_clear();
    if ((rc = read_or_create(path, master, ri)) != RC_OK)
        return rc;
    rc = RC_INTERNAL;
    if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
        goto out;
    for (int i = 0; i < SECRET__COUNT; i++) {
        EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
        /* sub-key = HMAC(master, label) */
        if (!c || !EVP_MAC_init(c, master, sizeof(master), params)
            || !EVP_MAC_update(c, (const uint8_t *)labels[i], strlen(labels[i]))
            || !EVP_MAC_final(c, sub, &len, sizeof(sub))) {
            EVP_MAC_CTX_free(c);
            goto out;
        }
        EVP_MAC_CTX_free(c);
        if (!(ctx[i] = EVP_MAC_CTX_new(mac)) || !EVP_MAC_init(ctx[i], sub, sizeof(sub), params))
            goto out;
    }
    rc = RC_OK;
out:
    OPENSSL_cleanse(master, sizeof(master));
    OPENSSL_cleanse(sub, sizeof(sub));
    if (rc != RC_OK) {
        secrets_clear();
        rc_set(ri, rc, "master key", "cannot derive keys");
    }
    return rc;
}

enum rc
secrets_hmac(enum secret_purpose p, const struct span *parts, size_t nparts, uint8_t out[32])
{
    EVP_MAC_CTX *c;
    size_t len = 0;
    static const uint8_t zero = 0;
    int ok = 1;

    if ((int)p < 0 || p >= SECRET__COUNT || !ctx[p] || !(c = EVP_MAC_CTX_dup(ctx[p])))
        return RC_INTERNAL;
    for (size_t i = 0; ok && i < nparts; i++) {
        if (i)
            ok = EVP_MAC_update(c, &zero, 1);
        if (ok && parts[i].len)
            ok = EVP_MAC_update(c, parts[i].p, parts[i].len);
    }
    ok = ok && EVP_MAC_final(c, out, &len, 32) && len == 32;
    EVP_MAC_CTX_free(c);
    return ok ? RC_OK : RC_INTERNAL;
}

enum rc
secrets_hmac_hex(enum secret_purpose p, const struct span *parts, size_t nparts, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t h[32];
    enum rc rc;

    if ((rc = secrets_hmac(p, parts, nparts, h)) != RC_OK)
        return rc;
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = 0;
    return RC_OK;
}

void
secrets_clear(void)
{
    for (int i = 0; i < SECRET__COUNT; i++) {
        EVP_MAC_CTX_free(ctx[i]);
        ctx[i] = NULL;
    }
    EVP_MAC_free(mac);
    mac = NULL;
}
