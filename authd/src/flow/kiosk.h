/* Enrolled kiosks and their certificates (docs/kiosk.md).
 *
 * A kiosk is enrolled by `authctl kiosk enroll`: the kiosk CA (config kiosk_ca, under the
 * province CA; certs/dev-pki makes one) signs an EC P-256 device certificate whose SAN URI
 * is urn:authd:kiosk:<id> and whose CN is <id>, and the kiosk's record is written as
 * kiosk_dir/<id>.json:
 *
 *     {"id","location","services":[scope...],"clients":[client id...],"operator",
 *      "enrolled_at","serial","not_after","state":"active"|"revoked","revoked_at"}
 *
 * The registry is files, not the store: authctl and authd then agree without a shared
 * store (a memory: store is private to each process), a record is read at each use (no
 * restart, no SIGHUP), and the registry travels with the CRL it goes with. Revocation
 * (`authctl kiosk revoke`) marks the record and re-signs the kiosk CA's CRL (config
 * kiosk_crl), which authd reloads when the file's mtime changes.
 *
 * kiosk_cert_verify is what every kiosk endpoint relies on: a presented certificate (DER)
 * chains to the kiosk CA (the one trust anchor: a certificate of another CA, even one of
 * the province, is refused), is within its dates, is not on the CRL (a CRL that is
 * missing, unreadable or past its nextUpdate refuses everything: fail closed), names one
 * kiosk, and that kiosk's record is active with the certificate's serial. The X.509 part of
 * a verification is kept per node for the certificate's SHA-256 until the CRL changes (or
 * reaches its nextUpdate) or the certificate's dates run out; the record is read each time. */
#ifndef AUTHD_FLOW_KIOSK_H
#define AUTHD_FLOW_KIOSK_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/app.h"
#include "util/arena.h"

#define KIOSK_ID_MAX     64 /* 1-64 of [A-Za-z0-9._-] (policy_id_valid) */
#define KIOSK_URN        "urn:authd:kiosk:"
#define KIOSK_X5T_LEN    43    /* base64url of a SHA-256 */
#define KIOSK_CERT_MAX   16384 /* bytes of a certificate (DER) we look at */
#define KIOSK_RECORD_MAX 8192  /* bytes of a record file */
#define KIOSK_LIST_MAX   1024  /* kiosks authctl kiosk list shows */

/* A kiosk's record. */
struct kiosk_rec {
    const char *id, *location, *operator_name, *serial; /* serial: hex, as OpenSSL prints */
    const char *services; /* space-separated scopes its card logins may ask (openid always) */
    const char *clients;  /* space-separated client ids its certificate authenticates */
    int64_t enrolled_at, not_after, revoked_at;
    bool revoked;
};

/* A verified kiosk certificate (strings in the caller's arena). */
struct kiosk_cert {
    char id[KIOSK_ID_MAX + 1];
    char x5t[KIOSK_X5T_LEN + 1]; /* x5t#S256 (RFC 8705 §3.1): base64url SHA-256 of the DER */
    const char *jwk;             /* the certificate's public key as a JWK (JSON text) */
    struct kiosk_rec *rec;       /* the kiosk's record */
};

/* The trust of the kiosk channel: the kiosk CA and its CRL. State of struct app
 * (app->kiosk; NULL: the channel is off). */
struct kiosk_trust;

/* Loads cfg->kiosk_ca (the first certificate of the file is the anchor). RC_OK: *out.
 * RC_NOT_FOUND / RC_MALFORMED (ri names the file), RC_NOMEM. The CRL is read at first use. */
enum rc kiosk_trust_new(const struct config *cfg, struct kiosk_trust **out, struct rc_info *ri);
void kiosk_trust_free(struct kiosk_trust *t);

/* Verifies a presented certificate (DER) as above. RC_OK: *out. RC_DENIED with a static
 * reason in ri (RC_WHY_KIOSK_CERT: not ours, expired, revoked, not enrolled; never secret),
 * RC_UNAVAILABLE (the channel is off), RC_NOMEM. */
enum rc kiosk_cert_verify(struct app *app, struct arena *a, struct span der, struct kiosk_cert *out,
                          struct rc_info *ri);

/* True if s can be a kiosk id. */
bool kiosk_id_valid(struct span s);

/* The record of kiosk id from dir. RC_OK: *out (strings in a). RC_NOT_FOUND, RC_MALFORMED
 * (not a record), RC_TOO_LARGE. */
enum rc kiosk_rec_get(const char *dir, struct arena *a, const char *id, struct kiosk_rec *out);
/* Writes the record (a temporary file renamed into place, 0644). RC_OK, RC_INTERNAL. */
enum rc kiosk_rec_put(const char *dir, const struct kiosk_rec *r);

/* True if the kiosk may authenticate as client_id / ask for scope (space-separated). */
bool kiosk_allows_client(const struct kiosk_rec *r, const char *client_id);
bool kiosk_allows_scope(const struct kiosk_rec *r, const char *scope);

#endif
