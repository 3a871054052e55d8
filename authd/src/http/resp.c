#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/jose.h"
#include "core/jsonout.h"
#include "http/http.h"

void
http_set_client(struct http_req *r, const char *id)
{
    if (id)
        r->client_id = arena_strndup(&r->arena, id, strlen(id));
}

const char *
http_header(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct header_count {
    const char *name;
    unsigned n;
};

static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct header_count *hc = cls;

    (void)kind, (void)value;
    if (key && strcasecmp(key, hc->name) == 0)
        hc->n++;
    return MHD_YES;
}

unsigned
http_header_count(const struct http_req *r, const char *name)
{
    struct header_count hc = {name, 0};

    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_header, &hc);
    return hc.n;
}

const char *
http_cookie(const struct http_req *r, const char *name)
{
    char host[64];

    if (!r->secure_cookies)
        return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
    /* only the __Host- cookie: a browser keeps it Secure, Path=/ and host-only, so a
     * sibling domain or a plain-HTTP response cannot plant it (RFC 6265bis §4.1.3.2) */
    if (snprintf(host, sizeof(host), "%s%s", HTTP_COOKIE_HOST, name) >= (int)sizeof(host))
        return NULL;
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, host);
}

enum rc
http_add_header(struct http_resp *w, const char *name, const char *value)
{
    if (w->nhdr == HTTP_MAX_HEADERS)
        return RC_TOO_LARGE;
    w->hdr[w->nhdr].name = name;
    w->hdr[w->nhdr].value = value;
    w->nhdr++;
    return RC_OK;
}

void
http_body_buf(struct http_req *r, struct http_resp *w, struct buf *b)
{
    char *p = arena_strndup(&r->arena, b->p ? (const char *)b->p : "", b->len);

    w->body = p ? span_of(p, b->len) : SPAN("");
    buf_clear(b);
}

void
http_json(struct http_req *r, struct http_resp *w, int status, json_t *j)
{
    char *s = jsonout_compact(j);

    json_decref(j);
    w->status = status;
    w->ctype = "application/json";
    http_add_header(w, "Cache-Control", "no-store");
    http_add_header(w, "Pragma", "no-cache");
    if (!s) {
        w->status = 500;
        w->body = SPAN("{\"error\":\"server_error\"}");
        return;
    }
    char *copy = arena_strndup(&r->arena, s, strlen(s));
    w->body = copy ? span_str(copy) : SPAN("{\"error\":\"server_error\"}");
    free(s);
}

/* The algorithms a DPoP proof may use (JOSE_ALGS_DPOP), space-separated, in a. */
static const char *
dpop_algs(struct arena *a)
{
    char list[128] = "";
    size_t n = 0;

    for (size_t i = 0; jose_alg_info_at(i); i++) {
        if (!(jose_alg_info_at(i)->alg & JOSE_ALGS_DPOP))
            continue;
        int k =
            snprintf(list + n, sizeof(list) - n, "%s%s", n ? " " : "", jose_alg_info_at(i)->name);
        if (k < 0 || (size_t)k >= sizeof(list) - n)
            break; /* the table fits; never a truncated name */
        n += (size_t)k;
    }
    return arena_strndup(a, list, n);
}

/* The WWW-Authenticate value of ch for this answer, or NULL for none. */
static const char *
challenge(struct http_req *r, int status, const char *error, const char *desc,
          enum http_challenge ch)
{
    const char *h;

    switch (ch) {
    case HTTP_CH_BASIC:
        return status == 401 ? "Basic realm=\"authd\"" : NULL;
    case HTTP_CH_BASIC_UTF8:
        return status == 401 ? "Basic realm=\"authd\", charset=\"UTF-8\"" : NULL;
    case HTTP_CH_BEARER:
        if (!error)
            return "Bearer realm=\"authd\"";
        h = arena_printf(&r->arena, "Bearer realm=\"authd\", error=\"%s\"%s%s%s", error,
                         desc ? ", error_description=\"" : "", desc ? desc : "", desc ? "\"" : "");
        return h ? h : "Bearer";
    case HTTP_CH_DPOP:
        h = arena_printf(&r->arena, "DPoP algs=\"%s\"%s%s%s%s%s%s", dpop_algs(&r->arena),
                         error ? ", error=\"" : "", error ? error : "", error ? "\"" : "",
                         desc && error ? ", error_description=\"" : "", desc && error ? desc : "",
                         desc && error ? "\"" : "");
        return h ? h : "DPoP";
    default:
        return NULL;
    }
}

void
http_error_json(struct http_req *r, struct http_resp *w, int status, const char *error,
                const char *description, enum http_challenge ch)
{
    json_t *j = json_object();
    const char *h = challenge(r, status, error, description, ch);

    if (error)
        json_object_set_new(j, "error", json_string(error));
    if (error && description)
        json_object_set_new(j, "error_description", json_string(description));
    if (h)
        http_add_header(w, "WWW-Authenticate", h);
    if (status == 503)
        http_add_header(w, "Retry-After", "1");
    http_json(r, w, status, j);
}

static bool
row_matches(const struct http_error *e, enum rc rc, enum rc_reason why)
{
    return (e->rc == RC_ANY || e->rc == rc) && (e->why == RC_WHY_ANY || e->why == why);
}

const struct http_error *
http_error_find(const struct http_error *t, size_t n, enum rc rc, const struct rc_info *ri)
{
    static const struct http_error fallback = {RC_ANY, RC_WHY_ANY, 500, "server_error", NULL, NULL};
    enum rc_reason why = ri ? ri->why : RC_WHY_NONE;

    for (size_t i = 0; i < n; i++)
        if (row_matches(&t[i], rc, why))
            return &t[i];
    return &fallback;
}

const char *
http_error_desc(struct http_req *r, const struct http_error *e, const struct rc_info *ri)
{
    if (e->desc)
        return *e->desc ? e->desc : NULL;
    if (!ri || !ri->msg)
        return NULL;
    return ri->field ? arena_printf(&r->arena, "%s: %s", ri->field, ri->msg) : ri->msg;
}

void
http_error_answer(struct http_req *r, struct http_resp *w, const struct http_error *t, size_t n,
                  enum rc rc, const struct rc_info *ri, enum http_challenge ch)
{
    const struct http_error *e = http_error_find(t, n, rc, ri);
    const char *error = e->error ? e->error : rc_oauth_error(rc);

    http_error_json(r, w, e->status ? e->status : rc_http_status(rc),
                    error ? error : "server_error", http_error_desc(r, e, ri), ch);
}

void
http_oauth_error(struct http_req *r, struct http_resp *w, int status, const char *error,
                 const char *description)
{
    http_error_json(r, w, status, error, description, HTTP_CH_BASIC);
}

void
http_rc_error(struct http_req *r, struct http_resp *w, enum rc rc, const struct rc_info *ri)
{
    static const struct http_error defaults[] = {{RC_ANY, RC_WHY_ANY, 0, NULL, NULL, NULL}};

    http_error_answer(r, w, HTTP_ERRORS(defaults), rc, ri, HTTP_CH_BASIC);
}

void
http_text(struct http_resp *w, int status, const char *text)
{
    w->status = status;
    w->ctype = "text/plain; charset=utf-8";
    w->body = span_str(text);
}

void
http_html(struct http_req *r, struct http_resp *w, int status, struct buf *html)
{
    w->status = status;
    w->ctype = "text/html; charset=utf-8";
    http_add_header(w, "Content-Security-Policy",
                    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                    "form-action 'self' *; frame-src *; frame-ancestors 'none'; base-uri 'none'");
    http_add_header(w, "X-Frame-Options", "DENY");
    http_add_header(w, "Referrer-Policy", "no-referrer");
    http_add_header(w, "Cache-Control", "no-store");
    http_body_buf(r, w, html);
}

void
http_redirect(struct http_req *r, struct http_resp *w, int status, const char *location)
{
    w->status = status;
    http_add_header(w, "Location", arena_strndup(&r->arena, location, strlen(location)));
    http_add_header(w, "Cache-Control", "no-store");
    w->body = SPAN("");
}
