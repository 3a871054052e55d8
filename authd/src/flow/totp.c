/* TOTP authenticator apps and recovery codes (see totp.h). */
#include "flow/totp.h"

#include <inttypes.h>
#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/form.h"
#include "core/mask.h"
#include "core/seal.h"
#include "flow/account.h"
#include "flow/atrest.h"
#include "flow/ratelimit.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"

#define SEAL_LABEL "authd totp v1"

enum rc
totp_library_init(void)
{
    return oath_init() == OATH_OK ? RC_OK : RC_INTERNAL;
}

static struct span
key_of(struct arena *a, const char *account_id, const char *suffix)
{
    return store_key(a, "totp", span_str(account_id), suffix);
}

/* The sealing key of the seeds under key id kid: HKDF from the master key's seal purpose.
 * Wipe it. */
static enum rc
seal_key(struct app *app, struct span kid, uint8_t key[SEAL_KEY_LEN])
{
    struct span part = SPAN(SEAL_LABEL);
    uint8_t ikm[32];
    enum rc rc = secrets_hmac(app->secrets, SECRET_SEAL, &part, 1, ikm);

    if (rc == RC_OK)
        rc = seal_derive(ikm, sizeof(ikm), SEAL_LABEL, kid, key);
    OPENSSL_cleanse(ikm, sizeof(ikm));
    return rc;
}

/* seed sealed for account_id into *blob (in a), under the current data key generation
 * (flow/atrest.h: `authctl keys rotate-data` moves new seeds to the next key id). */
static enum rc
seed_seal(struct app *app, struct arena *a, const char *account_id,
          const uint8_t seed[TOTP_SEED_LEN], struct span *blob)
{
    uint8_t key[SEAL_KEY_LEN], nonce[SEAL_NONCE_LEN];
    char kid[ATREST_KID_MAX];
    uint32_t gen;
    enum rc rc;

    if ((rc = atrest_generation(app, a, &gen)) != RC_OK)
        return rc;
    atrest_kid(gen, kid);
    if ((rc = rng_bytes(app->rng, nonce, sizeof(nonce))) == RC_OK
        && (rc = seal_key(app, span_str(kid), key)) == RC_OK)
        rc = seal_seal_with(a, atrest_cipher(app), key, span_str(kid), nonce, span_str(account_id),
                            span_of(seed, TOTP_SEED_LEN), blob);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* The seed in blob (sealed for account_id under the key id the blob names: every
 * generation opens). A blob that does not open is RC_INTERNAL: the store was changed or
 * the master key replaced (logged). */
static enum rc
seed_open(struct app *app, struct arena *a, const char *account_id, struct span blob,
          uint8_t seed[TOTP_SEED_LEN])
{
    uint8_t key[SEAL_KEY_LEN];
    struct span plain = {0}, kid;
    enum rc rc = seal_kid(blob, &kid);

    if (rc == RC_OK && (rc = seal_key(app, kid, key)) == RC_OK)
        rc = seal_open(a, key, kid, span_str(account_id), blob, &plain);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == RC_OK && plain.len == TOTP_SEED_LEN)
        memcpy(seed, plain.p, TOTP_SEED_LEN);
    if (plain.p)
        OPENSSL_cleanse((void *)plain.p, plain.len);
    if (rc == RC_OK && plain.len == TOTP_SEED_LEN)
        return RC_OK;
    struct log_rec *r = log_begin(LOG_ERROR, "totp.unseal");
    log_str(r, "rc", rc_name(rc));
    log_end(r);
    return RC_INTERNAL;
}

enum rc
totp_seed_reseal(struct app *app, struct arena *a, const char *account_id, struct span blob,
                 struct span *out)
{
    uint8_t seed[TOTP_SEED_LEN];
    enum rc rc = seed_open(app, a, account_id, blob, seed);

    if (rc == RC_OK)
        rc = seed_seal(app, a, account_id, seed, out);
    OPENSSL_cleanse(seed, sizeof(seed));
    return rc;
}

bool
totp_enrolled(struct app *app, struct arena *a, const char *account_id)
{
    struct store_record rec;

    return store_rec_get(app->store, a, key_of(a, account_id, NULL), &rec) == RC_OK
           && store_rec_field(&rec, "seed").p;
}

/* The confirmed seed of account_id. RC_NOT_FOUND (none), RC_UNAVAILABLE, RC_INTERNAL. */
static enum rc
seed_load(struct app *app, struct arena *a, const char *account_id, uint8_t seed[TOTP_SEED_LEN])
{
    struct store_record rec;
    struct span blob;
    enum rc rc = store_rec_get(app->store, a, key_of(a, account_id, NULL), &rec);

    if (rc != RC_OK)
        return rc;
    if (!(blob = store_rec_field(&rec, "seed")).p)
        return RC_NOT_FOUND;
    return seed_open(app, a, account_id, blob, seed);
}

/* One attempt of account_id at a code, before any is checked. */
static enum rc
attempt(struct app *app, struct arena *a, const char *account_id, uint32_t *retry_s)
{
    struct ratelimit l = {"otp:acct", span_str(account_id), app->cfg->rate_otp_per_account};

    return ratelimit_take(app, a, &l, 1, retry_s, NULL);
}

/* liboath's comparison of a candidate code with the typed one: constant time (equal
 * lengths: six digits both). */
static int
code_cmp(void *typed, const char *candidate)
{
    return strlen(candidate) == OTP_TOTP_DIGITS
                   && CRYPTO_memcmp(typed, candidate, OTP_TOTP_DIGITS) == 0
               ? 0
               : 1;
}

/* Checks code (six digits, NUL-terminated) against seed at the clock's time, ±TOTP_WINDOW
 * steps (RFC 6238 §5.2), then claims the step it matched so that no node accepts it again.
 * RC_OK, RC_DENIED (wrong, out of the window or used), RC_UNAVAILABLE. */
static enum rc
check_code(struct app *app, struct arena *a, const char *account_id,
           const uint8_t seed[TOTP_SEED_LEN], char *code)
{
    int pos = 0;
    uint64_t step = 0;
    char suffix[40];
    enum rc rc;
    int r = oath_totp_validate3_callback((const char *)seed, TOTP_SEED_LEN,
                                         (time_t)clock_now(app->clock), TOTP_STEP_S, 0,
                                         OTP_TOTP_DIGITS, TOTP_WINDOW, &pos, &step, code_cmp,
                                         code);

    if (r < 0)
        return RC_DENIED;
    snprintf(suffix, sizeof(suffix), ":step:%" PRIu64, step);
    rc = store_put(app->store, key_of(a, account_id, suffix), SPAN("1"), TOTP_STEP_TTL_S,
                   STORE_NX);
    return rc == RC_CONFLICT ? RC_DENIED : rc; /* RFC 6238 §5.2: one use of a code */
}

/* A six-digit code from in, or RC_MALFORMED. */
static enum rc
six_digits(struct span in, char out[OTP_RECOVERY_LEN + 1])
{
    enum otp_kind kind;
    enum rc rc = otp_code_parse(in, &kind, out);

    return rc == RC_OK && kind != OTP_TOTP ? RC_MALFORMED : rc;
}

/* otpauth://totp/ISSUER:MASKED?secret=..&issuer=..&algorithm=SHA1&digits=6&period=30 (the
 * Key Uri Format authenticator apps read), in a. */
static const char *
otpauth_uri(struct app *app, struct arena *a, const char *account_id, const char *b32)
{
    const char *issuer = app->cfg->totp_issuer ? app->cfg->totp_issuer : "authd";
    char masked[MASK_IDNUM_SIZE];
    struct account acct;
    struct buf b;
    const char *out = NULL;
    enum rc rc = account_get(app, a, account_id, &acct);

    if (rc != RC_OK)
        return NULL;
    mask_idnum(span_str(acct.id_number), masked);
    OPENSSL_cleanse(&acct, sizeof(acct));
    buf_init(&b, 4096);
    rc = buf_append_str(&b, "otpauth://totp/");
    if (rc == RC_OK && (rc = form_encode(&b, span_str(issuer))) == RC_OK
        && (rc = buf_append_str(&b, ":")) == RC_OK
        && (rc = form_encode(&b, span_str(masked))) == RC_OK
        && (rc = buf_append_str(&b, "?")) == RC_OK
        && (rc = form_append(&b, "secret", span_str(b32))) == RC_OK
        && (rc = form_append(&b, "issuer", span_str(issuer))) == RC_OK)
        rc = buf_append_str(&b, "&algorithm=SHA1&digits=6&period=30");
    if (rc == RC_OK)
        out = arena_strndup(a, b.p, b.len);
    buf_clear(&b);
    return out;
}

/* The base32 of seed (RFC 4648, no padding for 20 bytes) into out. */
static enum rc
seed_b32(const uint8_t seed[TOTP_SEED_LEN], char out[TOTP_B32_MAX])
{
    char *s = NULL;
    size_t n = 0;
    enum rc rc = RC_INTERNAL;

    if (oath_base32_encode((const char *)seed, TOTP_SEED_LEN, &s, &n) == OATH_OK
        && n < TOTP_B32_MAX) {
        memcpy(out, s, n);
        out[n] = 0;
        rc = RC_OK;
    }
    if (s) {
        OPENSSL_cleanse(s, n);
        free(s);
    }
    return rc;
}

/* The seed of the enrolment under way, a new one when there is none. */
static enum rc
pending_seed(struct app *app, struct arena *a, const char *account_id, uint8_t seed[TOTP_SEED_LEN])
{
    struct span key = key_of(a, account_id, ":new"), blob;
    enum rc rc = store_get(app->store, a, key, &blob);

    if (rc == RC_OK)
        return seed_open(app, a, account_id, blob, seed);
    if (rc != RC_NOT_FOUND)
        return rc;
    if ((rc = rng_bytes(app->rng, seed, TOTP_SEED_LEN)) != RC_OK
        || (rc = seed_seal(app, a, account_id, seed, &blob)) != RC_OK)
        return rc;
    return store_put(app->store, key, blob, TOTP_ENROL_TTL_S, 0);
}

enum rc
totp_enrol_begin(struct app *app, struct arena *a, const char *account_id,
                 struct totp_enrolment *out)
{
    uint8_t seed[TOTP_SEED_LEN];
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (totp_enrolled(app, a, account_id))
        return RC_CONFLICT;
    if ((rc = pending_seed(app, a, account_id, seed)) == RC_OK
        && (rc = seed_b32(seed, out->secret_b32)) == RC_OK)
        rc = (out->uri = otpauth_uri(app, a, account_id, out->secret_b32)) ? RC_OK : RC_NOT_FOUND;
    OPENSSL_cleanse(seed, sizeof(seed));
    if (rc != RC_OK)
        OPENSSL_cleanse(out->secret_b32, sizeof(out->secret_b32));
    return rc;
}

/* HMAC of a recovery code of account_id, the member its set holds. */
static enum rc
recovery_member(struct app *app, const char *account_id, const char *code, char hex[65])
{
    struct span parts[3] = {SPAN("recovery"), span_str(account_id), span_str(code)};

    return secrets_hmac_hex(app->secrets, SECRET_TOKEN, parts, 3, hex);
}

/* Ten new codes replace the set in one atomic batch. */
static enum rc
recovery_new(struct app *app, struct arena *a, const char *account_id,
             char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1])
{
    struct span key = key_of(a, account_id, ":recovery");
    struct store_op ops[TOTP_NCODES + 1] = {{.kind = STORE_OP_DEL, .key = key}};
    uint8_t rnd[OTP_RECOVERY_BYTES];
    enum rc rc = RC_OK;

    for (size_t i = 0; i < TOTP_NCODES && rc == RC_OK; i++) {
        char *hex = arena_alloc(a, 65);
        if (!hex || (rc = rng_bytes(app->rng, rnd, sizeof(rnd))) != RC_OK) {
            rc = hex ? rc : RC_NOMEM;
            break;
        }
        otp_recovery_from(rnd, codes[i]);
        rc = recovery_member(app, account_id, codes[i], hex);
        ops[i + 1] =
            (struct store_op){.kind = STORE_OP_SET_ADD, .key = key, .value = span_str(hex)};
    }
    OPENSSL_cleanse(rnd, sizeof(rnd));
    if (rc == RC_OK)
        rc = store_batch(app->store, ops, TOTP_NCODES + 1);
    if (rc != RC_OK)
        OPENSSL_cleanse(codes, sizeof(char[TOTP_NCODES][OTP_RECOVERY_LEN + 1]));
    return rc;
}

enum rc
totp_enrol_confirm(struct app *app, struct arena *a, const char *account_id, struct span code,
                   char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1], uint32_t *retry_s)
{
    struct span nkey = key_of(a, account_id, ":new"), blob;
    uint8_t seed[TOTP_SEED_LEN];
    char c[OTP_RECOVERY_LEN + 1];
    char now[24];
    enum rc rc;

    if ((rc = six_digits(code, c)) != RC_OK)
        goto out;
    if (totp_enrolled(app, a, account_id)) {
        rc = RC_CONFLICT;
        goto out;
    }
    if ((rc = attempt(app, a, account_id, retry_s)) != RC_OK)
        goto out;
    if ((rc = store_get(app->store, a, nkey, &blob)) != RC_OK) {
        rc = rc == RC_NOT_FOUND ? RC_EXPIRED : rc;
        goto out;
    }
    if ((rc = seed_open(app, a, account_id, blob, seed)) != RC_OK
        || (rc = check_code(app, a, account_id, seed, c)) != RC_OK)
        goto out;
    snprintf(now, sizeof(now), "%" PRId64, clock_now(app->clock));
    struct store_field f[2] = {{SPAN("seed"), blob}, {SPAN("created"), span_str(now)}};
    /* the codes first: an app enrolled without its codes would leave no way back; the
     * record durably (a factor lost in a failover would let a password enrol another) */
    if ((rc = recovery_new(app, a, account_id, codes)) != RC_OK
        || (rc = store_rec_put(app->store, key_of(a, account_id, NULL), f, 2, 0,
                               STORE_NX | STORE_DURABLE))
               != RC_OK)
        goto out;
    store_del(app->store, nkey);
out:
    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(c, sizeof(c));
    if (rc != RC_OK) /* codes are the caller's only on RC_OK */
        OPENSSL_cleanse(codes, sizeof(char[TOTP_NCODES][OTP_RECOVERY_LEN + 1]));
    return rc;
}

enum rc
totp_verify(struct app *app, struct arena *a, const char *account_id, struct span code,
            enum otp_kind *kind, uint32_t *retry_s)
{
    uint8_t seed[TOTP_SEED_LEN];
    char c[OTP_RECOVERY_LEN + 1], hex[65];
    enum rc rc;

    if ((rc = otp_code_parse(code, kind, c)) != RC_OK)
        goto out;
    if ((rc = attempt(app, a, account_id, retry_s)) != RC_OK)
        goto out;
    if ((rc = seed_load(app, a, account_id, seed)) != RC_OK) {
        rc = rc == RC_NOT_FOUND ? RC_DENIED : rc;
        goto out;
    }
    if (*kind == OTP_TOTP) {
        rc = check_code(app, a, account_id, seed, c);
        goto out;
    }
    if ((rc = recovery_member(app, account_id, c, hex)) == RC_OK) /* one use: the removal */
        rc = store_set_rem(app->store, key_of(a, account_id, ":recovery"), span_str(hex));
    rc = rc == RC_NOT_FOUND ? RC_DENIED : rc;
out:
    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(c, sizeof(c));
    return rc;
}

/* s authenticated at aal2 recently enough to change its factors. */
static bool
fresh(struct app *app, const struct session *s)
{
    return session_fresh(s, clock_now(app->clock), app->cfg->mfa_remove_max_age_s, AAL2);
}

enum rc
totp_recovery_regenerate(struct app *app, struct arena *a, const struct session *s,
                         char codes[TOTP_NCODES][OTP_RECOVERY_LEN + 1])
{
    if (!fresh(app, s))
        return RC_EXPIRED;
    if (!totp_enrolled(app, a, s->account_id))
        return RC_DENIED;
    return recovery_new(app, a, s->account_id, codes);
}

enum rc
totp_recovery_left(struct app *app, struct arena *a, const char *account_id, size_t *n)
{
    struct span *m = NULL;
    enum rc rc = store_set_members(app->store, a, key_of(a, account_id, ":recovery"), &m, n);

    if (rc == RC_NOT_FOUND) {
        *n = 0;
        return RC_OK;
    }
    return rc;
}

enum rc
totp_reset(struct app *app, struct arena *a, const char *account_id)
{
    struct store_op ops[3] = {
        {.kind = STORE_OP_DEL, .key = key_of(a, account_id, NULL)},
        {.kind = STORE_OP_DEL, .key = key_of(a, account_id, ":recovery")},
        {.kind = STORE_OP_DEL, .key = key_of(a, account_id, ":new")},
    };
    bool had = totp_enrolled(app, a, account_id);
    enum rc rc = store_batch(app->store, ops, 3);

    return rc == RC_OK && !had ? RC_NOT_FOUND : rc;
}

enum rc
totp_remove(struct app *app, struct arena *a, const struct session *s)
{
    enum rc rc;

    if (!fresh(app, s))
        return RC_EXPIRED;
    rc = totp_reset(app, a, s->account_id);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}
