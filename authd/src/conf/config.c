#include "conf/config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/num.h"

enum ktype { K_STR, K_PATH, K_BOOL, K_U32, K_LEVEL };
typedef const char *(*check_fn)(const char *value); /* NULL if fine, else the reason */

struct key {
    const char *name;
    enum ktype type;
    size_t off;
    uint32_t min, max;
    const char *def; /* NULL: unset */
    check_fn check;
};

static const char *check_listen(const char *v);
static const char *check_metrics_listen(const char *v);
static const char *check_url(const char *v);
static const char *check_store(const char *v);
static const char *check_popbase(const char *v);
static const char *check_notify(const char *v);
static const char *check_sms_service_name(const char *v);
static const char *check_sms_lang(const char *v);
static const char *check_identifier_hmac(const char *v);
static const char *check_fed_role(const char *v);
static const char *check_data_cipher(const char *v);
static const char *check_proxies(const char *v);

#define O(f) offsetof(struct config, f)
/* clang-format off */
static const struct key keys[] = {
    {"listen",                     K_STR,   O(listen), 0, 0, "127.0.0.1:8080", check_listen},
    {"issuer",                     K_STR,   O(issuer), 0, 0, NULL, check_url},
    {"tls_cert",                   K_PATH,  O(tls_cert), 0, 0, NULL, NULL},
    {"tls_key",                    K_PATH,  O(tls_key), 0, 0, NULL, NULL},
    {"allow_insecure_http",        K_BOOL,  O(allow_insecure_http), 0, 1, "false", NULL},
    {"threads",                    K_U32,   O(threads), 0, 256, "0", NULL},
    {"max_body_bytes",             K_U32,   O(max_body_bytes), 1024, 16u << 20, "65536", NULL},
    {"max_header_bytes",           K_U32,   O(max_header_bytes), 4096, 1u << 20, "16384", NULL},
    {"connection_timeout_s",       K_U32,   O(connection_timeout_s), 1, 3600, "10", NULL},
    {"request_head_timeout_s",     K_U32,   O(request_head_timeout_s), 1, 3600, "10", NULL},
    {"metrics_listen",             K_STR,   O(metrics_listen), 0, 0, "127.0.0.1:9464", check_metrics_listen},
    {"max_connections",            K_U32,   O(max_connections), 1, 1000000, "4096", NULL},
    {"max_connections_per_ip",     K_U32,   O(max_connections_per_ip), 0, 1000000, "256", NULL},
    {"token_cache_entries",        K_U32,   O(token_cache_entries), 0, 1u << 26, "2097152", NULL},
    {"shutdown_grace_ms",          K_U32,   O(shutdown_grace_ms), 0, 60000, "1500", NULL},
    {"state_dir",                  K_PATH,  O(state_dir), 0, 0, "/var/lib/authd", NULL},
    {"keys_dir",                   K_PATH,  O(keys_dir), 0, 0, NULL, NULL},
    {"policy_dir",                 K_PATH,  O(policy_dir), 0, 0, NULL, NULL},
    {"store",                      K_STR,   O(store), 0, 0, "memory:", check_store},
    {"store_max_memory_mb",        K_U32,   O(store_max_memory_mb), 1, 1u << 20, "256", NULL},
    {"store_reserve_percent",      K_U32,   O(store_reserve_percent), 0, 50, "10", NULL},
    {"store_connect_timeout_ms",   K_U32,   O(store_connect_timeout_ms), 1, 60000, "500", NULL},
    {"store_command_timeout_ms",   K_U32,   O(store_command_timeout_ms), 1, 60000, "1000", NULL},
    {"store_durable_replicas",     K_U32,   O(store_durable_replicas), 0, 16, "0", NULL},
    {"store_durable_timeout_ms",   K_U32,   O(store_durable_timeout_ms), 1, 60000, "1000", NULL},
    {"data_cipher",                K_STR,   O(data_cipher), 0, 0, "aes-256-gcm", check_data_cipher},
    {"popbase",                    K_STR,   O(popbase), 0, 0, NULL, check_popbase},
    {"ready_requires_popbase",     K_BOOL,  O(ready_requires_popbase), 0, 1, "false", NULL},
    {"popbase_name_key",           K_PATH,  O(popbase_name_key), 0, 0, NULL, NULL},
    {"popbase_tls_cert",           K_PATH,  O(popbase_tls_cert), 0, 0, NULL, NULL},
    {"popbase_tls_key",            K_PATH,  O(popbase_tls_key), 0, 0, NULL, NULL},
    {"popbase_tls_ca",             K_PATH,  O(popbase_tls_ca), 0, 0, NULL, NULL},
    {"popbase_connect_timeout_ms", K_U32,   O(popbase_connect_timeout_ms), 1, 60000, "300", NULL},
    {"popbase_timeout_ms",         K_U32,   O(popbase_timeout_ms), 1, 60000, "1000", NULL},
    {"popbase_retries",            K_U32,   O(popbase_retries), 0, 5, "1", NULL},
    {"popbase_breaker_failures",   K_U32,   O(popbase_breaker_failures), 1, 1000, "5", NULL},
    {"popbase_breaker_open_ms",    K_U32,   O(popbase_breaker_open_ms), 10, 600000, "5000", NULL},
    {"popbase_cache_match_ttl_s",  K_U32,   O(popbase_cache_match_ttl_s), 0, 2592000, "86400", NULL},
    {"popbase_cache_miss_ttl_s",   K_U32,   O(popbase_cache_miss_ttl_s), 0, 86400, "300", NULL},
    {"notify",                     K_STR,   O(notify), 0, 0, NULL, check_notify},
    {"notify_timeout_ms",          K_U32,   O(notify_timeout_ms), 100, 60000, "3000", NULL},
    {"argon2_memory_kib",          K_U32,   O(argon2_memory_kib), 8, 4u << 20, "19456", NULL},
    {"argon2_iterations",          K_U32,   O(argon2_iterations), 1, 100, "2", NULL},
    {"argon2_parallelism",         K_U32,   O(argon2_parallelism), 1, 64, "1", NULL},
    {"password_min_length",        K_U32,   O(password_min_length), 8, 128, "8", NULL},
    {"lockout_failures",           K_U32,   O(lockout_failures), 1, 1000, "5", NULL},
    {"lockout_seconds",            K_U32,   O(lockout_seconds), 1, 86400 * 7, "900", NULL},
    {"login_rate_per_ip",          K_U32,   O(login_rate_per_ip), 0, 1000000, "600", NULL},
    {"register_rate_per_ip",       K_U32,   O(register_rate_per_ip), 0, 1000000, "60", NULL},
    {"rate_window_s",              K_U32,   O(rate_window_s), 1, 86400, "60", NULL},
    {"backchannel_retry_min_ms",   K_U32,   O(backchannel_retry_min_ms), 1, 3600000, "1000", NULL},
    {"backchannel_retry_max_ms",   K_U32,   O(backchannel_retry_max_ms), 1, 86400000, "300000", NULL},
    {"backchannel_give_up_s",      K_U32,   O(backchannel_give_up_s), 1, 604800, "86400", NULL},
    {"rate_login_per_idnum",       K_U32,   O(rate_login_per_idnum), 0, 1000000, "20", NULL},
    {"rate_token_per_ip",          K_U32,   O(rate_token_per_ip), 0, 100000000, "0", NULL},
    {"rate_token_per_client",      K_U32,   O(rate_token_per_client), 0, 100000000, "0", NULL},
    {"rate_introspect_per_ip",     K_U32,   O(rate_introspect_per_ip), 0, 100000000, "0", NULL},
    {"rate_introspect_per_client", K_U32,   O(rate_introspect_per_client), 0, 100000000, "0", NULL},
    {"max_token_families_per_account", K_U32, O(max_token_families_per_account), 0, 60, "50", NULL},
    {"audit_key",                  K_PATH,  O(audit_key), 0, 0, NULL, NULL},
    {"audit_checkpoint_every",     K_U32,   O(audit_checkpoint_every), 1, 1000000, "100", NULL},
    {"audit_checkpoint_seconds",   K_U32,   O(audit_checkpoint_seconds), 0, 86400, "60", NULL},
    {"rate_authorize_per_ip",      K_U32,   O(rate_authorize_per_ip), 0, 100000000, "600", NULL},
    {"rate_end_session_per_ip",    K_U32,   O(rate_end_session_per_ip), 0, 100000000, "300", NULL},
    {"account_max_age_s",          K_U32,   O(account_max_age_s), 1, 86400, "300", NULL},
    {"account_client",             K_STR,   O(account_client), 0, 0, "authd-account", NULL},
    {"signin_history_max",         K_U32,   O(signin_history_max), 1, 100, "20", NULL},
    {"signin_history_days",        K_U32,   O(signin_history_days), 1, 365, "90", NULL},
    {"device_code_ttl_s",          K_U32,   O(device_code_ttl_s), 5, 3600, "600", NULL},
    {"device_poll_interval_s",     K_U32,   O(device_poll_interval_s), 1, 60, "5", NULL},
    {"rate_device_per_ip",         K_U32,   O(rate_device_per_ip), 0, 100000000, "30", NULL},
    {"rate_device_per_code",       K_U32,   O(rate_device_per_code), 0, 100000000, "5", NULL},
    {"rate_device_authorization_per_ip", K_U32, O(rate_device_authorization_per_ip), 0, 100000000, "600", NULL},
    {"device_login_client",        K_STR,   O(device_login_client), 0, 0, NULL, NULL},
    {"ciba_expiry_s",              K_U32,   O(ciba_expiry_s), 5, 3600, "300", NULL},
    {"ciba_max_expiry_s",          K_U32,   O(ciba_max_expiry_s), 5, 3600, "600", NULL},
    {"ciba_poll_interval_s",       K_U32,   O(ciba_poll_interval_s), 1, 60, "5", NULL},
    {"require_pushed_authorization_requests", K_BOOL, O(require_pushed_authorization_requests), 0, 1, "false", NULL},
    {"dpop_iat_window_s",          K_U32,   O(dpop_iat_window_s), 5, 600, "60", NULL},
    {"dpop_nonce_required",        K_BOOL,  O(dpop_nonce_required), 0, 1, "false", NULL},
    {"demo_accounts",              K_PATH,  O(demo_accounts), 0, 0, NULL, NULL},
    {"federation_role",            K_STR,   O(federation_role), 0, 0, NULL, check_fed_role},
    {"federation_entity_id",       K_STR,   O(federation_entity_id), 0, 0, NULL, check_url},
    {"federation_keys_dir",        K_PATH,  O(federation_keys_dir), 0, 0, NULL, NULL},
    {"federation_authority_hints", K_STR,   O(federation_authority_hints), 0, 0, NULL, NULL},
    {"federation_statement_lifetime_s", K_U32, O(federation_statement_lifetime_s), 60, 31536000, "86400", NULL},
    {"federation_trust_anchors",   K_PATH,  O(federation_trust_anchors), 0, 0, NULL, NULL},
    {"federation_timeout_ms",      K_U32,   O(federation_timeout_ms), 100, 60000, "3000", NULL},
    {"rate_federation_resolve_per_ip", K_U32, O(rate_federation_resolve_per_ip), 0, 100000000, "120", NULL},
    {"rate_federation_register_per_ip", K_U32, O(rate_federation_register_per_ip), 0, 100000000,
     "30", NULL},
    {"federation_cache_max_s",     K_U32,   O(federation_cache_max_s), 1, 31536000, "3600", NULL},
    {"federation_broker",          K_BOOL,  O(federation_broker), 0, 1, "false", NULL},
    {"federation_region",          K_STR,   O(federation_region), 0, 0, NULL, NULL},
    {"kiosk_ca",                   K_PATH,  O(kiosk_ca), 0, 0, NULL, NULL},
    {"kiosk_ca_key",               K_PATH,  O(kiosk_ca_key), 0, 0, NULL, NULL},
    {"kiosk_crl",                  K_PATH,  O(kiosk_crl), 0, 0, NULL, NULL},
    {"kiosk_dir",                  K_PATH,  O(kiosk_dir), 0, 0, NULL, NULL},
    {"kiosk_listen",               K_STR,   O(kiosk_listen), 0, 0, "off", check_metrics_listen},
    {"kiosk_cert_header",          K_STR,   O(kiosk_cert_header), 0, 0, NULL, NULL},
    {"kiosk_trusted_proxies",      K_STR,   O(kiosk_trusted_proxies), 0, 0, NULL, check_proxies},
    {"log_level",                  K_LEVEL, O(log_level), 0, 0, "info", NULL},
    {"log_file",                   K_PATH,  O(log_file), 0, 0, NULL, NULL},
    {"totp_issuer",                K_STR,   O(totp_issuer), 0, 0, "authd", NULL},
    {"rate_otp_per_account",       K_U32,   O(rate_otp_per_account), 1, 1000, "10", NULL},
    {"mfa_remove_max_age_s",       K_U32,   O(mfa_remove_max_age_s), 60, 86400, "600", NULL},
    {"sms_code_ttl_s",             K_U32,   O(sms_code_ttl_s), 1, 3600, "300", NULL},
    {"sms_window_s",               K_U32,   O(sms_window_s), 1, 86400, "3600", NULL},
    {"sms_per_phone",              K_U32,   O(sms_per_phone), 0, 1000, "5", NULL},
    {"sms_per_idnum",              K_U32,   O(sms_per_idnum), 0, 1000, "5", NULL},
    {"sms_per_ip",                 K_U32,   O(sms_per_ip), 0, 1000000, "20", NULL},
    {"sms_daily_budget",           K_U32,   O(sms_daily_budget), 0, 100000000, "100000", NULL},
    {"sms_budget_window_s",        K_U32,   O(sms_budget_window_s), 1, 86400 * 7, "86400", NULL},
    {"sms_service_name",           K_STR,   O(sms_service_name), 0, 0, "authd", check_sms_service_name},
    {"sms_lang",                   K_STR,   O(sms_lang), 0, 0, "zh", check_sms_lang},
    {"login_ceiling_max_wait_s",   K_U32,   O(login_ceiling_max_wait_s), 1, 60, "5", NULL},
    {"identifier_hmac",            K_STR,   O(identifier_hmac), 0, 0, "sha256", check_identifier_hmac},
};
/* clang-format on */
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const levels[] = {"debug", "info", "warn", "error"};

bool
config_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

/* Splits "host:port" or "[v6]:port"; host written into h (size hn). */
static const char *
split_listen(const char *v, char *h, size_t hn, uint16_t *port)
{
    const char *colon, *hs = v, *he;
    uint64_t p;

    if (*v == '[') {
        hs = v + 1;
        if (!(he = strchr(v, ']')) || he[1] != ':')
            return "expected [address]:port";
        colon = he + 1;
    } else {
        if (!(colon = strrchr(v, ':')))
            return "expected address:port";
        he = colon;
    }
    if (he == hs || (size_t)(he - hs) >= hn)
        return "bad address";
    memcpy(h, hs, (size_t)(he - hs));
    h[he - hs] = 0;
    if (num_parse_u64(span_str(colon + 1), 1, 65535, &p) != RC_OK)
        return "port must be 1-65535";
    if (port)
        *port = (uint16_t)p;
    if (!config_host_is_loopback(h) && strcmp(h, "0.0.0.0") != 0 && strcmp(h, "::") != 0) {
        struct in_addr a4;
        struct in6_addr a6;
        if (inet_pton(AF_INET, h, &a4) != 1 && inet_pton(AF_INET6, h, &a6) != 1)
            return "address must be an IP address or localhost";
    }
    return NULL;
}

static const char *
check_listen(const char *v)
{
    char h[64];
    return split_listen(v, h, sizeof(h), NULL);
}

/* "off", or address:port like listen. */
static const char *
check_metrics_listen(const char *v)
{
    char h[64];
    if (strcmp(v, "off") == 0)
        return NULL;
    return split_listen(v, h, sizeof(h), NULL);
}

/* kiosk_trusted_proxies: IP addresses, separated by spaces. */
static const char *
check_proxies(const char *v)
{
    char one[64];
    unsigned char bin[16];

    while (*v) {
        size_t n = strcspn(v, " ");
        if (n >= sizeof(one))
            return "not an IP address";
        if (n) {
            memcpy(one, v, n);
            one[n] = 0;
            if (inet_pton(AF_INET, one, bin) != 1 && inet_pton(AF_INET6, one, bin) != 1)
                return "not an IP address";
        }
        v += n;
        while (*v == ' ')
            v++;
    }
    return NULL;
}

static const char *
check_url(const char *v)
{
    if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
        return "must be an http:// or https:// URL";
    if (strchr(v, '?') || strchr(v, '#'))
        return "must not have a query or fragment (OpenID Discovery 1.0 §3)";
    if (v[strlen(v) - 1] == '/')
        return "must not end with '/'";
    return NULL;
}

static const char *
check_store(const char *v)
{
    static const char *const schemes[] = {"memory:", "redis://", "unix:", "redis-sentinel://",
                                          "redis-cluster://"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(v, schemes[i], strlen(schemes[i])) == 0)
            return NULL;
    return "must be memory:, redis://, unix:, redis-sentinel:// or redis-cluster://";
}

static const char *
check_popbase(const char *v)
{
    if ((strncmp(v, "file:", 5) == 0 && v[5]) || (strncmp(v, "https://", 8) == 0 && v[8]))
        return NULL;
    return "must be file:PATH or an https:// URL (mutual TLS is required)";
}

/* docs/federation.md: the roles a node can play. */
static const char *
check_fed_role(const char *v)
{
    if (strcmp(v, "leaf") == 0 || strcmp(v, "intermediate") == 0 || strcmp(v, "anchor") == 0)
        return NULL;
    return "must be leaf, intermediate or anchor";
}

/* flow/atrest.h, core/seal.h: the cipher sealing personal data at rest. SM4-GCM is not in
 * OpenSSL 3.0: refused by name, pointing at the SM4 composition that is
 * (sm4-ctr-hmac-sm3: SM4-CTR + HMAC-SM3, encrypt-then-MAC). */
static const char *
check_data_cipher(const char *v)
{
    if (strcmp(v, "aes-256-gcm") == 0 || strcmp(v, "sm4-ctr-hmac-sm3") == 0)
        return NULL;
    if (strcmp(v, "sm4-gcm") == 0)
        return "sm4-gcm is not available: the installed OpenSSL (3.0) has no SM4-GCM; use "
               "sm4-ctr-hmac-sm3 (SM4 with HMAC-SM3) or aes-256-gcm (docs/crypto.md, \"Data at "
               "rest\")";
    return "must be aes-256-gcm or sm4-ctr-hmac-sm3";
}

/* port/notify.h: an absolute file path (development) or a gateway URL. */
static const char *
check_notify(const char *v)
{
    if ((strncmp(v, "file:/", 6) == 0 && v[6]) || (strncmp(v, "https://", 8) == 0 && v[8])
        || (strncmp(v, "http://", 7) == 0 && v[7]) || strcmp(v, "none") == 0)
        return NULL;
    return "must be file:/ABSOLUTE/PATH, an http(s):// URL or none";
}

/* flow/sms.h: the name an SMS gives the service; short, printable, no markup. */
static const char *
check_sms_service_name(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n > 60)
        return "must be 1-60 bytes";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f || v[i] == '<' || v[i] == '>')
            return "must not hold control characters or < >";
    return NULL;
}

/* flow/sms.h: the language of login codes' texts. */
static const char *
check_sms_lang(const char *v)
{
    return strcmp(v, "zh") == 0 || strcmp(v, "en") == 0 ? NULL : "must be zh or en";
}

/* port/secrets.h: the digest of the keyed hashes (docs/crypto.md). */
static const char *
check_identifier_hmac(const char *v)
{
    if (strcmp(v, "sha256") == 0 || strcmp(v, "sm3") == 0)
        return NULL;
    return "must be sha256 or sm3";
}

struct parse_ctx {
    struct config *c;
    const char *base_dir;
    int line[NKEYS]; /* where each key was set, 0 = default */
};

static char **
str_slot(struct config *c, const struct key *k)
{
    return (char **)((char *)c + k->off);
}

static char *
resolve_path(const char *base_dir, const char *v)
{
    char *out;
    size_t n;

    if (v[0] == '/' || !base_dir || !*base_dir)
        return strdup(v);
    n = strlen(base_dir) + strlen(v) + 2;
    if (!(out = malloc(n)))
        return NULL;
    snprintf(out, n, "%s/%s", base_dir, v);
    return out;
}

/* Stores value v for key k; NULL on success, else the reason. */
static const char *
set_value(struct parse_ctx *pc, const struct key *k, const char *v)
{
    void *slot = (char *)pc->c + k->off;
    uint64_t n;
    char **s;

    switch (k->type) {
    case K_STR:
    case K_PATH:
        if (!*v)
            return "empty value";
        if (k->check && k->check(v))
            return k->check(v);
        s = str_slot(pc->c, k);
        free(*s);
        *s = k->type == K_PATH ? resolve_path(pc->base_dir, v) : strdup(v);
        return *s ? NULL : "out of memory";
    case K_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0)
            *(bool *)slot = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0)
            *(bool *)slot = false;
        else
            return "must be true or false";
        return NULL;
    case K_U32:
        if (num_parse_u64(span_str(v), k->min, k->max, &n) != RC_OK)
            return "must be a whole number in range";
        *(uint32_t *)slot = (uint32_t)n;
        return NULL;
    case K_LEVEL:
        for (size_t i = 0; i < 4; i++) {
            if (strcmp(v, levels[i]) == 0) {
                *(enum log_level *)slot = (enum log_level)i;
                return NULL;
            }
        }
        return "must be debug, info, warn or error";
    }
    return "bad key type";
}

static enum rc
on_line(void *ctx, const char *file, int line, const char *key, const char *value,
        struct config_error *err)
{
    struct parse_ctx *pc = ctx;
    const char *why;

    if (!key)
        return ini_error(err, RC_MALFORMED, file, line, NULL,
                         "the config file has no sections (policy goes in policy_dir)");
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].name, key) != 0)
            continue;
        if (pc->line[i])
            return ini_error(err, RC_MALFORMED, file, line, key, "set twice (first on line %d)",
                             pc->line[i]);
        if ((why = set_value(pc, &keys[i], value))) {
            if (keys[i].type == K_U32)
                return ini_error(err, RC_MALFORMED, file, line, key, "%s %u-%u", why,
                                 keys[i].min, keys[i].max);
            return ini_error(err, RC_MALFORMED, file, line, key, "%s", why);
        }
        pc->line[i] = line;
        return RC_OK;
    }
    return ini_error(err, RC_MALFORMED, file, line, key, "unknown key");
}

static int
key_line(const struct parse_ctx *pc, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return pc->line[i];
    return 0;
}

static enum rc
derive(struct parse_ctx *pc, const char *file, struct config_error *err)
{
    struct config *c = pc->c;
    char host[64];
    bool tls;

    if (split_listen(c->listen, host, sizeof(host), &c->listen_port))
        return ini_error(err, RC_MALFORMED, file, key_line(pc, "listen"), "listen", "bad value");
    if (!(c->listen_host = strdup(host)))
        return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
    if (strcmp(c->metrics_listen, "off") != 0) {
        char mhost[64];
        if (split_listen(c->metrics_listen, mhost, sizeof(mhost), &c->metrics_port))
            return ini_error(err, RC_MALFORMED, file, key_line(pc, "metrics_listen"),
                             "metrics_listen", "bad value");
        if (c->metrics_port == c->listen_port)
            return ini_error(err, RC_MALFORMED, file, key_line(pc, "metrics_listen"),
                             "metrics_listen",
                             "must not use the port of listen (metrics stay off the public "
                             "listener)");
        if (!(c->metrics_host = strdup(mhost)))
            return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
    }
    if (strcmp(c->kiosk_listen, "off") != 0) {
        char khost[64];
        if (split_listen(c->kiosk_listen, khost, sizeof(khost), &c->kiosk_port)
            || c->kiosk_port == c->listen_port || c->kiosk_port == c->metrics_port)
            return ini_error(err, RC_MALFORMED, file, key_line(pc, "kiosk_listen"), "kiosk_listen",
                             "bad value (a port of its own)");
        if (!c->tls_cert || !c->kiosk_ca)
            return ini_error(err, RC_MALFORMED, file, key_line(pc, "kiosk_listen"), "kiosk_listen",
                             "needs tls_cert, tls_key and kiosk_ca");
        if (!(c->kiosk_host = strdup(khost)))
            return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
    }
    if (c->kiosk_cert_header && !c->kiosk_trusted_proxies)
        return ini_error(err, RC_MALFORMED, file, key_line(pc, "kiosk_cert_header"),
                         "kiosk_cert_header", "needs kiosk_trusted_proxies");
    if ((c->kiosk_ca != NULL) != (c->kiosk_crl != NULL))
        return ini_error(
            err, RC_MALFORMED, file, key_line(pc, c->kiosk_ca ? "kiosk_ca" : "kiosk_crl"),
            c->kiosk_ca ? "kiosk_ca" : "kiosk_crl", "kiosk_ca and kiosk_crl go together");
    if (!c->tls_cert != !c->tls_key)
        return ini_error(err, RC_MALFORMED, file,
                         key_line(pc, c->tls_cert ? "tls_cert" : "tls_key"),
                         c->tls_cert ? "tls_cert" : "tls_key",
                         "tls_cert and tls_key must be set together");
    tls = c->tls_cert != NULL;
    if (!tls && !c->allow_insecure_http && !config_host_is_loopback(host))
        return ini_error(err, RC_DENIED, file, key_line(pc, "listen"), "listen",
                         "plain HTTP on a non-loopback address is refused: set tls_cert and "
                         "tls_key, or allow_insecure_http = true behind a TLS-terminating proxy");
    if (!c->issuer) {
        char buf[128];
        int v6 = strchr(host, ':') != NULL;
        snprintf(buf, sizeof(buf), "%s://%s%s%s:%u", tls ? "https" : "http", v6 ? "[" : "", host,
                 v6 ? "]" : "", c->listen_port);
        if (!(c->issuer = strdup(buf)))
            return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
    }
    if (c->federation_role && !c->federation_entity_id
        && !(c->federation_entity_id = strdup(c->issuer)))
        return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
#define DEFAULT_UNDER_STATE(field, fmt)                                                            \
    if (!c->field) {                                                                               \
        size_t n_ = strlen(c->state_dir) + 64;                                                     \
        if (!(c->field = malloc(n_)))                                                              \
            return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");                       \
        snprintf(c->field, n_, fmt, c->state_dir);                                                 \
    }
    DEFAULT_UNDER_STATE(keys_dir, "%s/keys")
    DEFAULT_UNDER_STATE(policy_dir, "%s/policy")
    DEFAULT_UNDER_STATE(popbase, "file:%s/population.idx")
    DEFAULT_UNDER_STATE(popbase_name_key, "%s/popbase.key")
    DEFAULT_UNDER_STATE(kiosk_dir, "%s/kiosks")
#undef DEFAULT_UNDER_STATE
    if (!c->federation_keys_dir
        && asprintf(&c->federation_keys_dir, "%s/federation", c->keys_dir) < 0) {
        c->federation_keys_dir = NULL;
        return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
    }
    return RC_OK;
}

enum rc
config_parse(const char *file, const char *text, size_t len, const char *base_dir,
             struct config **out, struct config_error *err)
{
    struct parse_ctx pc = {0};
    enum rc rc;

    if (!(pc.c = calloc(1, sizeof(*pc.c))))
        return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
    pc.base_dir = base_dir;
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].def && set_value(&pc, &keys[i], keys[i].def)) {
            rc = ini_error(err, RC_INTERNAL, file, 0, keys[i].name, "bad built-in default");
            goto fail;
        }
    }
    if ((rc = ini_parse(file, text, len, on_line, &pc, err)) != RC_OK)
        goto fail;
    if ((rc = derive(&pc, file, err)) != RC_OK)
        goto fail;
    if (!(pc.c->path = strdup(file))) {
        rc = ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
        goto fail;
    }
    *out = pc.c;
    return RC_OK;
fail:
    config_free(pc.c);
    return rc;
}

enum rc
config_load(const char *path, struct config **out, struct config_error *err)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL, *dir = NULL, *slash;
    size_t n;
    enum rc rc;

    if (!f)
        return ini_error(err, RC_NOT_FOUND, path, 0, NULL, "cannot open the config file");
    if (!(text = malloc(INI_MAX_FILE + 1)) || !(dir = strdup(path))) {
        rc = ini_error(err, RC_NOMEM, path, 0, NULL, "out of memory");
        goto out;
    }
    n = fread(text, 1, INI_MAX_FILE + 1, f);
    if (ferror(f)) {
        rc = ini_error(err, RC_INTERNAL, path, 0, NULL, "read error");
        goto out;
    }
    if ((slash = strrchr(dir, '/')))
        *slash = 0;
    else
        strcpy(dir, ".");
    rc = config_parse(path, text, n, dir, out, err);
out:
    fclose(f);
    free(text);
    free(dir);
    return rc;
}

void
config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type == K_STR || keys[i].type == K_PATH)
            free(*str_slot(c, &keys[i]));
    }
    free(c->listen_host);
    free(c->metrics_host);
    free(c->kiosk_host);
    free(c->path);
    free(c);
}

/* Prints a URL with any password between "//user:" and "@" masked. */
static void
print_masked_url(FILE *f, const char *v)
{
    const char *ss = strstr(v, "//"), *auth, *end, *at, *colon;

    if (!ss) {
        fputs(v, f);
        return;
    }
    /* the credentials as the store URL parser finds them (adapt/store_redis_url.c): up to
     * the first '@', unless a '/' comes before it; a password may hold '?' or '#' */
    auth = ss + 2;
    at = strchr(auth, '@');
    end = strchr(auth, '/');
    if (!at || (end && end < at)) {
        fputs(v, f);
        return;
    }
    /* "user:password@" keeps the user; "password@" (a Redis password without a user,
     * adapt/store_redis_url.c) keeps nothing */
    colon = memchr(auth, ':', (size_t)(at - auth));
    fprintf(f, "%.*s****%s", (int)((colon ? colon + 1 : auth) - v), v, at);
}

void
config_print(const struct config *c, FILE *f)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key *k = &keys[i];
        const void *slot = (const char *)c + k->off;
        fprintf(f, "%s = ", k->name);
        switch (k->type) {
        case K_STR:
        case K_PATH:
            if (*(char *const *)slot)
                print_masked_url(f, *(char *const *)slot);
            break;
        case K_BOOL:
            fputs(*(const bool *)slot ? "true" : "false", f);
            break;
        case K_U32:
            fprintf(f, "%u", *(const uint32_t *)slot);
            break;
        case K_LEVEL:
            fputs(levels[*(const enum log_level *)slot], f);
            break;
        }
        fputc('\n', f);
    }
}
