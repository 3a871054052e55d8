/* The password check behind the login page: a per-address token bucket (flow/ratelimit),
 * progressive delays per (number, address), a per-number ceiling that only slows (or asks
 * for a second factor), one argon2id verification whether or not the account exists,
 * re-hash of outdated hashes. Nothing locks a number: docs/security.md, "Lockout and
 * throttling". */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/idnum.h"
#include "core/mask.h"
#include "core/otp.h"
#include "flow/account_int.h"
#include "flow/ratelimit.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"

/* One message for a wrong number and a wrong password: which one was wrong is not said. */
#define MSG_DENIED   "the ID number or the password is incorrect"
#define MSG_DISABLED "this account is disabled: contact the service desk"

static const char *
wait_msg(struct arena *a, const char *what, int64_t secs)
{
    return ratelimit_wait_msg(a, what, secs);
}

/* The per-address bucket of purpose ("login", "register"): one store call. */
enum rc
account_rate_ip(struct app *app, struct arena *a, const char *ip, const char *purpose,
                uint32_t limit, struct rc_info *ri, uint32_t *retry_after_s)
{
    struct ratelimit rl = {purpose, ip ? span_str(ip) : (struct span){NULL, 0}, limit};
    uint32_t retry = 0;
    enum rc rc = ratelimit_take(app, a, &rl, 1, &retry, NULL);

    if (retry_after_s)
        *retry_after_s = retry;
    if (rc == RC_LIMITED)
        return rc_fail(ri, RC_LIMITED, RC_WHY_RATE, NULL, wait_msg(a, "too many attempts", retry));
    if (rc != RC_OK)
        return rc_set(ri, rc, NULL, "the account store cannot be reached: try again later");
    return RC_OK;
}

/* The throttle keys of (acct, ip): failures from ip (":thr:IP") and its wait (":wait:IP"). */
static struct span
throttle_key(struct arena *a, const char *acct, const char *what, const char *ip)
{
    const char *suffix = arena_printf(a, ":%s:%s", what, ip && *ip ? ip : "-");

    return suffix ? account_key(a, acct, suffix) : (struct span){NULL, 0};
}

/* RC_LIMITED while ip must wait before its next password for acct. */
static enum rc
check_throttle(struct app *app, struct arena *a, const char *acct, const char *ip,
               struct rc_info *ri, uint32_t *retry_after_s)
{
    struct span key = throttle_key(a, acct, "wait", ip);
    int64_t ttl = 0;
    enum rc rc;

    if (!key.p)
        return RC_NOMEM;
    rc = store_ttl(app->store, key, &ttl);
    if (rc == RC_NOT_FOUND)
        return RC_OK;
    if (rc != RC_OK)
        return rc;
    if (ttl <= 0)
        ttl = 1;
    if (retry_after_s)
        *retry_after_s = (uint32_t)ttl;
    return rc_fail(ri, RC_LIMITED, RC_WHY_RATE, NULL, wait_msg(a, "too many failed attempts", ttl));
}

/* The per-number ceiling (rate_login_per_idnum): *over when the number's bucket is empty,
 * *wait then the wait, at most login_ceiling_max_wait_s. It never refuses by itself. */
static enum rc
check_ceiling(struct app *app, struct arena *a, const char *acct, bool *over, uint32_t *wait)
{
    struct ratelimit rl = {"login:idn", span_str(acct), app->cfg->rate_login_per_idnum};
    uint32_t max = app->cfg->login_ceiling_max_wait_s ? app->cfg->login_ceiling_max_wait_s : 5;
    enum rc rc = ratelimit_take(app, a, &rl, 1, wait, NULL);

    *over = rc == RC_LIMITED;
    if (*wait > max)
        *wait = max;
    return rc == RC_LIMITED ? RC_OK : rc;
}

/* Counts a failure of ip on acct: the number's count (shown by authctl) and ip's, whose
 * progressive delay (core/otp.h otp_throttle_delay) ip waits before its next password.
 * Both counters slide: each failure keeps them lockout_seconds more. */
static enum rc
count_failure(struct app *app, struct arena *a, const char *acct, const char *ip)
{
    const struct config *c = app->cfg;
    struct span fail = account_key(a, acct, ":fail"), thr = throttle_key(a, acct, "thr", ip);
    struct span wait = throttle_key(a, acct, "wait", ip);
    int64_t n = 0, total = 0;
    uint32_t delay;
    enum rc rc;

    if (!fail.p || !thr.p || !wait.p)
        return RC_NOMEM;
    if ((rc = store_incr(app->store, fail, 1, c->lockout_seconds, &total)) != RC_OK
        || (rc = store_incr(app->store, thr, 1, c->lockout_seconds, &n)) != RC_OK)
        return rc;
    delay = otp_throttle_delay((uint64_t)n, c->lockout_failures, c->lockout_seconds);
    struct store_op ops[] = {
        {.kind = STORE_OP_EXPIRE, .key = fail, .ttl_s = c->lockout_seconds},
        {.kind = STORE_OP_EXPIRE, .key = thr, .ttl_s = c->lockout_seconds},
        {.kind = STORE_OP_PUT, .key = wait, .value = SPAN("1"), .ttl_s = delay},
    };
    return store_batch(app->store, ops, delay ? 3 : 2);
}

/* After a good password: forget ip's failures, upgrade an outdated hash (best effort). */
static void
after_success(struct app *app, struct arena *a, const char *acct, const char *ip, const char *phc,
              struct span pw)
{
    char fresh[ACCOUNT_PHC_MAX];
    struct span key = account_key(a, acct, NULL);
    struct store_op ops[] = {
        {.kind = STORE_OP_DEL, .key = account_key(a, acct, ":fail")},
        {.kind = STORE_OP_DEL, .key = throttle_key(a, acct, "thr", ip)},
        {.kind = STORE_OP_DEL, .key = throttle_key(a, acct, "wait", ip)},
    };

    if (ops[0].key.p && ops[1].key.p && ops[2].key.p)
        store_batch(app->store, ops, 3);
    if (!key.p || !account_phc_outdated(app, phc))
        return;
    if (account_hash_password(app, pw, fresh) == RC_OK) {
        struct store_field f = {SPAN("pw"), span_str(fresh)};
        if (store_rec_put(app->store, key, &f, 1, 0, STORE_XX | STORE_DURABLE) == RC_OK)
            log_msg(LOG_INFO, "account.rehash", "result", "ok");
    }
    OPENSSL_cleanse(fresh, sizeof(fresh));
}

static void
log_login(struct span idn, enum rc rc, const struct rc_info *ri, bool second_factor)
{
    struct log_rec *lr = log_begin(LOG_INFO, "account.login");
    char m[MASK_IDNUM_SIZE];

    mask_idnum(idn, m);
    log_str(lr, "idn", m);
    log_str(lr, "rc", rc_name(rc));
    if (rc != RC_OK && ri && ri->why != RC_WHY_NONE)
        log_str(lr, "reason", rc_reason_name(ri->why));
    if (second_factor)
        log_str(lr, "ceiling", "second_factor"); /* right password, number over its ceiling */
    log_end(lr);
}

/* Loads the record of acct and its PHC string (NULL when there is no account). */
static enum rc
load(struct app *app, struct arena *a, const char *acct, struct store_record *rec, const char **phc)
{
    struct span key = account_key(a, acct, NULL);
    enum rc rc;

    *phc = NULL;
    if (!key.p)
        return RC_NOMEM;
    rc = store_rec_get(app->store, a, key, rec);
    if (rc == RC_NOT_FOUND)
        return RC_OK;
    if (rc != RC_OK)
        return rc;
    *phc = arena_span_dup(a, store_rec_field(rec, "pw"));
    return *phc ? RC_OK : RC_NOMEM;
}

/* Verifies and settles the outcome, once the number is known well formed and ip not
 * throttled on it. over: the number is over its ceiling (a wrong password then waits
 * `wait`, a right one needs a second factor: the caller's decision). */
static enum rc
check_password(struct app *app, struct arena *a, const char *acct, const char *ip, struct span pw,
               bool over, uint32_t wait, struct account *out, struct rc_info *ri,
               uint32_t *retry_after_s)
{
    struct store_record rec = {0};
    const char *phc = NULL;
    enum rc rc;

    if ((rc = load(app, a, acct, &rec, &phc)) != RC_OK)
        return rc;
    rc = account_pw_verify(app, phc, pw); /* NULL phc: the dummy, same cost */
    if (rc == RC_INTERNAL)
        return rc;
    if (rc != RC_OK) {
        if ((rc = count_failure(app, a, acct, ip)) != RC_OK)
            return rc;
        if (!over)
            return rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, NULL, MSG_DENIED);
        if (retry_after_s)
            *retry_after_s = wait ? wait : 1;
        return rc_fail(ri, RC_LIMITED, RC_WHY_RATE, NULL,
                       wait_msg(a, "too many attempts on this number", wait));
    }
    if ((rc = account_from_record(app, a, acct, &rec, out)) != RC_OK)
        return rc == RC_NOMEM ? rc : RC_INTERNAL;
    if (out->disabled)
        return rc_fail(ri, RC_DENIED, RC_WHY_DISABLED, NULL, MSG_DISABLED);
    after_success(app, a, acct, ip, phc, pw);
    /* plaintext or an older data key: seal again (best effort; the login stands) */
    if (account_reseal(app, a, out) != RC_OK)
        log_msg(LOG_WARN, "account.reseal", "result", "failed");
    return RC_OK;
}

enum rc
account_login_try(struct app *app, struct arena *a, struct span id_number, struct span password,
                  const char *client_ip, struct account *out, bool *second_factor,
                  struct rc_info *ri, uint32_t *retry_after_s)
{
    char acct[ACCOUNT_ID_LEN + 1];
    bool well_formed = account_id_of(app, id_number, acct, NULL) == RC_OK, over = false;
    uint32_t wait = 0;
    enum rc rc;

    *second_factor = false;
    if (retry_after_s)
        *retry_after_s = 0;
    /* per address, before any password work */
    rc =
        account_rate_ip(app, a, client_ip, "login", app->cfg->login_rate_per_ip, ri, retry_after_s);
    if (rc != RC_OK)
        goto out;
    if (!well_formed) {
        /* not a number at all: the same cost and answer as a wrong password */
        account_pw_verify(app, NULL, password);
        rc = rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, NULL, MSG_DENIED);
        goto out;
    }
    /* per (number, address): progressive delays; then the number's ceiling, which slows
     * (whether or not the number has an account: neither says anything of existence) */
    if ((rc = check_throttle(app, a, acct, client_ip, ri, retry_after_s)) != RC_OK
        || (rc = check_ceiling(app, a, acct, &over, &wait)) != RC_OK)
        goto out;
    rc = check_password(app, a, acct, client_ip, password, over, wait, out, ri, retry_after_s);
    if (rc == RC_OK && over) {
        *second_factor = true;
        if (retry_after_s)
            *retry_after_s = wait ? wait : 1;
    }
out:
    if (rc == RC_UNAVAILABLE || rc == RC_FULL || rc == RC_CONFLICT)
        rc = rc_set(ri, RC_UNAVAILABLE, NULL,
                    "the account store cannot be reached: try again "
                    "later");
    log_login(id_number, rc, ri, *second_factor);
    return rc;
}

enum rc
account_login_ex(struct app *app, struct arena *a, struct span id_number, struct span password,
                 const char *client_ip, struct account *out, struct rc_info *ri,
                 uint32_t *retry_after_s)
{
    bool second = false;
    uint32_t wait = 0;
    enum rc rc = account_login_try(app, a, id_number, password, client_ip, out, &second, ri, &wait);

    if (retry_after_s)
        *retry_after_s = wait;
    if (rc != RC_OK || !second)
        return rc;
    /* no second factor can follow here: the ceiling slows the right password too */
    OPENSSL_cleanse(out, sizeof(*out));
    return rc_fail(ri, RC_LIMITED, RC_WHY_RATE, NULL,
                   wait_msg(a, "too many attempts on this number", wait));
}

enum rc
account_login(struct app *app, struct arena *a, struct span id_number, struct span password,
              const char *client_ip, struct account *out, struct rc_info *ri)
{
    return account_login_ex(app, a, id_number, password, client_ip, out, ri, NULL);
}
