/* The daemon's configuration file: plain `key = value` lines. Every key is one row of the
 * table in config.c (name, type, bounds, default, help); docs/configuration.md lists them.
 * Unknown keys and bad values are errors with file:line. Relative paths are resolved
 * against the directory of the config file. */
#ifndef AUTHD_CONF_CONFIG_H
#define AUTHD_CONF_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/ini.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

struct config {
    /* where and how to listen */
    char *listen;      /* "127.0.0.1:8080" */
    char *listen_host; /* derived: "127.0.0.1" */
    uint16_t listen_port;
    char *issuer;
    char *tls_cert, *tls_key;
    bool allow_insecure_http;
    uint32_t threads; /* 0: one per core */
    uint32_t max_body_bytes;
    uint32_t max_header_bytes;
    uint32_t connection_timeout_s;
    uint32_t request_head_timeout_s; /* a request head must be complete within this */
    char *metrics_listen;            /* "127.0.0.1:9464" or "off" */
    char *metrics_host;              /* derived; NULL when off */
    uint16_t metrics_port;
    uint32_t max_connections;
    uint32_t max_connections_per_ip;
    uint32_t shutdown_grace_ms;
    uint32_t token_cache_entries;
    /* state and adapters */
    char *state_dir, *keys_dir, *policy_dir;
    char *store;
    uint32_t store_max_memory_mb;
    uint32_t store_reserve_percent; /* port/store.h STORE_LOW */
    uint32_t store_connect_timeout_ms, store_command_timeout_ms;
    uint32_t store_durable_replicas, store_durable_timeout_ms;
    /* the AEAD of personal data at rest (flow/atrest.h): "aes-256-gcm" only, for now */
    char *data_cipher;
    char *popbase;
    char *popbase_name_key;
    char *popbase_tls_cert, *popbase_tls_key, *popbase_tls_ca;
    bool ready_requires_popbase;
    uint32_t popbase_connect_timeout_ms, popbase_timeout_ms, popbase_retries;
    uint32_t popbase_breaker_failures, popbase_breaker_open_ms;
    uint32_t popbase_cache_match_ttl_s, popbase_cache_miss_ttl_s;
    char *notify; /* port/notify.h: file:PATH, http(s)://URL, or NULL */
    char *identifier_hmac; /* digest of the secrets port's keyed hashes: "sha256" or "sm3" */
    uint32_t notify_timeout_ms;
    /* accounts */
    uint32_t argon2_memory_kib, argon2_iterations, argon2_parallelism;
    uint32_t password_min_length;
    uint32_t lockout_failures, lockout_seconds;
    uint32_t login_rate_per_ip, register_rate_per_ip, rate_window_s;
    /* token buckets (flow/ratelimit.h): requests per rate_window_s, 0 = off */
    uint32_t rate_login_per_idnum;
    uint32_t rate_token_per_ip, rate_token_per_client;
    uint32_t rate_introspect_per_ip, rate_introspect_per_client; /* /introspect and /revoke */
    uint32_t rate_authorize_per_ip, rate_end_session_per_ip;
    char *audit_key;                   /* flow/audit.h; NULL: STATE/audit-key.jwk */
    uint32_t audit_checkpoint_every;   /* records between signed checkpoints */
    uint32_t audit_checkpoint_seconds; /* at most this long between them while appending */
    /* device grant (flow/device.h, RFC 8628) */
    uint32_t device_code_ttl_s, device_poll_interval_s;
    uint32_t rate_device_per_ip, rate_device_per_code; /* user-code lookups on /device */
    uint32_t rate_device_authorization_per_ip;          /* /device_authorization requests */
    char *device_login_client; /* the client /device logs a phone in through; NULL: none */
    /* CIBA poll mode (flow/ciba.h) */
    uint32_t ciba_expiry_s, ciba_max_expiry_s, ciba_poll_interval_s;
    bool require_pushed_authorization_requests; /* every client pushes (RFC 9126 §5) */
    uint32_t dpop_iat_window_s; /* a DPoP proof's iat no older than this (RFC 9449 §11.1) */
    bool dpop_nonce_required;   /* every DPoP proof carries a server nonce (§8, §9) */
    uint32_t max_token_families_per_account; /* flow/refresh.h rtf_account_bound; 0: none */
    /* the account page (flow/account_page.h) and the sign-in record (flow/signins.h) */
    uint32_t account_max_age_s;   /* how recent an authentication a change needs */
    char *account_client;         /* the client the page re-authenticates through */
    uint32_t signin_history_max;  /* entries kept per account */
    uint32_t signin_history_days; /* and their age */
    char *demo_accounts; /* development: JSON list of citizens registered at start */
    /* back-channel logout deliveries (flow/bclogout.h) */
    uint32_t backchannel_retry_min_ms, backchannel_retry_max_ms;
    uint32_t backchannel_give_up_s;
    /* logging */
    enum log_level log_level;
    char *log_file; /* NULL: stderr */
    /* second factors (flow/totp.h, docs/mfa.md) */
    char *totp_issuer;             /* the authenticator app's label: otpauth:// issuer */
    uint32_t rate_otp_per_account; /* one-time code attempts per account per rate_window_s */
    uint32_t mfa_remove_max_age_s; /* removing a factor: aal2 at most this long ago */
    /* SMS one-time codes and the password throttle (flow/sms.h, flow/account_login.c) */
    uint32_t sms_code_ttl_s, sms_window_s;
    uint32_t sms_per_phone, sms_per_idnum, sms_per_ip, sms_daily_budget, sms_budget_window_s;
    char *sms_service_name, *sms_lang;
    uint32_t login_ceiling_max_wait_s;
    /* OpenID Federation 1.0 (docs/federation.md); off unless federation_role is set */
    char *federation_role;            /* NULL: off; "leaf", "intermediate" or "anchor" */
    char *federation_entity_id;       /* derived default: issuer */
    char *federation_keys_dir;        /* derived default: keys_dir/federation */
    char *federation_authority_hints; /* superiors' entity ids, space-separated */
    uint32_t federation_statement_lifetime_s;
    char *federation_trust_anchors; /* JSON file: the anchors this node resolves chains to
                                       (flow/fed.h fed_new) */
    uint32_t federation_timeout_ms;
    uint32_t federation_cache_max_s; /* a resolved chain is cached at most this long */
    uint32_t rate_federation_resolve_per_ip; /* /federation/resolve per rate_window_s */
    uint32_t rate_federation_register_per_ip; /* automatic registrations tried per
                                                 rate_window_s (flow/clients.h) */
    bool federation_broker;   /* brokered login: citizens of other provinces (docs/federation.md) */
    char *federation_region;  /* this province's 2-digit region code, published; NULL: none */
    /* the kiosk channel (docs/kiosk.md): device PKI, mutual TLS, card login */
    char *kiosk_ca;     /* PEM: the kiosk CA, the one anchor of kiosk certificates */
    char *kiosk_ca_key; /* authctl kiosk enroll/revoke only: the kiosk CA's key */
    char *kiosk_crl;    /* PEM CRL of the kiosk CA; reloaded when its mtime changes */
    char *kiosk_dir;    /* authctl kiosk enroll writes K.key, K.crt here */
    char *kiosk_listen; /* "off" or address:port of the TLS listener asking for client
                           certificates */
    char *kiosk_host;   /* derived; NULL when off */
    uint16_t kiosk_port;
    char *kiosk_cert_header;     /* a TLS-terminating proxy's forwarded certificate header */
    char *kiosk_trusted_proxies; /* addresses the header is honoured from, space-separated */
    /* the file it came from */
    char *path;
};

/* Loads and validates path. RC_OK: *out is owned by the caller (config_free); otherwise
 * err holds "file:line: key: reason" and *out is untouched. Defaults fill every key the
 * file does not set. */
enum rc config_load(const char *path, struct config **out, struct config_error *err);
/* The same over text in memory (file names it in errors); base_dir resolves relative
 * paths. */
enum rc config_parse(const char *file, const char *text, size_t len, const char *base_dir,
                     struct config **out, struct config_error *err);
void config_free(struct config *c);
/* Prints every effective setting as `key = value` (passwords in URLs masked). */
void config_print(const struct config *c, FILE *f);
/* True if host is a loopback address (127.0.0.0/8, ::1, localhost). */
bool config_host_is_loopback(const char *host);

#endif
