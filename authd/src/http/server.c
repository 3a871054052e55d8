#include "http/server.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/acceptor.h"
#include "http/http.h"
#include "http/router.h"
#include "log/log.h"
#include "log/metrics.h"
#include "util/num.h"
#include <arpa/inet.h>

/* One accepted connection, for the request-head deadline (request_head_timeout_s): a
 * sweeper thread shuts down a connection whose head is not complete in time. The socket is
 * shut down, never closed, and only while the entry is in the list under mu, which the
 * close notification takes before libmicrohttpd closes the descriptor. */
struct conn {
    struct conn *prev, *next;
    int fd;
    atomic_llong head_since_us; /* reading a head since (monotonic µs); 0: not reading one */
    bool cut;
};

struct server {
    struct MHD_Daemon *d;
    struct MHD_Daemon *md; /* the metrics listener, NULL when metrics_listen = off */
    struct MHD_Daemon *kd; /* the kiosk listener, NULL when kiosk_listen = off */
    struct app *app;
    char *tls_cert, *tls_key;
    char *kiosk_trust; /* PEM of kiosk_ca: the CA names a client certificate is asked for */
    atomic_long inflight;
    /* the request-head deadline */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct conn conns; /* list head */
    pthread_t sweeper;
    bool sweeping, sweep_stop;
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
    int refuse; /* a status for a malformed request head, answered with Connection: close */
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

/* RFC 9110 §5.6.2: tchar. */
static bool
is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* The request head as libmicrohttpd left it: parsed in place in its read buffer, each
 * line's CRLF replaced by two NULs (a bare LF by one NUL), "name:" cut at the colon. Lines
 * follow each other, so a bare LF, a folded line (moved elsewhere) or a NUL inside a line
 * breaks the chain of pointers. */
struct head_scan {
    const char *end; /* where the text of the previous line ended (its NUL) */
    unsigned ncl, nte, nhost;
    const char *te;
    int status;
};

static enum MHD_Result
scan_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
            const char *value, size_t value_size)
{
    struct head_scan *h = cls;

    (void)kind;
    if (key != h->end + 2 || h->end[1] != '\0') {
        h->status = 400; /* bare LF, obs-fold, or NUL in the previous line */
        return MHD_NO;
    }
    /* a field name is a token: no whitespace before the colon (RFC 9112 §5.1) */
    if (key_size == 0 || !value) {
        h->status = 400;
        return MHD_NO;
    }
    for (size_t i = 0; i < key_size; i++) {
        if (!is_tchar((unsigned char)key[i])) {
            h->status = 400;
            return MHD_NO;
        }
    }
    if (memchr(value, '\r', value_size)) { /* a bare CR (RFC 9112 §2.2) */
        h->status = 400;
        return MHD_NO;
    }
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        h->ncl++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        h->nte++, h->te = value;
    else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
        h->nhost++;
    h->end = value + value_size;
    return MHD_YES;
}

/* Checks the head for anything two HTTP parsers could read differently (request
 * smuggling behind a proxy) and its size. 0 if fine, else the status to answer (the
 * connection is then closed). */
static int
head_check(struct reqstate *st, struct MHD_Connection *c, const char *method,
           const char *version)
{
    struct head_scan h = {0};
    size_t vlen = strlen(version), head;
    const union MHD_ConnectionInfo *hs =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    bool http10;

    if (vlen == 0 || (uintptr_t)version < (uintptr_t)method) /* HTTP/0.9 */
        return 400;
    http10 = strcmp(version, MHD_HTTP_VERSION_1_0) == 0;
    for (const struct span *p = &st->r.path; p; p = p == &st->r.path ? &st->r.query : NULL)
        for (size_t i = 0; i < p->len; i++)
            if (p->p[i] <= ' ' || p->p[i] == 0x7f)
                return 400;
    h.end = version + vlen;
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_header, &h);
    if (h.status)
        return h.status;
    /* The last line and the empty line end in CRLF too: the head libmicrohttpd measured
     * (request line + header lines + empty line, exactly as received, from the method on)
     * ends 4 bytes after the last value. Shorter text means a NUL cut the last value short;
     * 3 bytes, a bare LF on the empty line. Measured, not read: the bytes past the head
     * are the next request's or unused pool memory. */
    if (!hs || (uintptr_t)h.end + 4 != (uintptr_t)method + hs->header_size)
        return 400;
    head = hs->header_size;
    if (head > st->srv->app->cfg->max_header_bytes)
        return 431;
    if (h.nhost > 1 || (h.nhost == 0 && !http10)) /* RFC 9112 §3.2 */
        return 400;
    /* RFC 9112 §6.1, §6.3: one framing, stated once */
    if (h.ncl > 1 || h.nte > 1 || (h.ncl && h.nte) || (h.nte && http10))
        return 400;
    if (h.nte && strcasecmp(h.te, "chunked") != 0)
        return 501;
    return 0;
}

static struct conn *
conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void
begin(struct reqstate *st, struct MHD_Connection *c, const char *method, const char *version)
{
    struct conn *cn = conn_of(c);
    static const char hex[] = "0123456789abcdef";
    uint8_t rnd[4] = {0};
    const char *cl;
    uint64_t len;

    if (cn)
        atomic_store(&cn->head_since_us, 0); /* the head is in: its deadline no longer runs */
    st->started = true;
    atomic_fetch_add(&st->srv->inflight, 1);
    metrics_inflight(1);
    st->r.app = st->srv->app;
    st->r.conn = c;
    st->r.method = method_of(method);
    st->r.method_str = arena_strndup(&st->r.arena, method, strlen(method) > 16 ? 16 : strlen(method));
    st->r.tls = st->srv->tls_cert != NULL;
    {
        const union MHD_ConnectionInfo *di =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_DAEMON);
        st->r.metrics_listener = di && st->srv->md && di->daemon == st->srv->md;
        if (st->r.metrics_listener)
            st->r.tls = false;
        st->r.kiosk_listener = di && st->srv->kd && di->daemon == st->srv->kd;
    }
    st->r.secure_cookies = st->r.tls || strncmp(st->srv->app->cfg->issuer, "https://", 8) == 0;
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
    st->refuse = head_check(st, c, method, version);
}

static const char *
reason_json(int status)
{
    switch (status) {
    case 413:
        return "{\"error\":\"invalid_request\",\"error_description\":\"request body too large\"}";
    case 400:
        return "{\"error\":\"invalid_request\",\"error_description\":\"bad request\"}";
    case 431:
        return "{\"error\":\"invalid_request\",\"error_description\":\"request header "
               "too large\"}";
    case 501:
        return "{\"error\":\"invalid_request\",\"error_description\":\"transfer coding "
               "not implemented\"}";
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

    (void)cls, (void)url;
    if (!st)
        return MHD_NO; /* out of memory in on_uri: drop the connection */
    if (!st->started) {
        /* First call: headers only. Answer later, or MHD would close keep-alive; except
         * a malformed head or a body announced too large, refused now (the connection
         * closes after it). */
        begin(st, c, method, version);
        if (st->refuse) {
            w.status = st->refuse;
            w.ctype = "application/json";
            w.body = span_str(reason_json(w.status));
            http_add_header(&w, MHD_HTTP_HEADER_CONNECTION, "close");
            return queue(st, c, &w);
        }
        if (!st->too_large)
            return MHD_YES;
    }
    if (st->refuse) { /* answered; MHD may still pass body bytes on its way to the close */
        *upload_size = 0;
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

    if (!st)
        return;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        struct conn *cn = conn_of(c); /* keep-alive: the next head's deadline starts now */
        if (cn)
            atomic_store(&cn->head_since_us, clock_mono_us(srv->app->clock));
    }
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

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    struct server *srv = cls;
    struct conn *cn = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(cn = calloc(1, sizeof(*cn))))
            return; /* no deadline for this one; the idle timeout still applies */
        cn->fd = ci->connect_fd;
        atomic_store(&cn->head_since_us, clock_mono_us(srv->app->clock));
        pthread_mutex_lock(&srv->mu);
        cn->next = srv->conns.next;
        cn->prev = &srv->conns;
        cn->next->prev = cn;
        srv->conns.next = cn;
        pthread_mutex_unlock(&srv->mu);
        *socket_context = cn;
    } else if (cn) { /* MHD_CONNECTION_NOTIFY_CLOSED, before the descriptor is closed */
        pthread_mutex_lock(&srv->mu);
        cn->prev->next = cn->next;
        cn->next->prev = cn->prev;
        pthread_mutex_unlock(&srv->mu);
        free(cn);
        *socket_context = NULL;
    }
}

/* Every 200 ms: shuts down the connections whose request head (counted from the accept or
 * from the previous answer on a keep-alive connection, TLS handshake included) is not
 * complete after request_head_timeout_s. libmicrohttpd then sees the end of the stream
 * and closes the connection; each byte sent resets only its idle timeout
 * (connection_timeout_s), not this deadline. */
static void *
sweep(void *arg)
{
    struct server *srv = arg;
    int64_t limit = (int64_t)srv->app->cfg->request_head_timeout_s * 1000000;
    struct timespec ts;

    pthread_mutex_lock(&srv->mu);
    while (!srv->sweep_stop) {
        int64_t now = clock_mono_us(srv->app->clock);
        for (struct conn *cn = srv->conns.next; cn != &srv->conns; cn = cn->next) {
            int64_t since = atomic_load(&cn->head_since_us);
            if (since && !cn->cut && now - since > limit) {
                shutdown(cn->fd, SHUT_RDWR);
                cn->cut = true;
                metrics_head_timeout();
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&srv->wake, &srv->mu, &ts);
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

static enum rc
sweeper_start(struct server *s)
{
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->sweeper, NULL, sweep, s) != 0)
        return RC_NOMEM;
    s->sweeping = true;
    return RC_OK;
}

static void
sweeper_stop(struct server *s)
{
    if (!s->sweeping)
        return;
    pthread_mutex_lock(&s->mu);
    s->sweep_stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->sweeper, NULL);
    s->sweeping = false;
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
bind_addr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;

    if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        return ss;
    }
    if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        return ss;
    }
    return NULL;
}

/* The metrics listener (metrics_listen): plain HTTP, one thread, a few connections, the
 * same request handling and head checks; the router serves only ROUTE_METRICS routes on
 * it. */
static enum rc
metrics_start(struct server *s, struct rc_info *ri)
{
    const struct config *cfg = s->app->cfg;
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    int e;

    if (!cfg->metrics_host)
        return RC_OK;
    if (!bind_addr(cfg->metrics_host, cfg->metrics_port, &ss))
        return rc_set(ri, RC_MALFORMED, "metrics_listen", "not an IP address");
    if (((struct sockaddr *)&ss)->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->md = MHD_start_daemon(
        flags, cfg->metrics_port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)cfg->max_header_bytes * 2 + 4096, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT, 16u,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    if (s->md)
        return RC_OK;
    e = errno;
    return rc_set(ri, RC_UNAVAILABLE, "metrics_listen",
                  e == EADDRINUSE ? "address already in use" : "cannot listen");
}

/* The kiosk listener (kiosk_listen): TLS with the server's certificate that also asks for a
 * client certificate (MHD_OPTION_HTTPS_MEM_TRUST makes GnuTLS send a CertificateRequest;
 * the handshake does not verify it: http_client_cert does, with OpenSSL, per request).
 * Apart from the listener the main one, so browsers on the public listener are never asked
 * for a certificate. The same routes and checks as the public listener; its own
 * libmicrohttpd listening socket and one thread (a connection's MHD_CONNECTION_INFO_DAEMON
 * is the daemon itself only without a pool: that is how a request knows it came here). */
static enum rc
kiosk_start(struct server *s, struct rc_info *ri)
{
    const struct config *cfg = s->app->cfg;
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_TLS;
    int e;

    if (!cfg->kiosk_host)
        return RC_OK;
    if (!bind_addr(cfg->kiosk_host, cfg->kiosk_port, &ss))
        return rc_set(ri, RC_MALFORMED, "kiosk_listen", "not an IP address");
    if (!(s->kiosk_trust = read_file(cfg->kiosk_ca, ri)))
        return RC_MALFORMED;
    if (((struct sockaddr *)&ss)->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->kd = MHD_start_daemon(
        flags, cfg->kiosk_port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)cfg->max_header_bytes * 2 + 4096, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections_per_ip, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
        MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, s->tls_key,
        MHD_OPTION_HTTPS_MEM_TRUST, s->kiosk_trust, MHD_OPTION_END);
    if (s->kd)
        return RC_OK;
    e = errno;
    return rc_set(ri, RC_UNAVAILABLE, "kiosk_listen",
                  e == EADDRINUSE ? "address already in use" : "cannot listen");
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
    pthread_mutex_init(&s->mu, NULL);
    s->conns.next = s->conns.prev = &s->conns;
    if (!bind_addr(cfg->listen_host, cfg->listen_port, &ss)) {
        server_stop(s);
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
        /* No MHD_OPTION_STRICT_FOR_CLIENT: in 0.9.75 level 1 adds only the Host and
         * URI-space checks, and its Host refusal writes its response headers twice (a
         * response a proxy would misframe); whitespace before a colon is checked at -1.
         * head_check does all of these and the rest. */
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        /* room for a head of max_header_bytes with its header records and a copy of its
         * cookies; head_check holds the head itself to max_header_bytes exactly */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header_bytes * 2 + 4096,
        MHD_OPTION_CONNECTION_TIMEOUT,
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
    if ((rc = metrics_start(s, ri)) != RC_OK || (rc = kiosk_start(s, ri)) != RC_OK
        || (rc = sweeper_start(s)) != RC_OK) {
        server_stop(s);
        return rc == RC_NOMEM ? rc_set(ri, rc, "listen", "cannot start a thread") : rc;
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
    sweeper_stop(s);
    if (s->md)
        MHD_stop_daemon(s->md);
    if (s->kd)
        MHD_stop_daemon(s->kd);
    if (s->d)
        MHD_stop_daemon(s->d);
    acceptor_free(s->acc); /* the socket is closed once no thread can name it */
    if (s->tls_key) {
        OPENSSL_cleanse(s->tls_key, strlen(s->tls_key));
        free(s->tls_key);
    }
    free(s->tls_cert);
    free(s->kiosk_trust);
    free(s);
}
