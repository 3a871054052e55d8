/* The composition root: the one module that knows the adapters. It maps the URL scheme of a
 * setting (`store`, `popbase`, `notify`) to an adapter constructor, and the configuration to
 * each adapter's options. authd (main.c) and authctl both build their adapters here, so they
 * cannot diverge; ports and flows never name an adapter (docs/architecture.md). */
#ifndef AUTHD_COMPOSE_COMPOSE_H
#define AUTHD_COMPOSE_COMPOSE_H

#include <stdbool.h>

#include "conf/config.h"
#include "port/notify.h"
#include "port/outbound.h"
#include "port/popbase.h"
#include "port/secrets.h"
#include "port/store.h"
#include "util/rc.h"

/* The store named by url ("memory:", "redis://[user:pw@]host:port/db",
 * "unix:/path/redis.sock[?db=N]", "redis-sentinel://h:p,h:p/master",
 * "redis-cluster://h:p,h:p"); o NULL: defaults. RC_OK: *out owned by the caller
 * (store_free). A backend that cannot be reached yet is not an error: calls answer
 * RC_UNAVAILABLE until it is. RC_MALFORMED: no URL, an unknown scheme, a bad URL. */
enum rc compose_store_open(const char *url, const struct store_opts *o, struct store **out,
                           struct rc_info *ri);

/* The population base named by spec: "file:PATH" (a compiled index, o->name_key_path its
 * key) or an "https://" URL (the service over mutual TLS, through its own outbound client).
 * RC_OK: *out owned by the caller (popbase_free). RC_MALFORMED, RC_UNSUPPORTED (http://),
 * RC_NOT_FOUND, RC_DENIED, RC_NOMEM, RC_INTERNAL; ri names the setting. */
enum rc compose_popbase_open(const char *spec, const struct popbase_opts *o, struct popbase **out,
                             struct rc_info *ri);

/* The notice sink named by spec: "file:PATH" or an http(s):// URL; NULL, "" or "none" gives
 * *out = NULL (notices disabled) and RC_OK. RC_OK: *out owned by the caller (notify_free).
 * RC_MALFORMED (ri names `notify`), RC_NOT_FOUND (the file cannot be opened for appending),
 * RC_NOMEM, RC_INTERNAL. */
enum rc compose_notify_open(const char *spec, const struct notify_opts *o, struct notify **out,
                            struct rc_info *ri);

/* An outbound HTTP client (libcurl) with settings o. RC_OK: *out owned by the caller. */
enum rc compose_outbound_open(const struct outbound_opts *o, struct outbound **out,
                              struct rc_info *ri);

/* The keyed hashes from STATE/master.key under c->state_dir, with c->identifier_hmac's digest
 * (sha256 or sm3); with create, a missing file is made (authd; authctl never creates one: a
 * new key would orphan every account). RC_OK: *out owned by the caller (secrets_free).
 * RC_TOO_LARGE (path), and see adapt/secrets_file.h. */
enum rc compose_secrets_open(const struct config *c, bool create, struct secrets **out,
                             struct rc_info *ri);

struct audit;
/* The audit log of c (flow/audit.h): its key from audit_key, or STATE/audit-key.jwk, made
 * when missing with create (authd; authctl never makes one). */
enum rc compose_audit_open(const struct config *c, bool create, struct audit **out,
                           struct rc_info *ri);

/* The federation pieces of c (docs/federation.md): its keys (a keys port over
 * federation_keys_dir; with create, a missing key set is made, as at the daemon's first
 * start), the text of the federation_trust_anchors file appended to anchors (which the
 * caller buf_init'ed and buf_clears; nothing when unset; at most 64 KiB) and an outbound
 * client for fetching statements. RC_OK: keys and out owned by the caller. Failure:
 * nothing is left open; ri names the setting. */
struct keys;
/* The text of the federation_trust_anchors file appended to b (nothing when unset; at most
 * 64 KiB: RC_TOO_LARGE). RC_NOT_FOUND, RC_UNAVAILABLE, RC_NOMEM; ri names the setting. */
enum rc compose_fed_anchors_read(const struct config *c, struct buf *b, struct rc_info *ri);
enum rc compose_fed_open(const struct config *c, bool create, struct keys **keys,
                         struct buf *anchors, struct outbound **out, struct rc_info *ri);
/* The store_* settings of c as store options. */
void compose_store_opts(const struct config *c, struct store_opts *out);
/* The popbase_* settings of c as population-base options, answers cached in cache (may be
 * NULL: no cache). */
void compose_popbase_opts(const struct config *c, struct store *cache, struct popbase_opts *out);

#endif
