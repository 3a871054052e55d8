/* The composition root (see compose.h): scheme tables and configuration mapping. */
#include "compose/compose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapt/keys_file.h"
#include "adapt/notify_file.h"
#include "adapt/notify_http.h"
#include "adapt/outbound_curl.h"
#include "adapt/popbase_file.h"
#include "adapt/popbase_http.h"
#include "adapt/secrets_file.h"
#include "adapt/store_mem.h"
#include "adapt/store_redis_open.h"
#include "flow/audit.h"
#include "core/jose.h"

/* ---- store ------------------------------------------------------------------------------ */

typedef enum rc (*store_open_fn)(const char *url, const struct store_opts *o, struct store **out,
                                 struct rc_info *ri);

static const struct {
    const char *scheme; /* the URL starts with it */
    store_open_fn open;
} store_schemes[] = {
    {"memory:", store_mem_open},
    {"redis://", store_redis_open},
    {"unix:", store_redis_open},
    {"redis-sentinel://", store_redis_open},
    {"redis-cluster://", store_redis_open},
};

enum rc
compose_store_open(const char *url, const struct store_opts *o, struct store **out,
                   struct rc_info *ri)
{
    static const struct store_opts defaults;

    *out = NULL;
    if (!url)
        return rc_set(ri, RC_MALFORMED, "store", "missing");
    for (size_t i = 0; i < sizeof(store_schemes) / sizeof(store_schemes[0]); i++)
        if (strncmp(url, store_schemes[i].scheme, strlen(store_schemes[i].scheme)) == 0)
            return store_schemes[i].open(url, o ? o : &defaults, out, ri);
    return rc_set(ri, RC_MALFORMED, "store", "unknown scheme");
}

void
compose_store_opts(const struct config *c, struct store_opts *out)
{
    *out = (struct store_opts){
        .mem_max_bytes = (size_t)c->store_max_memory_mb << 20,
        .connect_timeout_ms = c->store_connect_timeout_ms,
        .command_timeout_ms = c->store_command_timeout_ms,
        .durable_replicas = c->store_durable_replicas,
        .durable_timeout_ms = c->store_durable_timeout_ms,
        .reserve_percent = c->store_reserve_percent,
    };
}

/* ---- secrets ---------------------------------------------------------------------------- */

enum rc
compose_secrets_open(const struct config *c, bool create, struct secrets **out, struct rc_info *ri)
{
    bool sm3 = c->identifier_hmac && strcmp(c->identifier_hmac, "sm3") == 0;
    char path[4096];

    *out = NULL;
    if (!c->state_dir
        || (size_t)snprintf(path, sizeof(path), "%s/master.key", c->state_dir) >= sizeof(path))
        return rc_set(ri, RC_TOO_LARGE, "state_dir", "path too long");
    return secrets_file_open_digest(path, create, sm3 ? "SM3" : "SHA256", out, ri);
}

/* ---- outbound HTTP ---------------------------------------------------------------------- */

enum rc
compose_outbound_open(const struct outbound_opts *o, struct outbound **out, struct rc_info *ri)
{
    return outbound_curl_open(o, out, ri);
}

/* ---- population base -------------------------------------------------------------------- */

static enum rc
popbase_file(const char *spec, const struct popbase_opts *o, struct popbase **out,
             struct rc_info *ri)
{
    return popbase_file_open(spec + 5, o ? o->name_key_path : NULL, out, ri);
}

/* http:// reaches the HTTP backend only to be refused with a reason (the population service
 * needs mutual TLS). */
static enum rc
popbase_http(const char *spec, const struct popbase_opts *o, struct popbase **out,
             struct rc_info *ri)
{
    struct outbound_opts oo;
    struct outbound *ob = NULL;
    enum rc rc;

    popbase_http_outbound_opts(o, &oo);
    if ((rc = compose_outbound_open(&oo, &ob, ri)) != RC_OK)
        return rc;
    return popbase_http_open(spec, o, ob, out, ri); /* takes ob */
}

static const struct {
    const char *scheme;
    enum rc (*open)(const char *spec, const struct popbase_opts *o, struct popbase **out,
                    struct rc_info *ri);
} popbase_schemes[] = {
    {"file:", popbase_file},
    {"https://", popbase_http},
    {"http://", popbase_http},
};

enum rc
compose_popbase_open(const char *spec, const struct popbase_opts *o, struct popbase **out,
                     struct rc_info *ri)
{
    if (!spec)
        return rc_set(ri, RC_MALFORMED, "popbase", "not configured");
    for (size_t i = 0; i < sizeof(popbase_schemes) / sizeof(popbase_schemes[0]); i++)
        if (strncmp(spec, popbase_schemes[i].scheme, strlen(popbase_schemes[i].scheme)) == 0)
            return popbase_schemes[i].open(spec, o, out, ri);
    return rc_set(ri, RC_MALFORMED, "popbase", "must be file:PATH or an https:// URL");
}

void
compose_popbase_opts(const struct config *c, struct store *cache, struct popbase_opts *out)
{
    *out = (struct popbase_opts){
        .name_key_path = c->popbase_name_key,
        .tls_cert = c->popbase_tls_cert,
        .tls_key = c->popbase_tls_key,
        .tls_ca = c->popbase_tls_ca,
        .connect_timeout_ms = c->popbase_connect_timeout_ms,
        .timeout_ms = c->popbase_timeout_ms,
        .retries = c->popbase_retries,
        .breaker_failures = c->popbase_breaker_failures,
        .breaker_open_ms = c->popbase_breaker_open_ms,
        .cache = cache,
        .cache_match_ttl_s = c->popbase_cache_match_ttl_s,
        .cache_miss_ttl_s = c->popbase_cache_miss_ttl_s,
    };
}

/* ---- notices ---------------------------------------------------------------------------- */

static enum rc
notify_file(const char *spec, const struct notify_opts *o, struct notify **out, struct rc_info *ri)
{
    (void)o;
    if (!spec[5])
        return rc_set(ri, RC_MALFORMED, "notify", "must be file:PATH, an http(s):// URL or none");
    return notify_file_open(spec + 5, out, ri);
}

static enum rc
notify_http(const char *spec, const struct notify_opts *o, struct notify **out, struct rc_info *ri)
{
    struct outbound_opts oo;
    struct outbound *ob = NULL;
    enum rc rc;

    notify_http_outbound_opts(o ? o->timeout_ms : 0, &oo);
    if ((rc = compose_outbound_open(&oo, &ob, ri)) != RC_OK)
        return rc;
    return notify_http_open(spec, ob, out, ri); /* takes ob */
}

static const struct {
    const char *scheme;
    enum rc (*open)(const char *spec, const struct notify_opts *o, struct notify **out,
                    struct rc_info *ri);
} notify_schemes[] = {
    {"file:", notify_file},
    {"https://", notify_http},
    {"http://", notify_http},
};

enum rc
compose_notify_open(const char *spec, const struct notify_opts *o, struct notify **out,
                    struct rc_info *ri)
{
    *out = NULL;
    if (!spec || !*spec || strcmp(spec, "none") == 0)
        return RC_OK;
    for (size_t i = 0; i < sizeof(notify_schemes) / sizeof(notify_schemes[0]); i++)
        if (strncmp(spec, notify_schemes[i].scheme, strlen(notify_schemes[i].scheme)) == 0)
            return notify_schemes[i].open(spec, o, out, ri);
    return rc_set(ri, RC_MALFORMED, "notify", "must be file:PATH, an http(s):// URL or none");
}

/* ---- audit ------------------------------------------------------------------------------- */

enum rc
compose_audit_open(const struct config *c, bool create, struct audit **out, struct rc_info *ri)
{
    char path[4096];
    struct audit_opts o = {c->audit_checkpoint_every, c->audit_checkpoint_seconds};

    if (c->audit_key)
        snprintf(path, sizeof(path), "%s", c->audit_key);
    else if ((size_t)snprintf(path, sizeof(path), "%s/audit-key.jwk", c->state_dir) >= sizeof(path))
        return rc_set(ri, RC_TOO_LARGE, "state_dir", "path too long");
    return audit_open(path, create, &o, out, ri);
}

/* ---- federation ---------------------------------------------------------------------------- */

enum rc
compose_fed_anchors_read(const struct config *c, struct buf *b, struct rc_info *ri)
{
    const size_t max = 65536;
    FILE *f;
    char chunk[4096];
    size_t n;
    enum rc rc = RC_OK;

    if (!c->federation_trust_anchors)
        return RC_OK;
    if (!(f = fopen(c->federation_trust_anchors, "rb")))
        return rc_set(ri, RC_NOT_FOUND, "federation_trust_anchors", "cannot open the file");
    while (rc == RC_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((rc = buf_append(b, chunk, n)) == RC_OK && b->len > max)
            rc = rc_set(ri, RC_TOO_LARGE, "federation_trust_anchors", "file too large");
    if (rc == RC_OK && ferror(f))
        rc = rc_set(ri, RC_UNAVAILABLE, "federation_trust_anchors", "cannot read the file");
    fclose(f);
    return rc;
}

enum rc
compose_fed_open(const struct config *c, bool create, struct keys **keys, struct buf *anchors,
                 struct outbound **out, struct rc_info *ri)
{
    struct outbound_opts o = {
        .connect_timeout_ms = c->federation_timeout_ms,
        .timeout_ms = c->federation_timeout_ms,
        .https_only = c->federation_entity_id && strncmp(c->federation_entity_id, "https:", 6) == 0,
        .max_response = JOSE_MAX_COMPACT,
    };
    struct keys_error kerr = {{0}};
    bool changed = false;
    enum rc rc;

    *keys = NULL, *out = NULL;
    if (create && (rc = keys_file_init(c->federation_keys_dir, time(NULL), 0, &changed, &kerr)))
        goto keyfail;
    if ((rc = keys_open(c->federation_keys_dir, keys, &kerr)) != RC_OK)
        goto keyfail;
    if ((rc = compose_fed_anchors_read(c, anchors, ri)) != RC_OK)
        goto fail;
    if ((rc = compose_outbound_open(&o, out, ri)) != RC_OK)
        goto fail;
    return RC_OK;
keyfail:
    fprintf(stderr, "federation keys: %s\n", kerr.text);
    rc_set(ri, rc, "federation_keys_dir", "cannot load the federation keys");
fail:
    keys_free(*keys);
    *keys = NULL;
    return rc;
}
