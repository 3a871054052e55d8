/* /authorize after validation: pending requests, the session decision, consent, codes and
 * the answers to the client (OIDC Core §3.1.2.3-§3.1.2.6, RFC 6749 §4.1.2, RFC 9207). */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "conf/policy.h"
#include "core/authz.h"
#include "flow/authorize_int.h"
#include "flow/grant.h"
#include "port/store.h"

static void
jset(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static const char *
jget(struct arena *a, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    return json_is_string(v) ? arena_strndup(a, json_string_value(v), json_string_length(v)) : NULL;
}

static struct span
pending_key(struct arena *a, struct span id)
{
    return store_key(a, "authz", id, NULL);
}

enum rc
authz_pending_save(struct app *app, struct arena *a, const struct authz_req *r,
                   char id[AUTHZ_PENDING_LEN + 1])
{
    json_t *o = json_object();
    char *s = NULL;
    /* A new request is a low-priority write: it may not eat into the store's reserve,
     * which keeps room for the citizens already in a login (their pending request saved
     * again, sessions, codes, tokens). port/store.h STORE_LOW. */
    unsigned flags = id[0] ? 0 : STORE_LOW;
    enum rc rc = RC_NOMEM;

    if (!o)
        return RC_NOMEM;
    if (!id[0] && (rc = grant_random_token(app, 32, id, AUTHZ_PENDING_LEN + 1)) != RC_OK)
        goto out;
    jset(o, "client_id", r->client_id), jset(o, "redirect_uri", r->redirect_uri);
    jset(o, "redirect_given", r->redirect_given), jset(o, "scope", r->scope);
    jset(o, "state", r->state), jset(o, "nonce", r->nonce);
    jset(o, "code_challenge", r->code_challenge), jset(o, "login_hint", r->login_hint);
    jset(o, "ui_locales", r->ui_locales), jset(o, "claims", r->claims);
    jset(o, "login_sid", r->login_sid);
    json_object_set_new(o, "prompt", json_integer(r->prompt));
    json_object_set_new(o, "max_age", json_integer(r->max_age));
    json_object_set_new(o, "ial", json_integer(r->min.ial));
    json_object_set_new(o, "aal", json_integer(r->min.aal));
    json_object_set_new(o, "rp_acr", json_boolean(r->rp_asked_acr));
    json_object_set_new(o, "ru_omitted", json_boolean(r->redirect_omitted));
    rc = RC_NOMEM;
    if ((s = json_dumps(o, JSON_COMPACT)))
        rc = store_put(app->store, pending_key(a, span_str(id)), span_str(s), AUTHZ_PENDING_TTL,
                       flags);
out:
    free(s);
    json_decref(o);
    return rc;
}

enum rc
authz_pending_load(struct app *app, struct arena *a, struct span id, struct authz_req *out)
{
    struct span v;
    json_t *o;
    enum rc rc;

    if (id.len != AUTHZ_PENDING_LEN || span_has_nul(id))
        return RC_NOT_FOUND;
    if ((rc = store_get(app->store, a, pending_key(a, id), &v)) != RC_OK)
        return rc;
    if (!(o = json_loadb((const char *)v.p, v.len, 0, NULL)))
        return RC_NOT_FOUND;
    memset(out, 0, sizeof(*out));
    out->client_id = jget(a, o, "client_id"), out->redirect_uri = jget(a, o, "redirect_uri");
    out->redirect_given = jget(a, o, "redirect_given"), out->scope = jget(a, o, "scope");
    out->state = jget(a, o, "state"), out->nonce = jget(a, o, "nonce");
    out->code_challenge = jget(a, o, "code_challenge");
    out->login_hint = jget(a, o, "login_hint"), out->ui_locales = jget(a, o, "ui_locales");
    out->claims = jget(a, o, "claims"), out->login_sid = jget(a, o, "login_sid");
    out->prompt = (unsigned)json_integer_value(json_object_get(o, "prompt"));
    out->max_age = json_integer_value(json_object_get(o, "max_age"));
    out->min.ial = (enum ial)json_integer_value(json_object_get(o, "ial"));
    out->min.aal = (enum aal)json_integer_value(json_object_get(o, "aal"));
    out->rp_asked_acr = json_is_true(json_object_get(o, "rp_acr"));
    out->redirect_omitted = json_is_true(json_object_get(o, "ru_omitted"));
    json_decref(o);
    if (!out->client_id || !out->redirect_uri || !out->redirect_given || !out->scope)
        return RC_NOT_FOUND;
    return RC_OK;
}

/* redirect_given + '?' or '&' + the parameters (RFC 6749 §4.1.2: keep the URI's query). */
static enum rc
client_location(struct app *app, struct arena *a, const struct authz_req *r, const char *const *kv,
                size_t n, struct authorize_result *out)
{
    struct buf b;
    enum rc rc;

    buf_init(&b, 16384);
    rc = buf_append_str(&b, r->redirect_given);
    if (rc == RC_OK && !strchr(r->redirect_given, '?'))
        rc = buf_append(&b, "?", 1);
    for (size_t i = 0; rc == RC_OK && i < n; i += 2)
        if (kv[i + 1])
            rc = form_append(&b, kv[i], span_str(kv[i + 1]));
    if (rc == RC_OK) /* RFC 9207 §2 */
        rc = form_append(&b, "iss", span_str(app->cfg ? app->cfg->issuer : ""));
    if (rc == RC_OK && !(out->location = arena_strndup(a, b.p, b.len)))
        rc = RC_NOMEM;
    buf_clear(&b);
    out->kind = AUTHORIZE_REDIRECT;
    return rc;
}

enum rc
authz_redirect_error(struct app *app, struct arena *a, const struct authz_req *r, const char *error,
                     const char *desc, enum rc rc, struct authorize_result *out)
{
    const char *kv[] = {"error", error, "error_description", desc, "state", r->state};

    out->error = error;
    out->client_id = r->client_id;
    if (client_location(app, a, r, kv, 6, out) != RC_OK)
        return authz_page_error(out, 500, "server_error", "out of memory", RC_NOMEM);
    return rc == RC_OK ? RC_DENIED : rc;
}

enum rc
authz_issue(struct app *app, struct arena *a, const struct authz_req *r, const struct session *s,
            const char *scope, struct authorize_result *out)
{
    struct policy *p = app_policy_get(app);
    char code[GRANT_CODE_LEN + 1];
    /* RFC 6749 §4.1.3: /token compares redirect_uri with what this request sent (the
     * loopback port included), and only if it sent one. */
    struct grant g = {.client_id = r->client_id,
                      .redirect_uri = r->redirect_omitted ? NULL : r->redirect_given,
                      .scope = scope,
                      .nonce = r->nonce,
                      .code_challenge = r->code_challenge,
                      .account_id = s->account_id,
                      .sid = s->sid,
                      .amr = s->amr,
                      .claims = r->claims,
                      .auth_time = s->auth_time,
                      .issued_at = clock_now(app->clock),
                      .loa = s->loa};
    enum rc rc;

    rc = grant_code_issue(app, a, &g, p ? p->tokens.code_ttl : 60, code);
    app_policy_put(p);
    if (rc == RC_OK)
        rc = session_add_rp(app, a, s, r->client_id);
    if (rc != RC_OK) {
        OPENSSL_cleanse(code, sizeof(code));
        return authz_redirect_error(app, a, r, "temporarily_unavailable", "try again later", rc,
                                    out);
    }
    {
        const char *kv[] = {"code", code, "state", r->state};
        rc = client_location(app, a, r, kv, 4, out);
    }
    OPENSSL_cleanse(code, sizeof(code));
    out->client_id = r->client_id;
    return rc;
}
