#include "flow/grant.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonget.h"
#include "core/jsonout.h"
#include "port/secrets.h"
#include "port/store.h"

enum rc
grant_random_token(struct app *app, size_t n, char *out, size_t outlen)
{
    uint8_t raw[64];
    char enc[90];
    int len;
    enum rc rc;

    if (n > sizeof(raw) || outlen < (n * 4 + 2) / 3 + 1)
        return RC_INTERNAL;
    if ((rc = rng_bytes(app->rng, raw, n)) != RC_OK)
        return rc;
    len = EVP_EncodeBlock((unsigned char *)enc, raw, (int)n);
    OPENSSL_cleanse(raw, sizeof(raw));
    /* base64 to base64url without padding (RFC 4648 §5) */
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

/* What a redeemed code's key holds instead of its grant: this prefix and the family id. */
#define USED_PREFIX "used:"

static struct span
code_key(struct app *app, struct arena *a, struct span code, const char *suffix)
{
    char h[65];

    if (secrets_hmac_hex(app->secrets, SECRET_TOKEN, &code, 1, h) != RC_OK)
        return (struct span){NULL, 0};
    return store_key(a, "code", span_str(h), suffix);
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
    set_str(o, "amr", g->amr);
    set_str(o, "claims", g->claims);
    set_str(o, "dpop_jkt", g->dpop_jkt);
    set_str(o, "acr", acr);
    json_object_set_new(o, "auth_time", json_integer(g->auth_time));
    json_object_set_new(o, "iat", json_integer(g->issued_at));
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
    out->amr = jsonget_str(a, o, "amr");
    out->claims = jsonget_str(a, o, "claims");
    out->dpop_jkt = jsonget_str(a, o, "dpop_jkt");
    out->auth_time = json_integer_value(json_object_get(o, "auth_time"));
    out->issued_at = json_integer_value(json_object_get(o, "iat"));
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
grant_code_op(struct app *app, struct arena *a, const struct grant *g, uint32_t ttl_s,
              char code[GRANT_CODE_LEN + 1], struct store_op *op)
{
    struct span js = grant_to_json(a, g), key;
    enum rc rc;

    if (!js.p)
        return RC_NOMEM;
    if ((rc = grant_random_token(app, 32, code, GRANT_CODE_LEN + 1)) != RC_OK)
        return rc;
    key = code_key(app, a, span_str(code), NULL);
    if (!key.p) {
        OPENSSL_cleanse(code, GRANT_CODE_LEN + 1);
        return RC_NOMEM;
    }
    *op = (struct store_op){
        .kind = STORE_OP_PUT, .key = key, .value = js, .ttl_s = ttl_s, .flags = STORE_NX};
    return RC_OK;
}

enum rc
grant_code_issue(struct app *app, struct arena *a, const struct grant *g, uint32_t ttl_s,
                 char code[GRANT_CODE_LEN + 1])
{
    struct store_op op;
    enum rc rc = grant_code_op(app, a, g, ttl_s, code, &op);

    if (rc == RC_OK)
        rc = store_put(app->store, op.key, op.value, op.ttl_s, op.flags);
    return rc;
}

enum rc
grant_code_redeem(struct app *app, struct arena *a, struct span code, struct span family,
                  uint32_t used_ttl_s, struct grant *out, struct span *used_by)
{
    struct span key, old, marker;
    char *m;
    enum rc rc;

    if (code.len != GRANT_CODE_LEN)
        return RC_NOT_FOUND;
    if (!(key = code_key(app, a, code, NULL)).p
        || !(m = arena_printf(a, "%s%.*s", USED_PREFIX, (int)family.len, (const char *)family.p)))
        return RC_NOMEM;
    marker = span_str(m);
    if ((rc = store_swap(app->store, a, key, marker, used_ttl_s, &old)) != RC_OK)
        return rc == RC_CONFLICT ? RC_MALFORMED : rc;
    if (old.len >= strlen(USED_PREFIX) && memcmp(old.p, USED_PREFIX, strlen(USED_PREFIX)) == 0) {
        *used_by = span_of(old.p + strlen(USED_PREFIX), old.len - strlen(USED_PREFIX));
        return RC_CONFLICT;
    }
    return grant_from_json(a, old, out);
}
