/* HTTP for libauthd-client: one libcurl easy handle per request (no shared handle, so no
 * locking), https only unless allowed, no redirects, no environment proxies, capped bodies. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client_int.h"

#define USER_AGENT "libauthd-client/" AUTHD_CLIENT_VERSION

struct sink {
    struct fetch_answer *a;
    bool too_large;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;

    if (buf_append(&s->a->body, p, size * n) != RC_OK) {
        s->too_large = true;
        return 0; /* aborts the transfer */
    }
    return size * n;
}

/* Keeps Cache-Control (several header lines are joined with ", ", RFC 9110 §5.3). */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n, have, name = sizeof("cache-control:") - 1;
    char *cc = s->a->cache_control;

    if (len > name && strncasecmp(p, "cache-control:", name) == 0) {
        p += name;
        len -= name;
        while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
            len--;
        have = strlen(cc);
        if (have + len + 3 > sizeof(s->a->cache_control)) {
            cc[0] = '\0'; /* too long to understand: no max-age, so the minimum cache time */
            return size * n;
        }
        if (have)
            strcat(cc, ", ");
        strncat(cc, p, len);
    }
    return size * n;
}

void
fetch_answer_init(struct fetch_answer *a, size_t max)
{
    memset(a, 0, sizeof(*a));
    buf_init(&a->body, max);
}

void
fetch_answer_clear(struct fetch_answer *a)
{
    buf_clear(&a->body);
}

static CURLcode
set_tls(CURL *h, const struct authd_client *c)
{
    CURLcode e = CURLE_OK;

    if (!e && c->ca_file)
        e = curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (!e && c->ca_path)
        e = curl_easy_setopt(h, CURLOPT_CAPATH, c->ca_path);
    if (!e && c->cert_file)
        e = curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
    if (!e && c->key_file)
        e = curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    return e;
}

static CURLcode
set_common(CURL *h, const struct authd_client *c, const char *url, struct sink *s)
{
    CURLcode e = curl_easy_setopt(h, CURLOPT_URL, url);

    if (!e)
        e = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->allow_http ? "http,https" : "https");
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* required with threads */
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_PROXY, c->proxy ? c->proxy : "");
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    if (!e)
        e = curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
    if (!e)
        e = set_tls(h, c);
    return e;
}

/* Runs the prepared request; maps the outcome. */
static enum authd_status
perform(CURL *h, struct sink *s)
{
    CURLcode e = curl_easy_perform(h);

    if (s->too_large)
        return AUTHD_ERR_PROTOCOL;
    if (e != CURLE_OK)
        return AUTHD_ERR_UNAVAILABLE;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s->a->status) != CURLE_OK)
        return AUTHD_ERR_INTERNAL;
    return AUTHD_OK;
}

enum authd_status
fetch_get(const struct authd_client *c, const char *url, size_t max, struct fetch_answer *a)
{
    struct sink s = {a, false};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    CURL *h = curl_easy_init();
    enum authd_status st = AUTHD_ERR_NOMEM;

    fetch_answer_init(a, max);
    if (!h || !hdrs)
        goto out;
    st = AUTHD_ERR_INTERNAL;
    if (set_common(h, c, url, &s) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK)
        goto out;
    st = perform(h, &s);
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return st;
}

/* RFC 6749 §2.3.1: client_id and secret are form-urlencoded, then used as Basic user and
 * password (curl does the base64). */
static enum authd_status
set_basic(CURL *h, const struct authd_client *c, struct buf *user, struct buf *pass)
{
    if (!c->client_id || !c->client_secret)
        return AUTHD_ERR_INVALID_ARGUMENT;
    if (fetch_form_encode(user, c->client_id, strlen(c->client_id)) != RC_OK
        || fetch_form_encode(pass, c->client_secret, strlen(c->client_secret)) != RC_OK)
        return AUTHD_ERR_NOMEM;
    if (curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_USERNAME, (char *)user->p) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_PASSWORD, (char *)pass->p) != CURLE_OK)
        return AUTHD_ERR_INTERNAL;
    return AUTHD_OK;
}

enum authd_status
fetch_post_form(const struct authd_client *c, const char *url, struct span form,
                enum fetch_auth auth, size_t max, struct fetch_answer *a)
{
    struct sink s = {a, false};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    struct buf user, pass;
    CURL *h = curl_easy_init();
    enum authd_status st = AUTHD_ERR_NOMEM;

    fetch_answer_init(a, max);
    buf_init(&user, 1024);
    buf_init(&pass, 1024);
    if (!h || !hdrs)
        goto out;
    st = AUTHD_ERR_INTERNAL;
    if (set_common(h, c, url, &s) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form.len) != CURLE_OK
        || curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)form.p) != CURLE_OK)
        goto out;
    if (auth == FETCH_AUTH_BASIC && (st = set_basic(h, c, &user, &pass)) != AUTHD_OK)
        goto out;
    st = perform(h, &s);
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    buf_clear(&user);
    buf_clear(&pass); /* the encoded secret */
    return st;
}

static bool
unreserved(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
           || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

enum rc
fetch_form_encode(struct buf *b, const char *value, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    enum rc rc;

    for (size_t i = 0; i < len; i++) {
        uint8_t ch = (uint8_t)value[i];
        char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        rc = unreserved(ch) ? buf_append(b, &ch, 1) : buf_append(b, enc, 3);
        if (rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

enum rc
fetch_form_add(struct buf *b, const char *name, const char *value, size_t len)
{
    enum rc rc;

    if ((b->len && (rc = buf_append(b, "&", 1)) != RC_OK) || (rc = buf_append_str(b, name)) != RC_OK
        || (rc = buf_append(b, "=", 1)) != RC_OK)
        return rc;
    return fetch_form_encode(b, value, len);
}
