/* OpenID Federation 1.0 (docs/federation.md): this node's entity configuration, the
 * anchor's subordinate registry (enrolment, fetch, list), and trust chain resolution with
 * a shared cache. The statements' pure checks are core/fedstmt.h, the policy language and
 * constraints core/fedpolicy.h; this module fetches (the outbound port), signs (our
 * federation keys, separate from the token keys), and keeps state in the store.
 *
 * Store keys (docs/storage.md):
 *   authd:fedsub:{ENTITY_ID}   an enrolled subordinate: JSON {"jwks", "metadata_policy",
 *                              "constraints", "trust_marks": [types]}; no TTL; <= 128 KiB
 *   authd:fedsubs:{all}        set of enrolled entity ids; no TTL
 *   authd:fedgen:{all}         counter bumped by fed_refresh (old cache entries are no
 *                              longer looked up); no TTL
 *   authd:fedchain:{G}:HASH    a resolved chain (G the generation, HASH the base64url
 *                              SHA-256 of sub "\n" anchor): JSON {"exp", "metadata",
 *                              "trust_chain", "trust_marks"}; TTL until the earliest exp in
 *                              the chain, at most federation_cache_max_s; <= 256 KiB
 *
 * Result codes carry reasons RC_WHY_FED_* (util/rc.h); RC_UNAVAILABLE for the store. */
#ifndef AUTHD_FLOW_FED_H
#define AUTHD_FLOW_FED_H

#include <jansson.h>
#include <stdint.h>

#include "flow/app.h"
#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

struct jose_keyset;
struct keys;
struct outbound;
struct policy_client;
struct fed_clients;

#define FED_MAX_SUBORDINATES 4096 /* entries fed_list answers */

#define FED_REFUSED_TTL_S 60  /* an entity id refused by fed_client is not retried sooner */
#define FED_REFUSED_MAX   256 /* entity ids remembered as refused (oldest replaced) */

#define FED_MAX_ANCHORS      8     /* trust anchors one node may trust */
#define FED_MAX_ANCHORS_FILE 65536 /* bytes of the federation_trust_anchors file */

/* A trust anchor this node resolves chains to (config federation_trust_anchors). */
struct fed_anchor {
    char *id;                 /* its entity id */
    struct jose_keyset *keys; /* its federation keys, as configured (out of band) */
    json_t *required_marks;   /* trust mark types the leaf of a chain must hold (array) */
};

/* The federation side of a node, in struct app (NULL: federation off). */
struct fed {
    struct keys *keys;    /* ours (port/keys.h over keys_dir/federation): separate from the
                             token keys, rotated the same way (docs/keys.md) */
    struct outbound *out; /* fetches of other entities' statements */
    size_t nanchors;
    struct fed_anchor anchors[FED_MAX_ANCHORS];
    struct fed_clients *clients; /* relying parties registered automatically (fed_client.c) */
};

/* Builds the federation side from our keys, the client for fetches and the text of the
 * federation_trust_anchors file (empty: no anchor): a JSON array of {"entity_id": URL,
 * "jwks": {"keys": [...]}, "required_trust_marks": [TYPE, ...] (optional)}. Takes keys and
 * out on success only. RC_OK: *out_fed owned by the caller (fed_free). RC_MALFORMED (ri
 * names what), RC_TOO_LARGE (over FED_MAX_ANCHORS), RC_NOMEM. */
enum rc fed_new(struct keys *keys, struct span anchors, struct outbound *out, struct fed **out_fed,
                struct rc_info *ri);
void fed_free(struct fed *f);
/* The configured anchor with entity id `id`, or NULL. */
const struct fed_anchor *fed_anchor_find(const struct fed *f, const char *id);

/* This node's entity configuration (§3, §9), signed with its federation key: op_metadata
 * is its discovery document (JSON). RC_OK: *jwt in arena a. RC_NOT_FOUND (federation off),
 * RC_MALFORMED (op_metadata), RC_NOMEM, RC_INTERNAL. */
enum rc fed_entity_configuration(struct app *app, struct span op_metadata, struct arena *a,
                                 struct span *jwt, struct rc_info *ri);

/* A subordinate statement about sub (§8.1), signed by us. RC_NOT_FOUND when sub is not
 * enrolled, or this node is not an anchor or intermediate; RC_UNAVAILABLE (store). */
enum rc fed_fetch(struct app *app, const char *sub, struct arena *a, struct span *jwt,
                  struct rc_info *ri);

/* The entity ids enrolled (§8.2), as a new JSON array owned by the caller. RC_NOT_FOUND
 * when this node is no anchor or intermediate. */
enum rc fed_list(struct app *app, struct arena *a, json_t **out, struct rc_info *ri);

/* Enrols (or replaces) a subordinate: its federation JWKS (JSON), an optional metadata
 * policy and constraints (JSON objects, empty span: none), and the trust mark types we
 * issue it (space-separated, may be NULL; "TYPE#ial2" vouches for that level in the mark's
 * "ial" claim instead of ial3: brokered logins are capped by it, fed_broker.h).
 * RC_MALFORMED (with field), RC_UNAVAILABLE. */
enum rc fed_enroll(struct app *app, const char *entity_id, struct span jwks, struct span policy,
                   struct span constraints, const char *trust_marks, struct rc_info *ri);
/* Removes a subordinate. RC_NOT_FOUND, RC_UNAVAILABLE. */
enum rc fed_remove(struct app *app, const char *entity_id, struct rc_info *ri);
/* Drops every cached chain (every node sharing the store). RC_UNAVAILABLE. */
enum rc fed_refresh(struct app *app, struct rc_info *ri);

/* A resolved trust chain (§10). */
struct fed_resolved {
    json_t *metadata;    /* the leaf's metadata, policy applied */
    json_t *trust_chain; /* [leaf configuration, subordinate statements..., anchor's] */
    json_t *trust_marks; /* the verified trust marks, [{"trust_mark_type","trust_mark"}] */
    int64_t exp;         /* the earliest exp of the chain */
    bool cached;         /* answered from the store */
};

/* Resolves sub's trust chain to anchor (which must be a configured trust anchor), from
 * the cache when it holds one, else by fetching and checking every statement (see the
 * comment in fed.c). RC_OK: *out owned by the caller (fed_resolved_clear). Failures: RC_DENIED
 * with RC_WHY_FED_ANCHOR (unknown anchor, no path), RC_WHY_FED_STATEMENT, RC_WHY_FED_POLICY,
 * RC_WHY_FED_CONSTRAINT, RC_WHY_FED_TRUST_MARK; RC_EXPIRED (RC_WHY_FED_EXPIRED);
 * RC_UNAVAILABLE with RC_WHY_FED_UNREACHABLE (a statement could not be fetched) or without
 * (the store). Every refusal is logged (event fed.resolve, with the reason). */
enum rc fed_resolve(struct app *app, const char *sub, const char *anchor, struct arena *a,
                    struct fed_resolved *out, struct rc_info *ri);
void fed_resolved_clear(struct fed_resolved *r);

/* Whether the configured trust anchor `anchor` vouches for sub: its configuration (from
 * the chain cache, checked with the configured keys) names a federation_fetch_endpoint
 * whose statement about sub (§8.1.1) verifies with the configured keys, iss the anchor and
 * sub the entity. Fetches from the anchor only. RC_OK; RC_DENIED with RC_WHY_FED_NOT_VOUCHED
 * (the anchor answers no statement, or one about another entity) or another RC_WHY_FED_*
 * reason; RC_UNAVAILABLE (the anchor unreachable, the store). Refusals are logged
 * (fed.resolve). */
enum rc fed_vouched(struct app *app, const char *sub, const char *anchor, struct arena *a,
                    struct rc_info *ri);

/* A resolve response (§8.3.2) about r, signed by us. RC_OK: *jwt in arena a. */
enum rc fed_resolve_response(struct app *app, const char *sub, const struct fed_resolved *r,
                             struct arena *a, struct span *jwt, struct rc_info *ri);

/* Signs claims (stolen) with our current federation key, header typ (NULL: none). RC_OK:
 * *jwt in a. RC_NOT_FOUND (federation off), RC_NOMEM, RC_INTERNAL. */
enum rc fed_sign(struct app *app, json_t *claims, const char *typ, struct arena *a,
                 struct span *jwt, struct rc_info *ri);

/* This node's openid_relying_party metadata when it brokers logins (flow/fed_broker.h),
 * with jwks (stolen) as its keys. New reference, or NULL. */
json_t *fed_broker_rp_metadata(struct app *app, json_t *jwks);

/* Automatic registration (§12.1, fed_client.c): the relying party with entity id `id`,
 * built from its chain-resolved openid_relying_party metadata when its chain resolves to
 * one of our anchors, else NULL. In this order: an id that is no entity identifier (§1.2)
 * or was refused within FED_REFUSED_TTL_S is NULL without any fetch; then only the anchors
 * are asked (fed_vouched); only an entity an anchor vouches for is fetched and resolved.
 * Valid until the daemon stops. client_resolve calls it for ids the policy does not
 * register. */
const struct policy_client *fed_client(struct app *app, struct span id);
/* Whether fed_client(app, id) would fetch anything now: federation on, id an entity
 * identifier, no live client and no recent refusal of it. */
bool fed_client_would_fetch(struct app *app, struct span id);
enum rc fed_clients_new(struct fed_clients **out);
void fed_clients_free(struct fed_clients *c);

#endif
