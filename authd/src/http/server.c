#include "http/server.h"

#include <errno.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/acceptor.h"
#include "http/http.h"
#include "http/router.h"
#include "log/log.h"
#include "log/metrics.h"
#include "util/num.h"
#include <arpa/inet.h>

struct server {
    struct MHD_Daemon *d;
    struct app *app;
    char *tls_cert, *tls_key;
    atomic_long inflight;
    struct acceptor *acc; /* the listening socket and its accept thread (http/acceptor.h) */
};

/* Per-request state: created in the URI-log callback (which sees the raw URI), completed
 * in on_completed. */
struct reqstate {
    struct http_req r;
    struct server *srv;
    struct buf body;
    int64_t start_us;
    unsigned route;
    int status;
    bool started, too_large;
    char ip[64];
};

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct server *srv = cls;
    struct reqstate *st = calloc(1, sizeof(*st));
    const char *q;
    size_t n;

    (void)c;
    if (!st)
        return NULL;
    st->srv = srv;
    st->start_us = clock_mono_us(srv->app->clock);
    arena_init(&st->r.arena, 4u << 20);
    buf_init(&st->body, srv->app->cfg->max_body_bytes);
    n = strlen(uri);
    q = memchr(uri, '?', n);
    st->r.path.p = (const uint8_t *)arena_strndup(&st->r.arena, uri, q ? (size_t)(q - uri) : n);
    st->r.path.len = st->r.path.p ? (q ? (size_t)(q - uri) : n) : 0;
    if (q) {
        st->r.query.p = (const uint8_t *)arena_strndup(&st->r.arena, q + 1, n - (size_t)(q - uri) - 1);
        st->r.query.len = st->r.query.p ? n - (size_t)(q - uri) - 1 : 0;
    }
    return st;
}

static enum http_method
method_of(const char *m)
{
    if (strcmp(m, "GET") == 0)
        return HTTP_GET;
    if (strcmp(m, "POST") == 0)
        return HTTP_POST;
    if (strcmp(m, "HEAD") == 0)
        return HTTP_HEAD;
    if (strcmp(m, "OPTIONS") == 0)
        return HTTP_OPTIONS;
    return HTTP_OTHER;
}

static void
client_ip(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;

    snprintf(out, n, "-");
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
}

static void
begin(struct reqstate *st, struct MHD_Connection *c, const char *method)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t rnd[4] = {0};
    const char *cl;
    uint64_t len;

    st->started = true;
    atomic_fetch_add(&st->srv->inflight, 1);
    metrics_inflight(1);
    st->r.app = st->srv->app;
    st->r.conn = c;
    st->r.method = method_of(method);
    st->r.method_str = arena_strndup(&st->r.arena, method, strlen(method) > 16 ? 16 : strlen(method));
    st->r.tls = st->srv->tls_cert != NULL;
    client_ip(c, st->ip, sizeof(st->ip));
    st->r.client_ip = st->ip;
    (void)RAND_bytes(rnd, sizeof(rnd));
    for (int i = 0; i < 4; i++) {
        st->r.id[2 * i] = hex[rnd[i] >> 4];
        st->r.id[2 * i + 1] = hex[rnd[i] & 15];
    }
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && (num_parse_u64(span_str(cl), 0, UINT64_MAX, &len) != RC_OK || len > st->srv->app->cfg->max_body_bytes))
        st->too_large = true;
}

static const char *
reason_json(int status)
{
    switch (status) {
    case 413:
        return "{\"error\":\"invalid_request\",\"error_description\":\"request body too large\"}";
    case 400:
        return "{\"error\":\"invalid_request\",\"error_description\":\"bad request\"}";
    default:
        return "{\"error\":\"server_error\",\"error_description\":\"internal error\"}";
    }
}

static enum MHD_Result
queue(struct reqstate *st, struct MHD_Connection *c, struct http_resp *w)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(w->body.len, (void *)w->body.p,
                                           MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (w->ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, w->ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (st->r.tls)
        MHD_add_response_header(resp, "Strict-Transport-Security",
                                "max-age=31536000; includeSubDomains");
    for (size_t i = 0; i < w->nhdr; i++)
        MHD_add_response_header(resp, w->hdr[i].name, w->hdr[i].value);
    if (atomic_load(&st->srv->app->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    st->status = w->status;
    ret = MHD_queue_response(c, (unsigned)w->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct reqstate *st = *con_cls;
    struct http_resp w = {0};

    (void)cls, (void)url, (void)version;
    if (!st)
        return MHD_NO; /* out of memory in on_uri: drop the connection */
    if (!st->started) {
        /* First call: headers only. Answer later, or MHD would close keep-alive; except
         * a body announced too large, refused now (the connection closes after it). */
        begin(st, c, method);
        if (!st->too_large)
            return MHD_YES;
    }
    if (*upload_size) {
        if (!st->too_large && buf_append(&st->body, upload, *upload_size) != RC_OK)
            st->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->too_large || !st->r.path.p) {
        w.status = st->too_large ? 413 : 400;
        w.ctype = "application/json";
        w.body = span_str(reason_json(w.status));
        http_add_header(&w, MHD_HTTP_HEADER_CONNECTION, "close");
        return queue(st, c, &w);
    }
    st->r.body = buf_span(&st->body);
    router_dispatch(&st->r, &w, &st->route);
    if (!w.status) {
        w.status = 500;
        w.ctype = "application/json";
        w.body = span_str(reason_json(500));
    }
    return queue(st, c, &w);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct reqstate *st = *con_cls;
    struct server *srv = cls;
    int64_t us;
    struct log_rec *lr;

    (void)c;
    if (!st)
        return;
    if (st->started) {
        us = clock_mono_us(srv->app->clock) - st->start_us;
        metrics_request(st->route, (unsigned)st->status, (uint64_t)(us < 0 ? 0 : us));
        if ((lr = log_begin(LOG_INFO, "http.request"))) {
            log_str(lr, "req", st->r.id);
            log_str(lr, "method", st->r.method_str);
            log_span(lr, "path", st->r.path);
            log_int(lr, "status", st->status);
            log_int(lr, "us", us);
            log_str(lr, "ip", st->ip);
            log_str(lr, "client", st->r.client_id);
            if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
                log_int(lr, "aborted", (int)toe);
            log_end(lr);
        }
        metrics_inflight(-1);
        atomic_fetch_sub(&srv->inflight, 1);
    }
    buf_clear(&st->body);
    arena_clear(&st->r.arena);
    free(st);
    *con_cls = NULL;
}

static char *
read_file(const char *path, struct rc_info *ri)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;

    if (!f) {
        rc_set(ri, RC_NOT_FOUND, path, "cannot open TLS file");
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1 << 20)
        && fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1))) {
        if (fread(p, 1, (size_t)n, f) == (size_t)n) {
            p[n] = 0;
        } else {
            free(p);
            p = NULL;
        }
    }
    fclose(f);
    if (!p)
        rc_set(ri, RC_MALFORMED, path, "cannot read TLS file");
    return p;
}

static unsigned
pool_size(const struct config *cfg)
{
    long n;

    if (cfg->threads)
        return cfg->threads;
    n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    /* A Redis store blocks a worker for each round trip (two per code exchange): with one
     * worker per core the cores idle while Redis answers. 8 per core measured best here
     * (code exchanges/s with Redis on 2 cores: 5 900 with 2 workers, 8 600 with 16;
     * docs/performance.md); argon2id stays at one per core (flow/account_pw.c). */
    if (strncmp(cfg->store, "memory:", 7) != 0)
        n = n * 8 > 256 ? 256 : n * 8;
    return (unsigned)n;
}

static struct sockaddr_storage *
bind_addr(const struct config *cfg, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    const char *h = strcmp(cfg->listen_host, "localhost") == 0 ? "127.0.0.1" : cfg->listen_host;

    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(cfg->listen_port);
        return ss;
    }
    if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(cfg->listen_port);
        return ss;
    }
    return NULL;
}

void
server_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
    struct log_rec *lr = log_begin(LOG_ERROR, "http.panic");
    char why[LOG_MAX_STR];
    size_t n;

    (void)cls;
    /* the library's reasons end with a newline; one event stays one line */
    n = (size_t)snprintf(why, sizeof(why), "%s", reason ? reason : "-");
    for (n = n < sizeof(why) ? n : sizeof(why) - 1; n > 0 && why[n - 1] == '\n'; n--)
        why[n - 1] = 0;
    log_str(lr, "file", file ? file : "-");
    log_int(lr, "line", (long long)line);
    log_str(lr, "reason", why);
    log_end(lr);
    if (!lr) {
        static const char msg[] = "{\"lvl\":\"error\",\"ev\":\"http.panic\"}\n";
        (void)!write(2, msg, sizeof(msg) - 1);
    }
    abort(); /* the library's state is not safe to go on with; a core helps the post-mortem */
}

enum rc
server_start(struct app *app, struct server **out, struct rc_info *ri)
{
    const struct config *cfg = app->cfg;
    struct server *s = calloc(1, sizeof(*s));
    struct sockaddr_storage ss;
    /* no listening socket of the library's own: see http/acceptor.h */
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET;
    enum rc rc;

    if (!s)
        return RC_NOMEM;
    s->app = app;
    if (!bind_addr(cfg, &ss)) {
        free(s);
        return rc_set(ri, RC_MALFORMED, "listen", "not an IP address");
    }
    if (((struct sockaddr *)&ss)->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    rc = acceptor_open((struct sockaddr *)&ss,
                       flags & MHD_USE_IPv6 ? sizeof(struct sockaddr_in6)
                                            : sizeof(struct sockaddr_in),
                       &s->acc, ri);
    if (rc != RC_OK) {
        server_stop(s);
        return rc;
    }
    if (cfg->tls_cert) {
        if (!(s->tls_cert = read_file(cfg->tls_cert, ri))
            || !(s->tls_key = read_file(cfg->tls_key, ri))) {
            server_stop(s);
            return RC_MALFORMED;
        }
        flags |= MHD_USE_TLS;
    }
    router_init();
    MHD_set_panic_func(server_panic, NULL);
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_THREAD_POOL_SIZE, pool_size(cfg),
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)cfg->max_header_bytes + 4096, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections_per_ip,
        /* without TLS the list ends here; the two TLS options are ignored */
        cfg->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert,
        MHD_OPTION_HTTPS_MEM_KEY, s->tls_key, MHD_OPTION_END);
    if (!s->d) {
        server_stop(s);
        return rc_set(ri, RC_UNAVAILABLE, "listen",
                      "cannot start the HTTP server (TLS files, threads)");
    }
    if (acceptor_start(s->acc, s->d, (unsigned)cfg->max_connections) != RC_OK) {
        server_stop(s);
        return rc_set(ri, RC_INTERNAL, "listen", "cannot start the accept thread");
    }
    *out = s;
    return RC_OK;
}

void
server_quiesce(struct server *s)
{
    if (s)
        acceptor_stop(s->acc);
}

long
server_inflight(struct server *s)
{
    return atomic_load(&s->inflight);
}

void
server_stop(struct server *s)
{
    if (!s)
        return;
    acceptor_stop(s->acc); /* no connection is handed to a daemon being stopped */
    if (s->d)
        MHD_stop_daemon(s->d);
    acceptor_free(s->acc); /* the socket is closed once no thread can name it */
    if (s->tls_key) {
        OPENSSL_cleanse(s->tls_key, strlen(s->tls_key));
        free(s->tls_key);
    }
    free(s->tls_cert);
    free(s);
}
