/* Sealing the personal fields of account records (see atrest.h). */
#include "flow/atrest.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "port/clock.h"
#include "port/secrets.h"
#include "port/store.h"
#include "util/num.h"

const char *const atrest_account_fields[ATREST_NACCOUNT] = {"id_number", "name", "phone",
                                                            "phone_verified"};

static struct span
gen_key(struct arena *a)
{
    return store_key(a, "datakey", SPAN("gen"), NULL);
}

enum rc
atrest_generation(struct app *app, struct arena *a, uint32_t *gen)
{
    struct span key = gen_key(a), v;
    uint64_t g = 0;
    enum rc rc;

    *gen = 1;
    if (!key.p)
        return RC_NOMEM;
    rc = store_get(app->store, a, key, &v);
    if (rc == RC_NOT_FOUND)
        return RC_OK;
    if (rc != RC_OK)
        return RC_UNAVAILABLE;
    if (num_parse_u64(v, 1, ATREST_GEN_MAX, &g) != RC_OK)
        return RC_INTERNAL;
    *gen = (uint32_t)g;
    return RC_OK;
}

enum rc
atrest_rotate(struct app *app, struct arena *a, uint32_t *gen)
{
    struct span key = gen_key(a);
    int64_t v = 0;
    enum rc rc;

    if (!key.p)
        return RC_NOMEM;
    /* absent means 1: make it so, then count on from there */
    rc = store_put(app->store, key, SPAN("1"), 0, STORE_NX | STORE_DURABLE);
    if (rc != RC_OK && rc != RC_CONFLICT)
        return RC_UNAVAILABLE;
    if (store_incr(app->store, key, 1, 0, &v) != RC_OK)
        return RC_UNAVAILABLE;
    if (v < 2 || v > ATREST_GEN_MAX)
        return RC_INTERNAL;
    *gen = (uint32_t)v;
    return RC_OK;
}

enum seal_cipher
atrest_cipher(const struct app *app)
{
    enum seal_cipher c = SEAL_AES_256_GCM;

    if (app->cfg && app->cfg->data_cipher)
        seal_cipher_by_name(app->cfg->data_cipher, &c);
    return c;
}

bool
atrest_current(const struct app *app, struct span blob, const char *kid)
{
    enum seal_cipher c;
    struct span k;

    return seal_cipher_of(blob, &c) && c == atrest_cipher(app) && seal_kid(blob, &k) == RC_OK
           && span_eq_str(k, kid);
}

void
atrest_kid(uint32_t gen, char kid[ATREST_KID_MAX])
{
    snprintf(kid, ATREST_KID_MAX, "m%u", (unsigned)(gen > ATREST_GEN_MAX ? ATREST_GEN_MAX : gen));
}

/* A data key id: "m" and 1..6 digits. */
static bool
kid_ok(struct span kid)
{
    if (kid.len < 2 || kid.len > ATREST_KID_MAX - 1 || kid.p[0] != 'm')
        return false;
    for (size_t i = 1; i < kid.len; i++)
        if (kid.p[i] < '0' || kid.p[i] > '9')
            return false;
    return true;
}

/* The key of kid. Wipe it. */
static enum rc
derive(struct app *app, struct span kid, uint8_t key[SEAL_KEY_LEN])
{
    struct span part = SPAN(ATREST_LABEL);
    uint8_t ikm[32];
    enum rc rc = secrets_hmac(app->secrets, SECRET_SEAL, &part, 1, ikm);

    if (rc == RC_OK)
        rc = seal_derive(ikm, sizeof(ikm), ATREST_LABEL, kid, key);
    OPENSSL_cleanse(ikm, sizeof(ikm));
    return rc;
}

void
atrest_keys_clear(struct atrest_keys *k)
{
    if (k)
        OPENSSL_cleanse(k, sizeof(*k));
}

/* The key of kid into key, from the cache k when it holds kid (k may be NULL). */
static enum rc
data_key(struct app *app, struct atrest_keys *k, struct span kid, uint8_t key[SEAL_KEY_LEN])
{
    enum rc rc;

    if (k && k->kid[0] && span_eq_str(kid, k->kid)) {
        memcpy(key, k->key, SEAL_KEY_LEN);
        return RC_OK;
    }
    if ((rc = derive(app, kid, key)) == RC_OK && k && kid.len < sizeof(k->kid)) {
        memcpy(k->key, key, SEAL_KEY_LEN);
        memcpy(k->kid, kid.p, kid.len);
        k->kid[kid.len] = 0;
    }
    return rc;
}

/* acct 0 field, in a. */
static struct span
aad_of(struct arena *a, const char *acct, const char *field)
{
    size_t n = strlen(acct), m = strlen(field);
    uint8_t *p = arena_alloc(a, n + 1 + m);

    if (!p)
        return (struct span){NULL, 0};
    memcpy(p, acct, n);
    p[n] = 0;
    memcpy(p + n + 1, field, m);
    return (struct span){p, n + 1 + m};
}

enum rc
atrest_seal(struct app *app, struct arena *a, struct atrest_keys *kc, const char *kid,
            const char *acct, const char *field, struct span plain, struct span *out)
{
    uint8_t key[SEAL_KEY_LEN], nonce[SEAL_NONCE_LEN];
    struct span aad, k = span_str(kid);
    enum rc rc;

    if (plain.len == 0) {
        *out = SPAN("");
        return RC_OK;
    }
    if (!kid_ok(k))
        return RC_MALFORMED;
    if (!(aad = aad_of(a, acct, field)).p)
        return RC_NOMEM;
    if ((rc = rng_bytes(app->rng, nonce, sizeof(nonce))) == RC_OK
        && (rc = data_key(app, kc, k, key)) == RC_OK)
        rc = seal_seal_with(a, atrest_cipher(app), key, k, nonce, aad, plain, out);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

enum rc
atrest_open(struct app *app, struct arena *a, struct atrest_keys *kc, const char *acct,
            const char *field, struct span value, const char *cur_kid, struct span *out,
            bool *stale)
{
    uint8_t key[SEAL_KEY_LEN];
    struct span kid, aad;
    char *s;
    enum rc rc;

    enum seal_cipher c;

    if (!seal_cipher_of(value, &c)) { /* a plaintext of old */
        if (!(s = arena_span_dup(a, value)))
            return RC_NOMEM;
        *out = span_of(s, value.len);
        if (stale)
            *stale = *stale || value.len > 0;
        return RC_OK;
    }
    if ((rc = seal_kid(value, &kid)) != RC_OK)
        return rc;
    if (!kid_ok(kid))
        return RC_DENIED;
    if (!(aad = aad_of(a, acct, field)).p)
        return RC_NOMEM;
    if ((rc = data_key(app, kc, kid, key)) == RC_OK)
        rc = seal_open(a, key, kid, aad, value, out);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == RC_OK && stale && cur_kid && !atrest_current(app, value, cur_kid))
        *stale = true;
    return rc;
}
