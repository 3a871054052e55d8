/* The account page's decisions (see account_page.h). */
#include "flow/account_page.h"

#include <string.h>

#include "conf/policy.h"
#include "core/form.h"
#include "core/loa.h"
#include "flow/authn.h"
#include "flow/clients.h"
#include "flow/grant.h"
#include "flow/logout.h"
#include "log/log.h"

#define ACCOUNT_CLIENT_MAX 128

/* The enrolled state of every authenticator that raises a session (authn_at). */
static void
list_factors(struct app *app, struct arena *a, const char *acct, struct account_view *v)
{
    const struct authn *m;

    v->nfactors = 0;
    v->second_factor = false;
    for (size_t i = 0; (m = authn_at(i)) && v->nfactors < ACCOUNT_FACTORS_MAX; i++) {
        if (!(m->needs & AUTHN_NEEDS_SESSION))
            continue;
        bool on = !m->enrolled || m->enrolled(app, a, acct);
        v->factors[v->nfactors++] = (struct account_factor){m->name, m->page, on};
        v->second_factor |= on;
    }
}

/* The level a change asks of the session: aal2 once a second factor is enrolled. */
static enum aal
needed(const struct account_view *v)
{
    return v->second_factor ? AAL2 : AAL1;
}

static bool
is_fresh(struct app *app, const struct account_view *v)
{
    return session_fresh(&v->current, clock_now(app->clock), app->cfg->account_max_age_s,
                         needed(v));
}

static enum rc
csrf_for(struct app *app, const struct account_ctx *ctx, const struct session *s,
         char out[CSRF_LEN + 1])
{
    struct span bound[2] = {ctx->bind, span_str(s->sid)};

    return csrf_make(app, "account", bound, 2, out);
}

static bool
csrf_ok(struct app *app, const struct account_ctx *ctx, const struct session *s, struct span got)
{
    struct span bound[2] = {ctx->bind, span_str(s->sid)};

    return ctx->bind.len && csrf_check(app, "account", bound, 2, got);
}

static enum rc
fail(struct account_result *out, enum rc rc, enum rc_reason why, const char *field, const char *msg)
{
    out->kind = ACCOUNT_ERROR;
    return rc_fail(&out->why, rc, why, field, msg);
}

/* The ordinary login of the page's own client, back to /account (account_page.h). s: the
 * session (NULL: none), v: its factors when there is one. */
static enum rc
reauth(struct app *app, struct arena *a, const struct account_ctx *ctx, const struct session *s,
       const struct account_view *v, struct account_result *out)
{
    char challenge[44], acr[LOA_ACR_MAX];
    const char *back = arena_printf(a, "%s/account", app->cfg->issuer);
    const char *client = app->cfg->account_client ? app->cfg->account_client : "";
    struct buf b;
    enum rc rc;

    if (!back)
        return fail(out, RC_NOMEM, RC_WHY_NONE, NULL, "out of memory");
    if ((rc = grant_random_token(app, 32, challenge, sizeof(challenge))) != RC_OK)
        return fail(out, rc, RC_WHY_NONE, NULL, "no random challenge");
    /* no state: what comes back to /account is not read (account_page.h) */
    const char *kv[] = {"client_id", client,       "redirect_uri", back,         "code_challenge",
                        challenge,   "ui_locales", ctx->lang,      "acr_values", NULL};
    if (s && v && v->second_factor) {
        loa_format((struct loa){s->loa.ial, AAL2}, acr);
        kv[9] = acr;
    }
    buf_init(&b, 8192);
    rc = buf_append_str(&b, "/authorize?response_type=code&scope=openid&prompt=login"
                            "&code_challenge_method=S256");
    for (size_t i = 0; rc == RC_OK && i < sizeof(kv) / sizeof(kv[0]); i += 2)
        if (kv[i + 1])
            rc = form_append(&b, kv[i], span_str(kv[i + 1]));
    out->kind = ACCOUNT_LOGIN;
    out->location = rc == RC_OK ? arena_strndup(a, (const char *)b.p, b.len) : NULL;
    buf_clear(&b);
    return out->location ? RC_OK : fail(out, RC_NOMEM, RC_WHY_NONE, NULL, "out of memory");
}

/* The browser's session into v->current and its factors. RC_NOT_FOUND: none. */
static enum rc
load(struct app *app, struct arena *a, const struct account_ctx *ctx, struct account_view *v)
{
    enum rc rc;

    memset(v, 0, sizeof(*v));
    if ((rc = session_load(app, a, ctx->session_cookie, &v->current)) != RC_OK)
        return rc;
    list_factors(app, a, v->current.account_id, v);
    v->fresh = is_fresh(app, v);
    return RC_OK;
}

enum rc
account_page_view(struct app *app, struct arena *a, const struct account_ctx *ctx,
                  struct account_view *v, struct account_result *out)
{
    const char *acct;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = load(app, a, ctx, v)) == RC_NOT_FOUND)
        return reauth(app, a, ctx, NULL, NULL, out);
    if (rc != RC_OK)
        return fail(out, rc, RC_WHY_NONE, NULL, "the session cannot be read");
    session_touch(app, a, &v->current);
    acct = v->current.account_id;
    if ((rc = csrf_for(app, ctx, &v->current, v->csrf)) != RC_OK
        || (rc = session_list(app, a, acct, &v->sessions, &v->nsessions)) != RC_OK
        || (rc = consents_list(app, a, acct, &v->consents, &v->nconsents)) != RC_OK
        || (rc = signins_list(app, a, acct, &v->signins, &v->nsignins)) != RC_OK)
        return fail(out, rc, RC_WHY_NONE, NULL, "the account cannot be read");
    out->kind = ACCOUNT_VIEW;
    return RC_OK;
}

/* Ends session sid of the current account, not the current one. */
static enum rc
end_other(struct app *app, struct arena *a, const struct account_ctx *ctx,
          const struct account_view *v, struct span sid, struct account_result *out)
{
    struct session s;
    struct logout_result lr;
    enum rc rc;

    if (sid.len != SESSION_SID_LEN || !span_is_b64url(sid) || span_eq_str(sid, v->current.sid))
        return fail(out, RC_MALFORMED, RC_WHY_PARAM, "sid", "not another session");
    rc = session_find_by_sid(app, a, sid, &s);
    if (rc == RC_NOT_FOUND || (rc == RC_OK && strcmp(s.account_id, v->current.account_id) != 0))
        return RC_OK; /* gone already, or not this account's: nothing to do */
    if (rc == RC_OK)
        rc = logout_session_end(app, a, &s, ctx->tls, &lr);
    return rc == RC_OK ? RC_OK : fail(out, rc, RC_WHY_NONE, NULL, "the session cannot be ended");
}

static enum rc
revoke(struct app *app, struct arena *a, const struct account_view *v, struct span client,
       struct account_result *out)
{
    const char *cid;
    enum rc rc;

    if (client.len == 0 || client.len > ACCOUNT_CLIENT_MAX || span_has_nul(client))
        return fail(out, RC_MALFORMED, RC_WHY_PARAM, "client", "missing or too long");
    if (!(cid = arena_span_dup(a, client)))
        return fail(out, RC_NOMEM, RC_WHY_NONE, NULL, "out of memory");
    rc = consents_revoke(app, a, v->current.account_id, cid);
    return rc == RC_OK ? RC_OK : fail(out, rc, RC_WHY_NONE, NULL, "the consent cannot be revoked");
}

static void
log_change(const struct account_change *c, const struct account_result *out, enum rc rc)
{
    struct log_rec *lr = log_begin(rc == RC_OK ? LOG_INFO : LOG_WARN, "account.change");

    log_span(lr, "action", c->action.len <= 32 ? c->action : SPAN("?"));
    log_str(lr, "result",
            out->kind == ACCOUNT_DONE    ? "done"
            : out->kind == ACCOUNT_LOGIN ? "reauthenticate"
                                         : "refused");
    log_str(lr, "rc", rc_name(rc));
    if (rc != RC_OK && out->why.why != RC_WHY_NONE)
        log_str(lr, "reason", rc_reason_name(out->why.why));
    log_end(lr);
}

enum rc
account_page_change(struct app *app, struct arena *a, const struct account_ctx *ctx,
                    const struct account_change *c, struct account_result *out)
{
    struct account_view v;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = load(app, a, ctx, &v)) == RC_NOT_FOUND) {
        rc = reauth(app, a, ctx, NULL, NULL, out);
        goto out;
    }
    if (rc != RC_OK) {
        rc = fail(out, rc, RC_WHY_NONE, NULL, "the session cannot be read");
        goto out;
    }
    if (!csrf_ok(app, ctx, &v.current, c->csrf)) {
        rc = fail(out, RC_DENIED, RC_WHY_CSRF, "csrf", "missing or wrong");
        goto out;
    }
    if (!v.fresh) { /* authenticate again, then the citizen makes the change again */
        rc = reauth(app, a, ctx, &v.current, &v, out);
        goto out;
    }
    if (span_eq_str(c->action, "end_session"))
        rc = end_other(app, a, ctx, &v, c->sid, out);
    else if (span_eq_str(c->action, "revoke_consent"))
        rc = revoke(app, a, &v, c->client, out);
    else
        rc = fail(out, RC_MALFORMED, RC_WHY_PARAM, "action", "unknown");
    if (rc == RC_OK)
        out->kind = ACCOUNT_DONE;
out:
    log_change(c, out, rc);
    return rc;
}

enum rc
account_page_login(struct app *app, struct arena *a, const struct account_ctx *ctx,
                   struct account_result *out)
{
    memset(out, 0, sizeof(*out));
    return reauth(app, a, ctx, NULL, NULL, out);
}

const char *
account_page_client_name(struct app *app, struct arena *a, const char *client_id)
{
    struct policy *p = app_policy_get(app);
    const struct policy_client *cl = p ? client_resolve(app, p, span_str(client_id)) : NULL;
    const char *out = arena_printf(a, "%s", cl && cl->name ? cl->name : client_id);

    app_policy_put(p);
    return out;
}
