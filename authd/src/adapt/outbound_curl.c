/* The outbound port over libcurl (see outbound_curl.h). One easy handle per concurrent
 * caller, kept in a free list so that its connection (and TLS session) stays alive between
 * calls; the client's fixed settings are applied once per handle, the URL, body and headers
 * per call. */
#include "adapt/outbound_curl.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct handle {
    struct handle *next;
    CURL *curl;
};

struct ocurl {
    struct outbound base;
    struct outbound_opts o;
    char *tls_cert, *tls_key, *tls_ca, *user_agent; /* copies of o's */
    pthread_mutex_t mu;
    struct handle *pool;
};

/* Where one call's body goes. */
struct sink {
    struct outbound_resp *resp;
    size_t cap;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_start(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    struct outbound_resp *r = s->resp;

    if (!r || !r->buf)
        return size * n; /* discarded: the caller judges the status only */
    if (n && size > (s->cap - r->len) / n)
        return 0; /* over the cap: curl aborts with CURLE_WRITE_ERROR */
    memcpy(r->buf + r->len, p, size * n);
    r->len += size * n;
    return size * n;
}

/* The client's fixed settings. RC_OK or RC_INTERNAL. */
static enum rc
handle_setup(struct ocurl *c, CURL *h)
{
    const struct outbound_opts *o = &c->o;
    CURLcode bad = CURLE_OK;

    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, o->https_only ? "https" : "http,https");
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (!o->env_proxy)
        bad |= curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never through an environment proxy */
    bad |= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (c->tls_cert)
        bad |= curl_easy_setopt(h, CURLOPT_SSLCERT, c->tls_cert);
    if (c->tls_key)
        bad |= curl_easy_setopt(h, CURLOPT_SSLKEY, c->tls_key);
    if (c->tls_ca) {
        bad |= curl_easy_setopt(h, CURLOPT_CAINFO, c->tls_ca);
        bad |= curl_easy_setopt(h, CURLOPT_CAPATH, NULL); /* only this CA, not the system's */
    }
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                            (long)(o->connect_timeout_ms ? o->connect_timeout_ms : 1000));
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(o->timeout_ms ? o->timeout_ms : 3000));
    if (!o->user_agent || *o->user_agent)
        bad |= curl_easy_setopt(h, CURLOPT_USERAGENT,
                                o->user_agent ? o->user_agent : "authd/" AUTHD_VERSION);
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    if (o->max_response)
        bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_response);
    bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    return bad == CURLE_OK ? RC_OK : RC_INTERNAL;
}

/* A handle from the free list, or a new one. NULL when out of memory. */
static struct handle *
handle_get(struct ocurl *c)
{
    struct handle *e;

    pthread_mutex_lock(&c->mu);
    if ((e = c->pool))
        c->pool = e->next;
    pthread_mutex_unlock(&c->mu);
    if (e)
        return e;
    if (!(e = calloc(1, sizeof(*e))))
        return NULL;
    if (!(e->curl = curl_easy_init()) || handle_setup(c, e->curl) != RC_OK) {
        if (e->curl)
            curl_easy_cleanup(e->curl);
        free(e);
        return NULL;
    }
    return e;
}

static void
handle_put(struct ocurl *c, struct handle *e)
{
    pthread_mutex_lock(&c->mu);
    e->next = c->pool;
    c->pool = e;
    pthread_mutex_unlock(&c->mu);
}

static enum rc
classify(CURLcode cc)
{
    switch (cc) {
    case CURLE_OK:
        return RC_OK;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return RC_MALFORMED;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        return RC_TOO_LARGE;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR: /* reset during the handshake */
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return RC_UNAVAILABLE;
    default:
        return RC_DENIED; /* peer verification, our key unusable, ... */
    }
}

/* "Name: value" into buf, appended to *l. false when it does not fit or out of memory. */
static bool
add_header(struct curl_slist **l, char *buf, size_t cap, const char *name, const char *value)
{
    struct curl_slist *n;
    int w = snprintf(buf, cap, "%s: %s", name, value);

    if (w < 0 || (size_t)w >= cap || strpbrk(value, "\r\n") || !(n = curl_slist_append(*l, buf)))
        return false;
    *l = n;
    return true;
}

static enum rc
ocurl_send(struct outbound *ob, const struct outbound_req *req, struct outbound_resp *resp)
{
    struct ocurl *c = (struct ocurl *)ob;
    struct sink s = {resp, 0};
    struct curl_slist *hdr = NULL, *more;
    struct handle *e;
    char line[256];
    long status = 0;
    enum rc rc;
    CURLcode cc;

    resp->len = 0;
    resp->status = 0;
    s.cap = resp->buf ? resp->cap : 0;
    if (c->o.max_response && s.cap > c->o.max_response)
        s.cap = c->o.max_response;
    if (!req->url || (req->body.len && !req->body.p))
        return RC_MALFORMED;
    if ((req->body.p && req->content_type
         && !add_header(&hdr, line, sizeof(line), "Content-Type", req->content_type))
        || (req->accept && !add_header(&hdr, line, sizeof(line), "Accept", req->accept))) {
        curl_slist_free_all(hdr);
        return RC_MALFORMED;
    }
    if (!(more = curl_slist_append(hdr, "Expect:"))) { /* no 100-continue round trip */
        curl_slist_free_all(hdr);
        return RC_NOMEM;
    }
    hdr = more;
    if (!(e = handle_get(c))) {
        curl_slist_free_all(hdr);
        return RC_NOMEM;
    }
    curl_easy_setopt(e->curl, CURLOPT_URL, req->url);
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &s);
    if (req->body.p) {
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, (const char *)req->body.p);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE, (long)req->body.len);
    } else {
        curl_easy_setopt(e->curl, CURLOPT_HTTPGET, 1L);
    }
    cc = curl_easy_perform(e->curl);
    if ((rc = classify(cc)) == RC_OK) {
        if (curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status > 0)
            resp->status = (int)status;
        else
            rc = RC_UNAVAILABLE;
    }
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, NULL); /* hdr is freed below */
    curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, NULL);
    handle_put(c, e);
    curl_slist_free_all(hdr);
    return rc;
}

static void
ocurl_free(struct outbound *ob)
{
    struct ocurl *c = (struct ocurl *)ob;
    struct handle *e;

    while ((e = c->pool)) {
        c->pool = e->next;
        curl_easy_cleanup(e->curl);
        free(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->tls_cert);
    free(c->tls_key);
    free(c->tls_ca);
    free(c->user_agent);
    free(c);
}

static const struct outbound_ops ocurl_ops = {"curl", ocurl_send, ocurl_free};

/* strdup of an optional setting. false when out of memory. */
static bool
copy_opt(const char *v, char **out)
{
    *out = NULL;
    return !v || (*out = strdup(v)) != NULL;
}

enum rc
outbound_curl_open(const struct outbound_opts *o, struct outbound **out, struct rc_info *ri)
{
    static const struct outbound_opts defaults;
    struct ocurl *c;

    *out = NULL;
    pthread_once(&curl_once, curl_start);
    if (curl_init_rc != CURLE_OK)
        return rc_set(ri, RC_INTERNAL, "outbound", "libcurl could not start");
    if (!(c = calloc(1, sizeof(*c))))
        return rc_set(ri, RC_NOMEM, "outbound", "out of memory");
    c->base.ops = &ocurl_ops;
    c->o = o ? *o : defaults;
    pthread_mutex_init(&c->mu, NULL);
    if (!copy_opt(c->o.tls_cert, &c->tls_cert) || !copy_opt(c->o.tls_key, &c->tls_key)
        || !copy_opt(c->o.tls_ca, &c->tls_ca) || !copy_opt(c->o.user_agent, &c->user_agent)) {
        ocurl_free(&c->base);
        return rc_set(ri, RC_NOMEM, "outbound", "out of memory");
    }
    c->o.tls_cert = c->tls_cert, c->o.tls_key = c->tls_key, c->o.tls_ca = c->tls_ca;
    c->o.user_agent = c->user_agent;
    *out = &c->base;
    return RC_OK;
}
