#include "flow/client_auth.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/form.h"
#include "core/jose.h"
#include "core/jsonget.h"
#include "flow/clients.h"
#include "flow/kiosk.h"
#include "port/secrets.h"
#include "port/store.h"

const char *
client_auth_name(enum client_auth m)
{
    switch (m) {
    case AUTH_CLIENT_SECRET_BASIC:
        return "client_secret_basic";
    case AUTH_CLIENT_SECRET_POST:
        return "client_secret_post";
    case AUTH_PRIVATE_KEY_JWT:
        return "private_key_jwt";
    case AUTH_NONE:
        return "none";
    case AUTH_TLS_CLIENT_AUTH:
        return "tls_client_auth";
    }
    return "none";
}

/* ---- parsing ---------------------------------------------------------------------------- */

/* Strict base64 (RFC 4648 §4, padded, as RFC 7617 uses) into the arena: OpenSSL decodes;
 * re-encoding must give the input back, which rejects whitespace, bad padding and
 * non-canonical trailing bits that EVP_DecodeBlock would let through. */
static enum rc
b64_decode(struct arena *a, struct span in, struct span *out)
{
    size_t pad = 0;
    uint8_t *p, *again;
    int n;

    if (in.len == 0 || in.len % 4 != 0 || in.len > 4 * (CLIENT_SECRET_MAX + CLIENT_ID_MAX * 3))
        return RC_MALFORMED;
    while (pad < 2 && in.p[in.len - 1 - pad] == '=')
        pad++;
    if (!(p = arena_alloc(a, in.len / 4 * 3 + 1)) || !(again = arena_alloc(a, in.len + 1)))
        return RC_NOMEM;
    n = EVP_DecodeBlock(p, in.p, (int)in.len);
    if (n < 0 || (size_t)n < pad)
        return RC_MALFORMED;
    n -= (int)pad; /* EVP_DecodeBlock counts the padding as zero bytes */
    if (EVP_EncodeBlock(again, p, n) != (int)in.len || memcmp(again, in.p, in.len) != 0)
        return RC_MALFORMED;
    p[n] = 0;
    *out = span_of(p, (size_t)n);
    return RC_OK;
}

static enum rc
parse_basic(struct arena *a, const char *hdr, struct client_creds *out, struct rc_info *ri)
{
    struct span raw, dec;
    const uint8_t *colon;
    const char *v = hdr + 6;

    while (*v == ' ')
        v++;
    raw = span_str(v);
    while (raw.len && raw.p[raw.len - 1] == ' ')
        raw.len--;
    if (b64_decode(a, raw, &dec) != RC_OK)
        return rc_set(ri, RC_DENIED, "Authorization", "Basic credentials are not base64");
    if (!(colon = memchr(dec.p, ':', dec.len)))
        return rc_set(ri, RC_DENIED, "Authorization", "Basic credentials lack ':'");
    if (form_decode(a, span_of(dec.p, (size_t)(colon - dec.p)), &out->id) != RC_OK
        || form_decode(a, span_of(colon + 1, dec.len - (size_t)(colon + 1 - dec.p)), &out->secret)
               != RC_OK)
        return rc_set(ri, RC_DENIED, "Authorization", "Basic credentials are not urlencoded");
    OPENSSL_cleanse((void *)dec.p, dec.len);
    if (out->id.len == 0 || out->id.len > CLIENT_ID_MAX)
        return rc_set(ri, RC_DENIED, "client_id", "missing or too long");
    out->method = AUTH_CLIENT_SECRET_BASIC;
    out->basic = true;
    return RC_OK;
}

enum rc
client_auth_parse(struct arena *a, const char *authorization, const struct form *f,
                  struct client_creds *out, struct rc_info *ri)
{
    const struct span *id = form_get(f, "client_id"), *secret = form_get(f, "client_secret");
    const struct span *atype = form_get(f, "client_assertion_type");
    const struct span *assertion = form_get(f, "client_assertion");
    int methods = 0;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    out->method = AUTH_NONE;
    if (authorization && strncasecmp(authorization, "Basic ", 6) == 0) {
        if ((rc = parse_basic(a, authorization, out, ri)) != RC_OK)
            return rc;
        methods++;
    }
    if (secret)
        methods++;
    if (atype || assertion)
        methods++;
    if (methods > 1) /* RFC 6749 §2.3: MUST NOT use more than one method */
        return rc_set(ri, RC_MALFORMED, "client authentication", "more than one method used");
    if (id && (id->len == 0 || id->len > CLIENT_ID_MAX))
        return rc_set(ri, RC_DENIED, "client_id", "empty or too long");
    if (out->basic) {
        if (id && !span_eq(*id, out->id))
            return rc_set(ri, RC_MALFORMED, "client_id", "differs from the Basic credentials");
        return RC_OK;
    }
    if (atype || assertion) {
        if (!atype || !span_eq_str(*atype, CLIENT_ASSERTION_TYPE))
            return rc_set(ri, RC_MALFORMED, "client_assertion_type", "not jwt-bearer");
        if (!assertion || assertion->len == 0)
            return rc_set(ri, RC_MALFORMED, "client_assertion", "missing");
        if (assertion->len > CLIENT_ASSERTION_MAX)
            return rc_set(ri, RC_DENIED, "client_assertion", "too long");
        out->method = AUTH_PRIVATE_KEY_JWT;
        out->assertion = *assertion;
        if (id)
            out->id = *id;
        return RC_OK;
    }
    if (!id)
        return rc_set(ri, RC_DENIED, "client_id", "no client authentication");
    out->id = *id;
    if (secret) {
        out->method = AUTH_CLIENT_SECRET_POST;
        out->secret = *secret;
    }
    return RC_OK;
}

/* ---- secrets ---------------------------------------------------------------------------- */

static enum rc
check_secret(const struct policy_client *c, struct span secret, struct rc_info *ri)
{
    uint8_t md[32];
    unsigned n = 0;
    enum rc rc = RC_DENIED;

    if (!c->has_secret || secret.len == 0 || secret.len > CLIENT_SECRET_MAX)
        return rc_set(ri, RC_DENIED, "client_secret", "wrong secret");
    if (EVP_Digest(secret.p, secret.len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return RC_INTERNAL;
    if (CRYPTO_memcmp(md, c->secret_sha256, 32) == 0)
        rc = RC_OK;
    OPENSSL_cleanse(md, sizeof(md));
    return rc == RC_OK ? RC_OK : rc_set(ri, RC_DENIED, "client_secret", "wrong secret");
}

/* ---- private_key_jwt -------------------------------------------------------------------- */

/* Parsed client JWKS, keyed by client id and the JWKS text itself, so a policy reload that
 * changes a client's keys misses and one that does not keeps the parsed set. State of
 * struct app (app->client_keys). */
#define JWKS_CACHE_SLOTS 64

struct client_keys {
    pthread_mutex_t mu;
    struct {
        char *client_id, *jwks;
        struct jose_keyset *ks;
    } slot[JWKS_CACHE_SLOTS];
    size_t next;
};

static void
slot_clear(struct client_keys *k, size_t i)
{
    free(k->slot[i].client_id);
    free(k->slot[i].jwks);
    jose_keyset_release(k->slot[i].ks);
    memset(&k->slot[i], 0, sizeof(k->slot[i]));
}

enum rc
client_auth_keys_new(struct client_keys **out)
{
    if (!(*out = calloc(1, sizeof(**out))))
        return RC_NOMEM;
    pthread_mutex_init(&(*out)->mu, NULL);
    return RC_OK;
}

void
client_auth_keys_free(struct client_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < JWKS_CACHE_SLOTS; i++)
        slot_clear(k, i);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* The client's parsed JWKS, retained for the caller; kept in k (NULL: parsed every time).
 * RC_DENIED if it does not parse. */
static enum rc
client_keys(struct client_keys *k, const struct policy_client *c, struct jose_keyset **out,
            struct rc_info *ri)
{
    struct jose_keyset *ks = NULL;
    enum rc rc;
    size_t i;

    if (k) {
        pthread_mutex_lock(&k->mu);
        for (i = 0; i < JWKS_CACHE_SLOTS; i++)
            if (k->slot[i].ks && strcmp(k->slot[i].client_id, c->id) == 0
                && strcmp(k->slot[i].jwks, c->jwks) == 0) {
                *out = jose_keyset_retain(k->slot[i].ks);
                pthread_mutex_unlock(&k->mu);
                return RC_OK;
            }
        pthread_mutex_unlock(&k->mu);
    }
    if ((rc = jose_keyset_parse_jwks(span_str(c->jwks), &ks, NULL)) != RC_OK)
        return rc == RC_NOMEM ? rc : rc_set(ri, RC_DENIED, "jwks", "the client's JWKS is unusable");
    if (k) {
        pthread_mutex_lock(&k->mu);
        i = k->next++ % JWKS_CACHE_SLOTS;
        slot_clear(k, i);
        k->slot[i].client_id = strdup(c->id);
        k->slot[i].jwks = strdup(c->jwks);
        if (k->slot[i].client_id && k->slot[i].jwks)
            k->slot[i].ks = jose_keyset_retain(ks);
        else
            slot_clear(k, i);
        pthread_mutex_unlock(&k->mu);
    }
    *out = ks;
    return RC_OK;
}

/* The unverified `sub` of an assertion, to find whose keys to verify it with. */
static enum rc
assertion_sub(struct arena *a, struct span jwt, struct span *sub)
{
    const uint8_t *d1 = memchr(jwt.p, '.', jwt.len), *d2;
    struct span payload;
    json_t *o;
    const char *s;
    enum rc rc = RC_DENIED;

    if (!d1 || !(d2 = memchr(d1 + 1, '.', jwt.len - (size_t)(d1 + 1 - jwt.p))))
        return RC_DENIED;
    if (jose_b64url_decode(span_of(d1 + 1, (size_t)(d2 - d1 - 1)), a, &payload) != RC_OK)
        return RC_DENIED;
    if (!(o = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL)))
        return RC_DENIED;
    s = json_string_value(json_object_get(o, "sub"));
    if (s && *s && strlen(s) <= CLIENT_ID_MAX
        && strlen(s) == json_string_length(json_object_get(o, "sub"))
        && (s = arena_strndup(a, s, strlen(s)))) {
        *sub = span_str(s);
        rc = RC_OK;
    }
    json_decref(o);
    return rc;
}

/* aud is a string or an array; one of its values must name us (RFC 7523 §3 item 3). */
static bool
aud_ok(json_t *aud, const char *const *ours, size_t n)
{
    size_t i, k;
    json_t *v;

    if (json_is_string(aud)) {
        for (k = 0; k < n; k++)
            if (ours[k] && jsonget_str_is(aud, ours[k]))
                return true;
        return false;
    }
    if (!json_is_array(aud))
        return false;
    json_array_foreach(aud, i, v) if (json_is_string(v) && aud_ok(v, ours, n)) return true;
    return false;
}

/* Checks iss = sub = client id, aud, exp (required, at most 5 minutes ahead) and jti; then
 * records the jti until the assertion expires (STORE_NX: a second use is RC_DENIED). */
static enum rc
assertion_claims(struct app *app, struct arena *a, const struct policy_client *c,
                 struct span payload, const char *endpoint_url, int64_t now, uint32_t leeway,
                 struct rc_info *ri)
{
    const char *cfg_iss = app->cfg ? app->cfg->issuer : "";
    const char *tok = cfg_iss ? arena_printf(a, "%s/token", cfg_iss) : NULL;
    const char *ours[3] = {cfg_iss, tok, endpoint_url};
    json_t *o = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL);
    const char *jti;
    json_int_t exp;
    struct span parts[2], key;
    char h[65];
    enum rc rc = RC_DENIED;

    if (!o)
        return rc_set(ri, RC_DENIED, "client_assertion",
                      "payload is not a JSON object with unique members");
    jti = json_string_value(json_object_get(o, "jti"));
    exp = json_integer_value(json_object_get(o, "exp"));
    if (!jsonget_str_is(json_object_get(o, "iss"), c->id) || !jsonget_str_is(json_object_get(o, "sub"), c->id))
        rc_set(ri, RC_DENIED, "client_assertion", "iss and sub must be the client id");
    else if (!aud_ok(json_object_get(o, "aud"), ours, 3))
        rc_set(ri, RC_DENIED, "client_assertion", "aud does not name this server");
    else if (!json_is_integer(json_object_get(o, "exp")))
        rc_set(ri, RC_DENIED, "client_assertion", "exp missing");
    else if (exp > now + CLIENT_ASSERTION_MAX_AGE + (json_int_t)leeway)
        rc_set(ri, RC_DENIED, "client_assertion", "exp too far ahead");
    else if (!jti || !*jti || strlen(jti) > 256
             || strlen(jti) != json_string_length(json_object_get(o, "jti")))
        rc_set(ri, RC_DENIED, "client_assertion", "jti missing or too long");
    else
        rc = RC_OK;
    if (rc != RC_OK)
        goto out;
    parts[0] = span_str(c->id), parts[1] = span_str(jti);
    if ((rc = secrets_hmac_hex(app->secrets, SECRET_TOKEN, parts, 2, h)) != RC_OK)
        goto out;
    if (!(key = store_key(a, "cjti", span_str(h), NULL)).p) {
        rc = RC_NOMEM;
        goto out;
    }
    rc = store_put(app->store, key, SPAN("1"), (uint32_t)(exp - now + (json_int_t)leeway + 1),
                   STORE_NX);
    if (rc == RC_CONFLICT)
        rc = rc_set(ri, RC_DENIED, "client_assertion", "jti already used");
out:
    json_decref(o);
    return rc;
}

static enum rc
check_assertion(struct app *app, struct arena *a, const struct policy *p,
                const struct policy_client *c, struct span jwt, const char *endpoint_url,
                struct rc_info *ri)
{
    static const struct jose_verify_opts vo = {JOSE_ALGS_CLIENT_ASSERTION, NULL};
    struct jose_keyset *ks = NULL;
    struct span payload;
    int64_t now = clock_now(app->clock);
    struct jose_claims_opts co = {.now = now, .leeway = p->tokens.clock_leeway_s};
    enum rc rc;

    if ((rc = client_keys(app->client_keys, c, &ks, ri)) != RC_OK)
        return rc;
    if ((rc = jose_verify(ks, &vo, jwt, a, &payload, NULL, NULL)) != RC_OK) {
        rc = rc == RC_NOMEM ? rc : rc_set(ri, RC_DENIED, "client_assertion", "bad signature");
        goto out;
    }
    if ((rc = jose_claims_check(payload, &co, NULL)) != RC_OK) {
        rc = rc_set(ri, RC_DENIED, "client_assertion",
                    rc == RC_EXPIRED ? "expired" : "invalid claims");
        goto out;
    }
    rc = assertion_claims(app, a, c, payload, endpoint_url, now, p->tokens.clock_leeway_s, ri);
out:
    jose_keyset_release(ks);
    return rc;
}

struct span
client_auth_claimed_id(struct arena *a, const struct client_creds *cr)
{
    struct span id = cr->id;

    if (cr->method == AUTH_PRIVATE_KEY_JWT && id.len == 0
        && assertion_sub(a, cr->assertion, &id) != RC_OK)
        return (struct span){NULL, 0};
    return id;
}

enum rc
client_auth_verify(struct app *app, struct arena *a, const struct policy *p,
                   const struct client_creds *cr, const char *endpoint_url,
                   const struct policy_client **out, struct rc_info *ri)
{
    const struct policy_client *c;
    struct span id = client_auth_claimed_id(a, cr);
    enum rc rc;

    if (cr->method == AUTH_PRIVATE_KEY_JWT && id.len == 0)
        return rc_set(ri, RC_DENIED, "client_assertion", "no client identified");
    if (!(c = client_resolve(app, p, id)))
        return rc_set(ri, RC_DENIED, "client_id", "unknown client");
    if (c->auth == AUTH_TLS_CLIENT_AUTH && cr->method == AUTH_NONE) {
        /* RFC 8705 §2.1: the TLS handshake authenticated the certificate; its kiosk must be
         * enrolled for this client (§2.1.2: the binding is the kiosk's, not a subject DN) */
        if (!cr->cert)
            return rc_fail(ri, RC_DENIED, RC_WHY_KIOSK_CERT, "client certificate",
                           "tls_client_auth needs a verified client certificate");
        if (!kiosk_allows_client(cr->cert->rec, c->id))
            return rc_fail(ri, RC_DENIED, RC_WHY_KIOSK_CERT, "client certificate",
                           "the kiosk is not enrolled for this client");
        *out = c;
        return RC_OK;
    }
    if (c->auth != cr->method)
        return rc_set(ri, RC_DENIED, "client authentication", "not the client's registered method");
    switch (cr->method) {
    case AUTH_CLIENT_SECRET_BASIC:
    case AUTH_CLIENT_SECRET_POST:
        rc = check_secret(c, cr->secret, ri);
        break;
    case AUTH_PRIVATE_KEY_JWT:
        rc = check_assertion(app, a, p, c, cr->assertion, endpoint_url, ri);
        break;
    case AUTH_NONE:
        rc = c->type == CLIENT_PUBLIC
                 ? RC_OK
                 : rc_set(ri, RC_DENIED, "client_id", "client must authenticate");
        break;
    default:
        rc = RC_DENIED;
    }
    if (rc == RC_OK)
        *out = c;
    return rc;
}
