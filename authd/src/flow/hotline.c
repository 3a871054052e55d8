/* The hotline's lookup and its login_hint_token (flow/hotline.h). */
#include "flow/hotline.h"

#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>

#include "core/idnum.h"
#include "core/jose.h"
#include "core/jsonget.h"
#include "flow/account.h"
#include "flow/audit.h"
#include "flow/grant.h"
#include "flow/ratelimit.h"
#include "flow/sms.h"
#include "flow/totp.h"
#include "port/clock.h"
#include "port/keys.h"

enum rc
hotline_agent_check(struct app *app, struct arena *a, const struct policy *p,
                    const struct token_claims *tc, const char *may, struct span purpose,
                    struct hotline_agent *out, struct rc_info *ri)
{
    struct loa l = {IAL_NONE, AAL_NONE};
    enum rc rc;

    memset(out, 0, sizeof(*out));
    rc = tc->account_id ? staff_of_account(app, a, tc->account_id, &out->s) : RC_NOT_FOUND;
    if (rc == RC_NOT_FOUND || (rc == RC_OK && out->s.disabled))
        return rc_fail(ri, RC_DENIED, RC_WHY_NOT_STAFF, "token", "not a staff member's");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    /* who asks, for the record of a refusal too */
    out->sub = tc->sub;
    out->client_id = tc->client_id;
    mask_name(span_str(out->s.name), out->name_masked);
    if (!tc->acr || loa_parse(span_str(tc->acr), &l) != RC_OK || l.aal < AAL2)
        return rc_fail(ri, RC_DENIED, RC_WHY_LEVEL, "acr", "staff must log in at aal2");
    out->role = policy_role(p, span_str(out->s.role));
    if (!out->role || !strlist_has(&out->role->may, span_str(may)))
        return rc_fail(ri, RC_DENIED, RC_WHY_ROLE, "role", "the role does not allow this");
    if (purpose.p
        && (!strlist_has(&out->role->purposes, purpose)
            || !(out->purpose = policy_purpose(p, purpose))))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PURPOSE, "purpose",
                       "not a purpose of the staff member's role");
    return RC_OK;
}

/* One hotline.lookup record (acct NULL: nothing found, or refused). */
static enum rc
audit_lookup(struct app *app, const struct hotline_agent *ag, const char *acct, const char *by,
             const char *purpose, const char *outcome)
{
    const char *kv[] = {"agent",      ag->sub ? ag->sub : "",
                        "agent_name", ag->name_masked,
                        "emp",        ag->s.emp,
                        "purpose",    purpose,
                        "by",         by,
                        "outcome",    outcome,
                        "acct",       acct};

    return audit_append(app, "hotline.lookup", kv, acct ? 14 : 12);
}

/* The per-minute bucket, then the daily quota (a supervisor's, else the role's). */
static enum rc
take_limits(struct app *app, struct arena *a, const struct hotline_agent *ag, uint32_t *retry_s,
            struct rc_info *ri)
{
    uint32_t quota = ag->s.quota ? ag->s.quota : ag->role->daily_quota;
    struct ratelimit min = {"hotline:min", span_str(ag->s.account_id), ag->role->lookups_per_minute,
                            60};
    struct ratelimit day = {"hotline:day", span_str(ag->s.account_id), quota, 86400};
    enum rc rc = ratelimit_take(app, a, &min, 1, retry_s, ri);

    if (rc == RC_LIMITED)
        return rc_because(ri, rc, RC_WHY_RATE);
    if (rc == RC_OK && (rc = ratelimit_take(app, a, &day, 1, retry_s, ri)) == RC_LIMITED)
        return rc_fail(ri, rc, RC_WHY_QUOTA, NULL, "the daily lookup quota is used up");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

/* The login_hint_token for the citizen acct, signed by authd. *out in a. */
static enum rc
sign_hint(struct app *app, struct arena *a, const struct hotline_agent *ag, const char *acct,
          const char **out)
{
    const char *iss = app->cfg->issuer;
    int64_t now = clock_now(app->clock);
    struct jose_keyset *ks = NULL;
    char jti[32], *s = NULL;
    struct span jws;
    json_t *o = NULL;
    enum rc rc;

    if ((rc = grant_random_token(app, 16, jti, sizeof(jti))) != RC_OK)
        return rc;
    o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "iss", iss, "aud",
                  iss, "iat", (json_int_t)now, "exp", (json_int_t)(now + HOTLINE_LHT_TTL_S), "jti",
                  jti, "client_id", ag->client_id ? ag->client_id : "", "acct", acct, "agent",
                  ag->s.account_id, "agent_sub", ag->sub ? ag->sub : "", "agent_name",
                  ag->name_masked, "emp", ag->s.emp, "purpose", ag->purpose->code);
    if (!o || !(s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)))
        rc = RC_NOMEM;
    else if ((rc = keys_current(app->keys, &ks)) == RC_OK
             && (rc = jose_sign(ks, JOSE_ES256, HOTLINE_LHT_TYP, span_str(s), a, &jws, NULL))
                    == RC_OK)
        *out = (const char *)jws.p;
    jose_keyset_release(ks);
    free(s);
    json_decref(o);
    return rc;
}

/* Fills c from account acct (as the agent may see it) and its login_hint_token. */
static enum rc
candidate(struct app *app, struct arena *a, const struct hotline_agent *ag,
          const struct account *acct, struct hotline_candidate *c)
{
    memset(c, 0, sizeof(*c));
    mask_name_ends(span_str(acct->name), c->name);
    mask_idnum(span_str(acct->id_number), c->id_number);
    c->channels[c->nchannels++] = "password";
    if (totp_enrolled(app, a, acct->id))
        c->channels[c->nchannels++] = "totp";
    if (sms_enrolled(acct))
        c->channels[c->nchannels++] = "sms";
    c->ial = acct->ial;
    return sign_hint(app, a, ag, acct->id, &c->login_hint_token);
}

/* The accounts req names (at most HOTLINE_MAX_CANDIDATES, usable ones), ids into ids. */
static enum rc
find_accounts(struct app *app, struct arena *a, const struct hotline_lookup_req *req,
              struct account *accts, size_t *n, struct rc_info *ri)
{
    char id[ACCOUNT_ID_LEN + 1];
    struct span *ids = NULL, one;
    struct idnum idn;
    size_t nids = 0;
    enum rc rc;

    *n = 0;
    if (req->id_number.p) {
        rc = idnum_parse(req->id_number, &idn, NULL) == RC_OK
                 ? account_id_of(app, span_str(idn.text), id, NULL)
                 : RC_MALFORMED;
        OPENSSL_cleanse(&idn, sizeof(idn));
        if (rc == RC_MALFORMED)
            return rc_fail(ri, rc, RC_WHY_PARAM, "id_number", "not an ID number");
        if (rc != RC_OK)
            return rc_because(ri, rc, RC_WHY_NONE);
        one = span_str(id), ids = &one, nids = 1;
    } else if ((rc = account_ids_by_phone(app, a, req->phone, &ids, &nids)) == RC_NOT_FOUND) {
        nids = 0;
    } else if (rc != RC_OK) {
        return rc_because(ri, rc, RC_WHY_NONE);
    }
    for (size_t i = 0; i < nids && *n < HOTLINE_MAX_CANDIDATES; i++) {
        const char *aid = arena_strndup(a, (const char *)ids[i].p, ids[i].len);
        if (!aid)
            return rc_because(ri, RC_NOMEM, RC_WHY_NONE);
        rc = account_get(app, a, aid, &accts[*n]);
        if (rc == RC_OK && !accts[*n].disabled)
            (*n)++;
        else if (rc != RC_OK && rc != RC_NOT_FOUND)
            return rc_because(ri, rc, RC_WHY_NONE);
    }
    return RC_OK;
}

static enum rc
check_request(const struct hotline_lookup_req *req, struct rc_info *ri)
{
    bool idn = req->id_number.p && req->id_number.len, ph = req->phone.p && req->phone.len;

    if (idn == ph)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, idn ? "phone" : "id_number",
                       "one of id_number and phone");
    if (ph && (req->phone.len != 11 || req->phone.p[0] != '1'))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "phone", "11 digits starting with 1");
    return RC_OK;
}

enum rc
hotline_lookup(struct app *app, struct arena *a, const struct policy *p,
               const struct token_claims *tc, const struct hotline_lookup_req *req,
               struct hotline_lookup_res *out, uint32_t *retry_s, struct rc_info *ri)
{
    struct span purpose = req->purpose.p ? req->purpose : SPAN("");
    struct account accts[HOTLINE_MAX_CANDIDATES];
    const char *by = req->phone.p && req->phone.len ? "phone" : "id_number";
    const char *code;
    struct hotline_agent ag;
    size_t n = 0;
    enum rc rc, arc;

    memset(out, 0, sizeof(*out));
    memset(accts, 0, sizeof(accts));
    *retry_s = 0;
    rc = hotline_agent_check(app, a, p, tc, POLICY_MAY_LOOKUP, purpose, &ag, ri);
    if (rc == RC_OK && (rc = check_request(req, ri)) == RC_OK)
        rc = take_limits(app, a, &ag, retry_s, ri);
    if (rc == RC_OK)
        rc = find_accounts(app, a, req, accts, &n, ri);
    code = arena_strndup(a, (const char *)purpose.p, purpose.len);
    if (rc != RC_OK || !code) {
        /* a staff member refused is on the record too (a citizen's token is not) */
        if (ag.s.emp[0] && rc != RC_UNAVAILABLE
            && audit_lookup(app, &ag, NULL, by, code ? code : "", "refused") != RC_OK)
            rc = rc_because(ri, RC_UNAVAILABLE, RC_WHY_NONE);
        goto out;
    }
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        if ((rc = candidate(app, a, &ag, &accts[i], &out->c[i])) != RC_OK)
            rc = rc_because(ri, rc, RC_WHY_NONE);
    /* on the record before anything is answered: no record, no answer */
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        if ((arc = audit_lookup(app, &ag, accts[i].id, by, code, "found")) != RC_OK)
            rc = rc_because(ri, arc, RC_WHY_NONE);
    if (rc == RC_OK && n == 0
        && (arc = audit_lookup(app, &ag, NULL, by, code, "not_found")) != RC_OK)
        rc = rc_because(ri, arc, RC_WHY_NONE);
    if (rc == RC_OK)
        out->n = n, out->purpose = code;
out:
    for (size_t i = 0; i < HOTLINE_MAX_CANDIDATES; i++)
        OPENSSL_cleanse(accts[i].id_number, sizeof(accts[i].id_number));
    return rc;
}

enum rc
hotline_set_quota(struct app *app, struct arena *a, const struct policy *p,
                  const struct token_claims *tc, struct span emp, uint32_t quota,
                  struct rc_info *ri)
{
    struct hotline_agent sup;
    struct staff target;
    enum rc rc =
        hotline_agent_check(app, a, p, tc, POLICY_MAY_SET_QUOTA, (struct span){NULL, 0}, &sup, ri);

    if (rc != RC_OK)
        return rc;
    if ((rc = staff_get(app, a, emp, &target)) == RC_NOT_FOUND)
        return rc_fail(ri, rc, RC_WHY_PARAM, "emp", "no such staff member");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    return staff_set_quota(app, a, emp, quota, sup.s.emp, ri);
}

static enum rc
hint_refused(struct rc_info *ri, enum rc rc, const char *msg)
{
    return rc_fail(ri, rc, RC_WHY_LOGIN_HINT_TOKEN, "login_hint_token", msg);
}

/* The claims of a verified login_hint_token payload into *out. */
static enum rc
hint_claims(struct arena *a, struct span payload, struct hotline_hint *out, const char **cid)
{
    json_t *o = json_loadb((const char *)payload.p, payload.len, 0, NULL);

    memset(out, 0, sizeof(*out));
    if (o) {
        *cid = jsonget_str(a, o, "client_id");
        out->acct = jsonget_str(a, o, "acct");
        out->agent = jsonget_str(a, o, "agent");
        out->agent_sub = jsonget_str(a, o, "agent_sub");
        out->agent_name = jsonget_str(a, o, "agent_name");
        out->emp = jsonget_str(a, o, "emp");
        out->purpose = jsonget_str(a, o, "purpose");
    }
    json_decref(o);
    return o && *cid && out->acct && out->agent && out->agent_sub && out->agent_name && out->emp
                   && out->purpose
               ? RC_OK
               : RC_MALFORMED;
}

enum rc
hotline_hint_verify(struct app *app, struct arena *a, const struct policy *p,
                    const struct policy_client *c, struct span token, struct hotline_hint *out,
                    struct rc_info *ri)
{
    struct jose_verify_opts vo = {JOSE_ES256, HOTLINE_LHT_TYP};
    struct jose_claims_opts co = {.iss = app->cfg->issuer,
                                  .aud = app->cfg->issuer,
                                  .now = clock_now(app->clock),
                                  .leeway = p->tokens.clock_leeway_s};
    struct jose_keyset *ks = NULL;
    const struct policy_role *role;
    const char *cid = NULL;
    struct span payload;
    struct staff s;
    enum rc rc;

    if ((rc = keys_current(app->keys, &ks)) != RC_OK)
        return rc_because(ri, RC_UNAVAILABLE, RC_WHY_NONE);
    rc = jose_verify(ks, &vo, token, a, &payload, NULL, NULL);
    jose_keyset_release(ks);
    if (rc == RC_NOMEM)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (rc != RC_OK)
        return hint_refused(ri, RC_DENIED, "not one of ours");
    if ((rc = jose_claims_check(payload, &co, NULL)) == RC_EXPIRED)
        return hint_refused(ri, RC_EXPIRED, "expired");
    if (rc != RC_OK || hint_claims(a, payload, out, &cid) != RC_OK)
        return hint_refused(ri, RC_MALFORMED, "malformed");
    if (strcmp(cid, c->id) != 0)
        return hint_refused(ri, RC_DENIED, "issued to another client");
    /* the member may have been disabled, or the policy changed, since the lookup */
    if ((rc = staff_of_account(app, a, out->agent, &s)) != RC_OK && rc != RC_NOT_FOUND)
        return rc_because(ri, rc, RC_WHY_NONE);
    role = rc == RC_OK && !s.disabled ? policy_role(p, span_str(s.role)) : NULL;
    if (!role || !strlist_has(&role->may, SPAN(POLICY_MAY_CONSENT))
        || !strlist_has(&role->purposes, span_str(out->purpose))
        || !policy_purpose(p, span_str(out->purpose)))
        return hint_refused(ri, RC_DENIED, "the staff member may no longer ask this");
    return RC_OK;
}
