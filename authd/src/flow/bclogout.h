/* Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when an SSO session ends,
 * every client it issued codes to that registered a `backchannel_logout_uri` gets a logout
 * token POSTed to it (§2.5), server to server, from a durable queue in the store:
 *
 *   authd:bcl:{q}   queue (port/store.h q_*) of items, each compact JSON
 *                   {"id","c" client id,"sid","sub","n" attempts so far,"t0" enqueued at}
 *
 * The logout flow pushes one item per (client, sid, sub), due now. A worker thread on every
 * node claims due items with a lease (a crashed node's item comes back), signs a fresh
 * logout token at send time (so a restart or a key rotation never sends a stale one) and
 * POSTs `logout_token=...` through the outbound port (1 s to connect, 3 s in all, no
 * redirects). 2xx: done. Anything else (refused, timeout, non-2xx): the item is pushed
 * again with n + 1, due after an exponential back-off with jitter between
 * backchannel_retry_min_ms and backchannel_retry_max_ms; after backchannel_give_up_s it
 * is dropped with an `error` log line. Request threads only push; they never wait on a
 * relying party. Delivery is at least once: a relying party may see a logout twice. */
#ifndef AUTHD_FLOW_BCLOGOUT_H
#define AUTHD_FLOW_BCLOGOUT_H

#include <stdint.h>

#include "flow/app.h"
#include "port/outbound.h"
#include "util/arena.h"

#define BCLOGOUT_TOKEN_TTL 120 /* seconds a logout token is valid (§2.4: short) */
#define BCLOGOUT_LEASE_S   30  /* a claimed item is hidden this long (> one delivery) */
#define BCLOGOUT_EVENT     "http://schemas.openid.net/event/backchannel-logout"

/* Queues a back-channel logout of session sid, subject sub (as client_id knows it), for
 * client_id, due now, and wakes the local worker. RC_OK, RC_MALFORMED (an empty or
 * over-long value), RC_UNAVAILABLE, RC_FULL, RC_NOMEM. */
enum rc bclogout_enqueue(struct app *app, struct arena *a, const char *client_id, const char *sid,
                         const char *sub);

/* Signs a logout token (§2.4) for client_id: typ logout+jwt, ES256; iss, aud, iat, exp
 * (iat + BCLOGOUT_TOKEN_TTL), jti, sid, sub, events; never a nonce. RC_OK: *out
 * (NUL-terminated) in a. RC_UNAVAILABLE (no keys), RC_NOMEM, RC_INTERNAL. */
enum rc bclogout_token(struct app *app, struct arena *a, const char *client_id, const char *sid,
                       const char *sub, struct span *out);

/* One worker step: claims the earliest due item and tries to deliver it through ob.
 * RC_OK: an item was handled (delivered, rescheduled or dropped; logged). RC_NOT_FOUND:
 * nothing is due. RC_UNAVAILABLE: the store cannot answer. */
enum rc bclogout_run_once(struct app *app, struct outbound *ob);

/* The delay in ms before attempt n + 1 after n failed attempts (n >= 1): min << (n-1),
 * capped at max, then a random point in its upper half (jitter spreads retries of many
 * logouts). jitter01 is in [0, 1]. */
uint32_t bclogout_backoff_ms(uint32_t min_ms, uint32_t max_ms, uint32_t n, double jitter01);

/* The outbound client settings for deliveries (1 s to connect, 3 s in all, the
 * environment's proxy if any, response discarded): main.c opens ob with them. */
extern const struct outbound_opts bclogout_outbound_opts;

struct bclogout_worker;

/* Starts the worker thread (it uses app and ob until bclogout_stop). RC_OK: *out owned by
 * the caller; RC_INTERNAL, RC_NOMEM. */
enum rc bclogout_start(struct app *app, struct outbound *ob, struct bclogout_worker **out);
/* Stops the worker: waits for a delivery in progress (at most its 3 s timeout), joins the
 * thread and frees w. Items left in the queue stay there for the next start. NULL ok. */
void bclogout_stop(struct bclogout_worker *w);

#endif
