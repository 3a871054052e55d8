/* /authorize after validation and under the pages: the pending request, the session
 * decision, consent, codes and the answers to the client (OIDC Core §3.1.2.3-§3.1.2.6,
 * RFC 6749 §4.1.2, RFC 9207). */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "conf/policy.h"
#include "core/authz.h"
#include "flow/authn.h"
#include "flow/authorize_int.h"
#include "flow/clients.h"
#include "flow/consents.h"
#include "flow/grant.h"
#include "flow/pending.h"
#include "log/log.h"
#include "port/store.h"

_Static_assert(AUTHZ_PENDING_LEN == PENDING_ID_LEN, "a pending request id is a pending id");

/* The request's own attributes beside the common fields of a pending interaction. */
static enum rc
to_pending(struct arena *a, const struct authz_req *r, struct pending *p)
{
    const char *num[] = {arena_printf(a, "%u", r->prompt),
                         arena_printf(a, "%lld", (long long)r->max_age)};
    const struct pending_attr at[] = {
        {"redirect_uri", r->redirect_uri},
        {"redirect_given", r->redirect_given},
        {"state", r->state},
        {"nonce", r->nonce},
        {"code_challenge", r->code_challenge},
        {"login_hint", r->login_hint},
        {"ui_locales", r->ui_locales},
        {"login_sid", r->login_sid},
        {"prompt", num[0]},
        {"max_age", num[1]},
        {"rp_acr", r->rp_asked_acr ? "1" : NULL},
        {"ru_omitted", r->redirect_omitted ? "1" : NULL},
        {"dpop_jkt", r->dpop_jkt},
    };
    enum rc rc = num[0] && num[1] ? RC_OK : RC_NOMEM;

    p->client_id = r->client_id, p->scope = r->scope, p->claims = r->claims;
    p->acr = r->min;
    for (size_t i = 0; rc == RC_OK && i < sizeof(at) / sizeof(at[0]); i++)
        rc = pending_attr_set(p, at[i].name, at[i].value);
    return rc;
}

static bool
attr_int(const struct pending *p, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
    const char *v = pending_attr(p, name);
    char *end;
    long long n;

    if (!v || !*v)
        return false;
    n = strtoll(v, &end, 10);
    if (*end || n < lo || n > hi)
        return false;
    *out = n;
    return true;
}

static bool
from_pending(const struct pending *p, struct authz_req *out)
{
    int64_t prompt, max_age;

    memset(out, 0, sizeof(*out));
    out->client_id = p->client_id, out->scope = p->scope, out->claims = p->claims;
    out->min = p->acr;
    out->redirect_uri = pending_attr(p, "redirect_uri");
    out->redirect_given = pending_attr(p, "redirect_given");
    out->state = pending_attr(p, "state"), out->nonce = pending_attr(p, "nonce");
    out->code_challenge = pending_attr(p, "code_challenge");
    out->login_hint = pending_attr(p, "login_hint");
    out->ui_locales = pending_attr(p, "ui_locales");
    out->login_sid = pending_attr(p, "login_sid");
    out->dpop_jkt = pending_attr(p, "dpop_jkt");
    out->rp_asked_acr = pending_attr(p, "rp_acr") != NULL;
    out->redirect_omitted = pending_attr(p, "ru_omitted") != NULL;
    if (!attr_int(p, "prompt", 0, 0xff, &prompt)
        || !attr_int(p, "max_age", -1, INT32_MAX, &max_age))
        return false;
    out->prompt = (unsigned)prompt, out->max_age = max_age;
    return out->redirect_uri && out->redirect_given && out->scope;
}

/* Saves r as p (its kind set, a new id drawn when p->id is empty) for ttl; *id its id. */
static enum rc
save_as(struct app *app, struct arena *a, const struct authz_req *r, struct pending *p,
        uint32_t ttl, char id[AUTHZ_PENDING_LEN + 1])
{
    enum rc rc;

    if ((rc = to_pending(a, r, p)) != RC_OK || (rc = pending_save(app, a, p, ttl)) != RC_OK)
        return rc;
    memcpy(id, p->id, AUTHZ_PENDING_LEN + 1);
    return RC_OK;
}

enum rc
authz_pending_save(struct app *app, struct arena *a, const struct authz_req *r,
                   char id[AUTHZ_PENDING_LEN + 1])
{
    struct pending p;

    memset(&p, 0, sizeof(p));
    if (id[0]) { /* saved again at the next step: another AUTHZ_PENDING_TTL from now */
        memcpy(p.id, id, AUTHZ_PENDING_LEN + 1);
        p.created = clock_now(app->clock);
        p.expires = p.created + AUTHZ_PENDING_TTL;
    }
    p.kind = PENDING_AUTHZ;
    return save_as(app, a, r, &p, AUTHZ_PENDING_TTL, id);
}

enum rc
authz_par_save(struct app *app, struct arena *a, const struct authz_req *r,
               char id[AUTHZ_PENDING_LEN + 1])
{
    struct pending p;

    memset(&p, 0, sizeof(p));
    p.kind = PENDING_PAR;
    return save_as(app, a, r, &p, AUTHZ_PAR_TTL, id);
}

enum rc
authz_par_take(struct app *app, struct arena *a, struct span id, const char *client_id,
               struct authz_req *out)
{
    struct pending p;
    enum rc rc = pending_load(app, a, PENDING_PAR, id, &p);

    if (rc != RC_OK)
        return rc;
    /* bound to its client (RFC 9126 §4); another client's attempt leaves it to its owner */
    if (p.state == PENDING_EXPIRED || strcmp(p.client_id, client_id) != 0)
        return RC_NOT_FOUND;
    if ((rc = pending_complete(app, a, PENDING_PAR, id, &p)) != RC_OK)
        return rc; /* used meanwhile: one /authorize per pushed request */
    if (p.state == PENDING_EXPIRED || !from_pending(&p, out))
        return RC_NOT_FOUND;
    return RC_OK;
}

enum rc
authz_pending_load(struct app *app, struct arena *a, struct span id, struct authz_req *out)
{
    struct pending p;
    enum rc rc = pending_load(app, a, PENDING_AUTHZ, id, &p);

    if (rc != RC_OK)
        return rc;
    if (p.state == PENDING_EXPIRED || !from_pending(&p, out))
        return RC_NOT_FOUND;
    return RC_OK;
}

enum rc
authz_pending_drop(struct app *app, struct arena *a, const char *id)
{
    return id ? pending_complete(app, a, PENDING_AUTHZ, span_str(id), NULL) : RC_OK;
}

/* Saves r as pending (keeping its id) and sends the browser to page?authz=ID, with
 * &authn=NAME when m (may be NULL) is the authenticator to use. */
static enum rc
to_page(struct app *app, struct arena *a, const struct authz_req *r, const char *pending_id,
        const char *page, const struct authn *m, enum authorize_kind kind,
        struct authorize_result *out)
{
    char id[AUTHZ_PENDING_LEN + 1] = "";
    enum rc rc;

    if (pending_id && strlen(pending_id) == AUTHZ_PENDING_LEN)
        memcpy(id, pending_id, sizeof(id));
    if ((rc = authz_pending_save(app, a, r, id)) != RC_OK)
        return authz_redirect_error(r, rc, RC_WHY_NONE, NULL, "try again later", out);
    out->kind = kind;
    out->client_id = r->client_id;
    out->location = m ? arena_printf(a, "%s?authz=%s&authn=%s", page, id, m->name)
                      : arena_printf(a, "%s?authz=%s", page, id);
    return out->location ? RC_OK : RC_NOMEM;
}

/* What the request's accepted authenticators reach: a new login, and a step-up. */
static bool
reach(struct app *app, const struct authz_req *r, struct loa *login, struct loa *step)
{
    struct policy *p = app_policy_get(app);

    *login = *step = (struct loa){IAL_NONE, AAL_NONE};
    if (!p)
        return false;
    authn_reach(p, client_resolve(app, p, span_str(r->client_id)), r->scope, login, step);
    app_policy_put(p);
    return true;
}

/* The authenticator that raises session s to r's level, preferring one its citizen has
 * enrolled (which reads the account: asked only once a step-up is decided, so that a
 * session at the level, an SSO hop, costs no store reads here). NULL: none, or no policy. */
static const struct authn *
step_up(struct app *app, struct arena *a, const struct authz_req *r, const struct session *s)
{
    struct policy *p = app_policy_get(app);
    const struct authn *m = NULL;

    if (p)
        m = authn_step_up_for(app, a, p, client_resolve(app, p, span_str(r->client_id)), r->scope,
                              s->loa, r->min, s->account_id);
    app_policy_put(p);
    return m;
}

bool
authz_gate(struct app *app, struct arena *a, const struct authz_req *r, const char *pending_id,
           const struct session *s, struct authorize_result *out, enum rc *rc)
{
    struct authz_need need = {r->prompt,
                              r->max_age,
                              r->min,
                              {0},
                              {0},
                              s && r->login_sid && strcmp(s->sid, r->login_sid) == 0,
                              r->rp_asked_acr};
    struct authz_have have = {s != NULL, s ? s->loa : (struct loa){0}, s ? s->auth_time : 0};

    if (!reach(app, r, &need.reach, &need.step)) {
        *rc = authz_redirect_error(r, RC_UNAVAILABLE, RC_WHY_NONE, NULL, "try again later", out);
        return false;
    }
    switch (authz_decide(&need, &have, clock_now(app->clock))) {
    case AUTHZ_PROCEED:
        return true;
    case AUTHZ_LOGIN:
        *rc = to_page(app, a, r, pending_id, "/login", NULL, AUTHORIZE_LOGIN, out);
        return false;
    case AUTHZ_STEP_UP: /* the session is below the level: an authenticator that raises it */
        *rc = to_page(app, a, r, pending_id, "/login", step_up(app, a, r, s), AUTHORIZE_LOGIN, out);
        return false;
    case AUTHZ_LOGIN_REQUIRED: /* OIDC Core §3.1.2.6 */
        *rc = authz_redirect_error(r, RC_DENIED, RC_WHY_LOGIN_REQUIRED, NULL,
                                   "no usable login session", out);
        break;
    case AUTHZ_UNMET: /* never a login loop, never a silent downgrade */
        *rc = authz_redirect_error(
            r, RC_DENIED, r->rp_asked_acr ? RC_WHY_ACR_UNMET : RC_WHY_LEVEL, NULL,
            "the required level of assurance cannot be reached with a password login", out);
        break;
    }
    authz_pending_drop(app, a, pending_id);
    return false;
}

/* Whether the consent page must be shown: prompt=consent, or a third-party or public
 * client without a remembered consent covering the scopes, or id_number (always explicit,
 * even for first-party clients: a sensitive personal datum). A public client is never
 * treated as first-party: any local process can claim its loopback redirect URI (RFC 8252
 * §8.6), so a code without a user interaction needs this citizen's earlier approval of
 * this client. RC_UNAVAILABLE. */
static enum rc
consent_needed(struct app *app, struct arena *a, const struct authz_req *r, const struct session *s,
               bool *needed)
{
    struct policy *p = app_policy_get(app);
    const struct policy_client *cl = client_resolve(app, p, span_str(r->client_id));
    bool first = cl && cl->first_party && cl->type != CLIENT_PUBLIC;
    struct span have;
    enum rc rc = RC_OK;

    app_policy_put(p);
    *needed = true;
    if (r->prompt & AUTHZ_PROMPT_CONSENT)
        return RC_OK;
    if (first && !authz_list_has(span_str(r->scope), "id_number")) {
        *needed = false;
        return RC_OK;
    }
    rc = store_get(app->store, a, consents_key(a, s->account_id, r->client_id), &have);
    if (rc == RC_OK)
        *needed = !authz_scopes_covered(span_str(r->scope), have);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc
authz_continue(struct app *app, struct arena *a, const struct authz_req *r, const char *pending_id,
               const struct session *s, struct authorize_result *out)
{
    bool needed;
    enum rc rc = RC_OK;

    if (!authz_gate(app, a, r, pending_id, s, out, &rc))
        return rc;
    if ((rc = consent_needed(app, a, r, s, &needed)) != RC_OK)
        return authz_redirect_error(r, rc, RC_WHY_NONE, NULL, "try again later", out);
    if (needed && (r->prompt & AUTHZ_PROMPT_NONE)) {
        authz_pending_drop(app, a, pending_id);
        return authz_redirect_error(r, RC_DENIED, RC_WHY_CONSENT_REQUIRED, NULL,
                                    "consent is needed", out);
    }
    if (needed)
        return to_page(app, a, r, pending_id, "/consent", NULL, AUTHORIZE_CONSENT, out);
    if ((rc = authz_pending_drop(app, a, pending_id)) != RC_OK) /* another request won */
        return authz_page_error(out, rc, RC_WHY_PENDING, "authz", "already completed");
    return authz_issue(app, a, r, s, r->scope, out);
}

void
authz_consent_remember(struct app *app, struct arena *a, const struct session *s,
                       const struct authz_req *r, const char *scope)
{
    consents_remember(app, a, s->account_id, r->client_id, scope);
}

/* uri + '?' or '&' + the parameters (RFC 6749 §4.1.2: keep the URI's query), in a; NULL
 * when out of memory. */
static const char *
client_location(struct app *app, struct arena *a, const char *uri, const char *const *kv, size_t n)
{
    const char *out = NULL;
    struct buf b;
    enum rc rc;

    buf_init(&b, 16384);
    rc = buf_append_str(&b, uri);
    if (rc == RC_OK && !strchr(uri, '?'))
        rc = buf_append(&b, "?", 1);
    for (size_t i = 0; rc == RC_OK && i < n; i += 2)
        if (kv[i + 1])
            rc = form_append(&b, kv[i], span_str(kv[i + 1]));
    if (rc == RC_OK) /* RFC 9207 §2 */
        rc = form_append(&b, "iss", span_str(app->cfg ? app->cfg->issuer : ""));
    if (rc == RC_OK)
        out = arena_strndup(a, b.p, b.len);
    buf_clear(&b);
    return out;
}

const char *
authorize_error_location(struct app *app, struct arena *a, const struct authorize_result *res,
                         const char *error, const char *description)
{
    const char *kv[] = {"error", error, "error_description", description, "state", res->state};

    return res->client_uri ? client_location(app, a, res->client_uri, kv, 6) : NULL;
}

enum rc
authz_redirect_error(const struct authz_req *r, enum rc rc, enum rc_reason why, const char *field,
                     const char *msg, struct authorize_result *out)
{
    out->kind = AUTHORIZE_ERROR;
    out->client_id = r->client_id;
    out->client_uri = r->redirect_given;
    out->state = r->state;
    return rc_fail(&out->why, rc == RC_OK ? RC_DENIED : rc, why, field, msg);
}

/* The lifetime of a code for client_id: the policy's, at most FAPI2_CODE_TTL for a client of
 * the FAPI 2.0 profile. */
static uint32_t
code_ttl(const struct policy *p, const char *client_id)
{
    const struct policy_client *c = p ? policy_client(p, span_str(client_id)) : NULL;
    uint32_t ttl = p ? p->tokens.code_ttl : 60;

    return c && c->fapi2 && ttl > FAPI2_CODE_TTL ? FAPI2_CODE_TTL : ttl;
}

/* The session's touch, when due, in one store round trip (store_pipeline); best effort (the
 * session is good: we checked it). Nothing else is written for a code: it is the sealed
 * grant (flow/grant.h), and its client joins the session's :rps set when it exchanges the
 * code (flow/token.c): only a client that got tokens is sent a back-channel logout. */
static void
issue_writes(struct app *app, struct arena *a, const struct session *s)
{
    struct store_call c[SESSION_TOUCH_OPS] = {0};
    struct store_op touch[SESSION_TOUCH_OPS];
    struct session t = *s;
    size_t n = 0;

    if (session_touch_ops(app, a, &t, touch, &n) != RC_OK || n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        c[i].op = touch[i];
    (void)store_pipeline(app->store, a, c, n);
}

enum rc
authz_issue(struct app *app, struct arena *a, const struct authz_req *r, const struct session *s,
            const char *scope, struct authorize_result *out)
{
    struct policy *p = app_policy_get(app);
    struct span code = {NULL, 0};
    /* RFC 6749 §4.1.3: /token compares redirect_uri with what this request sent (the
     * loopback port included), and only if it sent one. */
    struct grant g = {.client_id = r->client_id,
                      .redirect_uri = r->redirect_omitted ? NULL : r->redirect_given,
                      .scope = scope,
                      .nonce = r->nonce,
                      .code_challenge = r->code_challenge,
                      .account_id = s->account_id,
                      .sid = s->sid,
                      .sess_tag = s->tag,
                      .sess_created = s->created,
                      .amr = s->amr,
                      .claims = r->claims,
                      .dpop_jkt = r->dpop_jkt,
                      .auth_time = s->auth_time,
                      .issued_at = clock_now(app->clock),
                      .loa = s->loa};
    uint32_t ttl = code_ttl(p, r->client_id);
    enum rc rc;

    app_policy_put(p);
    /* a grant too large to seal: its free-form parts (claims, nonce, redirect_uri) */
    if ((rc = grant_code_seal(app, a, &g, ttl, &code)) == RC_TOO_LARGE)
        return authz_redirect_error(r, RC_MALFORMED, RC_WHY_PARAM, "claims",
                                    "the request is too large", out);
    if (rc != RC_OK)
        return authz_redirect_error(r, rc, RC_WHY_NONE, NULL, "try again later", out);
    issue_writes(app, a, s);
    {
        const char *kv[] = {"code", (const char *)code.p, "state", r->state};
        out->location = client_location(app, a, r->redirect_given, kv, 4);
    }
    out->kind = AUTHORIZE_REDIRECT;
    out->client_id = r->client_id;
    return out->location ? RC_OK : RC_NOMEM;
}

enum rc
authz_page_error(struct authorize_result *out, enum rc rc, enum rc_reason why, const char *field,
                 const char *msg)
{
    out->kind = AUTHORIZE_PAGE;
    return rc_fail(&out->why, rc, why, field, msg);
}

void
authz_log(const char *step, const struct authorize_result *out, enum rc rc)
{
    static const char *const kinds[] = {"error_page", "redirect", "login",
                                        "consent",    "form",     "redirect"};
    struct log_rec *lr = log_begin(LOG_INFO, "authorize");

    log_str(lr, "step", step);
    if (out->client_id)
        log_str(lr, "client", out->client_id);
    log_str(lr, "outcome", kinds[out->kind]);
    if (out->kind == AUTHORIZE_PAGE || out->kind == AUTHORIZE_FORM || out->kind == AUTHORIZE_ERROR)
        log_str(lr, "reason", rc_reason_name(out->why.why));
    log_str(lr, "rc", rc_name(rc));
    log_end(lr);
}
