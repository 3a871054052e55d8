/* The kiosk endpoints (docs/kiosk.md, "The kiosk wire protocol"). Every POST is a form
 * POST by an enrolled kiosk over mutual TLS (kiosk_listen, or a trusted proxy's
 * kiosk_cert_header) whose OAuth client authenticates with tls_client_auth (RFC 8705 §2):
 * form client_id, no secret.
 *
 * POST /kiosk/nonce          client_id -> 200 {"nonce","expires_in"}: single use, bound to
 *                            the kiosk that asked, CARD_NONCE_TTL s.
 * POST /kiosk/card-login     client_id, scope (with openid), assertion (the card assertion,
 *                            a compact JWS: core/cardassert.h) -> 200 the /token answer
 *                            (access_token bound to the kiosk certificate: cnf.x5t#S256,
 *                            token_type Bearer, expires_in, id_token, refresh_token when the
 *                            client has the grant, scope) + "sid" and "session_uri".
 * POST /kiosk/card-removed   client_id, sid -> 204: the session ends at once, back-channel
 *                            logouts are queued.
 * GET  /kiosk/session?code=C[&return_to=URL]  (the kiosk screen's browser, no client
 *                            certificate): sets the SSO cookie of the card session (single
 *                            use, CARD_SSO_TTL s) and 303 to return_to (an URL on the issuer)
 *                            or the account page.
 *
 * Errors (RFC 6749 §5.2 shapes): 400 invalid_request (not a form POST, a missing or
 * repeated parameter, an unknown sid or another kiosk's), 401 invalid_client (the client
 * certificate: none, not the kiosk CA's, expired, revoked, not enrolled, not enrolled for
 * the client; a client not registered for tls_client_auth), 400 invalid_scope (no openid,
 * none of the client's), 400 invalid_grant (the assertion: replayed or unknown nonce, bad
 * signature, expired card, record not matching or cancelled, face score under policy, the
 * kiosk not enrolled for the client or a scope, no account), 429 too_many_requests, 503
 * temporarily_unavailable (the store, the population base, the audit chain), 500
 * server_error. /kiosk/session answers an error page (400 kiosk_session_gone). */
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>

#include "core/form.h"
#include "flow/card.h"
#include "flow/session.h"
#include "http/authz_ui.h"
#include "http/oauth_call.h"
#include "http/router.h"

static const struct http_error kiosk_errors[] = {
    {RC_ANY, RC_WHY_KIOSK_CERT, 401, "invalid_client", NULL, NULL},
    {RC_ANY, RC_WHY_PARAM, 400, "invalid_request", NULL, NULL},
    {RC_ANY, RC_WHY_SCOPE, 400, "invalid_scope", NULL, NULL},
    {RC_ANY, RC_WHY_KIOSK_NOT_ALLOWED, 400, "invalid_grant", NULL, NULL},
    {RC_ANY, RC_WHY_CARD_ASSERTION, 400, "invalid_grant", NULL, NULL},
    {RC_ANY, RC_WHY_CARD_NONCE, 400, "invalid_grant", NULL, NULL},
    {RC_ANY, RC_WHY_CARD_EXPIRED, 400, "invalid_grant", NULL, NULL},
    {RC_ANY, RC_WHY_CARD_RECORD, 400, "invalid_grant", NULL, NULL},
    {RC_ANY, RC_WHY_FACE_SCORE, 400, "invalid_grant", NULL, NULL},
    {RC_ANY, RC_WHY_UNKNOWN_USER, 400, "invalid_grant", NULL, NULL},
    {RC_ANY, RC_WHY_GRANT, 400, "invalid_grant", NULL, NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
    {RC_NOMEM, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
    {RC_FULL, RC_WHY_ANY, 503, "temporarily_unavailable", NULL, HTTP_DESC_NONE},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", NULL, HTTP_DESC_NONE},
};

static const struct http_error kiosk_page_errors[] = {
    {RC_NOT_FOUND, RC_WHY_ANY, 400, "invalid_request", "kiosk_session_gone", NULL},
    {RC_UNAVAILABLE, RC_WHY_ANY, 503, "temporarily_unavailable", "login_unavailable", NULL},
    {RC_ANY, RC_WHY_ANY, 500, "server_error", "error_title", NULL},
};

static void
refuse(struct http_req *r, struct http_resp *w, enum rc rc, const struct rc_info *ri)
{
    http_error_answer(r, w, HTTP_ERRORS(kiosk_errors), rc, ri, HTTP_CH_NONE);
}

/* The common start: a client authenticated by its kiosk certificate. */
static bool
kiosk_begin(struct http_req *r, struct http_resp *w, const char *path, struct oauth_call *oc)
{
    struct rc_info ri = {0};

    if (!oauth_call_begin(r, w, path, oc))
        return false;
    if (oc->cert)
        return true;
    oauth_call_end(oc);
    refuse(r, w,
           rc_fail(&ri, RC_DENIED, RC_WHY_KIOSK_CERT, "client_id",
                   "the kiosk endpoints need a client registered for tls_client_auth"),
           &ri);
    return false;
}

static void
route_kiosk_nonce(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    char nonce[23]; /* CARD_NONCE_LEN + 1 */
    enum rc rc;

    if (!kiosk_begin(r, w, "/kiosk/nonce", &oc))
        return;
    rc = card_nonce(r->app, &r->arena, oc.cert, nonce);
    oauth_call_end(&oc);
    if (rc != RC_OK) {
        refuse(r, w, rc, NULL);
        return;
    }
    http_json(r, w, 200, json_pack("{s:s, s:i}", "nonce", nonce, "expires_in", CARD_NONCE_TTL));
}

static void
route_kiosk_card_login(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct card_result out;
    struct rc_info ri = {0};
    enum rc rc;
    json_t *j;

    if (!kiosk_begin(r, w, "/kiosk/card-login", &oc))
        return;
    rc = card_login(r->app, &r->arena, oc.p, oc.c, oc.cert, oauth_call_param(&oc, "scope"),
                    oauth_call_param(&oc, "assertion"), &out, &ri);
    oauth_call_end(&oc);
    if (rc != RC_OK) {
        refuse(r, w, rc, &ri);
        return;
    }
    j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "access_token", out.tok.access_token,
                  "token_type", "Bearer", "expires_in", (int)out.tok.expires_in, "scope",
                  out.tok.scope, "sid", out.sid, "session_uri", out.session_uri);
    if (j && out.tok.id_token)
        json_object_set_new(j, "id_token", json_string(out.tok.id_token));
    if (j && out.tok.refresh_token)
        json_object_set_new(j, "refresh_token", json_string(out.tok.refresh_token));
    http_json(r, w, 200, j);
}

static void
route_kiosk_card_removed(struct http_req *r, struct http_resp *w)
{
    struct oauth_call oc;
    struct rc_info ri = {0};
    enum rc rc;

    if (!kiosk_begin(r, w, "/kiosk/card-removed", &oc))
        return;
    rc = card_removed(r->app, &r->arena, oc.cert, oauth_call_param(&oc, "sid"), r->secure_cookies,
                      &ri);
    oauth_call_end(&oc);
    if (rc != RC_OK) {
        refuse(r, w, rc, &ri);
        return;
    }
    w->status = 204;
    http_add_header(w, "Cache-Control", "no-store");
}

/* return_to when it is an URL on the issuer, else the account page. */
static const char *
landing(struct http_req *r, const struct form *f)
{
    const char *iss = r->app->cfg->issuer, *to = form_get_str(&r->arena, f, "return_to");
    size_t n = strlen(iss);

    if (to && strncmp(to, iss, n) == 0 && to[n] == '/' && to[n + 1] != '/' && !strchr(to, '\\'))
        return to;
    return arena_printf(&r->arena, "%s/account", iss);
}

static void
route_kiosk_session(struct http_req *r, struct http_resp *w)
{
    struct form f;
    struct rc_info ri = {0};
    char cookie[SESSION_COOKIE_LEN + 1];
    const struct span *code;
    enum lang lang = authz_ui_lang(r, NULL, NULL);
    enum rc rc;

    if (form_parse(&r->arena, r->query.p, r->query.len, &f, NULL) != RC_OK
        || !(code = form_get(&f, "code"))) {
        authz_ui_error(r, w, 400, "kiosk_session_gone", lang);
        return;
    }
    if ((rc = card_session_open(r->app, &r->arena, *code, cookie, &ri)) != RC_OK) {
        authz_ui_error_answer(r, w, HTTP_ERRORS(kiosk_page_errors), rc, &ri, lang);
        return;
    }
    http_add_header(w, "Set-Cookie", session_cookie(&r->arena, cookie, r->secure_cookies));
    OPENSSL_cleanse(cookie, sizeof(cookie));
    http_add_header(w, "Cache-Control", "no-store");
    http_redirect(r, w, 303, landing(r, &f));
}

ROUTE(kiosk_nonce, "/kiosk/nonce", HTTP_POST, route_kiosk_nonce)
ROUTE(kiosk_card_login, "/kiosk/card-login", HTTP_POST, route_kiosk_card_login)
ROUTE(kiosk_card_removed, "/kiosk/card-removed", HTTP_POST, route_kiosk_card_removed)
ROUTE(kiosk_session, "/kiosk/session", HTTP_GET, route_kiosk_session)
