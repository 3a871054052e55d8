/* /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3, §4),
 * /.well-known/oauth-authorization-server (RFC 8414 §2, §3: the same metadata) and /jwks
 * (RFC 7517 §5: the published keys, public parts only).
 *
 * The metadata depends only on the issuer, the policy (scopes, claims) and which
 * algorithms have a signing key, so the serialized body is built once and cached, keyed by the
 * policy and key-set snapshots it was built from (both retained by the cache, so their
 * addresses cannot be reused while cached). A request copies it into its arena. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf/policy.h"
#include "core/jose.h"
#include "core/loa.h"
#include "http/discovery.h"
#include "http/router.h"
#include "port/keys.h"

static struct {
    pthread_mutex_t mu;
    struct policy *pol;
    struct jose_keyset *ks;
    char *body;
    size_t len;
} disco = {.mu = PTHREAD_MUTEX_INITIALIZER};

static json_t *
strs(const char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void
add_unique(json_t *a, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v) if (strcmp(json_string_value(v), s) == 0) return;
    json_array_append_new(a, json_string(s));
}

/* scopes_supported and claims_supported from policy, plus the claims every ID token has. */
static void
add_policy(json_t *o, const struct policy *p)
{
    static const char *const std_claims[] = {"sub",   "iss", "aud", "exp", "iat",    "auth_time",
                                             "nonce", "acr", "amr", "sid", "at_hash"};
    json_t *scopes = json_array(), *claims = strs(std_claims, 11);

    add_unique(scopes, "openid");
    for (size_t i = 0; i < p->nscopes; i++) {
        add_unique(scopes, p->scopes[i].name);
        for (size_t k = 0; k < p->scopes[i].claims.n; k++)
            add_unique(claims, p->scopes[i].claims.v[k]);
    }
    json_object_set_new(o, "scopes_supported", scopes);
    json_object_set_new(o, "claims_supported", claims);
}

/* Every acr value we can issue: urn:authd:acr:ialN:aalM (docs/oidc-login.md). */
static json_t *
acr_values(void)
{
    json_t *a = json_array();
    char acr[LOA_ACR_MAX];

    for (int i = IAL2; i <= IAL5; i++)
        for (int k = AAL1; k <= AAL3; k++) {
            loa_format((struct loa){(enum ial)i, (enum aal)k}, acr);
            json_array_append_new(a, json_string(acr));
        }
    return a;
}

static void
add_endpoint(json_t *o, const char *name, const char *iss, const char *path)
{
    char *u = NULL;

    if (asprintf(&u, "%s%s", iss, path) > 0) {
        json_object_set_new(o, name, json_string(u));
        free(u);
    }
}

/* RFC 8705 §2.1.1, §3.3, §5: with the kiosk channel configured, tls_client_auth is one more
 * client authentication method, tokens of such clients are certificate-bound, and the
 * endpoints a client reaches over mutual TLS are those of kiosk_listen. */
static void
add_mtls(json_t *o, const struct config *cfg)
{
    static const char *const lists[] = {"token_endpoint_auth_methods_supported",
                                        "introspection_endpoint_auth_methods_supported",
                                        "revocation_endpoint_auth_methods_supported"};
    json_t *al;
    char base[128];

    if (!cfg->kiosk_ca)
        return;
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        json_array_append_new(json_object_get(o, lists[i]), json_string("tls_client_auth"));
    json_object_set_new(o, "tls_client_certificate_bound_access_tokens", json_true());
    if (!cfg->kiosk_host || !(al = json_object()))
        return;
    snprintf(base, sizeof(base), "https://%s%s%s:%u", strchr(cfg->kiosk_host, ':') ? "[" : "",
             cfg->kiosk_host, strchr(cfg->kiosk_host, ':') ? "]" : "", cfg->kiosk_port);
    add_endpoint(al, "token_endpoint", base, "/token");
    add_endpoint(al, "userinfo_endpoint", base, "/userinfo");
    add_endpoint(al, "introspection_endpoint", base, "/introspect");
    add_endpoint(al, "revocation_endpoint", base, "/revoke");
    json_object_set_new(o, "mtls_endpoint_aliases", al);
}

static char *
build(const struct config *cfg, const struct policy *p, const struct jose_keyset *ks)
{
    static const char *const auth_all[] = {"client_secret_basic", "client_secret_post",
                                           "private_key_jwt", "none"};
    static const char *const locales[] = {"zh-CN", "en"};
    json_t *o = json_object(), *algs = json_array(), *assertion_algs = json_array();
    json_t *grants = json_array(), *dpop_algs = json_array();
    const char *iss = cfg->issuer;
    char *s;

    json_object_set_new(o, "issuer", json_string(iss));
    add_endpoint(o, "authorization_endpoint", iss, "/authorize");
    add_endpoint(o, "token_endpoint", iss, "/token");
    add_endpoint(o, "userinfo_endpoint", iss, "/userinfo");
    add_endpoint(o, "jwks_uri", iss, "/jwks");
    add_endpoint(o, "introspection_endpoint", iss, "/introspect");
    add_endpoint(o, "revocation_endpoint", iss, "/revoke");
    add_endpoint(o, "end_session_endpoint", iss, "/end_session");
    /* RFC 8628 §4 */
    add_endpoint(o, "device_authorization_endpoint", iss, "/device_authorization");
    add_endpoint(o, "pushed_authorization_request_endpoint", iss, "/par"); /* RFC 9126 §5 */
    /* CIBA Core §4: poll mode only, no user_code */
    add_endpoint(o, "backchannel_authentication_endpoint", iss, "/bc-authorize");
    json_object_set_new(o, "backchannel_token_delivery_modes_supported",
                        strs((const char *const[]){"poll"}, 1));
    json_object_set_new(o, "backchannel_user_code_parameter_supported", json_false());
    json_object_set_new(o, "require_pushed_authorization_requests",
                        json_boolean(cfg->require_pushed_authorization_requests));
    json_object_set_new(o, "response_types_supported", strs((const char *const[]){"code"}, 1));
    json_object_set_new(o, "response_modes_supported", strs((const char *const[]){"query"}, 1));
    for (size_t i = 0; policy_grant_at(i); i++)
        json_array_append_new(grants, json_string(policy_grant_at(i)->name));
    json_object_set_new(o, "grant_types_supported", grants);
    json_object_set_new(o, "subject_types_supported",
                        strs((const char *const[]){"pairwise", "public"}, 2));
    for (size_t i = 0; jose_alg_info_at(i); i++) {
        const struct jose_alg_info *ai = jose_alg_info_at(i);
        if (ai->signs && jose_keyset_signing_kid(ks, ai->alg))
            json_array_append_new(algs, json_string(ai->name));
        if ((ai->alg & JOSE_ALGS_CLIENT_ASSERTION)
            && (!ai->private_name || jose_keyset_signing_kid(ks, ai->alg)))
            json_array_append_new(assertion_algs, json_string(ai->name));
        if (ai->alg & JOSE_ALGS_DPOP)
            json_array_append_new(dpop_algs, json_string(ai->name));
    }
    json_object_set_new(o, "id_token_signing_alg_values_supported", algs);
    json_object_set_new(o, "token_endpoint_auth_methods_supported", strs(auth_all, 4));
    json_object_set_new(o, "token_endpoint_auth_signing_alg_values_supported", assertion_algs);
    json_object_set_new(o, "introspection_endpoint_auth_methods_supported", strs(auth_all, 3));
    json_object_set_new(o, "revocation_endpoint_auth_methods_supported", strs(auth_all, 4));
    json_object_set_new(o, "code_challenge_methods_supported",
                        strs((const char *const[]){"S256"}, 1));
    json_object_set_new(o, "dpop_signing_alg_values_supported", dpop_algs); /* RFC 9449 §5.1 */
    add_policy(o, p);
    json_object_set_new(o, "acr_values_supported", acr_values());
    json_object_set_new(o, "claim_types_supported", strs((const char *const[]){"normal"}, 1));
    json_object_set_new(o, "claims_parameter_supported", json_true());
    json_object_set_new(o, "request_parameter_supported", json_false());
    json_object_set_new(o, "request_uri_parameter_supported", json_false());
    json_object_set_new(o, "prompt_values_supported",
                        strs((const char *const[]){"none", "login", "consent"}, 3));
    json_object_set_new(o, "ui_locales_supported", strs(locales, 2));
    json_object_set_new(o, "backchannel_logout_supported", json_true());
    json_object_set_new(o, "backchannel_logout_session_supported", json_true());
    json_object_set_new(o, "frontchannel_logout_supported", json_true());
    json_object_set_new(o, "frontchannel_logout_session_supported", json_true());
    json_object_set_new(o, "authorization_response_iss_parameter_supported", json_true());
    add_mtls(o, cfg);
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Copies the body for (p, ks) into the arena, rebuilding the cache when either changed. */
static enum rc
metadata(struct http_req *r, struct policy *p, struct jose_keyset *ks, struct span *out)
{
    char *body = NULL, *copy;
    enum rc rc = RC_OK;

    pthread_mutex_lock(&disco.mu);
    if (disco.pol != p || disco.ks != ks || !disco.body) {
        if (!(body = build(r->app->cfg, p, ks))) {
            rc = RC_NOMEM;
            goto out;
        }
        free(disco.body);
        policy_release(disco.pol);
        jose_keyset_release(disco.ks);
        policy_retain(p);
        disco.pol = p;
        disco.ks = jose_keyset_retain(ks);
        disco.body = body;
        disco.len = strlen(body);
    }
    if (!(copy = arena_strndup(&r->arena, disco.body, disco.len)))
        rc = RC_NOMEM;
    else
        *out = span_of(copy, disco.len);
out:
    pthread_mutex_unlock(&disco.mu);
    return rc;
}

enum rc
discovery_json(struct http_req *r, struct span *out)
{
    struct policy *p = app_policy_get(r->app);
    struct jose_keyset *ks = NULL;
    enum rc rc;

    if (!p || (rc = keys_current(r->app->keys, &ks)) != RC_OK)
        rc = RC_UNAVAILABLE;
    else
        rc = metadata(r, p, ks, out);
    jose_keyset_release(ks);
    app_policy_put(p);
    return rc;
}

static void
route_discovery(struct http_req *r, struct http_resp *w)
{
    enum rc rc = discovery_json(r, &w->body);

    if (rc != RC_OK) {
        http_rc_error(r, w, rc, NULL);
        return;
    }
    w->status = 200;
    w->ctype = "application/json";
    http_add_header(w, "Cache-Control", "public, max-age=300");
    http_add_header(w, "Access-Control-Allow-Origin", "*");
}

static void
route_jwks(struct http_req *r, struct http_resp *w)
{
    enum rc rc = keys_published(r->app->keys, &r->arena, &w->body);

    if (rc != RC_OK) {
        http_rc_error(r, w, rc, NULL);
        return;
    }
    w->status = 200;
    w->ctype = "application/json";
    http_add_header(w, "Cache-Control", "public, max-age=300");
    http_add_header(w, "Access-Control-Allow-Origin", "*");
}

ROUTE(discovery, "/.well-known/openid-configuration", HTTP_GET, route_discovery)
ROUTE(as_metadata, "/.well-known/oauth-authorization-server", HTTP_GET, route_discovery)
ROUTE(jwks, "/jwks", HTTP_GET, route_jwks)
