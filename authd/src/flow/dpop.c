/* DPoP at authd's endpoints: replay cache and server nonces (RFC 9449 §8, §11.1). */
#include "flow/dpop.h"

#include <openssl/crypto.h>
#include <string.h>

#include "core/jose.h"
#include "port/secrets.h"
#include "port/store.h"

#define NONCE_MAC 16 /* bytes of the HMAC a nonce keeps */

/* The nonce of slot into a (base64url, 32 characters); NULL for no memory. */
static const char *
nonce_of(struct app *app, struct arena *a, uint64_t slot)
{
    uint8_t raw[8 + 32];
    struct span part = span_of(raw, 8), out;
    enum rc rc;

    for (int i = 0; i < 8; i++)
        raw[i] = (uint8_t)(slot >> (56 - 8 * i));
    if (secrets_hmac(app->secrets, SECRET_DPOP_NONCE, &part, 1, raw + 8) != RC_OK)
        return NULL;
    rc = jose_b64url_encode(span_of(raw, 8 + NONCE_MAC), a, &out);
    return rc == RC_OK ? (const char *)out.p : NULL;
}

const char *
dpop_nonce(struct app *app, struct arena *a)
{
    return nonce_of(app, a, (uint64_t)clock_now(app->clock) / DPOP_NONCE_PERIOD);
}

bool
dpop_nonce_required(const struct app *app, const struct policy_client *c)
{
    return app->cfg->dpop_nonce_required || (c && c->dpop_nonce);
}

/* The nonce is ours and of the current or the previous slot. */
static bool
nonce_ok(struct app *app, struct arena *a, const char *nonce)
{
    uint64_t now = (uint64_t)clock_now(app->clock) / DPOP_NONCE_PERIOD;
    size_t n = strlen(nonce);

    for (uint64_t back = 0; back < 2 && back <= now; back++) {
        const char *want = nonce_of(app, a, now - back);
        if (want && strlen(want) == n && CRYPTO_memcmp(want, nonce, n) == 0)
            return true;
    }
    return false;
}

/* Records the proof's jti (with its key) until its iat is no longer acceptable. */
static enum rc
jti_once(struct app *app, struct arena *a, const struct dpop_proof *pr, uint32_t ttl,
         struct rc_info *ri)
{
    struct span parts[2] = {span_str(pr->jkt), span_str(pr->jti)}, key;
    char h[65];
    enum rc rc;

    if ((rc = secrets_hmac_hex(app->secrets, SECRET_TOKEN, parts, 2, h)) != RC_OK)
        return rc;
    if (!(key = store_key(a, "dpopjti", span_str(h), NULL)).p)
        return RC_NOMEM;
    rc = store_put(app->store, key, SPAN("1"), ttl, STORE_NX);
    if (rc == RC_CONFLICT)
        return rc_fail(ri, RC_DENIED, RC_WHY_DPOP_PROOF, "jti", "proof already used");
    return rc;
}

enum rc
dpop_check(struct app *app, struct arena *a, const struct policy *p, const struct dpop_call *c,
           struct dpop_proof *out, struct rc_info *ri)
{
    uint32_t leeway = p->tokens.clock_leeway_s;
    struct dpop_expect e = {
        c->htm, c->htu,        NULL, clock_now(app->clock), app->cfg->dpop_iat_window_s,
        leeway, app->dpop_keys};
    enum rc rc;

    if (!c->proof.p)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_DPOP_PROOF, "DPoP", "missing");
    if (c->access_token.p && !(e.ath = dpop_ath(c->access_token, a)))
        return RC_NOMEM;
    if ((rc = dpop_proof_parse(c->proof, &e, a, out, ri)) != RC_OK)
        return rc;
    if (c->nonce_required && (!out->nonce || !nonce_ok(app, a, out->nonce)))
        return rc_fail(ri, RC_DENIED, RC_WHY_DPOP_NONCE, "nonce",
                       out->nonce ? "not a current nonce of this server" : "required");
    return jti_once(app, a, out, e.max_age + 2 * leeway + 1, ri);
}
