/* Notice gateway over HTTP(S) (see notify_http.h). */
#include "adapt/notify_http.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct notify_http {
    struct notify base;
    char *url;
    long timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_start(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The gateway's answer body is not read: only its status counts. */
static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p, (void)arg;
    return size * n;
}

static char *
notice_json(const struct notice *m)
{
    json_t *o = json_pack(
        "{s:s%, s:s%, s:s%, s:s%, s:I}", "to", (const char *)m->to.p, m->to.len, "text",
        (const char *)m->text.p, m->text.len, "sender", (const char *)m->sender.p, m->sender.len,
        "ref", m->ref.p ? (const char *)m->ref.p : "", m->ref.len, "ts", (json_int_t)m->ts);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return s;
}

static enum rc
http_send(struct notify *n, const struct notice *m)
{
    struct notify_http *h = (struct notify_http *)n;
    struct curl_slist *hdr = NULL;
    char *body = notice_json(m);
    enum rc rc = RC_UNAVAILABLE;
    long status = 0;
    CURL *c;

    if (!body)
        return RC_NOMEM;
    if (!(c = curl_easy_init()))
        goto out;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (curl_easy_perform(c) == CURLE_OK
        && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 200
        && status < 300)
        rc = RC_OK;
out:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    free(body);
    return rc;
}

static void
http_free(struct notify *n)
{
    struct notify_http *h = (struct notify_http *)n;

    free(h->url);
    free(h);
}

static const struct notify_ops http_ops = {"http", http_send, http_free};

enum rc
notify_http_open(const char *url, uint32_t timeout_ms, struct notify **out, struct rc_info *ri)
{
    struct notify_http *h;

    if (strlen(url) > 2048 || strpbrk(url, " \r\n"))
        return rc_set(ri, RC_MALFORMED, "notify", "not a usable URL");
    pthread_once(&curl_once, curl_start);
    if (curl_init_rc != CURLE_OK)
        return rc_set(ri, RC_INTERNAL, "notify", "libcurl could not start");
    if (!(h = calloc(1, sizeof(*h))) || !(h->url = strdup(url))) {
        free(h);
        return RC_NOMEM;
    }
    h->base.ops = &http_ops;
    h->timeout_ms = timeout_ms ? (long)timeout_ms : 3000;
    *out = &h->base;
    return RC_OK;
}
