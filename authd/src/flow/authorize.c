/* /authorize: validating the request (OIDC Core §3.1.2.1-§3.1.2.2, §3.1.2.6; RFC 6749
 * §4.1.1, §4.1.2.1; RFC 7636 §4.3, §4.4.1; RFC 8252 §7.3). */
#include <string.h>

#include "conf/policy.h"
#include "core/authz.h"
#include "core/dpop.h"
#include "core/pkce.h"
#include "flow/authn.h"
#include "flow/authorize_int.h"
#include "flow/clients.h"

/* Why a request failed once the redirect URI is known: an error for the client. */
static enum rc
fail(struct rc_info *b, enum rc_reason why, const char *field, const char *msg)
{
    return rc_fail(b, RC_MALFORMED, why, field, msg);
}

/* The value of name as a C string in a, NULL if absent; RC_TOO_LARGE past max,
 * RC_MALFORMED for an empty value (treated as invalid rather than absent). */
static enum rc
param(struct arena *a, const struct form *f, const char *name, size_t max, const char **out)
{
    const struct span *v = form_get(f, name);

    *out = NULL;
    if (!v)
        return RC_OK;
    if (v->len > max)
        return RC_TOO_LARGE;
    if (!(*out = arena_span_dup(a, *v)))
        return RC_NOMEM;
    return RC_OK;
}

/* When a parameter is repeated the form parser refuses the whole query; RFC 6749 §4.1.2.1
 * still wants invalid_request sent to a validated redirect URI. Each '&'-piece is parsed
 * alone to find client_id and redirect_uri if each occurs exactly once. */
static void
salvage(struct arena *a, struct span raw, struct form *out)
{
    static const char *const keep[] = {"client_id", "redirect_uri", "state"};
    size_t i = 0, cnt[3] = {0};
    struct form one;

    memset(out, 0, sizeof(*out));
    while (i < raw.len) {
        size_t s = i;
        while (i < raw.len && raw.p[i] != '&')
            i++;
        if (form_parse(a, raw.p + s, i - s, &one, NULL) == RC_OK && one.n == 1) {
            for (size_t k = 0; k < 3; k++) {
                if (!span_eq_str(one.f[0].name, keep[k]) || cnt[k]++)
                    continue;
                if (out->n < FORM_MAX_FIELDS)
                    out->f[out->n++] = one.f[0];
            }
        }
        i++;
    }
    for (size_t k = 0; k < 3; k++) /* repeated: not trustworthy, drop */
        for (size_t j = 0; cnt[k] > 1 && j < out->n; j++)
            if (span_eq_str(out->f[j].name, keep[k]))
                out->f[j].name = SPAN("");
}

/* client_id and redirect_uri: until both are good, errors are shown, not redirected. */
static enum rc
check_client(struct app *app, struct arena *a, const struct policy *p, const struct form *f, struct authz_req *r,
             const struct policy_client **cl, struct authorize_result *out)
{
    const struct span *id = form_get(f, "client_id"), *ru = form_get(f, "redirect_uri");
    const char *matched = NULL;

    if (!id || !(*cl = client_resolve(app, p, *id)))
        return authz_page_error(out, RC_NOT_FOUND, RC_WHY_CLIENT, "client_id",
                                id ? "unknown client" : "missing");
    r->client_id = (*cl)->id;
    out->client_id = (*cl)->id;
    if (!ru) { /* RFC 6749 §3.1.2.3: optional when exactly one is registered */
        if ((*cl)->redirect_uris.n != 1)
            return authz_page_error(out, RC_MALFORMED, RC_WHY_REDIRECT_URI, "redirect_uri",
                                    "missing");
        r->redirect_uri = r->redirect_given = (*cl)->redirect_uris.v[0];
        r->redirect_omitted = true;
        return RC_OK;
    }
    if (authz_redirect_match((const char *const *)(*cl)->redirect_uris.v, (*cl)->redirect_uris.n,
                             (*cl)->type == CLIENT_PUBLIC, *ru, &matched)
        != RC_OK)
        return authz_page_error(out, RC_DENIED, RC_WHY_REDIRECT_URI, "redirect_uri",
                                "not registered for this client");
    r->redirect_uri = matched;
    r->redirect_given = arena_span_dup(a, *ru);
    return r->redirect_given ? RC_OK : RC_NOMEM;
}

struct scope_ctx {
    const struct policy *p;
    const struct policy_client *cl;
};

/* A value is granted when policy defines it and the client is registered for it;
 * id_number only for clients with id_number_allowed. */
static bool
scope_grantable(struct span w, void *ctx)
{
    const struct scope_ctx *sc = ctx;

    return policy_scope(sc->p, w) && strlist_has(&sc->cl->scopes, w)
           && (!span_eq_str(w, "id_number") || sc->cl->id_number_allowed);
}

enum rc
authorize_scope_filter(struct arena *a, const struct policy *p, const struct policy_client *cl,
                       struct span in, const char **out, size_t *dropped)
{
    struct scope_ctx sc = {p, cl};

    return authz_scope_filter(a, in, scope_grantable, &sc, out, dropped, NULL);
}

/* The scopes, normalised into r->scope. Values we do not know or the client is not
 * registered for are left out (OIDC Core §3.1.2.1: unknown values SHOULD be ignored;
 * RFC 6749 §3.3: the server may grant less, the token response names what it granted),
 * unless the client's policy has strict_scopes. openid is required. */
static enum rc
check_scope(struct arena *a, const struct policy *p, const struct policy_client *cl, struct span s,
            struct authz_req *r, struct rc_info *b)
{
    size_t dropped;
    enum rc rc = authorize_scope_filter(a, p, cl, s, &r->scope, &dropped);

    if (rc == RC_NOMEM)
        return rc;
    if (rc != RC_OK)
        return fail(b, RC_WHY_SCOPE, "scope", rc == RC_TOO_LARGE ? "too long" : "malformed");
    if (dropped && cl->strict_scopes)
        return fail(b, RC_WHY_SCOPE, "scope", "not allowed for this client");
    if (!authz_list_has(span_str(r->scope), "openid"))
        return fail(b, RC_WHY_SCOPE, "scope", "openid is required");
    return RC_OK;
}

/* PKCE (RFC 7636 §4.3, §4.4.1; RFC 9700 §2.1.1): S256 only; required for public
 * clients and for every client whose policy keeps pkce_required (the default). */
static enum rc
check_pkce(const struct policy_client *cl, const struct form *f, struct authz_req *r,
           struct arena *a, struct rc_info *b)
{
    const struct span *c = form_get(f, "code_challenge");
    const struct span *m = form_get(f, "code_challenge_method");

    if (!c) {
        if (m)
            return fail(b, RC_WHY_PARAM, "code_challenge", "missing");
        if (cl->type == CLIENT_PUBLIC || cl->pkce_required)
            return fail(b, RC_WHY_PARAM, "code_challenge", "required (PKCE S256)");
        return RC_OK;
    }
    /* an absent method means plain (§4.3), which we do not offer */
    if (!m || !span_eq_str(*m, "S256"))
        return fail(b, RC_WHY_PARAM, "code_challenge_method", "only S256 is supported");
    if (!pkce_challenge_valid(*c)) /* RFC 7636 §4.2: S256 gives 43 characters */
        return fail(b, RC_WHY_PARAM, "code_challenge", "43-128 unreserved characters");
    r->code_challenge = arena_span_dup(a, *c);
    return r->code_challenge ? RC_OK : RC_NOMEM;
}

/* A policy acr (client or scope minimum) raises *min; a bad one fails closed. */
static bool
policy_min(const char *acr, struct loa *min)
{
    struct loa l;

    if (!acr || !*acr)
        return true;
    if (loa_parse(span_str(acr), &l) != RC_OK)
        return false;
    *min = loa_max(*min, l);
    return true;
}

enum rc
authorize_policy_min(const struct policy *p, const struct policy_client *cl, const char *scope,
                     struct loa *min, struct rc_info *ri)
{
    struct span w;
    size_t i = 0;

    /* at least one factor: a session a right password opened at aal0 (the number over its
     * ceiling, flow/authn_password.c) goes through a second factor first */
    *min = (struct loa){IAL_NONE, AAL1};
    if (!policy_min(cl->min_acr, min))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_POLICY, "client policy", "bad min_acr");
    while (span_next_word(span_str(scope), &i, &w)) {
        const struct policy_scope *sc = policy_scope(p, w);
        if (sc && !policy_min(sc->min_acr, min))
            return rc_fail(ri, RC_MALFORMED, RC_WHY_POLICY, "scope policy", "bad min_acr");
    }
    return RC_OK;
}

/* The level required: the client's and each scope's minimum, acr_values, and an acr
 * request in claims (OIDC Core §3.1.2.1 acr_values, §5.5.1.1). */
static enum rc
check_level(struct arena *a, const struct policy *p, const struct policy_client *cl,
            const struct form *f, struct authz_req *r, struct rc_info *b)
{
    const struct span *av = form_get(f, "acr_values");
    struct span vals = {0};
    struct loa l, reach, step;
    bool essential = false;

    /* the most the authenticators this request accepts can give, a step-up included */
    authn_reach(p, cl, r->scope, &reach, &step);
    reach = loa_max(reach, step);
    if (authorize_policy_min(p, cl, r->scope, &r->min, b) != RC_OK)
        return RC_MALFORMED;
    if (av && av->len > AUTHZ_PARAM_MAX)
        return fail(b, RC_WHY_PARAM, "acr_values", "too long");
    if (av && authz_acr_pick(*av, reach, &l) == RC_OK)
        r->min = loa_max(r->min, l), r->rp_asked_acr = true;
    if (r->claims && authz_claims_acr(a, span_str(r->claims), &vals, &essential, NULL) != RC_OK)
        return fail(b, RC_WHY_PARAM, "claims", "not a valid claims request");
    if (vals.len && authz_acr_pick(vals, reach, &l) == RC_OK)
        r->min = loa_max(r->min, l), r->rp_asked_acr = true;
    else if (essential && vals.len) /* §5.5.1.1: essential and none of ours: cannot meet */
        return fail(b, RC_WHY_ACR_UNMET, "claims", "no supported acr value");
    return RC_OK;
}

/* Plain string parameters, prompt and max_age. */
static enum rc
check_misc(struct arena *a, const struct form *f, struct authz_req *r, struct rc_info *b)
{
    static const struct {
        const char *name, *msg;
        size_t max;
    } kept[] = {
        {"nonce", "longer than 256 bytes", AUTHZ_NONCE_MAX},
        {"login_hint", "longer than 256 bytes", AUTHZ_LOGIN_HINT_MAX},
        {"ui_locales", "longer than 64 bytes", AUTHZ_UI_LOCALES_MAX},
        {"claims", "longer than 2048 bytes", AUTHZ_CLAIMS_KEPT_MAX},
    };
    const char **out[] = {&r->nonce, &r->login_hint, &r->ui_locales, &r->claims};
    const struct span *v;
    enum rc rc;

    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        if ((rc = param(a, f, kept[i].name, kept[i].max, out[i])) != RC_OK)
            return rc == RC_TOO_LARGE ? fail(b, RC_WHY_PARAM, kept[i].name, kept[i].msg) : rc;
    if ((v = form_get(f, "prompt")) && authz_prompt_parse(*v, &r->prompt, NULL) != RC_OK)
        return fail(b, RC_WHY_PARAM, "prompt", "none cannot be combined with other values");
    r->max_age = -1;
    if ((v = form_get(f, "max_age")) && authz_max_age_parse(*v, &r->max_age) != RC_OK)
        return fail(b, RC_WHY_PARAM, "max_age", "not a number of seconds");
    if ((v = form_get(f, "response_mode")) && !span_eq_str(*v, "query"))
        return fail(b, RC_WHY_PARAM, "response_mode", "only query is supported");
    if ((v = form_get(f, "dpop_jkt"))) { /* RFC 9449 §10: a key's RFC 7638 thumbprint */
        if (v->len != DPOP_JKT_LEN || !span_is_b64url(*v))
            return fail(b, RC_WHY_PARAM, "dpop_jkt", "not a JWK SHA-256 thumbprint");
        if (!(r->dpop_jkt = arena_span_dup(a, *v)))
            return RC_NOMEM;
    }
    if (form_get(f, "request")) /* OIDC Core §6 */
        return fail(b, RC_WHY_REQUEST_OBJECT, "request", "not supported");
    if (form_get(f, "request_uri"))
        return fail(b, RC_WHY_REQUEST_URI, "request_uri", "not supported");
    if (form_get(f, "registration")) /* §7.2.1 */
        return fail(b, RC_WHY_REGISTRATION, "registration", "not supported");
    return RC_OK;
}

/* Everything after the redirect URI is known; failures are for the client. */
static enum rc
check_rest(struct arena *a, const struct policy *p, const struct policy_client *cl,
           const struct form *f, struct authz_req *r, struct rc_info *b)
{
    const struct span *rt = form_get(f, "response_type"), *sc = form_get(f, "scope");
    enum rc rc;

    if (!rt)
        return fail(b, RC_WHY_PARAM, "response_type", "missing");
    if (!span_eq_str(*rt, "code"))
        return fail(b, RC_WHY_RESPONSE_TYPE, "response_type", "only code is supported");
    if (!(cl->grants & GRANT_AUTHORIZATION_CODE))
        return fail(b, RC_WHY_CLIENT_NOT_ALLOWED, NULL,
                    "client may not use the authorization code grant");
    if ((rc = check_misc(a, f, r, b)) != RC_OK)
        return rc;
    if (!sc)
        return fail(b, RC_WHY_SCOPE, "scope", "missing (openid is required)");
    if ((rc = check_scope(a, p, cl, *sc, r, b)) != RC_OK)
        return rc;
    if ((rc = check_pkce(cl, f, r, a, b)) != RC_OK)
        return rc;
    return check_level(a, p, cl, f, r, b);
}

enum rc
authz_validate(struct app *app, struct arena *a, const struct policy *p, const struct form *f,
               bool repeated, struct authz_req *r, const struct policy_client **cl,
               struct authorize_result *out)
{
    struct rc_info b = {0};
    enum rc rc;

    if ((rc = check_client(app, a, p, f, r, cl, out)) != RC_OK)
        return rc;
    if (param(a, f, "state", AUTHZ_STATE_MAX, &r->state) != RC_OK) /* not echoed back */
        return authz_redirect_error(r, RC_TOO_LARGE, RC_WHY_PARAM, "state", "longer than 512 bytes",
                                    out);
    if (repeated)
        return authz_redirect_error(r, RC_MALFORMED, RC_WHY_PARAM, NULL,
                                    "a parameter is repeated or malformed", out);
    if ((rc = check_rest(a, p, *cl, f, r, &b)) != RC_OK)
        return b.why ? authz_redirect_error(r, rc, b.why, b.field, b.msg, out)
                     : authz_page_error(out, rc, RC_WHY_NONE, NULL, "out of memory");
    return RC_OK;
}

/* /authorize with a request_uri (RFC 9126 §4): the pushed request stands for the whole
 * request; of the parameters sent here only client_id counts, and must be the pusher's.
 * Any failure is an error page: the redirect URI is inside the request that was not found. */
static enum rc
pushed(struct app *app, struct arena *a, const struct policy *p, const struct form *f,
       struct authz_req *r, struct authorize_result *out)
{
    const struct span *id = form_get(f, "client_id"), *ru = form_get(f, "request_uri");
    const struct policy_client *cl;
    struct span urn = span_str(AUTHZ_PAR_URN);
    enum rc rc;

    if (!id || !(cl = client_resolve(app, p, *id)))
        return authz_page_error(out, RC_NOT_FOUND, RC_WHY_CLIENT, "client_id",
                                id ? "unknown client" : "missing");
    out->client_id = cl->id;
    if (ru->len <= urn.len || memcmp(ru->p, urn.p, urn.len) != 0)
        return authz_page_error(out, RC_NOT_FOUND, RC_WHY_PAR_URI, "request_uri",
                                "not a pushed request of this server");
    rc = authz_par_take(app, a, span_of(ru->p + urn.len, ru->len - urn.len), cl->id, r);
    if (rc == RC_NOT_FOUND)
        return authz_page_error(out, rc, RC_WHY_PAR_URI, "request_uri",
                                "unknown, expired, used, or pushed by another client");
    if (rc != RC_OK)
        return authz_page_error(out, rc, RC_WHY_NONE, NULL, "try again later");
    return RC_OK;
}

/* A request of a client that must push its requests (RFC 9126 §5), and did not. */
static bool
must_push(const struct app *app, const struct policy_client *cl)
{
    return app->cfg->require_pushed_authorization_requests || cl->require_par;
}

static enum rc
validate(struct app *app, struct arena *a, struct span raw, const struct policy *p,
         struct authz_req *r, struct authorize_result *out)
{
    struct form *f = arena_alloc(a, sizeof(*f));
    const struct policy_client *cl = NULL;
    bool repeated = false;
    enum rc rc;

    if (!f)
        return authz_page_error(out, RC_NOMEM, RC_WHY_NONE, NULL, "out of memory");
    if (form_parse(a, raw.p, raw.len, f, NULL) != RC_OK) {
        salvage(a, raw, f); /* a repeated or broken parameter: invalid_request if we can */
        repeated = true;
    }
    if (!repeated && form_get(f, "request_uri"))
        return pushed(app, a, p, f, r, out);
    if ((rc = authz_validate(app, a, p, f, repeated, r, &cl, out)) != RC_OK)
        return rc;
    if (must_push(app, cl))
        return authz_redirect_error(r, RC_DENIED, RC_WHY_PAR_REQUIRED, "request_uri",
                                    "this client must use pushed authorization requests", out);
    return RC_OK;
}

enum rc
authorize_push(struct app *app, struct arena *a, const struct policy *p,
               const struct policy_client *cl, const struct form *f, const char *dpop_jkt,
               const char **request_uri, struct rc_info *ri)
{
    const struct span *id = form_get(f, "client_id");
    const struct policy_client *vcl = NULL;
    struct authorize_result res = {0};
    struct authz_req r = {0};
    char pid[AUTHZ_PENDING_LEN + 1];
    struct form *g;
    enum rc rc;

    if (id && !span_eq_str(*id, cl->id)) /* §2.1: the one authenticated */
        return rc_fail(ri, RC_MALFORMED, RC_WHY_CLIENT, "client_id",
                       "not the authenticated client");
    if (form_get(f, "request_uri")) /* §2.1 */
        return rc_fail(ri, RC_MALFORMED, RC_WHY_REQUEST_URI, "request_uri", "not allowed here");
    if (cl->fapi2 && !form_get(f, "redirect_uri")) /* FAPI 2.0 SP §5.3.2.2 */
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "redirect_uri", "required (FAPI 2.0)");
    if (!(g = arena_alloc(a, sizeof(*g))))
        return RC_NOMEM;
    *g = *f;
    if (!id) { /* Basic or an assertion named the client: the request is about it all the same */
        if (g->n == FORM_MAX_FIELDS)
            return rc_fail(ri, RC_TOO_LARGE, RC_WHY_PARAM, NULL, "too many parameters");
        g->f[g->n++] = (struct form_field){SPAN("client_id"), span_str(cl->id)};
    }
    if ((rc = authz_validate(app, a, p, g, false, &r, &vcl, &res)) != RC_OK) {
        if (ri)
            *ri = res.why;
        return rc;
    }
    if (dpop_jkt && r.dpop_jkt && strcmp(dpop_jkt, r.dpop_jkt) != 0) /* RFC 9449 §10.1 */
        return rc_fail(ri, RC_DENIED, RC_WHY_DPOP_PROOF, "dpop_jkt", "not the key of the proof");
    if (dpop_jkt)
        r.dpop_jkt = dpop_jkt;
    if ((rc = authz_par_save(app, a, &r, pid)) != RC_OK)
        return rc;
    *request_uri = arena_printf(a, "%s%s", AUTHZ_PAR_URN, pid);
    return *request_uri ? RC_OK : RC_NOMEM;
}

enum rc
authorize_begin(struct app *app, struct arena *a, const struct ratelimit *rl, struct span cookie,
                struct authorize_pre *pre, uint32_t *retry_after_s, struct rc_info *ri)
{
    struct store_call c[2] = {0};
    char tag[SESSION_TAG_LEN + 1];
    bool take = false, read = false;
    size_t n = 0;
    enum rc rc;

    if (retry_after_s)
        *retry_after_s = 0;
    pre->session_rc = RC_NOT_FOUND;
    if ((rc = ratelimit_op(app, a, rl, &c[n].op)) == RC_OK) {
        take = true;
        n++;
    } else if (rc != RC_NOT_FOUND) { /* RC_NOT_FOUND: no bucket to take from */
        return rc;
    }
    if (cookie.len) {
        pre->session_rc = session_load_op(app, a, cookie, tag, &c[n].op);
        if (pre->session_rc == RC_OK) {
            read = true;
            n++;
        }
    }
    if (n == 0)
        return RC_OK;
    /* independent calls: RC_OK when each was answered (its own rc says how); a store that
     * cannot answer leaves RC_UNAVAILABLE in each */
    rc = store_pipeline(app->store, a, c, n);
    if (rc != RC_OK && rc != RC_UNAVAILABLE)
        return rc;
    if (take && (rc = ratelimit_answer(a, &c[0], retry_after_s, ri)) != RC_OK)
        return rc;
    if (read)
        pre->session_rc = session_load_answer(app, a, tag, &c[n - 1], &pre->session);
    return RC_OK;
}

enum rc
authorize_request_begun(struct app *app, struct arena *a, struct span raw,
                        const struct authorize_pre *pre, struct authorize_result *out)
{
    struct policy *p = app_policy_get(app);
    struct authz_req r = {0};
    struct session s, *sp = NULL;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (!p) {
        rc = authz_page_error(out, RC_UNAVAILABLE, RC_WHY_NONE, NULL, "no policy");
        goto out;
    }
    if ((rc = validate(app, a, raw, p, &r, out)) != RC_OK)
        goto out;
    if (pre->session_rc == RC_UNAVAILABLE) {
        rc = authz_redirect_error(&r, RC_UNAVAILABLE, RC_WHY_NONE, NULL, "try again later", out);
        goto out;
    }
    if (pre->session_rc == RC_OK) {
        s = pre->session;
        sp = &s;
    }
    rc = authz_continue(app, a, &r, NULL, sp, out);
out:
    app_policy_put(p);
    authz_log("request", out, rc);
    return rc;
}

enum rc
authorize_request(struct app *app, struct arena *a, struct span raw, struct span cookie,
                  struct authorize_result *out)
{
    struct authorize_pre pre = {RC_NOT_FOUND};

    if (cookie.len)
        pre.session_rc = session_load(app, a, cookie, &pre.session);
    return authorize_request_begun(app, a, raw, &pre, out);
}
