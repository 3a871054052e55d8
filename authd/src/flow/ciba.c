/* OpenID CIBA Core 1.0, poll mode (flow/ciba.h): the backchannel authentication request,
 * the approval page's lookup and decision, the polls of /token. The state machine is
 * flow/pending's, the polls flow/decoupled's; this file adds the citizen named by
 * login_hint, the SMS link and the rules of CIBA Core. */
#include "flow/ciba.h"

#include <openssl/crypto.h>
#include <string.h>

#include "core/authz.h"
#include "core/bindmsg.h"
#include "core/form.h"
#include "core/idnum.h"
#include "core/mask.h"
#include "flow/account.h"
#include "flow/authorize.h"
#include "flow/clients.h"
#include "flow/decoupled.h"
#include "flow/audit.h"
#include "flow/grant.h"
#include "flow/hotline.h"
#include "flow/sms.h"
#include "log/log.h"
#include "port/secrets.h"
#include "port/store.h"
#include "util/num.h"

/* The store key of a link's code: a keyed hash, so that the store holds no code in the
 * clear. RC_MALFORMED when code is not CIBA_CODE_LEN base64url characters. */
static enum rc
code_key(struct app *app, struct arena *a, struct span code, struct span *key)
{
    struct span parts[2] = {SPAN("cibauc"), code};
    char h[65];
    enum rc rc;

    if (code.len != CIBA_CODE_LEN || !span_is_b64url(code))
        return RC_MALFORMED;
    if ((rc = secrets_hmac_hex(app->secrets, SECRET_TOKEN, parts, 2, h)) != RC_OK)
        return rc;
    *key = store_key(a, "cibauc", span_of(h, 64), NULL);
    OPENSSL_cleanse(h, sizeof(h));
    return key->p ? RC_OK : RC_NOMEM;
}

/* CIBA Core §7.1: requested_expiry, a positive integer of seconds, honoured up to
 * ciba_max_expiry_s; absent: ciba_expiry_s. */
static enum rc
expiry_of(const struct app *app, struct span in, uint32_t *ttl, struct rc_info *ri)
{
    uint64_t v;

    *ttl = app->cfg->ciba_expiry_s;
    if (!in.p)
        return RC_OK;
    if (num_parse_u64(in, 1, UINT32_MAX, &v) != RC_OK)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "requested_expiry",
                       "not a positive integer");
    *ttl = v < app->cfg->ciba_max_expiry_s ? (uint32_t)v : app->cfg->ciba_max_expiry_s;
    return RC_OK;
}

/* The request's parameters other than login_hint (CIBA Core §7.1, §13). */
static enum rc
check_request(struct app *app, struct arena *a, const struct policy *p,
              const struct policy_client *c, const struct ciba_req *req, struct pending *pd,
              uint32_t *ttl, struct rc_info *ri)
{
    const char *bm = NULL;
    enum rc rc;

    if (!(c->grants & GRANT_CIBA) || c->type != CLIENT_CONFIDENTIAL)
        return rc_fail(ri, RC_DENIED, RC_WHY_CLIENT_NOT_ALLOWED, "client_id",
                       "not registered for the ciba grant");
    if (req->id_token_hint.p)
        return rc_fail(ri, RC_UNSUPPORTED, RC_WHY_PARAM, "id_token_hint",
                       "not supported: use login_hint");
    if (req->login_hint.p && req->login_hint_token.p) /* CIBA Core §7.1: exactly one hint */
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "login_hint_token",
                       "only one of login_hint and login_hint_token");
    if ((!req->login_hint.p || req->login_hint.len == 0)
        && (!req->login_hint_token.p || req->login_hint_token.len == 0))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "login_hint", "missing");
    if (!req->scope.p || !authz_list_has(req->scope, "openid"))
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "must contain openid");
    if ((rc = decoupled_scope(a, p, c, req->scope, &pd->scope, ri)) != RC_OK)
        return rc;
    if (!authz_list_has(span_str(pd->scope), "openid"))
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "openid not registered");
    if (req->binding_message.p && ((rc = bindmsg_parse(req->binding_message, a, &bm, ri)) != RC_OK))
        return rc == RC_NOMEM ? rc_because(ri, rc, RC_WHY_NONE)
                              : rc_because(ri, RC_MALFORMED, RC_WHY_BINDING_MESSAGE);
    if ((rc = pending_attr_set(pd, "bm", bm)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    return expiry_of(app, req->requested_expiry, ttl, ri);
}

/* The account login_hint names: one answer for a malformed number, an unknown one and a
 * disabled account (CIBA Core §13 unknown_user_id). */
static enum rc
hinted_account(struct app *app, struct arena *a, struct span hint, struct account *acct,
               struct rc_info *ri)
{
    struct idnum idn;
    char id[ACCOUNT_ID_LEN + 1];
    enum rc rc = RC_MALFORMED;

    if (hint.len == IDNUM_LEN && idnum_parse(hint, &idn, NULL) == RC_OK
        && account_id_of(app, span_str(idn.text), id, NULL) == RC_OK)
        rc = account_get(app, a, id, acct);
    OPENSSL_cleanse(&idn, sizeof(idn));
    if (rc == RC_OK && !acct->disabled)
        return RC_OK;
    if (rc == RC_OK || rc == RC_NOT_FOUND || rc == RC_MALFORMED)
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_UNKNOWN_USER, "login_hint", "unknown user");
    return rc_because(ri, rc, RC_WHY_NONE);
}

/* The SMS, in sms_lang (zh unless "en"): the service, the client's name and the link (never
 * the binding message: the client's words do not go out in authd's name). */
static const char *
notice_text(struct app *app, struct arena *a, const struct policy_client *c, const char *code)
{
    const struct config *cfg = app->cfg;
    const char *svc = cfg->sms_service_name ? cfg->sms_service_name : "authd";
    const char *name = c->name && *c->name ? c->name : c->id;

    if (cfg->sms_lang && strcmp(cfg->sms_lang, "en") == 0)
        return arena_printf(a,
                            "[%s] %s asks to act for you. If you started this, open %s%s?code=%s "
                            "to confirm; otherwise ignore this message.",
                            svc, name, cfg->issuer, CIBA_PATH, code);
    return arena_printf(
        a, "【%s】%s 请求以您的身份办理业务。如是您本人发起，请打开 %s%s?code=%s 确认；否则请忽略。",
        svc, name, cfg->issuer, CIBA_PATH, code);
}

/* The account a hotline agent's login_hint_token names (flow/hotline.h), the request's
 * scope within what the purpose allows, and the agent on the pending interaction (never
 * the citizen's ID number: the account id alone). */
static enum rc
agent_account(struct app *app, struct arena *a, const struct policy *p,
              const struct policy_client *c, struct span token, struct pending *pd,
              struct account *acct, struct rc_info *ri)
{
    const struct policy_purpose *pp;
    struct hotline_hint h;
    struct span w;
    size_t i = 0;
    enum rc rc = hotline_hint_verify(app, a, p, c, token, &h, ri);

    if (rc != RC_OK)
        return rc;
    if ((rc = account_get(app, a, h.acct, acct)) == RC_NOT_FOUND || (rc == RC_OK && acct->disabled))
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_UNKNOWN_USER, "login_hint_token", "unknown user");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    pp = policy_purpose(p, span_str(h.purpose));
    while (span_next_word(span_str(pd->scope), &i, &w))
        if (!strlist_has(&pp->scopes, w))
            return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "beyond the stated purpose");
    if ((rc = pending_attr_set(pd, "agent", h.agent)) != RC_OK
        || (rc = pending_attr_set(pd, "agent_sub", h.agent_sub)) != RC_OK
        || (rc = pending_attr_set(pd, "agent_name", h.agent_name)) != RC_OK
        || (rc = pending_attr_set(pd, "emp", h.emp)) != RC_OK
        || (rc = pending_attr_set(pd, "purpose", h.purpose)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    return RC_OK;
}

/* One audit record of a request or its answer (outcome NULL: the request): the citizen's
 * account, the client and, for an agent's request, the agent (docs/audit.md). */
static enum rc
audit_ciba(struct app *app, const char *ev, const struct pending *pd, const char *acct,
           const char *outcome)
{
    const char *ag = pending_attr(pd, "agent_sub"), *an = pending_attr(pd, "agent_name");
    const char *emp = pending_attr(pd, "emp"), *pu = pending_attr(pd, "purpose");
    const char *kv[] = {"acct",       acct ? acct : "",
                        "client",     pd->client_id,
                        "agent",      ag ? ag : "",
                        "agent_name", an ? an : "",
                        "emp",        emp ? emp : "",
                        "purpose",    pu ? pu : "",
                        "outcome",    outcome};

    return audit_append(app, ev, kv, outcome ? 14 : 12);
}

static void
log_start(const struct policy_client *c, const struct pending *pd, const struct account *acct)
{
    char masked[MASK_IDNUM_SIZE];
    struct log_rec *lr = log_begin(LOG_INFO, "ciba.start");

    mask_idnum(span_str(acct->id_number), masked);
    log_str(lr, "client", c->id);
    log_str(lr, "scope", pd->scope);
    log_str(lr, "idn", masked);
    log_end(lr);
}

/* Saves the interaction and its code, then sends the SMS; undoes both if it is not sent. */
static enum rc
start(struct app *app, struct arena *a, const struct policy_client *c, struct pending *pd,
      const struct account *acct, uint32_t ttl, uint32_t *retry, struct rc_info *ri)
{
    char code[CIBA_CODE_LEN + 8];
    const char *text = NULL;
    struct span key = {NULL, 0};
    enum rc rc;

    if ((rc = pending_attr_set(pd, "acct", arena_strndup(a, acct->id, strlen(acct->id)))) != RC_OK
        || (rc = grant_random_token(app, 12, code, sizeof(code))) != RC_OK
        || (rc = code_key(app, a, span_str(code), &key)) != RC_OK
        || (rc = pending_save(app, a, pd, ttl)) != RC_OK)
        goto out;
    if ((rc = store_put(app->store, key, span_str(pd->id), ttl, STORE_NX)) != RC_OK) {
        rc = rc == RC_CONFLICT ? RC_INTERNAL : rc; /* a 96-bit collision */
        goto undo;
    }
    if (!(text = notice_text(app, a, c, code))) {
        rc = RC_NOMEM;
        goto undo;
    }
    if ((rc = sms_send_notice(app, a, acct, NULL, text, ri, retry)) == RC_OK)
        goto out;
    (void)store_del(app->store, key);
undo:
    (void)pending_complete(app, a, PENDING_CIBA, span_str(pd->id), NULL);
out:
    if (text)
        OPENSSL_cleanse((void *)text, strlen(text));
    OPENSSL_cleanse(code, sizeof(code));
    if (rc == RC_DENIED || rc == RC_LIMITED)
        return rc; /* ri: RC_WHY_NO_PHONE, RC_WHY_RATE */
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

enum rc
ciba_authorize(struct app *app, struct arena *a, const struct policy *p,
               const struct policy_client *c, const struct ciba_req *req, struct ciba_start *out,
               uint32_t *retry_after_s, struct rc_info *ri)
{
    struct pending pd = {.kind = PENDING_CIBA, .client_id = c->id};
    struct account acct = {0};
    uint32_t ttl = 0, retry = 0;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (retry_after_s)
        *retry_after_s = 0;
    if ((rc = check_request(app, a, p, c, req, &pd, &ttl, ri)) != RC_OK)
        goto out;
    rc = req->login_hint_token.p
             ? agent_account(app, a, p, c, req->login_hint_token, &pd, &acct, ri)
             : hinted_account(app, a, req->login_hint, &acct, ri);
    if (rc != RC_OK)
        goto out;
    /* on the record before the citizen is asked: no record, no request */
    if ((rc = audit_ciba(app, "ciba.request", &pd, acct.id, NULL)) != RC_OK) {
        rc = rc_because(ri, rc, RC_WHY_NONE);
        goto out;
    }
    pd.interval = app->cfg->ciba_poll_interval_s;
    if ((rc = start(app, a, c, &pd, &acct, ttl, &retry, ri)) != RC_OK)
        goto out;
    out->expires_in = ttl, out->interval = pd.interval;
    if (!(out->auth_req_id = arena_strndup(a, pd.id, PENDING_ID_LEN)))
        rc = rc_because(ri, RC_NOMEM, RC_WHY_NONE);
    else
        log_start(c, &pd, &acct);
out:
    if (retry_after_s)
        *retry_after_s = retry;
    OPENSSL_cleanse(acct.id_number, sizeof(acct.id_number));
    return rc;
}

/* The waiting interaction of a link's code, for the citizen of session s. */
static enum rc
find(struct app *app, struct arena *a, struct span code, const struct session *s, struct span *key,
     struct pending *pd, struct rc_info *ri)
{
    const char *acct;
    struct span id;
    enum rc rc = code_key(app, a, code, key);

    if (rc == RC_OK)
        rc = store_get(app->store, a, *key, &id);
    if (rc == RC_OK)
        rc = pending_load(app, a, PENDING_CIBA, id, pd);
    if (rc == RC_NOT_FOUND || rc == RC_MALFORMED || (rc == RC_OK && pd->state != PENDING_WAITING))
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_PENDING, "code", "unknown, decided or expired");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    acct = pending_attr(pd, "acct");
    if (!acct || strlen(acct) != strlen(s->account_id)
        || CRYPTO_memcmp(acct, s->account_id, strlen(acct)) != 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_OTHER_CITIZEN, "session", "another citizen's");
    return RC_OK;
}

static enum rc
view_of(struct app *app, const struct policy *p, const struct pending *pd, struct ciba_view *out,
        struct rc_info *ri)
{
    const struct policy_client *c = client_resolve(app, p, span_str(pd->client_id));

    memset(out, 0, sizeof(*out));
    if (!c) /* removed from policy since: the request is void */
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_PENDING, "code", "client gone");
    out->client_id = pd->client_id;
    out->client_name = c->name && *c->name ? c->name : c->id;
    out->binding_message = pending_attr(pd, "bm");
    out->scope = pd->scope ? pd->scope : "";
    out->agent_name = pending_attr(pd, "agent_name");
    out->emp = pending_attr(pd, "emp");
    if ((out->purpose = pending_attr(pd, "purpose"))) {
        const struct policy_purpose *pp = policy_purpose(p, span_str(out->purpose));
        out->purpose_name = pp && pp->name ? pp->name : out->purpose;
        out->purpose_name_en = pp && pp->name_en ? pp->name_en : out->purpose_name;
    }
    return authorize_policy_min(p, c, out->scope, &out->min, ri);
}

enum rc
ciba_lookup(struct app *app, struct arena *a, const struct policy *p, struct span code,
            const struct session *s, struct ciba_view *out, struct rc_info *ri)
{
    struct pending pd;
    struct span key;
    enum rc rc = find(app, a, code, s, &key, &pd, ri);

    return rc == RC_OK ? view_of(app, p, &pd, out, ri) : rc;
}

enum rc
ciba_decide(struct app *app, struct arena *a, const struct policy *p, struct span code,
            const struct session *s, bool approve, struct rc_info *ri)
{
    struct pending pd;
    struct ciba_view v;
    struct span key;
    enum rc rc = find(app, a, code, s, &key, &pd, ri);

    if (rc != RC_OK || (rc = view_of(app, p, &pd, &v, ri)) != RC_OK)
        return rc;
    /* the answer is on the record before it takes effect */
    if ((rc = audit_ciba(app, "ciba.answer", &pd, pending_attr(&pd, "acct"),
                         approve ? "approved" : "denied"))
        != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    rc = decoupled_decide(app, a, PENDING_CIBA, &pd, key, s, v.min, approve, "ciba.decide", ri);
    if (rc == RC_EXPIRED)
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_PENDING, "code", "decided or expired");
    return rc;
}

enum rc
ciba_poll(struct app *app, struct arena *a, const struct policy_client *c, struct span auth_req_id,
          struct pending *out, struct rc_info *ri)
{
    enum rc rc = decoupled_poll(app, a, PENDING_CIBA, c, auth_req_id, "auth_req_id", out, ri);
    struct pending gone;

    /* expired unanswered: the record says so once, when the first poll after it takes the
     * interaction (later polls: invalid_grant) */
    if (rc == RC_EXPIRED && ri && ri->why == RC_WHY_DEVICE_EXPIRED
        && pending_complete(app, a, PENDING_CIBA, auth_req_id, &gone) == RC_OK
        && audit_ciba(app, "ciba.answer", &gone, pending_attr(&gone, "acct"), "expired") != RC_OK)
        return rc_because(ri, RC_UNAVAILABLE, RC_WHY_NONE);
    return rc;
}
