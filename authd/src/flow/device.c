/* The device authorization grant (RFC 8628 §3): the request, the user-code lookup and
 * decision of the verification page, and the polls of /token. The state machine is
 * flow/pending's; this file adds the user code and the rules of RFC 8628. */
#include "flow/device.h"

#include <openssl/crypto.h>
#include <string.h>

#include "core/authz.h"
#include "core/form.h"
#include "flow/authorize.h"
#include "flow/clients.h"
#include "flow/decoupled.h"
#include "flow/ratelimit.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"

#define UC_TRIES 4 /* user codes drawn before giving up on collisions (each ~2^-34 likely) */

/* The store key of a normalised user code: a keyed hash, so that the store holds no user
 * code in the clear (its value, the device code, is only reachable through it). */
static enum rc
uc_key(struct app *app, struct arena *a, const char code[USERCODE_LEN + 1], struct span *key)
{
    struct span parts[2] = {SPAN("devuc"), span_of(code, USERCODE_LEN)};
    char h[65];
    enum rc rc = secrets_hmac_hex(app->secrets, SECRET_TOKEN, parts, 2, h);

    if (rc != RC_OK)
        return rc;
    *key = store_key(a, "devuc", span_of(h, 64), NULL);
    OPENSSL_cleanse(h, sizeof(h));
    return key->p ? RC_OK : RC_NOMEM;
}

static enum rc
draw_code(struct app *app, char code[USERCODE_LEN + 1])
{
    uint8_t rnd[24];
    enum rc rc;

    do {
        if ((rc = rng_bytes(app->rng, rnd, sizeof(rnd))) != RC_OK)
            return rc;
    } while (!usercode_from_random(rnd, sizeof(rnd), code));
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return RC_OK;
}

/* Gives the saved interaction p a user code of its own: authd:devuc:{..} put-if-absent,
 * another code on a collision. RC_OK: code holds it. */
static enum rc
bind_user_code(struct app *app, struct arena *a, struct pending *p, char code[USERCODE_LEN + 1],
               uint32_t ttl_s)
{
    struct span key;
    enum rc rc = RC_CONFLICT;

    for (int i = 0; i < UC_TRIES && rc == RC_CONFLICT; i++) {
        if (i > 0
            && ((rc = draw_code(app, code)) != RC_OK
                || (rc = pending_attr_set(p, "uc", arena_strndup(a, code, USERCODE_LEN))) != RC_OK
                || (rc = pending_save(app, a, p, 0)) != RC_OK))
            return rc;
        if ((rc = uc_key(app, a, code, &key)) != RC_OK)
            return rc;
        rc = store_put(app->store, key, span_str(p->id), ttl_s, STORE_NX);
    }
    return rc == RC_CONFLICT ? RC_INTERNAL : rc;
}

static enum rc
start_urls(struct app *app, struct arena *a, struct device_start *out)
{
    const char *iss = app->cfg ? app->cfg->issuer : "";
    struct buf b;

    out->verification_uri = arena_printf(a, "%s%s", iss, DEVICE_PATH);
    buf_init(&b, 4096);
    buf_printf(&b, "%s?", out->verification_uri ? out->verification_uri : "");
    form_append(&b, "user_code", span_str(out->user_code));
    out->verification_uri_complete = b.p ? arena_strndup(a, (const char *)b.p, b.len) : NULL;
    buf_clear(&b);
    return out->verification_uri && out->verification_uri_complete ? RC_OK : RC_NOMEM;
}

enum rc
device_authorize(struct app *app, struct arena *a, const struct policy *p,
                 const struct policy_client *c, struct span scope, struct span addr,
                 struct device_start *out, uint32_t *retry_after_s, struct rc_info *ri)
{
    struct ratelimit rl = {"device_authorization:ip", addr,
                           app->cfg->rate_device_authorization_per_ip};
    char code[USERCODE_LEN + 1];
    uint32_t ttl = app->cfg->device_code_ttl_s;
    struct pending pd = {.kind = PENDING_DEVICE, .client_id = c->id};
    struct log_rec *lr;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (!(c->grants & GRANT_DEVICE_CODE))
        return rc_fail(ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "client_id",
                       "not registered for the device_code grant");
    if ((rc = decoupled_scope(a, p, c, scope, &pd.scope, ri)) != RC_OK)
        return rc;
    if ((rc = ratelimit_take(app, a, &rl, 1, retry_after_s, ri)) != RC_OK)
        return rc_because(ri, rc, rc == RC_LIMITED ? RC_WHY_RATE : RC_WHY_NONE);
    pd.interval = app->cfg->device_poll_interval_s;
    if ((rc = draw_code(app, code)) != RC_OK
        || (rc = pending_attr_set(&pd, "uc", arena_strndup(a, code, USERCODE_LEN))) != RC_OK
        || (rc = pending_save(app, a, &pd, ttl)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if ((rc = bind_user_code(app, a, &pd, code, ttl)) != RC_OK) {
        (void)pending_complete(app, a, PENDING_DEVICE, span_str(pd.id), NULL);
        return rc_because(ri, rc, RC_WHY_NONE);
    }
    usercode_format(code, out->user_code);
    out->expires_in = ttl, out->interval = pd.interval;
    if (!(out->device_code = arena_strndup(a, pd.id, PENDING_ID_LEN))
        || start_urls(app, a, out) != RC_OK)
        return rc_because(ri, RC_NOMEM, RC_WHY_NONE);
    if ((lr = log_begin(LOG_INFO, "device.start"))) {
        log_str(lr, "client", c->id);
        log_str(lr, "scope", pd.scope);
        log_end(lr);
    }
    return RC_OK;
}

/* Rate limits, then the waiting interaction of the code typed. RC_OK: *id (the device
 * code, in a), *pd and code (normalised). */
static enum rc
find(struct app *app, struct arena *a, struct span typed, struct span addr,
     char code[USERCODE_LEN + 1], struct span *key, struct pending *pd, uint32_t *retry,
     struct rc_info *ri)
{
    bool ok = usercode_normalise(typed, code) == RC_OK;
    struct ratelimit rl[2] = {
        {"device:ip", addr, app->cfg->rate_device_per_ip},
        {"device:code", {NULL, 0}, app->cfg->rate_device_per_code},
    };
    struct span id;
    enum rc rc;

    if (ok && (rc = uc_key(app, a, code, key)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (ok) /* the code's bucket: the key's hash part, no code in the clear */
        rl[1].who = *key;
    if ((rc = ratelimit_take(app, a, rl, 2, retry, ri)) != RC_OK)
        return rc_because(ri, rc, rc == RC_LIMITED ? RC_WHY_RATE : RC_WHY_NONE);
    if (!ok)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_USER_CODE, "user_code", "not a user code");
    rc = store_get(app->store, a, *key, &id);
    if (rc == RC_OK)
        rc = pending_load(app, a, PENDING_DEVICE, id, pd);
    if (rc == RC_NOT_FOUND || (rc == RC_OK && pd->state != PENDING_WAITING))
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_USER_CODE, "user_code", "unknown or expired");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

static enum rc
view_of(struct app *app, const struct policy *p, const struct pending *pd,
        const char code[USERCODE_LEN + 1], struct device_view *out, struct rc_info *ri)
{
    const struct policy_client *c = client_resolve(app, p, span_str(pd->client_id));

    memset(out, 0, sizeof(*out));
    if (!c) /* removed from policy since: the request is void */
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_USER_CODE, "user_code", "client gone");
    usercode_format(code, out->user_code);
    out->client_id = pd->client_id;
    out->client_name = c->name && *c->name ? c->name : c->id;
    out->location = c->location;
    out->scope = pd->scope ? pd->scope : "";
    return authorize_policy_min(p, c, out->scope, &out->min, ri);
}

enum rc
device_lookup(struct app *app, struct arena *a, const struct policy *p, struct span typed,
              struct span addr, struct device_view *out, uint32_t *retry_after_s,
              struct rc_info *ri)
{
    char code[USERCODE_LEN + 1];
    struct pending pd;
    struct span key;
    enum rc rc = find(app, a, typed, addr, code, &key, &pd, retry_after_s, ri);

    return rc == RC_OK ? view_of(app, p, &pd, code, out, ri) : rc;
}

enum rc
device_decide(struct app *app, struct arena *a, const struct policy *p, struct span typed,
              struct span addr, const struct session *s, bool approve, uint32_t *retry_after_s,
              struct rc_info *ri)
{
    char code[USERCODE_LEN + 1];
    struct pending pd;
    struct device_view v;
    struct span key;
    enum rc rc = find(app, a, typed, addr, code, &key, &pd, retry_after_s, ri);

    if (rc != RC_OK || (rc = view_of(app, p, &pd, code, &v, ri)) != RC_OK)
        return rc;
    rc = decoupled_decide(app, a, PENDING_DEVICE, &pd, key, s, v.min, approve, "device.decide",
                          ri);
    if (rc == RC_EXPIRED)
        return rc_fail(ri, RC_CONFLICT, RC_WHY_USER_CODE, "user_code", "decided or expired");
    return rc;
}

enum rc
device_poll(struct app *app, struct arena *a, const struct policy_client *c,
            struct span device_code, struct pending *out, struct rc_info *ri)
{
    return decoupled_poll(app, a, PENDING_DEVICE, c, device_code, "device_code", out, ri);
}
