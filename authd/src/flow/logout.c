#include "flow/logout.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "conf/policy.h"
#include "core/jose.h"
#include "core/jsonget.h"
#include "flow/bclogout.h"
#include "flow/clients.h"
#include "flow/csrf.h"
#include "flow/refresh.h"
#include "flow/session.h"
#include "flow/subject.h"
#include "log/log.h"
#include "port/keys.h"
#include "port/store.h"

/* What a verified id_token_hint says (strings in the arena). */
struct hint {
    const char *aud, *sid, *sub;
};

/* ---- parsing ---------------------------------------------------------------------------- */

static enum rc
param(const struct form *f, const char *name, struct span *out, struct rc_info *ri)
{
    const struct span *v = form_get(f, name);

    *out = v ? *v : (struct span){NULL, 0};
    if (v && v->len > LOGOUT_PARAM_MAX)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, name, "too long");
    return RC_OK;
}

enum rc
logout_parse(const struct form *f, struct logout_req *out, struct rc_info *ri)
{
    const struct span *hint = form_get(f, "id_token_hint"), *confirm = form_get(f, "confirm");
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (hint && hint->len > JOSE_MAX_COMPACT)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "id_token_hint", "too long");
    out->id_token_hint = hint ? *hint : (struct span){NULL, 0};
    if ((rc = param(f, "client_id", &out->client_id, ri)) != RC_OK
        || (rc = param(f, "post_logout_redirect_uri", &out->post_logout_redirect_uri, ri)) != RC_OK
        || (rc = param(f, "state", &out->state, ri)) != RC_OK
        || (rc = param(f, "ui_locales", &out->ui_locales, ri)) != RC_OK
        || (rc = param(f, "csrf", &out->csrf, ri)) != RC_OK)
        return rc;
    if (confirm && !span_eq_str(*confirm, "1"))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "confirm", "must be 1");
    out->confirm = confirm != NULL;
    return RC_OK;
}

enum rc
logout_csrf(struct app *app, struct span bind, char out[65])
{
    return csrf_make(app, "logout", &bind, 1, out);
}

/* ---- the hint --------------------------------------------------------------------------- */

/* The single audience of an ID token: a string, or an array of exactly one. */
static const char *
single_aud(struct arena *a, json_t *o)
{
    json_t *aud = json_object_get(o, "aud");

    if (json_is_array(aud) && json_array_size(aud) == 1)
        aud = json_array_get(aud, 0);
    return json_is_string(aud) ? arena_strndup(a, json_string_value(aud), json_string_length(aud))
                               : NULL;
}

static enum rc
hint_claims(struct arena *a, struct span payload, struct hint *h)
{
    json_t *o = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL);
    enum rc rc = RC_MALFORMED;

    if (json_is_object(o)) {
        h->aud = single_aud(a, o);
        h->sid = jsonget_str(a, o, "sid");
        h->sub = jsonget_str(a, o, "sub");
        if (h->aud && h->sub)
            rc = RC_OK;
    }
    json_decref(o);
    return rc;
}

/* Verifies an id_token_hint: our signature (ES256 or RS256, never the token's choice), an
 * ID token's typ (none or JWT: not an access or logout token), our iss; exp may be past
 * (RP-Initiated Logout §2). RC_OK: *h; RC_DENIED or RC_MALFORMED otherwise. */
static enum rc
hint_verify(struct app *app, struct arena *a, const struct policy *p, struct span tok,
            struct hint *h, struct rc_info *ri)
{
    static const struct jose_verify_opts vo = {JOSE_ALGS_ISSUED, NULL};
    struct jose_claims_opts co = {
        .iss = app->cfg->issuer, .now = clock_now(app->clock), .leeway = p->tokens.clock_leeway_s};
    struct jose_keyset *ks = NULL;
    struct jose_header hdr = {0};
    struct span payload;
    enum rc rc;

    if ((rc = keys_current(app->keys, &ks)) != RC_OK)
        return rc;
    rc = jose_verify(ks, &vo, tok, a, &payload, &hdr, ri);
    jose_keyset_release(ks);
    if (rc == RC_UNAVAILABLE || rc == RC_NOMEM)
        return rc;
    if (rc != RC_OK)
        return rc_set(ri, RC_DENIED, "id_token_hint", "not an ID token of ours");
    if (hdr.typ && strcasecmp(hdr.typ, "JWT") != 0)
        return rc_set(ri, RC_DENIED, "id_token_hint", "not an ID token");
    rc = jose_claims_check(payload, &co, ri); /* iss is checked before exp */
    if (rc != RC_OK && rc != RC_EXPIRED)
        return rc_set(ri, RC_DENIED, "id_token_hint", "wrong issuer or claims");
    if (hint_claims(a, payload, h) != RC_OK)
        return rc_set(ri, RC_DENIED, "id_token_hint", "no single aud or no sub");
    if (!client_resolve(app, p, span_str(h->aud)))
        return rc_set(ri, RC_DENIED, "id_token_hint", "aud is not a known client");
    return RC_OK;
}

/* ---- the client and the redirect ------------------------------------------------------- */

/* Finds the client from the hint and/or client_id (§2: they must agree). */
static enum rc
resolve_client(struct app *app, struct arena *a, const struct policy *p,
               const struct logout_req *req, struct hint *h, const struct policy_client **c,
               struct rc_info *ri)
{
    enum rc rc;

    *c = NULL;
    if (req->id_token_hint.p) {
        if ((rc = hint_verify(app, a, p, req->id_token_hint, h, ri)) != RC_OK)
            return rc;
        *c = client_resolve(app, p, span_str(h->aud));
    }
    if (req->client_id.p) {
        const struct policy_client *byid = client_resolve(app, p, req->client_id);
        if (!byid)
            return rc_set(ri, RC_DENIED, "client_id", "unknown client");
        if (*c && *c != byid)
            return rc_set(ri, RC_DENIED, "client_id", "does not match id_token_hint");
        *c = byid;
    }
    return RC_OK;
}

/* The post-logout redirect (§3): only a URI the client registered, exactly; with state.
 * NULL when none was asked, the client is unknown or the URI is not registered. */
static const char *
redirect_target(struct arena *a, const struct policy_client *c, const struct logout_req *req)
{
    const struct span uri = req->post_logout_redirect_uri;
    const char *out = NULL;
    struct buf b;

    if (!c || !uri.p || !strlist_has(&c->post_logout_redirect_uris, uri))
        return NULL;
    buf_init(&b, LOGOUT_PARAM_MAX * 4);
    if (buf_append_span(&b, uri) == RC_OK
        && (!req->state.p
            || ((memchr(uri.p, '?', uri.len) || buf_append_str(&b, "?") == RC_OK)
                && form_append(&b, "state", req->state) == RC_OK)))
        out = arena_strndup(a, b.p, b.len);
    buf_clear(&b);
    return out;
}

/* ---- ending the session ----------------------------------------------------------------- */

/* Revokes the session's token families (flow/refresh.h: authd:sidfam:{sid}). */
static enum rc
revoke_families(struct app *app, struct arena *a, const struct policy *p, const char *sid)
{
    struct span key = store_key(a, "sidfam", span_str(sid), NULL), *fam = NULL;
    size_t n = 0;
    enum rc rc;

    if (!key.p)
        return RC_NOMEM;
    if ((rc = store_set_members(app->store, a, key, &fam, &n)) != RC_OK)
        return rc == RC_NOT_FOUND ? RC_OK : rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = rtf_revoke(app, a, p, fam[i])) != RC_OK && rc != RC_NOT_FOUND)
            return rc;
    rc = store_del(app->store, key);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* The front-channel iframe URL of c (Front-Channel Logout §2, §4), or NULL. */
static const char *
frame_url(struct app *app, struct arena *a, const struct policy_client *c, const char *sid)
{
    const char *uri = c->frontchannel_logout_uri, *out;
    struct buf b;

    if (!c->frontchannel_logout_session_required)
        return arena_strndup(a, uri, strlen(uri));
    buf_init(&b, 8192);
    buf_append_str(&b, uri);
    buf_append_str(&b, strchr(uri, '?') ? "&" : "?");
    form_append(&b, "iss", span_str(app->cfg->issuer));
    if (form_append(&b, "sid", span_str(sid)) != RC_OK)
        out = NULL;
    else
        out = arena_strndup(a, b.p, b.len);
    buf_clear(&b);
    return out;
}

/* Tells client c that session s ended: a queued back-channel logout, a front-channel
 * frame. A queueing failure is logged, not fatal: the session is gone already. */
static void
notify_client(struct app *app, struct arena *a, const struct policy_client *c,
              const struct session *s, struct logout_result *out)
{
    char sub[SUBJECT_MAX];
    enum rc rc = RC_OK;

    if (c->backchannel_logout_uri) {
        if ((rc = subject_for(app, c, s->account_id, sub)) == RC_OK)
            rc = bclogout_enqueue(app, a, c->id, s->sid, sub);
        if (rc != RC_OK) {
            struct log_rec *lr = log_begin(LOG_ERROR, "logout.backchannel");
            log_str(lr, "client", c->id);
            log_str(lr, "result", "not queued; the relying party will not hear of it");
            log_str(lr, "rc", rc_name(rc));
            log_end(lr);
        }
    }
    if (c->frontchannel_logout_uri && out->nframes < LOGOUT_MAX_FRAMES)
        if ((out->frames[out->nframes] = frame_url(app, a, c, s->sid)) != NULL)
            out->nframes++;
}

static enum rc
end_session(struct app *app, struct arena *a, const struct policy *p, const struct session *s,
            bool tls, struct logout_result *out)
{
    struct span *rps = NULL;
    size_t n = 0;
    enum rc rc;

    if ((rc = session_end(app, a, s, &rps, &n)) != RC_OK)
        return rc;
    out->ended = true;
    out->set_cookie = session_cookie_clear(a, tls);
    if ((rc = revoke_families(app, a, p, s->sid)) != RC_OK)
        log_msg(LOG_ERROR, "logout.revoke", "rc", rc_name(rc)); /* tokens expire on their own */
    for (size_t i = 0; i < n; i++) {
        const struct policy_client *c = client_resolve(app, p, rps[i]);
        if (c)
            notify_client(app, a, c, s, out);
    }
    return RC_OK;
}

enum rc
logout_session_end(struct app *app, struct arena *a, const struct session *s, bool tls,
                   struct logout_result *out)
{
    struct policy *p = app_policy_get(app);
    enum rc rc;

    memset(out, 0, sizeof(*out));
    out->kind = LOGOUT_DONE;
    rc = p ? end_session(app, a, p, s, tls, out) : RC_UNAVAILABLE;
    app_policy_put(p);
    return rc;
}

/* ---- the request ------------------------------------------------------------------------ */

/* An error answer: rc, and why in out->why (the route's table picks the page). */
static enum rc
fail(struct logout_result *out, enum rc rc)
{
    out->kind = LOGOUT_ERROR;
    return rc;
}

/* The session to end: the browser's; without one, the live session the hint names (the
 * relying party holds an ID token of it). RC_NOT_FOUND: nothing to end. */
static enum rc
find_session(struct app *app, struct arena *a, const struct logout_ctx *ctx, const struct hint *h,
             struct session *s)
{
    enum rc rc = RC_NOT_FOUND;

    if (ctx->session_cookie.len)
        rc = session_load(app, a, ctx->session_cookie, s);
    if (rc == RC_NOT_FOUND && h->sid)
        rc = session_find_by_sid(app, a, span_str(h->sid), s);
    return rc;
}

static void
log_result(const struct logout_req *req, const struct logout_result *out, enum rc rc,
           const struct rc_info *ri)
{
    static const char *const kinds[] = {"error", "confirm", "done"};
    struct log_rec *lr = log_begin(LOG_INFO, "logout");

    log_str(lr, "result", kinds[out->kind]);
    if (out->client_id)
        log_str(lr, "client", out->client_id);
    log_str(lr, "rc", rc_name(rc));
    if (rc != RC_OK)
        log_str(lr, "reason", rc_reason_name(ri->why));
    if (ri->msg) {
        log_str(lr, "field", ri->field);
        log_str(lr, "why", ri->msg);
    }
    log_int(lr, "ended", out->ended);
    log_int(lr, "frames", (long long)out->nframes);
    log_int(lr, "redirect", out->redirect != NULL);
    if (req->post_logout_redirect_uri.p && !out->redirect)
        log_str(lr, "redirect_refused", "post_logout_redirect_uri not registered");
    log_end(lr);
}

enum rc
logout_request(struct app *app, struct arena *a, const struct logout_req *req,
               const struct logout_ctx *ctx, struct logout_result *out)
{
    struct policy *p = app_policy_get(app);
    const struct policy_client *c = NULL;
    struct rc_info *ri = &out->why;
    struct hint h = {0};
    struct session s;
    char csrf[65];
    enum rc rc;

    memset(out, 0, sizeof(*out));
    out->kind = LOGOUT_DONE;
    if (!p) {
        rc = fail(out, RC_UNAVAILABLE);
        goto out;
    }
    if ((rc = resolve_client(app, a, p, req, &h, &c, ri)) != RC_OK) {
        rc = fail(out, rc_because(ri, rc, rc == RC_UNAVAILABLE ? RC_WHY_NONE : RC_WHY_PARAM));
        goto out;
    }
    *ri = (struct rc_info){0}; /* an expired hint is good enough (§2) */
    if (c)
        out->client_id = c->id, out->client_name = c->name ? c->name : c->id;
    out->redirect = redirect_target(a, c, req);
    if ((rc = find_session(app, a, ctx, &h, &s)) == RC_NOT_FOUND) {
        rc = RC_OK; /* logged out already: say so, redirect if allowed */
        goto out;
    }
    if (rc != RC_OK) {
        rc = fail(out, rc);
        goto out;
    }
    if (!h.sid || strcmp(h.sid, s.sid) != 0) { /* §2: the OP SHOULD ask the user */
        if (!req->confirm) {
            out->kind = LOGOUT_CONFIRM;
            if ((rc = logout_csrf(app, ctx->bind, csrf)) != RC_OK)
                rc = fail(out, rc_fail(ri, rc, RC_WHY_CSRF, "csrf", "cannot be made"));
            else if (!(out->csrf = arena_strndup(a, csrf, 64)))
                rc = fail(out, rc_fail(ri, RC_NOMEM, RC_WHY_CSRF, "csrf", "cannot be made"));
            goto out;
        }
        if (!csrf_check(app, "logout", &ctx->bind, 1, req->csrf)) {
            rc = fail(out, rc_fail(ri, RC_DENIED, RC_WHY_CSRF, "csrf", "bad"));
            goto out;
        }
    }
    if ((rc = end_session(app, a, p, &s, ctx->tls, out)) != RC_OK)
        rc = fail(out, rc);
out:
    if (out->kind == LOGOUT_ERROR)
        out->redirect = NULL, out->nframes = 0;
    log_result(req, out, rc, ri);
    app_policy_put(p);
    return rc;
}
