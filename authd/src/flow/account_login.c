/* The password check behind the login page: per-IP and per-number rate limits (token
 * buckets, flow/ratelimit), per-number lockout, one
 * argon2id verification whether or not the account exists, re-hash of outdated hashes. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/idnum.h"
#include "core/mask.h"
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

/* The per-address bucket of purpose ("login", "register"), and for a login of a well-formed
 * number, the per-number bucket (acct: its account id; NULL otherwise): one store call. */
static enum rc
rate_take(struct app *app, struct arena *a, const char *ip, const char *purpose, uint32_t limit,
          const char *acct, struct rc_info *ri, uint32_t *retry_after_s)
{
    struct ratelimit rl[2] = {
        {purpose, ip ? span_str(ip) : (struct span){NULL, 0}, limit},
        {"login:idn", acct ? span_str(acct) : (struct span){NULL, 0},
         acct ? app->cfg->rate_login_per_idnum : 0},
    };
    uint32_t retry = 0;
    enum rc rc = ratelimit_take(app, a, rl, 2, &retry, NULL);

    if (retry_after_s)
        *retry_after_s = retry;
    if (rc == RC_LIMITED)
        return rc_fail(ri, RC_LIMITED, RC_WHY_RATE, NULL, wait_msg(a, "too many attempts", retry));
    if (rc != RC_OK)
        return rc_set(ri, rc, NULL, "the account store cannot be reached: try again later");
    return RC_OK;
}

enum rc
account_rate_ip(struct app *app, struct arena *a, const char *ip, const char *purpose,
                uint32_t limit, struct rc_info *ri, uint32_t *retry_after_s)
{
    return rate_take(app, a, ip, purpose, limit, NULL, ri, retry_after_s);
}

/* RC_LIMITED if the number is locked out now. */
static enum rc
check_lock(struct app *app, struct arena *a, const char *acct, struct rc_info *ri,
           uint32_t *retry_after_s)
{
    struct span key = account_key(a, acct, ":lock");
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
        ttl = app->cfg->lockout_seconds;
    if (retry_after_s)
        *retry_after_s = (uint32_t)ttl;
    return rc_fail(ri, RC_LIMITED, RC_WHY_LOCKED, NULL,
                   wait_msg(a, "too many failed attempts", ttl));
}

/* Counts a failure; the lockout_failures-th consecutive one locks the number for
 * lockout_seconds. The counter slides: each failure keeps it alive lockout_seconds more. */
static enum rc
count_failure(struct app *app, struct arena *a, const char *acct, struct rc_info *ri,
              uint32_t *retry_after_s)
{
    const struct config *c = app->cfg;
    struct span fail = account_key(a, acct, ":fail"), lock = account_key(a, acct, ":lock");
    int64_t n = 0;
    enum rc rc;

    if (!fail.p || !lock.p)
        return RC_NOMEM;
    if ((rc = store_incr(app->store, fail, 1, c->lockout_seconds, &n)) != RC_OK)
        return rc;
    if (n < (int64_t)c->lockout_failures)
        return store_expire(app->store, fail, c->lockout_seconds) == RC_UNAVAILABLE
                   ? RC_UNAVAILABLE
                   : rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, NULL, MSG_DENIED);
    struct store_op ops[] = {
        {.kind = STORE_OP_PUT, .key = lock, .value = SPAN("1"), .ttl_s = c->lockout_seconds},
        {.kind = STORE_OP_DEL, .key = fail},
    };
    if ((rc = store_batch(app->store, ops, 2)) != RC_OK)
        return rc;
    if (retry_after_s)
        *retry_after_s = c->lockout_seconds;
    return rc_fail(ri, RC_LIMITED, RC_WHY_LOCKED, NULL,
                   wait_msg(a, "too many failed attempts", c->lockout_seconds));
}

/* After a good password: forget failures, upgrade an outdated hash (best effort). */
static void
after_success(struct app *app, struct arena *a, const char *acct, const char *phc, struct span pw)
{
    char fresh[ACCOUNT_PHC_MAX];
    struct span fail = account_key(a, acct, ":fail"), key = account_key(a, acct, NULL);

    if (fail.p)
        store_del(app->store, fail);
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
log_login(struct span idn, enum rc rc, const struct rc_info *ri)
{
    struct log_rec *lr = log_begin(LOG_INFO, "account.login");
    char m[MASK_IDNUM_SIZE];

    mask_idnum(idn, m);
    log_str(lr, "idn", m);
    log_str(lr, "rc", rc_name(rc));
    if (rc != RC_OK && ri && ri->why != RC_WHY_NONE)
        log_str(lr, "reason", rc_reason_name(ri->why));
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

/* Verifies and settles the outcome, once the number is known well formed and not locked. */
static enum rc
check_password(struct app *app, struct arena *a, const char *acct, struct span pw,
               struct account *out, struct rc_info *ri, uint32_t *retry_after_s)
{
    struct store_record rec = {0};
    const char *phc = NULL;
    enum rc rc;

    if ((rc = load(app, a, acct, &rec, &phc)) != RC_OK)
        return rc;
    rc = account_pw_verify(app, phc, pw); /* NULL phc: the dummy, same cost */
    if (rc == RC_INTERNAL)
        return rc;
    if (rc != RC_OK)
        return count_failure(app, a, acct, ri, retry_after_s);
    if ((rc = account_from_record(a, acct, &rec, out)) != RC_OK)
        return rc == RC_NOMEM ? rc : RC_INTERNAL;
    if (out->disabled)
        return rc_fail(ri, RC_DENIED, RC_WHY_DISABLED, NULL, MSG_DISABLED);
    after_success(app, a, acct, phc, pw);
    return RC_OK;
}

enum rc
account_login_ex(struct app *app, struct arena *a, struct span id_number, struct span password,
                 const char *client_ip, struct account *out, struct rc_info *ri,
                 uint32_t *retry_after_s)
{
    char acct[ACCOUNT_ID_LEN + 1];
    enum rc rc;

    bool well_formed = account_id_of(app, id_number, acct, NULL) == RC_OK;

    if (retry_after_s)
        *retry_after_s = 0;
    /* per address and per number (whether or not it has an account: the limit says
     * nothing about existence), before any password work */
    rc = rate_take(app, a, client_ip, "login", app->cfg->login_rate_per_ip,
                   well_formed ? acct : NULL, ri, retry_after_s);
    if (rc != RC_OK)
        goto out;
    if (!well_formed) {
        /* not a number at all: the same cost and answer as a wrong password */
        account_pw_verify(app, NULL, password);
        rc = rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, NULL, MSG_DENIED);
        goto out;
    }
    if ((rc = check_lock(app, a, acct, ri, retry_after_s)) != RC_OK)
        goto out;
    rc = check_password(app, a, acct, password, out, ri, retry_after_s);
out:
    if (rc == RC_UNAVAILABLE || rc == RC_FULL)
        rc = rc_set(ri, RC_UNAVAILABLE, NULL,
                    "the account store cannot be reached: try again "
                    "later");
    log_login(id_number, rc, ri);
    return rc;
}

enum rc
account_login(struct app *app, struct arena *a, struct span id_number, struct span password,
              const char *client_ip, struct account *out, struct rc_info *ri)
{
    return account_login_ex(app, a, id_number, password, client_ip, out, ri, NULL);
}
