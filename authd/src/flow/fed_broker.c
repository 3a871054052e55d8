/* Brokered login: see fed_broker.h and docs/federation.md. */
#include "flow/fed_broker.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "core/form.h"
#include "core/jose.h"
#include "core/jsonget.h"
#include "core/loa.h"
#include "core/region.h"
#include "core/uagent.h"
#include "flow/account.h"
#include "flow/authorize_int.h"
#include "flow/bclogout.h"
#include "flow/fed.h"
#include "flow/grant.h"
#include "flow/logout.h"
#include "flow/session.h"
#include "log/log.h"
#include "port/clock.h"
#include "port/outbound.h"
#include "port/store.h"

#define FED_BROKER_BODY  (64 * 1024) /* bytes of an answer of A (token, PAR, JWKS, list) */
#define FED_BROKER_SCOPE "openid profile id_number" /* what B asks of A */

static enum rc
fail(struct rc_info *ri, enum rc rc, enum rc_reason why, const char *field, const char *msg)
{
    return rc_fail(ri, rc, why, field, msg);
}

/* base64url SHA-256 of the parts joined by "\n", in a. */
static enum rc
hash_of(struct arena *a, const char *x, const char *y, struct span *out)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) && EVP_DigestUpdate(c, x, strlen(x))
             && EVP_DigestUpdate(c, "\n", 1) && EVP_DigestUpdate(c, y, strlen(y))
             && EVP_DigestFinal_ex(c, md, &mdlen);

    EVP_MD_CTX_free(c);
    if (!ok)
        return RC_INTERNAL;
    return jose_b64url_encode(span_of(md, mdlen), a, out);
}

/* One exchange with another province; the body as parsed JSON when json (2xx only). */
static enum rc
call(struct app *app, struct arena *a, const char *url, struct span body, json_t **out,
     struct span *raw, struct rc_info *ri)
{
    struct outbound_req req = {.url = url,
                               .body = body,
                               .content_type = body.p ? "application/x-www-form-urlencoded" : NULL,
                               .accept = "application/json"};
    uint8_t *buf = arena_alloc(a, FED_BROKER_BODY + 1);
    struct outbound_resp resp = {.buf = buf, .cap = FED_BROKER_BODY};
    enum rc rc;

    if (!buf)
        return RC_NOMEM;
    if ((rc = outbound_send(app->fed->out, &req, &resp)) != RC_OK)
        return fail(ri, RC_UNAVAILABLE, RC_WHY_FED_UNREACHABLE, "province", "cannot be reached");
    buf[resp.len] = 0;
    if (raw)
        *raw = span_of(buf, resp.len);
    if (resp.status >= 500)
        return fail(ri, RC_UNAVAILABLE, RC_WHY_FED_UNREACHABLE, "province", "answered an error");
    if (out && !(*out = json_loadb((const char *)buf, resp.len, 0, NULL)))
        return fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "province", "answer is not JSON");
    if (resp.status / 100 != 2) {
        if (out)
            json_decref(*out), *out = NULL;
        return fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "province", "refused the request");
    }
    return RC_OK;
}

static const struct fed_anchor *
first_anchor(struct app *app)
{
    return app->fed && app->fed->nanchors ? &app->fed->anchors[0] : NULL;
}

static bool
broker_on(struct app *app)
{
    return app->fed && app->cfg->federation_broker && first_anchor(app);
}

json_t *
fed_broker_rp_metadata(struct app *app, json_t *jwks)
{
    const char *id = app->cfg->federation_entity_id;
    char *cb = NULL, *bc = NULL;
    json_t *o = NULL;

    if (asprintf(&cb, "%s/federation/callback", id) >= 0
        && asprintf(&bc, "%s/federation/backchannel_logout", id) >= 0)
        o = json_pack("{s:[s], s:[s], s:[s], s:[s], s:s, s:s, s:s, s:b, s:s, s:s, s:O}",
                      "client_registration_types", "automatic", "redirect_uris", cb, "grant_types",
                      "authorization_code", "response_types", "code", "token_endpoint_auth_method",
                      "private_key_jwt", "scope", FED_BROKER_SCOPE, "backchannel_logout_uri", bc,
                      "backchannel_logout_session_required", 1, "client_name", id,
                      "id_token_signed_response_alg", "ES256", "jwks", jwks);
    free(cb);
    free(bc);
    json_decref(jwks);
    return o;
}

/* A's chain, resolved to our first anchor (cached by fed_resolve). */
static enum rc
resolve_op(struct app *app, struct arena *a, const char *op, struct fed_resolved *res,
           const json_t **md, struct rc_info *ri)
{
    enum rc rc = fed_resolve(app, op, first_anchor(app)->id, a, res, ri);

    if (rc != RC_OK)
        return rc;
    *md = json_object_get(res->metadata, "openid_provider");
    if (!json_is_object(*md))
        return fail(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "metadata", "not an identity provider");
    return RC_OK;
}

/* The province name of a 2-digit region code, or NULL. */
static const char *
region_name(const char *code)
{
    if (strlen(code) != 2 || code[0] < '0' || code[0] > '9' || code[1] < '0' || code[1] > '9')
        return NULL;
    return region_province_name((uint32_t)((code[0] - '0') * 10 + (code[1] - '0')));
}

enum rc
fed_broker_provinces(struct app *app, struct arena *a, struct fed_province **out, size_t *n,
                     struct rc_info *ri)
{
    const struct fed_anchor *an = first_anchor(app);
    const char *url;
    json_t *list = NULL, *e;
    size_t i;
    enum rc rc;

    *out = NULL, *n = 0;
    if (!broker_on(app))
        return rc_set(ri, RC_NOT_FOUND, "federation", "not a broker");
    url = arena_printf(a, "%s/federation/list", an->id);
    if ((rc = call(app, a, url, (struct span){0}, &list, NULL, ri)) != RC_OK)
        return rc;
    if (!json_is_array(list) || !(*out = arena_alloc(a, FED_BROKER_PROVINCES * sizeof(**out)))) {
        json_decref(list);
        return fail(ri, RC_UNAVAILABLE, RC_WHY_FED_UNREACHABLE, "list", "unusable");
    }
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(e);
        struct fed_resolved res = {0};
        struct rc_info ignored = {0};
        const json_t *fe;

        if (!id || *n >= FED_BROKER_PROVINCES || strcmp(id, app->cfg->federation_entity_id) == 0)
            continue;
        /* one that does not resolve now is listed by its entity id: choosing it gives the
         * reason (unreachable, refused) on the page */
        fe = fed_resolve(app, id, an->id, a, &res, &ignored) == RC_OK
                 ? json_object_get(res.metadata, "federation_entity")
                 : NULL;
        (*out)[*n].entity_id = arena_printf(a, "%s", id);
        (*out)[*n].region = jsonget_str(a, fe, "region_code");
        if (!(*out)[*n].region)
            (*out)[*n].region = "";
        (*out)[*n].name = region_name((*out)[*n].region);
        if (!(*out)[*n].name)
            (*out)[*n].name = (*out)[*n].entity_id;
        (*n)++;
        fed_resolved_clear(&res);
    }
    json_decref(list);
    return RC_OK;
}

/* A client assertion (RFC 7523 §3) by us for aud, signed with our federation key. */
static enum rc
assertion(struct app *app, struct arena *a, const char *aud, struct span *out, struct rc_info *ri)
{
    const char *id = app->cfg->federation_entity_id;
    int64_t now = clock_now(app->clock);
    char jti[48];
    enum rc rc;

    if ((rc = grant_random_token(app, 24, jti, sizeof(jti))) != RC_OK)
        return rc;
    return fed_sign(app,
                    json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", id, "sub", id, "aud", aud,
                              "jti", jti, "iat", (json_int_t)now, "exp", (json_int_t)(now + 60)),
                    NULL, a, out, ri);
}

/* The client-authentication members of a form to A (private_key_jwt). */
static enum rc
append_auth(struct app *app, struct arena *a, struct buf *b, const char *aud, struct rc_info *ri)
{
    struct span jwt;
    enum rc rc = assertion(app, a, aud, &jwt, ri);

    if (rc == RC_OK)
        rc = form_append(b, "client_id", span_str(app->cfg->federation_entity_id));
    if (rc == RC_OK)
        rc = form_append(b, "client_assertion_type",
                         span_str("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
    if (rc == RC_OK)
        rc = form_append(b, "client_assertion", jwt);
    return rc;
}

static const char *
callback_uri(struct app *app, struct arena *a)
{
    return arena_printf(a, "%s/federation/callback", app->cfg->federation_entity_id);
}

static struct span
state_key(struct arena *a, struct span state)
{
    return store_key(a, "fedlogin", state, NULL);
}

/* S256 of verifier (RFC 7636 §4.2). */
static enum rc
pkce_s256(struct arena *a, const char *verifier, struct span *out)
{
    unsigned char md[32];
    unsigned int n = 0;

    if (!EVP_Digest(verifier, strlen(verifier), md, &n, EVP_sha256(), NULL))
        return RC_INTERNAL;
    return jose_b64url_encode(span_of(md, n), a, out);
}

static enum rc
push(struct app *app, struct arena *a, const json_t *md, const char *state, const char *nonce,
     const char *verifier, const char **request_uri, struct rc_info *ri)
{
    const char *par =
        json_string_value(json_object_get(md, "pushed_authorization_request_endpoint"));
    const char *iss = json_string_value(json_object_get(md, "issuer"));
    struct span chal;
    struct buf b;
    json_t *ans = NULL;
    enum rc rc;

    if (!par || !iss)
        return fail(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "metadata", "no PAR endpoint or issuer");
    if ((rc = pkce_s256(a, verifier, &chal)) != RC_OK)
        return rc;
    buf_init(&b, 16384);
    rc = form_append(&b, "response_type", span_str("code"));
    if (rc == RC_OK)
        rc = form_append(&b, "redirect_uri", span_str(callback_uri(app, a)));
    if (rc == RC_OK)
        rc = form_append(&b, "scope", span_str(FED_BROKER_SCOPE));
    if (rc == RC_OK)
        rc = form_append(&b, "state", span_str(state));
    if (rc == RC_OK)
        rc = form_append(&b, "nonce", span_str(nonce));
    if (rc == RC_OK)
        rc = form_append(&b, "code_challenge", chal);
    if (rc == RC_OK)
        rc = form_append(&b, "code_challenge_method", span_str("S256"));
    if (rc == RC_OK)
        rc = append_auth(app, a, &b, iss, ri);
    if (rc == RC_OK)
        rc = call(app, a, par, span_of(b.p, b.len), &ans, NULL, ri);
    buf_clear(&b);
    if (rc == RC_OK && !(*request_uri = jsonget_str(a, ans, "request_uri")))
        rc = fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "request_uri", "missing in the answer");
    json_decref(ans);
    return rc;
}

enum rc
fed_broker_start(struct app *app, struct arena *a, struct span pending, const char *op,
                 struct span bind, const char **location, struct rc_info *ri)
{
    struct fed_resolved res = {0};
    const json_t *md;
    struct authz_req r;
    char state[48], nonce[48], verifier[48];
    const char *ruri, *authz;
    struct span bh, key;
    struct buf q;
    json_t *rec;
    char *s;
    enum rc rc;

    if (!broker_on(app))
        return rc_set(ri, RC_NOT_FOUND, "federation", "not a broker");
    if (authz_pending_load(app, a, pending, &r) != RC_OK)
        return fail(ri, RC_NOT_FOUND, RC_WHY_PENDING, "authz", "unknown or expired");
    if ((rc = resolve_op(app, a, op, &res, &md, ri)) != RC_OK)
        goto out;
    authz = json_string_value(json_object_get(md, "authorization_endpoint"));
    if (!authz) {
        rc = fail(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "metadata", "no authorization endpoint");
        goto out;
    }
    if ((rc = grant_random_token(app, 32, state, sizeof(state))) != RC_OK
        || (rc = grant_random_token(app, 32, nonce, sizeof(nonce))) != RC_OK
        || (rc = grant_random_token(app, 32, verifier, sizeof(verifier))) != RC_OK)
        goto out;
    if ((rc = push(app, a, md, state, nonce, verifier, &ruri, ri)) != RC_OK)
        goto out;
    if (!bind.len || (rc = hash_of(a, "bind", arena_span_dup(a, bind), &bh)) != RC_OK) {
        rc = fail(ri, RC_DENIED, RC_WHY_CSRF, "bind", "no browser binding");
        goto out;
    }
    rec = json_pack("{s:s%, s:s, s:s, s:s, s:s}", "p", (const char *)pending.p, pending.len, "op",
                    op, "v", verifier, "n", nonce, "b", (const char *)bh.p);
    s = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    key = state_key(a, span_str(state));
    rc = s && key.p ? store_put(app->store, key, span_str(s), FED_BROKER_TTL, STORE_NX) : RC_NOMEM;
    free(s);
    if (rc != RC_OK) {
        rc = rc == RC_NOMEM ? rc : RC_UNAVAILABLE;
        goto out;
    }
    buf_init(&q, 4096);
    buf_append_str(&q, authz);
    buf_append_str(&q, strchr(authz, '?') ? "&" : "?");
    form_append(&q, "client_id", span_str(app->cfg->federation_entity_id));
    form_append(&q, "request_uri", span_str(ruri));
    *location = arena_strndup(a, q.p ? (const char *)q.p : "", q.len);
    buf_clear(&q);
    rc = *location ? RC_OK : RC_NOMEM;
out:
    OPENSSL_cleanse(verifier, sizeof(verifier));
    fed_resolved_clear(&res);
    return rc;
}

/* authd:fedjwks:{HASH} (fed_broker.h): HASH of "jwks" "\n" A's jwks_uri. */
static struct span
jwks_key(struct arena *a, const char *uri)
{
    struct span h;

    return hash_of(a, "jwks", uri, &h) == RC_OK ? store_key(a, "fedjwks", h, NULL)
                                                : (struct span){NULL, 0};
}

/* A's keys: the metadata's jwks, else its jwks_uri: from the store unless fresh is set or
 * none is kept, else fetched and kept until exp (A's chain's; at most
 * federation_cache_max_s). *fetched: the keys come from A just now (or inline). */
static enum rc
op_keys(struct app *app, struct arena *a, const json_t *md, int64_t exp, bool fresh,
        struct jose_keyset **ks, bool *fetched, struct rc_info *ri)
{
    const json_t *inline_jwks = json_object_get(md, "jwks");
    const char *uri = json_string_value(json_object_get(md, "jwks_uri"));
    int64_t ttl = exp - clock_now(app->clock);
    struct span raw, key;
    enum rc rc;
    char *s;

    *fetched = true;
    if (json_is_object(inline_jwks)) {
        if (!(s = json_dumps(inline_jwks, JSON_COMPACT)))
            return RC_NOMEM;
        rc = jose_keyset_parse_jwks(span_str(s), ks, ri);
        free(s);
        return rc == RC_OK ? rc : fail(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "jwks", "unusable");
    }
    if (!uri)
        return fail(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "metadata", "no jwks");
    if (!(key = jwks_key(a, uri)).p)
        return RC_NOMEM;
    if (!fresh && store_get(app->store, a, key, &raw) == RC_OK
        && jose_keyset_parse_jwks(raw, ks, NULL) == RC_OK) {
        *fetched = false;
        return RC_OK;
    }
    if ((rc = call(app, a, uri, (struct span){0}, NULL, &raw, ri)) != RC_OK)
        return rc;
    if (jose_keyset_parse_jwks(raw, ks, ri) != RC_OK)
        return fail(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "jwks", "unusable");
    if (ttl > (int64_t)app->cfg->federation_cache_max_s)
        ttl = app->cfg->federation_cache_max_s;
    if (ttl > 0) /* best effort: not kept, it is fetched again next time */
        store_put(app->store, key, raw, (uint32_t)ttl, 0);
    return RC_OK;
}

/* Verifies token (an ID or logout token of A) under vo with A's keys (op_keys); a kid the
 * kept JWKS does not have refetches it once (A rotated its keys: jose_verify's
 * RC_NOT_FOUND). RC_OK: *valid says whether the token verified, *payload in a when it did.
 * Else op_keys's failure, in ri. */
static enum rc
verify_by_op(struct app *app, struct arena *a, const json_t *md, int64_t exp,
             const struct jose_verify_opts *vo, struct span token, struct span *payload,
             bool *valid, struct rc_info *ri)
{
    struct jose_keyset *ks = NULL;
    bool fetched = false;
    enum rc rc = RC_DENIED;

    for (int round = 0; round < 2; round++) {
        enum rc krc = op_keys(app, a, md, exp, round == 1, &ks, &fetched, ri);
        if (krc != RC_OK)
            return krc;
        rc = jose_verify(ks, vo, token, a, payload, NULL, NULL);
        jose_keyset_release(ks), ks = NULL;
        if (rc != RC_NOT_FOUND || fetched)
            break;
        log_msg(LOG_INFO, "fed.broker", "jwks", "unknown kid: refetched");
    }
    *valid = rc == RC_OK;
    return RC_OK;
}

/* The highest ial of A's verified trust marks (their "ial" claim): the cap. */
static enum ial
mark_cap(struct arena *a, const json_t *marks)
{
    enum ial cap = IAL_NONE;
    size_t i;
    json_t *m;

    json_array_foreach(marks, i, m)
    {
        const char *tok = json_string_value(json_object_get(m, "trust_mark"));
        struct span payload;
        json_t *o;
        struct loa l;
        const char *ial;

        if (!tok || jose_payload_unverified(span_str(tok), a, &payload) != RC_OK)
            continue; /* verified by fed_resolve before it was kept */
        o = json_loadb((const char *)payload.p, payload.len, 0, NULL);
        ial = json_string_value(json_object_get(o, "ial"));
        if (ial && loa_parse(span_str(arena_printf(a, "urn:authd:acr:%s:aal1", ial)), &l) == RC_OK
            && l.ial > cap)
            cap = l.ial;
        json_decref(o);
    }
    return cap;
}

/* A's acr mapped to our levels: listed by the anchor's policy, never above the mark's cap. */
static enum rc
map_acr(struct arena *a, const struct fed_resolved *res, const json_t *md, const json_t *claims,
        struct loa *out, struct rc_info *ri)
{
    const char *acr = json_string_value(json_object_get(claims, "acr"));
    const json_t *listed = json_object_get(md, "acr_values_supported");
    bool found = !json_is_array(listed);
    size_t i;
    json_t *v;

    if (!acr || loa_parse(span_str(acr), out) != RC_OK)
        return fail(ri, RC_DENIED, RC_WHY_FED_ACR, "acr", "missing or not a federation level");
    json_array_foreach(listed, i, v) found = found || jsonget_str_is(v, acr);
    if (!found)
        return fail(ri, RC_DENIED, RC_WHY_FED_ACR, "acr", "not allowed by the anchor's policy");
    if (out->ial > mark_cap(a, res->trust_marks))
        return fail(ri, RC_DENIED, RC_WHY_FED_ACR, "acr", "above the province's trust mark");
    return RC_OK;
}

/* The code redeemed at A and its ID token checked; *claims owned by the caller. */
static enum rc
redeem(struct app *app, struct arena *a, const json_t *md, int64_t exp, struct span code,
       const char *verifier, const char *nonce, json_t **claims, struct rc_info *ri)
{
    const char *tok_ep = json_string_value(json_object_get(md, "token_endpoint"));
    const char *iss = json_string_value(json_object_get(md, "issuer"));
    static const struct jose_verify_opts vo = {JOSE_ALGS_ISSUED, NULL};
    struct jose_claims_opts co = {.now = clock_now(app->clock), .leeway = 60};
    json_t *ans = NULL;
    const char *idt;
    struct span payload;
    bool valid = false;
    struct buf b;
    enum rc rc;

    if (!tok_ep || !iss)
        return fail(ri, RC_DENIED, RC_WHY_FED_STATEMENT, "metadata", "no token endpoint");
    buf_init(&b, 16384);
    rc = form_append(&b, "grant_type", span_str("authorization_code"));
    if (rc == RC_OK)
        rc = form_append(&b, "code", code);
    if (rc == RC_OK)
        rc = form_append(&b, "redirect_uri", span_str(callback_uri(app, a)));
    if (rc == RC_OK)
        rc = form_append(&b, "code_verifier", span_str(verifier));
    if (rc == RC_OK)
        rc = append_auth(app, a, &b, iss, ri);
    if (rc == RC_OK)
        rc = call(app, a, tok_ep, span_of(b.p, b.len), &ans, NULL, ri);
    buf_clear(&b);
    if (rc != RC_OK)
        goto out;
    if (!(idt = jsonget_str(a, ans, "id_token"))) {
        rc = fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "id_token", "missing");
        goto out;
    }
    if ((rc = verify_by_op(app, a, md, exp, &vo, span_str(idt), &payload, &valid, ri)) != RC_OK)
        goto out;
    co.iss = iss, co.aud = app->cfg->federation_entity_id;
    if (!valid || jose_claims_check(payload, &co, NULL) != RC_OK
        || !(*claims = json_loadb((const char *)payload.p, payload.len, 0, NULL))) {
        rc = fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "id_token", "signature or claims");
        goto out;
    }
    if (!jsonget_str_is(json_object_get(*claims, "nonce"), nonce)
        || !json_is_string(json_object_get(*claims, "sub"))) {
        json_decref(*claims), *claims = NULL;
        rc = fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "id_token", "nonce or sub");
    }
out:
    json_decref(ans);
    return rc;
}

/* Links A's session (iss, sid) to ours, for A's back-channel logout. Best effort. */
static void
link_session(struct app *app, struct arena *a, const char *iss, const char *asid,
             const struct session *s)
{
    struct span h, key;
    struct policy *p = app_policy_get(app);
    uint32_t ttl = p ? p->tokens.session_ttl : 3600;

    app_policy_put(p);
    if (!asid || hash_of(a, iss, asid, &h) != RC_OK || !(key = store_key(a, "fedsid", h, NULL)).p)
        return;
    if (store_put(app->store, key, span_str(s->sid), ttl, 0) != RC_OK)
        log_msg(LOG_WARN, "fed.broker", "result", "session link not stored");
}

/* The state record of cb, taken once, if the same browser started it. */
static enum rc
take_state(struct app *app, struct arena *a, const struct fed_broker_cb *cb, json_t **rec,
           struct rc_info *ri)
{
    struct span v, bh, key;
    const char *want;

    if (!cb->state.len || cb->state.len > 64 || !span_is_b64url(cb->state))
        return fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "state", "missing or malformed");
    if (!(key = state_key(a, cb->state)).p)
        return RC_NOMEM;
    if (store_take(app->store, a, key, &v) != RC_OK)
        return fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "state", "unknown or used");
    if (!(*rec = json_loadb((const char *)v.p, v.len, 0, NULL)))
        return fail(ri, RC_INTERNAL, RC_WHY_FED_LOGIN, "state", "unreadable");
    want = json_string_value(json_object_get(*rec, "b"));
    if (!cb->bind.len || hash_of(a, "bind", arena_span_dup(a, cb->bind), &bh) != RC_OK || !want
        || strlen(want) != bh.len || CRYPTO_memcmp(want, bh.p, bh.len) != 0)
        return fail(ri, RC_DENIED, RC_WHY_CSRF, "state", "another browser");
    return RC_OK;
}

/* Our account of the citizen A vouched for: the one of the ID number A released (the
 * account id is the keyed hash of the ID number, account_id_of, so the citizen's sub at B
 * is the one a registration at B would give), created on the first brokered login with
 * A's name and a random password nobody knows (the citizen signs in here through A only,
 * or registers a password later; docs/federation.md). */
static enum rc
local_account(struct app *app, struct arena *a, const json_t *claims, struct account *out,
              struct rc_info *ri)
{
    const char *idn = jsonget_str(a, claims, "id_number");
    const char *name = jsonget_str(a, claims, "name");
    struct account_add_opts o = {.skip_popbase = true};
    struct register_req req;
    char id[ACCOUNT_ID_LEN + 1], pw[48];
    enum rc rc;

    if (!idn || !name || account_id_of(app, span_str(idn), id, NULL) != RC_OK)
        return fail(ri, RC_DENIED, RC_WHY_FED_LOGIN, "id_token", "no usable id_number or name");
    rc = account_get(app, a, id, out);
    if (rc != RC_NOT_FOUND)
        return rc == RC_OK && out->disabled
                   ? fail(ri, RC_DENIED, RC_WHY_DISABLED, "account", "disabled")
                   : rc;
    if ((rc = grant_random_token(app, 32, pw, sizeof(pw))) != RC_OK)
        return rc;
    req = (struct register_req){span_str(idn), span_str(name), span_str(""), span_str(pw)};
    rc = account_add(app, a, &req, &o, out, ri);
    OPENSSL_cleanse(pw, sizeof(pw));
    if (rc == RC_CONFLICT) /* a concurrent first login made it */
        rc = account_get(app, a, id, out);
    return rc;
}

static enum rc
open_session(struct app *app, struct arena *a, const struct fed_broker_cb *cb, const json_t *claims,
             struct loa loa, struct session *s, const char **set_cookie, struct rc_info *ri)
{
    struct session cur;
    struct account acct;
    char cookie[SESSION_COOKIE_LEN + 1], device[UA_SUMMARY_SIZE];
    bool have = cb->session_cookie.len && session_load(app, a, cb->session_cookie, &cur) == RC_OK;
    struct session_login l = {.loa = loa, .amr = "fed", .auth_time = clock_now(app->clock)};
    struct logout_result lo;
    enum rc rc;

    if ((rc = local_account(app, a, claims, &acct, ri)) != RC_OK)
        return rc;
    l.account_id = arena_printf(a, "%s", acct.id);
    ua_summary(cb->user_agent, device);
    l.device = device;
    if (have && strcmp(cur.account_id, l.account_id) != 0) { /* never two citizens */
        logout_session_end(app, a, &cur, cb->tls, &lo);
        have = false;
    }
    rc = session_login(app, a, &l, have ? &cur : NULL, cookie, s);
    if (rc == RC_OK)
        *set_cookie = session_cookie(a, cookie, cb->tls);
    OPENSSL_cleanse(cookie, sizeof(cookie));
    return rc != RC_OK ? fail(ri, RC_UNAVAILABLE, RC_WHY_NONE, "session", "cannot be created") : rc;
}

static void
log_finish(const char *op, enum rc rc, const struct rc_info *ri)
{
    struct log_rec *lr = log_begin(rc == RC_OK ? LOG_INFO : LOG_WARN, "fed.broker");

    log_str(lr, "op", op ? op : "");
    log_str(lr, "result", rc == RC_OK ? "ok" : rc_name(rc));
    if (rc != RC_OK)
        log_str(lr, "why", rc_reason_name(ri->why));
    log_end(lr);
}

enum rc
fed_broker_finish(struct app *app, struct arena *a, const struct fed_broker_cb *cb,
                  const char **pending, struct authorize_result *out)
{
    struct fed_resolved res = {0};
    json_t *rec = NULL, *claims = NULL;
    const json_t *md;
    const char *op = NULL, *pid;
    struct authz_req r;
    struct session s;
    struct loa loa;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    *pending = NULL;
    out->kind = AUTHORIZE_FORM;
    if (!broker_on(app)) {
        rc = rc_set(&out->why, RC_NOT_FOUND, "federation", "not a broker");
        goto out;
    }
    if ((rc = take_state(app, a, cb, &rec, &out->why)) != RC_OK)
        goto out;
    pid = jsonget_str(a, rec, "p");
    op = jsonget_str(a, rec, "op");
    *pending = pid;
    if (!pid || !op || authz_pending_load(app, a, span_str(pid), &r) != RC_OK) {
        rc = fail(&out->why, RC_NOT_FOUND, RC_WHY_PENDING, "authz", "unknown or expired");
        goto out;
    }
    if (cb->error.len || !cb->code.len) {
        rc = fail(&out->why, RC_DENIED, RC_WHY_FED_LOGIN, "error", "the province refused");
        goto out;
    }
    if ((rc = resolve_op(app, a, op, &res, &md, &out->why)) != RC_OK)
        goto out;
    if (cb->iss.p && !jsonget_str_is(json_object_get(md, "issuer"), arena_span_dup(a, cb->iss))) {
        rc = fail(&out->why, RC_DENIED, RC_WHY_FED_LOGIN, "iss", "not the chosen province");
        goto out; /* RFC 9207 §2.4: a mix-up */
    }
    if ((rc = redeem(app, a, md, res.exp, cb->code, json_string_value(json_object_get(rec, "v")),
                     json_string_value(json_object_get(rec, "n")), &claims, &out->why))
        != RC_OK)
        goto out;
    if ((rc = map_acr(a, &res, md, claims, &loa, &out->why)) != RC_OK)
        goto out;
    if ((rc = open_session(app, a, cb, claims, loa, &s, &out->set_cookie, &out->why)) != RC_OK)
        goto out;
    link_session(app, a, json_string_value(json_object_get(md, "issuer")),
                 json_string_value(json_object_get(claims, "sid")), &s);
    r.login_sid = s.sid;
    {
        const char *cookie = out->set_cookie;
        rc = authz_continue(app, a, &r, pid, &s, out);
        if (!out->set_cookie)
            out->set_cookie = cookie;
    }
out:
    log_finish(op, rc, &out->why);
    json_decref(claims);
    json_decref(rec);
    fed_resolved_clear(&res);
    return rc;
}

enum rc
fed_broker_bclogout(struct app *app, struct arena *a, struct span logout_token, struct rc_info *ri)
{
    static const struct jose_verify_opts vo = {JOSE_ALGS_ISSUED, "logout+jwt"};
    struct jose_claims_opts co = {.now = clock_now(app->clock), .leeway = 60};
    struct fed_resolved res = {0};
    struct span payload, h, key, bsid;
    bool valid = false;
    json_t *o = NULL;
    const json_t *md;
    const char *iss, *asid;
    struct session s;
    struct logout_result lo;
    enum rc rc;

    if (!broker_on(app))
        return rc_set(ri, RC_NOT_FOUND, "federation", "not a broker");
    if (jose_payload_unverified(logout_token, a, &payload) != RC_OK
        || !(o = json_loadb((const char *)payload.p, payload.len, 0, NULL))
        || !(iss = jsonget_str(a, o, "iss"))) {
        rc = rc_set(ri, RC_MALFORMED, "logout_token", "not a JWT");
        goto out;
    }
    json_decref(o), o = NULL;
    /* the issuer is a province's entity id: its keys from its resolved chain */
    if ((rc = resolve_op(app, a, iss, &res, &md, ri)) != RC_OK
        || (rc = verify_by_op(app, a, md, res.exp, &vo, logout_token, &payload, &valid, ri))
               != RC_OK)
        goto out;
    co.iss = iss, co.aud = app->cfg->federation_entity_id;
    if (!valid || jose_claims_check(payload, &co, NULL) != RC_OK
        || !(o = json_loadb((const char *)payload.p, payload.len, 0, NULL))
        || !json_is_object(json_object_get(json_object_get(o, "events"), BCLOGOUT_EVENT))
        || json_object_get(o, "nonce") || !(asid = jsonget_str(a, o, "sid"))) {
        rc = rc_set(ri, RC_DENIED, "logout_token", "signature or claims");
        goto out;
    }
    if ((rc = hash_of(a, iss, asid, &h)) != RC_OK || !(key = store_key(a, "fedsid", h, NULL)).p)
        goto out;
    rc = store_take(app->store, a, key, &bsid);
    if (rc == RC_NOT_FOUND) { /* no session of ours for it (already ended) */
        rc = RC_OK;
        goto out;
    }
    if (rc != RC_OK || (rc = session_find_by_sid(app, a, bsid, &s)) != RC_OK) {
        rc = rc == RC_NOT_FOUND ? RC_OK : RC_UNAVAILABLE;
        goto out;
    }
    rc = logout_session_end(app, a, &s, false, &lo);
    log_msg(LOG_INFO, "fed.broker", "logout", rc == RC_OK ? "session ended" : "failed");
out:
    json_decref(o);
    fed_resolved_clear(&res);
    return rc;
}
