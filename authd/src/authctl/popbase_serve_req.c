/* `authctl popbase serve`: one request: client certificate check, injected faults, then
 * GET /v1/health or POST /v1/verify (docs/popbase-api.md). */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authctl/popbase_serve.h"
#include "util/num.h"

#define FAULT_FILE_MAX 1024
#define HANG_POLL_MS   20

/* Per request: the body as it arrives. */
struct req {
    char body[SERVE_MAX_BODY];
    size_t len;
    bool too_large;
};

/* Per connection: the client certificate, checked once. */
enum peer { PEER_UNCHECKED = 0, PEER_OK, PEER_REFUSED };

static void
sleep_ms(uint32_t ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* One `key=value` line into f. 0 or -1. */
static int
fault_line(const char *k, size_t kn, const char *v, struct serve_fault *f)
{
    uint64_t n;
    char *end;

    if (kn == 8 && memcmp(k, "delay_ms", 8) == 0)
        return num_parse_u64(span_str(v), 0, 600000, &n) == RC_OK ? (f->delay_ms = (uint32_t)n, 0)
                                                                  : -1;
    if (kn == 6 && memcmp(k, "status", 6) == 0)
        return num_parse_u64(span_str(v), 500, 599, &n) == RC_OK ? (f->status = (uint32_t)n, 0)
                                                                 : -1;
    if (kn == 4 && memcmp(k, "hang", 4) == 0 && (v[0] == '0' || v[0] == '1') && !v[1])
        return f->hang = v[0] == '1', 0;
    if (kn == 10 && memcmp(k, "error_rate", 10) == 0) {
        errno = 0;
        f->error_rate = strtod(v, &end);
        return (*v && !*end && !errno && f->error_rate >= 0 && f->error_rate <= 1) ? 0 : -1;
    }
    return -1;
}

int
serve_fault_parse(const char *text, struct serve_fault *out)
{
    struct serve_fault f = {.status = 503};
    char line[128];

    while (*text) {
        size_t n = strcspn(text, "\n");
        char *eq;
        if (n >= sizeof(line))
            return -1;
        memcpy(line, text, n);
        line[n] = 0;
        if (n && line[n - 1] == '\r')
            line[n - 1] = 0;
        text += n + (text[n] == '\n');
        if (!line[0] || line[0] == '#')
            continue;
        if (!(eq = strchr(line, '=')) || fault_line(line, (size_t)(eq - line), eq + 1, &f) != 0)
            return -1;
    }
    *out = f;
    return 0;
}

void
serve_fault_current(struct serve *s, struct serve_fault *f)
{
    char text[FAULT_FILE_MAX + 1];
    ssize_t n;
    int fd;

    *f = s->cli;
    if (!s->fault_file || (fd = open(s->fault_file, O_RDONLY | O_CLOEXEC)) < 0)
        return;
    n = read(fd, text, FAULT_FILE_MAX);
    close(fd);
    if (n < 0)
        return;
    text[n] = 0;
    if (serve_fault_parse(text, f) != 0) {
        *f = s->cli; /* a half-written file: keep the command line's faults */
        fprintf(stderr, "popbase serve: %s: bad fault file ignored\n", s->fault_file);
    }
}

/* The client certificate must chain to --client-ca and be meant for TLS clients
 * (extended key usage clientAuth). Checked once per connection. */
static bool
peer_ok(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    enum peer *state = ci ? ci->socket_context : NULL;
    gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID,
                                     (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
    gnutls_session_t tls;
    unsigned status = 0;
    bool ok;

    if (state && *state != PEER_UNCHECKED)
        return *state == PEER_OK;
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    tls = ci ? (gnutls_session_t)ci->tls_session : NULL;
    ok = tls && gnutls_certificate_type_get(tls) == GNUTLS_CRT_X509
         && gnutls_certificate_verify_peers(tls, &purpose, 1, &status) == GNUTLS_E_SUCCESS
         && status == 0;
    if (state)
        *state = ok ? PEER_OK : PEER_REFUSED;
    return ok;
}

void
serve_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                    enum MHD_ConnectionNotificationCode toe)
{
    (void)cls, (void)c;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        *socket_context = calloc(1, sizeof(enum peer)); /* NULL: checked per request */
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
    }
}

/* Queues a JSON answer (copied). close: and end the connection. */
static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *json, bool close)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;

    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (close)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned status, const char *error, const char *desc)
{
    char json[256];

    snprintf(json, sizeof(json), "{\"error\":\"%s\",\"error_description\":\"%s\"}", error, desc);
    return reply(c, status, json, status == 403 || status == 413);
}

/* Waits out the injected faults. MHD_YES: go on and answer (*answered = false), or an
 * injected error was queued (*answered = true). MHD_NO: stopping, drop the connection. */
static enum MHD_Result
apply_faults(struct serve *s, struct MHD_Connection *c, bool *answered)
{
    static _Thread_local unsigned seed;
    struct serve_fault f;

    *answered = false;
    serve_fault_current(s, &f);
    while (f.hang && !atomic_load(&s->stopping)) {
        sleep_ms(HANG_POLL_MS); /* holds this worker thread, as a stuck service would */
        serve_fault_current(s, &f);
    }
    for (uint32_t waited = 0; waited < f.delay_ms && !atomic_load(&s->stopping);
         waited += HANG_POLL_MS)
        sleep_ms(f.delay_ms - waited < HANG_POLL_MS ? f.delay_ms - waited : HANG_POLL_MS);
    if (atomic_load(&s->stopping))
        return MHD_NO;
    if (!seed)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&f;
    if (f.error_rate > 0 && (double)rand_r(&seed) / ((double)RAND_MAX + 1) < f.error_rate) {
        *answered = true;
        return reply_error(c, f.status ? f.status : 503, "temporarily_unavailable",
                           "injected fault");
    }
    return MHD_YES;
}

/* {"result":...} for a verify answer; attributes on a match only. */
static enum MHD_Result
reply_answer(struct MHD_Connection *c, enum pop_answer ans, const struct pop_attrs *at)
{
    char json[160];

    if (ans == POP_MATCH)
        snprintf(
            json, sizeof(json),
            "{\"result\":\"match\",\"birth_date\":\"%08u\",\"sex\":\"%c\",\"region\":\"%06u\"}",
            (unsigned)at->birth_ymd, at->sex, (unsigned)at->region);
    else
        snprintf(json, sizeof(json), "{\"result\":\"%s\"}", pop_answer_name(ans));
    return reply(c, 200, json, false);
}

static enum MHD_Result
do_verify(struct serve *s, struct MHD_Connection *c, const struct req *r)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    struct pop_attrs at = {0};
    enum pop_answer ans = POP_UNAVAILABLE;
    json_t *o, *id, *name;
    enum rc rc;

    if (!ct || strncmp(ct, "application/json", 16) != 0 || (ct[16] && ct[16] != ';'))
        return reply_error(c, 415, "invalid_request", "Content-Type must be application/json");
    o = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
    id = json_object_get(o, "id_number");
    name = json_object_get(o, "name");
    if (!json_is_object(o) || !json_is_string(id) || !json_is_string(name)) {
        json_decref(o);
        return reply_error(c, 400, "invalid_request",
                           "expected a JSON object with id_number and name strings");
    }
    rc = popbase_verify(s->pb, span_of(json_string_value(id), json_string_length(id)),
                        span_of(json_string_value(name), json_string_length(name)), &ans, &at);
    json_decref(o);
    if (rc == RC_MALFORMED)
        return reply_error(c, 400, "invalid_request", "id_number: not a valid ID number");
    if (rc != RC_OK)
        return reply_error(c, 503, "temporarily_unavailable", "population base unavailable");
    return reply_answer(c, ans, &at);
}

static enum MHD_Result
route(struct serve *s, struct MHD_Connection *c, const char *url, const char *method,
      const struct req *r)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;

    if (r->too_large)
        return reply_error(c, 413, "invalid_request", "request body too large");
    if (strcmp(url, "/v1/health") == 0)
        return get ? reply(c, 200, "{\"status\":\"ok\"}", false)
                   : reply_error(c, 405, "invalid_request", "use GET");
    if (strcmp(url, "/v1/verify") == 0)
        return post ? do_verify(s, c, r) : reply_error(c, 405, "invalid_request", "use POST");
    return reply_error(c, 404, "not_found", "no such endpoint");
}

enum MHD_Result
serve_on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                 const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct serve *s = cls;
    struct req *r = *con_cls;
    enum MHD_Result ret;
    bool answered;

    (void)version;
    if (!r) {
        /* First call: headers only. Answer later, or MHD would close keep-alive. */
        if (!(*con_cls = calloc(1, sizeof(struct req))))
            return MHD_NO;
        return MHD_YES;
    }
    if (*upload_size) {
        if (*upload_size > sizeof(r->body) - r->len)
            r->too_large = true;
        else
            memcpy(r->body + r->len, upload, *upload_size), r->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (!peer_ok(c))
        return reply_error(c, 403, "access_denied", "a valid client certificate is required");
    if ((ret = apply_faults(s, c, &answered)) != MHD_YES || answered)
        return ret;
    return route(s, c, url, method, r);
}

void
serve_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;

    (void)cls, (void)c, (void)toe;
    if (r) {
        OPENSSL_cleanse(r->body, r->len); /* a number and a name */
        free(r);
    }
    *con_cls = NULL;
}
