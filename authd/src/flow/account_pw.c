/* Passwords: the policy for new ones, argon2id hashing in the PHC string format, and the
 * dummy hash that keeps login constant time for numbers without an account. */
#include <argon2.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flow/account_int.h"

#define SALT_LEN 16
#define HASH_LEN 32

static pthread_mutex_t dummy_mu = PTHREAD_MUTEX_INITIALIZER;
static char dummy_phc[ACCOUNT_PHC_MAX];
static struct phc_params dummy_params;

/* At most one argon2id computation per core at a time: the HTTP pool has more threads than
 * cores when the store is remote (they wait on round trips), and a burst of logins must
 * not run 16 hashes of 19 MiB each on 2 cores; the extra ones wait their turn here. */
static sem_t gate;
static bool gate_ok;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;

static void
gate_init(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    gate_ok = sem_init(&gate, 0, n > 0 ? (unsigned)n : 1) == 0;
}

static void
gate_enter(void)
{
    pthread_once(&gate_once, gate_init);
    if (gate_ok)
        while (sem_wait(&gate) != 0) /* EINTR */
            ;
}

static void
gate_leave(void)
{
    if (gate_ok)
        sem_post(&gate);
}

static struct phc_params
configured(const struct app *app)
{
    return (struct phc_params){app->cfg->argon2_memory_kib, app->cfg->argon2_iterations,
                               app->cfg->argon2_parallelism};
}

static enum rc
hash_with(const struct app *app, struct phc_params pp, struct span pw, char out[ACCOUNT_PHC_MAX])
{
    uint8_t salt[SALT_LEN];
    enum rc rc;
    int err;

    if (pw.len > ACCOUNT_PASSWORD_MAX)
        return RC_MALFORMED;
    if (argon2_encodedlen(pp.t, pp.m_kib, pp.p, SALT_LEN, HASH_LEN, Argon2_id) > ACCOUNT_PHC_MAX)
        return RC_INTERNAL;
    if ((rc = rng_bytes(app->rng, salt, sizeof(salt))) != RC_OK)
        return rc;
    gate_enter();
    err = argon2id_hash_encoded(pp.t, pp.m_kib, pp.p, pw.len ? pw.p : (const uint8_t *)"", pw.len,
                                salt, sizeof(salt), HASH_LEN, out, ACCOUNT_PHC_MAX);
    gate_leave();
    OPENSSL_cleanse(salt, sizeof(salt));
    return err == ARGON2_OK ? RC_OK : RC_INTERNAL;
}

enum rc
account_hash_password(const struct app *app, struct span password, char out[ACCOUNT_PHC_MAX])
{
    return hash_with(app, configured(app), password, out);
}

/* Copies the dummy PHC string for the configured parameters into out, making it on first
 * use (or when the parameters changed: tests use several configurations). */
static enum rc
get_dummy(const struct app *app, char out[ACCOUNT_PHC_MAX])
{
    struct phc_params want = configured(app);
    uint8_t pw[32];
    enum rc rc = RC_OK;

    pthread_mutex_lock(&dummy_mu);
    if (!dummy_phc[0] || memcmp(&want, &dummy_params, sizeof(want)) != 0) {
        if ((rc = rng_bytes(app->rng, pw, sizeof(pw))) == RC_OK)
            rc = hash_with(app, want, span_of(pw, sizeof(pw)), dummy_phc);
        OPENSSL_cleanse(pw, sizeof(pw));
        if (rc == RC_OK)
            dummy_params = want;
        else
            dummy_phc[0] = 0;
    }
    if (rc == RC_OK)
        memcpy(out, dummy_phc, ACCOUNT_PHC_MAX);
    pthread_mutex_unlock(&dummy_mu);
    return rc;
}

enum rc
account_init(struct app *app)
{
    char phc[ACCOUNT_PHC_MAX];

    return get_dummy(app, phc);
}

enum rc
account_pw_verify(const struct app *app, const char *phc, struct span pw)
{
    char dummy[ACCOUNT_PHC_MAX];
    uint8_t capped[ACCOUNT_PASSWORD_MAX];
    size_t n = pw.len > ACCOUNT_PASSWORD_MAX ? ACCOUNT_PASSWORD_MAX : pw.len;
    int err;

    if (!phc && get_dummy(app, dummy) != RC_OK)
        return RC_INTERNAL;
    /* an over-long password is verified capped (same cost) and then refused */
    memcpy(capped, pw.p ? pw.p : (const uint8_t *)"", n);
    gate_enter();
    err = argon2id_verify(phc ? phc : dummy, capped, n);
    gate_leave();
    OPENSSL_cleanse(capped, sizeof(capped));
    if (!phc || pw.len > ACCOUNT_PASSWORD_MAX)
        return RC_DENIED;
    return err == ARGON2_OK ? RC_OK : RC_DENIED;
}

enum rc
account_phc_params(const char *phc, struct phc_params *out)
{
    unsigned v, m, t, p;
    int used = 0;

    if (sscanf(phc, "$argon2id$v=%u$m=%u,t=%u,p=%u$%n", &v, &m, &t, &p, &used) != 4 || !used)
        return RC_MALFORMED;
    *out = (struct phc_params){m, t, p};
    return RC_OK;
}

bool
account_phc_outdated(const struct app *app, const char *phc)
{
    struct phc_params have, want = configured(app);

    if (account_phc_params(phc, &have) != RC_OK)
        return false; /* not ours to fix here: verification fails anyway */
    return have.m_kib < want.m_kib || have.t < want.t || have.p < want.p;
}

/* Counts characters (not bytes) of UTF-8 text: bytes that do not continue a sequence. */
static size_t
char_count(struct span s)
{
    size_t n = 0;

    for (size_t i = 0; i < s.len; i++)
        n += (s.p[i] & 0xC0) != 0x80;
    return n;
}

/* The password with separators (- / . space) removed, upper-cased, into out. */
static size_t
squeeze(struct span pw, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < pw.len && n < cap; i++) {
        uint8_t c = pw.p[i];
        if (c == '-' || c == '/' || c == '.' || c == ' ')
            continue;
        out[n++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    return n;
}

/* True if the password, separators removed, is the birth date in a common written form:
 * 19900307, 900307, 0307, 07031990, 03071990. */
static bool
is_birth_date(struct span pw, uint32_t ymd)
{
    char sq[ACCOUNT_PASSWORD_MAX], forms[5][16];
    unsigned y = ymd / 10000 % 10000, m = ymd / 100 % 100, d = ymd % 100;
    size_t n = squeeze(pw, sq, sizeof(sq));
    bool hit = false;

    snprintf(forms[0], 16, "%04u%02u%02u", y, m, d);
    snprintf(forms[1], 16, "%02u%02u%02u", y % 100, m, d);
    snprintf(forms[2], 16, "%02u%02u", m, d);
    snprintf(forms[3], 16, "%02u%02u%04u", d, m, y);
    snprintf(forms[4], 16, "%02u%02u%04u", m, d, y);
    for (int i = 0; i < 5; i++)
        hit |= n == strlen(forms[i]) && memcmp(sq, forms[i], n) == 0;
    OPENSSL_cleanse(sq, sizeof(sq));
    return hit;
}

static bool
equals_squeezed(struct span pw, struct span other)
{
    char sq[ACCOUNT_PASSWORD_MAX];
    size_t n = squeeze(pw, sq, sizeof(sq));
    bool hit = other.len && n == other.len && memcmp(sq, other.p, n) == 0;

    OPENSSL_cleanse(sq, sizeof(sq));
    return hit;
}

enum rc
account_pw_policy(const struct app *app, struct span pw, const char *id18, uint32_t birth_ymd,
                  struct span phone, struct rc_info *ri)
{
    if (pw.len > ACCOUNT_PASSWORD_MAX)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PW_LONG, "password",
                       "too long (at most 256 bytes)");
    if (span_has_nul(pw))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PW_INVALID, "password", "contains a NUL byte");
    if (char_count(pw) < app->cfg->password_min_length)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PW_SHORT, "password", "too short");
    if (equals_squeezed(pw, span_str(id18)))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PW_IDNUM, "password", "must not be the ID number");
    if (is_birth_date(pw, birth_ymd))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PW_BIRTH, "password", "must not be the birth date");
    if (equals_squeezed(pw, phone))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PW_PHONE, "password",
                       "must not be the mobile number");
    return RC_OK;
}
