/* Brokered login (OpenID Federation 1.0 §12.1, docs/federation.md "Brokered login"): at
 * province B's login page a citizen registered in another province A chooses A; B is a
 * relying party of A by automatic registration (client_id = B's entity id), pushes the
 * authorization request to A's PAR endpoint authenticated with private_key_jwt signed by
 * B's federation key (§12.1.1.2), sends the browser to A with the request_uri, and on the
 * way back redeems the code (PKCE S256, private_key_jwt again), checks A's ID token with
 * the keys A's chain-resolved metadata names, maps A's acr to B's levels (identity mapping
 * of the federation's acr URIs, refused when the anchor's policy does not list it in A's
 * acr_values_supported or its ial is above the ial of A's trust mark: never raised), and
 * opens a local SSO session for B's account of the ID number A released (account_id_of,
 * the keyed hash every B account has; created on the first brokered login with A's name
 * and a random password nobody knows), so B's clients see a normal login with B's own
 * (pairwise) sub of that account, the one a registration at B would give.
 *
 * Store keys (docs/storage.md):
 *   authd:fedlogin:{STATE}  a brokered login under way: JSON {"p" pending id, "op" A's
 *                           entity id, "v" PKCE verifier, "n" nonce, "b" SHA-256 of the
 *                           browser binding}; TTL FED_BROKER_TTL; taken once; < 1 KiB
 *   authd:fedsid:{HASH}     B's session id for A's session (HASH: base64url SHA-256 of A's
 *                           iss "\n" A's sid), so that A's back-channel logout ends it;
 *                           TTL the session's lifetime; < 100 bytes
 *   authd:fedjwks:{HASH}    A's JWKS as fetched from its jwks_uri (HASH: base64url SHA-256
 *                           of "jwks" "\n" the jwks_uri); TTL until A's chain's exp, at
 *                           most federation_cache_max_s; refetched once on an unknown kid;
 *                           <= 64 KiB (FED_BROKER_BODY)
 *
 * Refusals: RC_WHY_FED_* of fed_resolve (the chain), RC_WHY_FED_UNREACHABLE (A cannot be
 * reached), RC_WHY_FED_ACR (acr above the cap), RC_WHY_FED_LOGIN (A answered an error, a
 * bad ID token, unknown state), RC_WHY_CSRF, RC_WHY_PENDING. */
#ifndef AUTHD_FLOW_FED_BROKER_H
#define AUTHD_FLOW_FED_BROKER_H

#include <stdint.h>

#include "flow/app.h"
#include "flow/authorize.h"
#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

#define FED_BROKER_TTL       600 /* seconds a brokered login may take */
#define FED_BROKER_PROVINCES 64  /* provinces the chooser lists, at most */

/* A province the anchor lists, for the chooser. */
struct fed_province {
    const char *entity_id;
    const char *region; /* its published 2-digit region code, or "" */
    const char *name;   /* the region's name (core/region.h), else the entity id */
};

/* The provinces our first anchor lists (its federation_list_endpoint), ourselves left out,
 * with their region codes (from their resolved configurations; one that does not resolve
 * is listed by its entity id, without a region). RC_OK: *out (in a) and *n. RC_NOT_FOUND (not a
 * broker), RC_UNAVAILABLE with RC_WHY_FED_UNREACHABLE. */
enum rc fed_broker_provinces(struct app *app, struct arena *a, struct fed_province **out, size_t *n,
                             struct rc_info *ri);

/* Starts the brokered login of pending request `pending` at province op, for the browser
 * binding bind. RC_OK: *location (in a) is where the browser goes (A's authorization
 * endpoint with our client_id and the request_uri). Refusals as the top comment. */
enum rc fed_broker_start(struct app *app, struct arena *a, struct span pending, const char *op,
                         struct span bind, const char **location, struct rc_info *ri);

/* What the callback received (/federation/callback). */
struct fed_broker_cb {
    struct span state, code, error; /* error: A's OAuth error, if it answered one */
    struct span iss;                /* RFC 9207: must be A's issuer when present */
    struct span bind, session_cookie;
    const char *client_ip;
    struct span user_agent;
    bool tls;
};

/* Ends the brokered login: the code redeemed, the ID token checked, the local session
 * opened, then the pending request goes on as after a password login (authz_continue).
 * *pending (in a, or NULL when the state is unknown) is the pending request's id, so that
 * a refusal can show the chooser page again. out as authorize_login. */
enum rc fed_broker_finish(struct app *app, struct arena *a, const struct fed_broker_cb *cb,
                          const char **pending, struct authorize_result *out);

/* A back-channel logout from a home province (OIDC Back-Channel Logout §2.6): the
 * logout_token verified with the keys of its issuer's chain-resolved metadata, then the
 * local session linked to its sid is ended (its own clients notified). RC_OK (also when no
 * session is linked: nothing to end), RC_DENIED / RC_MALFORMED (a bad token),
 * RC_UNAVAILABLE. */
enum rc fed_broker_bclogout(struct app *app, struct arena *a, struct span logout_token,
                            struct rc_info *ri);

#endif
