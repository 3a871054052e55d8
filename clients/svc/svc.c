/* Shared plumbing of the reference modules (see svc.h). */
#include "svc.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct svc {
    struct MHD_Daemon *d;
    svc_handler_fn fn;
    void *arg;
};

/* Per-request state: the body as it arrives. */
struct conn {
    char *body;
    size_t len;
    int too_large;
};

static enum MHD_Result
send_resp(struct MHD_Connection *mc, struct svc_resp *rs)
{
    const char *b = rs->body ? rs->body : "";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok;

    free(rs->body);
    rs->body = NULL;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", rs->ctype ? rs->ctype : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (rs->www_auth[0])
        MHD_add_response_header(r, "WWW-Authenticate", rs->www_auth);
    ok = MHD_queue_response(mc, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ok;
}

static int
body_add(struct conn *c, const char *data, size_t n)
{
    char *p;

    if (c->too_large || c->len + n > SVC_BODY_MAX) {
        c->too_large = 1;
        return 0;
    }
    if (!(p = realloc(c->body, c->len + n + 1)))
        return -1;
    memcpy(p + c->len, data, n);
    c->body = p;
    c->len += n;
    c->body[c->len] = 0;
    return 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
           const char *version, const char *upload, size_t *upload_size, void **state)
{
    struct svc *s = cls;
    struct conn *c = *state;
    struct svc_resp rs = {.status = 500};
    struct svc_req rq;

    (void)version;
    if (!c) { /* first call: MHD has not seen the body yet (docs/library-notes.md) */
        if (!(c = calloc(1, sizeof(*c))))
            return MHD_NO;
        *state = c;
        return MHD_YES;
    }
    if (*upload_size) {
        if (body_add(c, upload, *upload_size) < 0)
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (c->too_large) {
        svc_error(&rs, 413, "invalid_request", "body too large");
        return send_resp(mc, &rs);
    }
    rq = (struct svc_req){method, url,
                          MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization"),
                          c->body ? c->body : "", c->len};
    s->fn(s->arg, &rq, &rs);
    return send_resp(mc, &rs);
}

static void
on_done(void *cls, struct MHD_Connection *mc, void **state, enum MHD_RequestTerminationCode t)
{
    struct conn *c = *state;

    (void)cls, (void)mc, (void)t;
    if (c) {
        free(c->body);
        free(c);
        *state = NULL;
    }
}

int
svc_start(const char *listen, svc_handler_fn fn, void *arg, struct svc **out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct svc *s = calloc(1, sizeof(*s));
    char host[64];
    const char *colon = strrchr(listen, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;

    if (!s || !colon || (size_t)(colon - listen) >= sizeof(host) || port < 1 || port > 65535) {
        fprintf(stderr, "listen: expected address:port\n");
        free(s);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "listen: expected an IPv4 address\n");
        free(s);
        return -1;
    }
    sa.sin_port = htons((uint16_t)port);
    s->fn = fn;
    s->arg = arg;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                            on_request, s, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE,
                            2u, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!s->d) {
        fprintf(stderr, "listen: cannot listen on %s\n", listen);
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

void
svc_stop(struct svc *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    free(s);
}

void
svc_block_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM), sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void
svc_wait(void)
{
    sigset_t set;
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM), sigaddset(&set, SIGINT);
    sigwait(&set, &sig);
}

void
svc_json(struct svc_resp *rs, int status, json_t *j)
{
    rs->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    rs->status = rs->body ? status : 500;
    rs->ctype = "application/json";
    json_decref(j);
}

void
svc_error(struct svc_resp *rs, int status, const char *error, const char *desc)
{
    svc_json(rs, status,
             json_pack("{s:s, s:s}", "error", error, "error_description", desc ? desc : ""));
}

const char *
svc_bearer_token(const struct svc_req *rq)
{
    const char *t;

    if (!rq->authz || strncasecmp(rq->authz, "Bearer ", 7) != 0)
        return NULL;
    t = rq->authz + 7;
    while (*t == ' ')
        t++;
    return *t ? t : NULL;
}

/* RFC 6750 §3: the error in WWW-Authenticate and the body. */
static int
refuse(struct svc_resp *rs, int status, const char *error, const char *desc)
{
    snprintf(rs->www_auth, sizeof(rs->www_auth),
             error ? "Bearer error=\"%s\", error_description=\"%s\"" : "Bearer", error, desc);
    svc_error(rs, status, error ? error : "invalid_request", desc);
    return -1;
}

int
svc_bearer(struct authd_client *c, const struct svc_req *rq, const char *scope, const char *acr,
           struct svc_resp *rs, struct authd_token_info *info)
{
    struct authd_validate_opts o = {scope, acr};
    const char *t = svc_bearer_token(rq);
    enum authd_status st;

    if (!t)
        return refuse(rs, 401, NULL, "a bearer token is required");
    st = authd_client_validate(c, t, strlen(t), &o, info);
    switch (st) {
    case AUTHD_OK:
        return 0;
    case AUTHD_ERR_SCOPE:
        return refuse(rs, 403, "insufficient_scope", "the token lacks a required scope");
    case AUTHD_ERR_ASSURANCE:
        return refuse(rs, 403, "insufficient_user_authentication", "assurance too low");
    case AUTHD_ERR_KEYS_UNAVAILABLE:
    case AUTHD_ERR_NOMEM:
    case AUTHD_ERR_INTERNAL:
        svc_error(rs, 503, "temporarily_unavailable", authd_status_name(st));
        return -1;
    default:
        return refuse(rs, 401, "invalid_token", authd_status_name(st));
    }
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
    char **buf = arg;
    size_t have = *buf ? strlen(*buf) : 0, add = size * n;
    char *q;

    if (have + add > (1u << 20) || !(q = realloc(*buf, have + add + 1)))
        return 0;
    memcpy(q + have, p, add);
    q[have + add] = 0;
    *buf = q;
    return add;
}

int
svc_http(const char *method, const char *url, const char *bearer, const char *user,
         const char *pass, const char *ctype, const char *body, long *status, char **out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char line[8192];
    CURLcode rc = CURLE_FAILED_INIT;

    *out = NULL;
    if (!h)
        return -1;
    if (bearer
        && (size_t)snprintf(line, sizeof(line), "Authorization: Bearer %s", bearer) < sizeof(line))
        hdr = curl_slist_append(hdr, line);
    if (ctype && (size_t)snprintf(line, sizeof(line), "Content-Type: %s", ctype) < sizeof(line))
        hdr = curl_slist_append(hdr, line);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (user) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
    }
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    OPENSSL_cleanse(line, sizeof(line));
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (rc == CURLE_OK && !*out)
        *out = strdup("");
    if (rc != CURLE_OK || !*out) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int
svc_read_file(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    long n;

    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (8L << 20)
        && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1))
        && fread(b, 1, (size_t)n, f) == (size_t)n) {
        b[n] = 0;
        fclose(f);
        *out = b;
        return 0;
    }
    free(b);
    fclose(f);
    return -1;
}

void
svc_sha256_hex(const char *s, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;

    EVP_Digest(s, n, md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
svc_log(const char *name, const char *ev, ...)
{
    json_t *o = json_pack("{s:I, s:s, s:s}", "ts", (json_int_t)time(NULL), "svc", name, "ev", ev);
    const char *k, *v;
    char *s;
    va_list ap;

    va_start(ap, ev);
    while (o && (k = va_arg(ap, const char *))) {
        v = va_arg(ap, const char *);
        json_object_set_new(o, k, json_string(v ? v : ""));
    }
    va_end(ap);
    if (o && (s = json_dumps(o, JSON_COMPACT))) {
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    json_decref(o);
}

void
svc_agent(const struct authd_token_info *ti, char *out, size_t n)
{
    json_t *act = ti->act ? json_loads(ti->act, 0, NULL) : NULL, *o = act, *in;
    const char *emp, *sub;

    out[0] = 0;
    while ((in = json_object_get(o, "act")) && json_is_object(in))
        o = in;
    if ((emp = json_string_value(json_object_get(o, "emp"))))
        snprintf(out, n, "emp:%s", emp);
    else if ((sub = json_string_value(json_object_get(o, "sub"))))
        snprintf(out, n, "%s", sub);
    json_decref(act);
}
