#include "flow/grant.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonget.h"
#include "core/jsonout.h"
#include "flow/atrest.h"
#include "port/secrets.h"
#include "port/store.h"

/* base64url (RFC 4648 §5, no padding) of raw[0..n) into out (outlen >= 4*n/3 + 2). */
static enum rc
b64url(const uint8_t *raw, size_t n, char *out, size_t outlen)
{
    char enc[90];
    int len;

    if (n > 64 || outlen < (n * 4 + 2) / 3 + 1)
        return RC_INTERNAL;
    len = EVP_EncodeBlock((unsigned char *)enc, raw, (int)n);
    for (int i = 0; i < len; i++) {
        if (enc[i] == '+')
            enc[i] = '-';
        else if (enc[i] == '/')
            enc[i] = '_';
        else if (enc[i] == '=') {
            len = i;
            break;
        }
    }
    memcpy(out, enc, (size_t)len);
    out[len] = 0;
    OPENSSL_cleanse(enc, sizeof(enc));
    return RC_OK;
}

enum rc
grant_random_token(struct app *app, size_t n, char *out, size_t outlen)
{
    uint8_t raw[64];
    enum rc rc;

    if (n > sizeof(raw) || outlen < (n * 4 + 2) / 3 + 1)
        return RC_INTERNAL;
    if ((rc = rng_bytes(app->rng, raw, n)) == RC_OK)
        rc = b64url(raw, n, out, outlen);
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

/* The key of the codes (see grant.h): HMAC-SHA-256 under the master secret's SECRET_SEAL key
 * of the label and the key id (a PRF as KDF, NIST SP 800-108; one HMAC, where an HKDF on top
 * would cost an OpenSSL KDF fetch on every code). Wipe it. */
static enum rc
code_key(struct app *app, uint8_t key[SEAL_KEY_LEN])
{
    struct span parts[2] = {SPAN(GRANT_CODE_LABEL), SPAN(GRANT_CODE_KID)};

    return secrets_hmac(app->secrets, SECRET_SEAL, parts, 2, key);
}

static void
set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

struct span
grant_to_json(struct arena *a, const struct grant *g)
{
    json_t *o = json_object();
    char acr[LOA_ACR_MAX], *s, *copy = NULL;

    if (!o)
        return (struct span){NULL, 0};
    loa_format(g->loa, acr);
    set_str(o, "client_id", g->client_id);
    set_str(o, "redirect_uri", g->redirect_uri);
    set_str(o, "scope", g->scope);
    set_str(o, "nonce", g->nonce);
    set_str(o, "code_challenge", g->code_challenge);
    set_str(o, "acct", g->account_id);
    set_str(o, "sid", g->sid);
    set_str(o, "st", g->sess_tag);
    if (g->sess_created)
        json_object_set_new(o, "sc", json_integer(g->sess_created));
    set_str(o, "amr", g->amr);
    set_str(o, "claims", g->claims);
    set_str(o, "dpop_jkt", g->dpop_jkt);
    set_str(o, "acr", acr);
    json_object_set_new(o, "auth_time", json_integer(g->auth_time));
    json_object_set_new(o, "iat", json_integer(g->issued_at));
    json_object_set_new(o, "exp", json_integer(g->expires_at));
    s = jsonout_compact(o);
    json_decref(o);
    if (s) {
        copy = arena_strndup(a, s, strlen(s));
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
    return copy ? span_str(copy) : (struct span){NULL, 0};
}

enum rc
grant_from_json(struct arena *a, struct span js, struct grant *out)
{
    json_t *o = json_loadb((const char *)js.p, js.len, JSON_REJECT_DUPLICATES, NULL);
    const char *acr;
    enum rc rc = RC_MALFORMED;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(o))
        goto out;
    out->client_id = jsonget_str(a, o, "client_id");
    out->redirect_uri = jsonget_str(a, o, "redirect_uri");
    out->scope = jsonget_str(a, o, "scope");
    out->nonce = jsonget_str(a, o, "nonce");
    out->code_challenge = jsonget_str(a, o, "code_challenge");
    out->account_id = jsonget_str(a, o, "acct");
    out->sid = jsonget_str(a, o, "sid");
    out->sess_tag = jsonget_str(a, o, "st");
    out->sess_created = json_integer_value(json_object_get(o, "sc"));
    out->amr = jsonget_str(a, o, "amr");
    out->claims = jsonget_str(a, o, "claims");
    out->dpop_jkt = jsonget_str(a, o, "dpop_jkt");
    out->auth_time = json_integer_value(json_object_get(o, "auth_time"));
    out->issued_at = json_integer_value(json_object_get(o, "iat"));
    out->expires_at = json_integer_value(json_object_get(o, "exp"));
    acr = jsonget_str(a, o, "acr");
    if (!out->client_id || !out->scope || !out->account_id || !acr
        || loa_parse(span_str(acr), &out->loa) != RC_OK)
        goto out;
    rc = RC_OK;
out:
    json_decref(o);
    return rc;
}

enum rc
grant_code_seal(struct app *app, struct arena *a, const struct grant *g, uint32_t ttl_s,
                struct span *code)
{
    struct grant t = *g;
    uint8_t key[SEAL_KEY_LEN], nonce[SEAL_NONCE_LEN];
    struct span js;
    enum rc rc;

    t.expires_at = g->issued_at + ttl_s;
    if (!(js = grant_to_json(a, &t)).p)
        return RC_NOMEM;
    if ((rc = rng_bytes(app->rng, nonce, sizeof(nonce))) == RC_OK
        && (rc = code_key(app, key)) == RC_OK)
        rc = seal_seal_with(a, atrest_cipher(app), key, SPAN(GRANT_CODE_KID), nonce,
                            SPAN(GRANT_CODE_LABEL), js, code);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse((void *)js.p, js.len);
    return rc;
}

enum rc
grant_code_open(struct app *app, struct arena *a, struct span code, int64_t now,
                struct grant *out)
{
    uint8_t key[SEAL_KEY_LEN];
    struct span plain = {NULL, 0};
    enum rc rc;

    if (code.len == 0 || code.len > GRANT_CODE_MAX)
        return RC_NOT_FOUND;
    if ((rc = code_key(app, key)) == RC_OK)
        rc = seal_open(a, key, SPAN(GRANT_CODE_KID), SPAN(GRANT_CODE_LABEL), code, &plain);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == RC_OK) {
        rc = grant_from_json(a, plain, out);
        OPENSSL_cleanse((void *)plain.p, plain.len);
        if (rc == RC_OK && out->expires_at <= now)
            rc = RC_NOT_FOUND;
    }
    if (rc == RC_MALFORMED || rc == RC_DENIED || rc == RC_TOO_LARGE)
        rc = RC_NOT_FOUND;
    return rc;
}

enum rc
grant_code_family(struct app *app, struct span code, char id[GRANT_FAMILY_LEN + 1])
{
    struct span parts[2] = {SPAN("code family"), code};
    uint8_t h[32];
    enum rc rc = secrets_hmac(app->secrets, SECRET_TOKEN, parts, 2, h);

    if (rc == RC_OK)
        rc = b64url(h, 16, id, GRANT_FAMILY_LEN + 1);
    OPENSSL_cleanse(h, sizeof(h));
    return rc;
}
