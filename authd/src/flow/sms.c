/* SMS one-time codes (see sms.h). */
#include "flow/sms.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/otp.h"
#include "flow/account_int.h"
#include "flow/atrest.h"
#include "flow/ratelimit.h"
#include "log/log.h"
#include "port/notify.h"
#include "port/secrets.h"
#include "port/store.h"
#include "util/num.h"

#define HASH_HEX 64

static const char *const purpose_name[] = {[SMS_LOGIN] = "login", [SMS_PHONE] = "phone"};

const char *
sms_text(struct arena *a, const char *service, const char *lang, const char *code)
{
    if (lang && strcmp(lang, "en") == 0)
        return arena_printf(a, "%s verification code: %s", service, code);
    return arena_printf(a, "【%s】验证码：%s", service, code);
}

bool
sms_enrolled(const struct account *acct)
{
    return acct->phone && acct->phone[0] && acct->phone_verified
           && strcmp(acct->phone, acct->phone_verified) == 0;
}

/* authd:sms:{ACCT}:<purpose> and its attempt counter (":n" after it). */
static struct span
code_key(struct arena *a, const char *acct, enum sms_purpose p, bool counter)
{
    const char *suffix = arena_printf(a, ":%s%s", purpose_name[p], counter ? ":n" : "");

    return suffix ? store_key(a, "sms", span_str(acct), suffix) : (struct span){NULL, 0};
}

/* HMAC(SECRET_TOKEN, "sms", purpose, account id, phone number, code) in hex: a code is
 * good only for the number it went to (a number changed meanwhile gets nothing). */
static enum rc
code_hash(struct app *app, const char *acct, const char *phone, enum sms_purpose p,
          const char *code, char out[HASH_HEX + 1])
{
    struct span parts[] = {SPAN("sms"), span_str(purpose_name[p]), span_str(acct), span_str(phone),
                           span_str(code)};

    return secrets_hmac_hex(app->secrets, SECRET_TOKEN, parts, 5, out);
}

static void
log_event(const char *ev, enum sms_purpose p, enum rc rc, const struct rc_info *ri)
{
    struct log_rec *lr = log_begin(rc == RC_UNAVAILABLE ? LOG_WARN : LOG_INFO, ev);

    log_str(lr, "purpose", purpose_name[p]);
    log_str(lr, "rc", rc_name(rc));
    if (rc != RC_OK && ri && ri->why != RC_WHY_NONE)
        log_str(lr, "reason", rc_reason_name(ri->why));
    log_end(lr);
}

/* Takes a token from each SMS bucket of this send (sms.h), all or none. */
static enum rc
take_limits(struct app *app, struct arena *a, const struct account *acct, const char *ip,
            struct rc_info *ri, uint32_t *retry_s)
{
    const struct config *c = app->cfg;
    char phone_tag[HASH_HEX + 1];
    struct span parts[] = {SPAN("phone"), span_str(acct->phone)};
    enum rc rc = secrets_hmac_hex(app->secrets, SECRET_TOKEN, parts, 2, phone_tag);

    if (rc != RC_OK)
        return rc;
    struct ratelimit rl[] = {
        {"sms:phone", span_str(phone_tag), c->sms_per_phone, c->sms_window_s},
        {"sms:idn", span_str(acct->id), c->sms_per_idnum, c->sms_window_s},
        {"sms:ip", ip ? span_str(ip) : (struct span){NULL, 0}, c->sms_per_ip, c->sms_window_s},
        {"sms:day", SPAN("all"), c->sms_daily_budget,
         c->sms_budget_window_s ? c->sms_budget_window_s : 86400},
    };
    rc = ratelimit_take(app, a, rl, sizeof(rl) / sizeof(rl[0]), retry_s, NULL);
    if (rc == RC_LIMITED)
        return rc_fail(ri, RC_LIMITED, RC_WHY_RATE, NULL,
                       ratelimit_wait_msg(a, "too many codes", *retry_s));
    return rc;
}

/* Stores the hash of a new code (replacing any older one, attempts back to 0). */
static enum rc
store_code(struct app *app, struct arena *a, const char *acct, const char *phone,
           enum sms_purpose p, const char *code)
{
    char hash[HASH_HEX + 1];
    uint32_t ttl = app->cfg->sms_code_ttl_s ? app->cfg->sms_code_ttl_s : 300;
    const char *v;
    enum rc rc;

    if ((rc = code_hash(app, acct, phone, p, code, hash)) != RC_OK)
        return rc;
    v = arena_printf(a, "%lld:%s", (long long)(clock_now(app->clock) + ttl), hash);
    struct store_op ops[] = {
        {.kind = STORE_OP_PUT,
         .key = code_key(a, acct, p, false),
         .value = span_str(v),
         .ttl_s = ttl},
        {.kind = STORE_OP_DEL, .key = code_key(a, acct, p, true)},
    };
    if (!v || !ops[0].key.p || !ops[1].key.p)
        return RC_NOMEM;
    return store_batch(app->store, ops, 2);
}

static enum rc
deliver(struct app *app, const struct account *acct, const char *text)
{
    struct notice m = {
        span_str(acct->phone), span_str(text), SPAN("authd"), {NULL, 0}, clock_now(app->clock)};

    return notify_send(app->notify, &m) == RC_OK ? RC_OK : RC_UNAVAILABLE;
}

/* The account and whether it may get a code of purpose p. */
static enum rc
load_account(struct app *app, struct arena *a, const char *acct, enum sms_purpose p,
             struct account *out, struct rc_info *ri)
{
    enum rc rc = account_get(app, a, acct, out);

    if (rc != RC_OK)
        return rc;
    if (out->disabled || !out->phone[0] || (p == SMS_LOGIN && !sms_enrolled(out)))
        return rc_fail(ri, RC_DENIED, RC_WHY_NO_PHONE, "phone", "no verified phone number");
    return RC_OK;
}

enum rc
sms_send(struct app *app, struct arena *a, const char *account_id, enum sms_purpose purpose,
         const char *client_ip, const char *lang, struct rc_info *ri, uint32_t *retry_s)
{
    struct account acct;
    uint8_t rnd[4];
    char code[OTP_CODE_LEN + 1] = "";
    const char *text = NULL;
    uint32_t retry = 0;
    enum rc rc;

    if ((rc = load_account(app, a, account_id, purpose, &acct, ri)) != RC_OK)
        goto out;
    if ((rc = take_limits(app, a, &acct, client_ip, ri, &retry)) != RC_OK)
        goto out;
    if ((rc = rng_bytes(app->rng, rnd, sizeof(rnd))) != RC_OK)
        goto out;
    otp_code_from_random(rnd, code);
    if ((rc = store_code(app, a, account_id, acct.phone, purpose, code)) != RC_OK)
        goto out;
    if (!(text = sms_text(a, app->cfg->sms_service_name ? app->cfg->sms_service_name : "authd",
                          lang, code))) {
        rc = RC_NOMEM;
        goto out;
    }
    if ((rc = deliver(app, &acct, text)) != RC_OK) { /* a code nobody got: withdraw it */
        store_del(app->store, code_key(a, account_id, purpose, false));
        rc_set(ri, RC_UNAVAILABLE, NULL, "the SMS gateway cannot be reached: try again later");
    }
out:
    if (text)
        OPENSSL_cleanse((void *)text, strlen(text));
    OPENSSL_cleanse(code, sizeof(code));
    OPENSSL_cleanse(rnd, sizeof(rnd));
    if (rc == RC_FULL || rc == RC_CONFLICT)
        rc = RC_UNAVAILABLE;
    if (retry_s)
        *retry_s = rc == RC_LIMITED ? retry : 0;
    log_event("sms.send", purpose, rc, ri);
    return rc;
}

enum rc
sms_send_notice(struct app *app, struct arena *a, const struct account *acct, const char *client_ip,
                const char *text, struct rc_info *ri, uint32_t *retry_s)
{
    uint32_t retry = 0;
    struct log_rec *lr;
    enum rc rc;

    if (acct->disabled || !acct->phone || !acct->phone[0])
        rc = rc_fail(ri, RC_DENIED, RC_WHY_NO_PHONE, "phone", "no phone number on record");
    else if (strlen(text) > NOTICE_TEXT_MAX)
        rc = rc_fail(ri, RC_TOO_LARGE, RC_WHY_NONE, "text", "too long");
    else if ((rc = take_limits(app, a, acct, client_ip, ri, &retry)) == RC_OK
             && (rc = deliver(app, acct, text)) != RC_OK)
        rc_set(ri, RC_UNAVAILABLE, NULL, "the SMS gateway cannot be reached: try again later");
    if (rc == RC_FULL || rc == RC_CONFLICT)
        rc = RC_UNAVAILABLE;
    if (retry_s)
        *retry_s = rc == RC_LIMITED ? retry : 0;
    if ((lr = log_begin(rc == RC_UNAVAILABLE ? LOG_WARN : LOG_INFO, "sms.notice"))) {
        log_str(lr, "rc", rc_name(rc));
        log_end(lr);
    }
    return rc;
}

/* Parses "<expires>:<hash>". */
static bool
parse_value(struct span v, int64_t *expires, struct span *hash)
{
    const uint8_t *colon = v.p ? memchr(v.p, ':', v.len) : NULL;
    uint64_t e;

    if (!colon || num_parse_u64(span_of(v.p, (size_t)(colon - v.p)), 0, INT64_MAX, &e) != RC_OK)
        return false;
    *expires = (int64_t)e;
    *hash = span_of(colon + 1, v.len - (size_t)(colon + 1 - v.p));
    return hash->len == HASH_HEX;
}

/* Counts this attempt and says whether the code may still be compared. */
static enum rc
attempt(struct app *app, struct arena *a, const char *acct, enum sms_purpose p, int64_t expires,
        bool *live)
{
    int64_t n = 0, ttl = expires - clock_now(app->clock);
    struct otp_state st = {expires, 0};
    enum rc rc =
        store_incr(app->store, code_key(a, acct, p, true), 1, ttl > 0 ? (uint32_t)ttl + 1 : 1, &n);

    if (rc != RC_OK)
        return rc;
    st.attempts = n > 0 ? (uint32_t)(n - 1) : 0;
    *live = otp_check(&st, clock_now(app->clock), SMS_MAX_ATTEMPTS) == OTP_TRY;
    return RC_OK;
}

/* Deletes a dead code and its counter (best effort: both expire anyway). */
static void
kill_code(struct app *app, struct arena *a, const char *acct, enum sms_purpose p)
{
    struct store_op ops[] = {
        {.kind = STORE_OP_DEL, .key = code_key(a, acct, p, false)},
        {.kind = STORE_OP_DEL, .key = code_key(a, acct, p, true)},
    };

    if (ops[0].key.p && ops[1].key.p)
        store_batch(app->store, ops, 2);
}

/* The typed code against the stored value v: RC_OK when it is the code and this caller
 * took it (of concurrent right answers one wins). */
static enum rc
compare_take(struct app *app, struct arena *a, const char *acct, const char *phone,
             enum sms_purpose p, struct span v, struct span want, struct span typed)
{
    char code[OTP_RECOVERY_LEN + 1], got[HASH_HEX + 1];
    enum otp_kind kind;
    struct span taken;
    bool same;
    enum rc rc;

    if (otp_code_parse(typed, &kind, code) != RC_OK || kind != OTP_TOTP) { /* six digits */
        OPENSSL_cleanse(code, sizeof(code));
        return RC_DENIED;
    }
    rc = code_hash(app, acct, phone, p, code, got);
    OPENSSL_cleanse(code, sizeof(code));
    if (rc != RC_OK)
        return rc;
    same = CRYPTO_memcmp(got, want.p, HASH_HEX) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    if (!same)
        return RC_DENIED;
    rc = store_take(app->store, a, code_key(a, acct, p, false), &taken);
    if (rc == RC_NOT_FOUND || (rc == RC_OK && !span_eq(taken, v)))
        return RC_DENIED; /* used or replaced meanwhile */
    if (rc == RC_OK)
        store_del(app->store, code_key(a, acct, p, true));
    return rc;
}

enum rc
sms_check(struct app *app, struct arena *a, const char *account_id, enum sms_purpose purpose,
          struct span typed, struct rc_info *ri)
{
    struct span v, hash;
    struct account acct;
    int64_t expires = 0;
    bool live = false;
    enum rc rc = account_get(app, a, account_id, &acct);

    if (rc == RC_OK)
        rc = store_get(app->store, a, code_key(a, account_id, purpose, false), &v);
    if (rc == RC_OK && !parse_value(v, &expires, &hash))
        rc = RC_NOT_FOUND;
    if (rc == RC_OK)
        rc = attempt(app, a, account_id, purpose, expires, &live);
    if (rc == RC_OK && !live) {
        kill_code(app, a, account_id, purpose);
        rc = RC_DENIED;
    }
    if (rc == RC_OK)
        rc = compare_take(app, a, account_id, acct.phone, purpose, v, hash, typed);
    if (rc == RC_NOT_FOUND || rc == RC_DENIED)
        rc = rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, "code", "wrong or expired code");
    else if (rc != RC_OK)
        rc = rc_set(ri, RC_UNAVAILABLE, NULL, "the store cannot be reached: try again later");
    log_event("sms.check", purpose, rc, ri);
    return rc;
}

enum rc
sms_phone_mark_verified(struct app *app, struct arena *a, const char *account_id, const char *phone)
{
    struct store_field f = {SPAN("phone_verified"), span_str(phone)};
    struct span key = account_key(a, account_id, NULL);
    char kid[ATREST_KID_MAX];
    uint32_t gen;
    enum rc rc;

    if (!key.p)
        return RC_NOMEM;
    if ((rc = atrest_generation(app, a, &gen)) != RC_OK)
        return rc;
    atrest_kid(gen, kid); /* a number: sealed like the record's other personal fields */
    if ((rc = atrest_seal(app, a, NULL, kid, account_id, "phone_verified", f.value, &f.value))
        != RC_OK)
        return rc;
    return store_rec_put(app->store, key, &f, 1, 0, STORE_XX | STORE_DURABLE);
}
