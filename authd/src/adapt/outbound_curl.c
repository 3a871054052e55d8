/* The outbound port over libcurl: one easy handle per call (deliveries are rare), no
 * redirects, bounded connect and total time, signals off (we run in threads). */
#include <curl/curl.h>
#include <stdlib.h>

#include "port/outbound.h"

struct ocurl {
    struct outbound base;
};

/* Discards the response body: a relying party's answer is judged by its status only. */
static size_t
discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

static enum rc
ocurl_post(struct outbound *o, const char *url, struct span body, const struct outbound_opts *opts,
           int *status)
{
    CURL *h = curl_easy_init();
    long code = 0;
    CURLcode cc;
    enum rc rc = RC_UNAVAILABLE;

    (void)o;
    if (!h)
        return RC_NOMEM;
    if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        rc = RC_MALFORMED;
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(opts && opts->connect_timeout_ms ? opts->connect_timeout_ms : 1000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(opts && opts->timeout_ms ? opts->timeout_ms : 3000));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body.p);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body.len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "authd");
    if ((cc = curl_easy_perform(h)) == CURLE_OK
        && curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0) {
        *status = (int)code;
        rc = RC_OK;
    } else if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL) {
        rc = RC_MALFORMED;
    }
out:
    curl_easy_cleanup(h);
    return rc;
}

static void
ocurl_free(struct outbound *o)
{
    free(o);
}

static const struct outbound_ops ocurl_ops = {"curl", ocurl_post, ocurl_free};

enum rc
outbound_curl_open(struct outbound **out)
{
    struct ocurl *c;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return RC_INTERNAL;
    if (!(c = calloc(1, sizeof(*c))))
        return RC_NOMEM;
    c->base.ops = &ocurl_ops;
    *out = &c->base;
    return RC_OK;
}
