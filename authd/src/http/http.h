/* The HTTP layer seen by routes: a parsed request and a response to fill. The server
 * (http/server.c) owns both; everything a route allocates comes from r->arena and lives
 * until the request completes. Routes parse, call a flow, render: they never talk to
 * libmicrohttpd directly. */
#ifndef AUTHD_HTTP_HTTP_H
#define AUTHD_HTTP_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/app.h"
#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

enum http_method {
    HTTP_GET = 1 << 0,
    HTTP_POST = 1 << 1,
    HTTP_HEAD = 1 << 2,
    HTTP_OPTIONS = 1 << 3,
    HTTP_OTHER = 1 << 4,
};

#define HTTP_MAX_HEADERS 16
#define HTTP_COOKIE_HOST "__Host-" /* the cookie name prefix when secure_cookies */

struct http_req {
    struct app *app;
    struct arena arena;
    enum http_method method;
    const char *method_str;
    struct span path;  /* raw path, no query */
    struct span query; /* raw query after '?', may be empty */
    struct span body;  /* the whole request body */
    const char *client_ip;
    char id[9]; /* request id, 8 hex digits */
    bool tls;
    bool metrics_listener; /* arrived on metrics_listen (router.h: ROUTE_METRICS) */
    bool secure_cookies;   /* TLS or an https issuer: cookies are Secure, named __Host-... */
    const char *client_id; /* for the log: set with http_set_client (a copy in the arena) */
    void *conn;            /* the server's; use the functions below */
    bool kiosk_listener;   /* arrived on kiosk_listen (TLS asking for a client certificate) */
    int cert_state;        /* http_client_cert's: 0 not looked at, 1 verified, -1 none */
    const struct kiosk_cert *cert;
    struct rc_info cert_ri;
};

struct http_resp {
    int status;
    const char *ctype;
    struct span body; /* must live until completion: arena, static, or http_resp_buf */
    size_t nhdr;
    struct {
        const char *name, *value;
    } hdr[HTTP_MAX_HEADERS];
};

typedef void (*route_fn)(struct http_req *r, struct http_resp *w);

/* The verified client certificate of the request (flow/kiosk.h kiosk_cert_verify: an
 * enrolled kiosk's, chaining to the kiosk CA, unexpired, not revoked): the certificate of
 * the TLS handshake on kiosk_listen, or the one a trusted TLS-terminating proxy forwards
 * in kiosk_cert_header (URL-encoded PEM, as nginx's $ssl_client_escaped_cert), honoured
 * only from an address of kiosk_trusted_proxies (from any other it is ignored). Looked at
 * once per request. NULL: none, or refused; then ri (may be NULL) says why (RC_WHY_KIOSK_CERT;
 * an invalid_client). */
struct kiosk_cert;
const struct kiosk_cert *http_client_cert(struct http_req *r, struct rc_info *ri);

/* Request header value (case-insensitive name), or NULL. Owned by the server. */
const char *http_header(const struct http_req *r, const char *name);
/* Records the client a request is for, for the request's log line (written after the
 * route returned, when a policy reload may have freed the client's own strings): copies id
 * into the request's arena. NULL is ignored. */
void http_set_client(struct http_req *r, const char *id);
/* How many times request header name was sent (case-insensitive). */
unsigned http_header_count(const struct http_req *r, const char *name);
/* Cookie value by name, or NULL. */
const char *http_cookie(const struct http_req *r, const char *name);

/* Adds a response header (name and value must live until completion). RC_TOO_LARGE past
 * HTTP_MAX_HEADERS. */
enum rc http_add_header(struct http_resp *w, const char *name, const char *value);
/* Sets the body from a buf: copies it into the arena and clears b. */
void http_body_buf(struct http_req *r, struct http_resp *w, struct buf *b);
/* JSON response from a jansson value (stolen): status, Content-Type application/json,
 * Cache-Control no-store. */
struct json_t;
void http_json(struct http_req *r, struct http_resp *w, int status, struct json_t *j);
/* The challenge an error answer carries (RFC 6749 §5.2, RFC 7235 §4.1, RFC 6750 §3). */
enum http_challenge {
    HTTP_CH_NONE,
    HTTP_CH_BASIC,      /* on 401: WWW-Authenticate: Basic realm="authd" */
    HTTP_CH_BASIC_UTF8, /* on 401: the same with charset="UTF-8" (RFC 7617 §2.1) */
    HTTP_CH_BEARER,     /* always: Bearer realm="authd", error=..., error_description=... */
    HTTP_CH_DPOP,       /* always: DPoP algs="...", error=..., error_description=... (RFC 9449
                           §7.1: algs lists the algorithms of the table, core/jose.h) */
};

/* The one renderer of error answers: {"error","error_description"} with status (an empty
 * object when error is NULL), no-store, the challenge ch, and Retry-After: 1 on 503.
 * description may be NULL. */
void http_error_json(struct http_req *r, struct http_resp *w, int status, const char *error,
                     const char *description, enum http_challenge ch);

/* One row of an endpoint's error table. Each endpoint maps its failures, (rc, reason), to
 * its answers in one table; the first matching row wins, and the last row should be
 * {RC_ANY, RC_WHY_ANY, ...}. */
struct http_error {
    enum rc rc;         /* RC_ANY: every rc */
    enum rc_reason why; /* RC_WHY_ANY: every reason */
    int status;         /* 0: rc's default status (util/rc.h) */
    const char *error;  /* OAuth error code; NULL: rc's default */
    const char *key;    /* page message key (authd/templates/strings.tsv), or NULL */
    const char *desc;   /* NULL: "field: msg" from the rc_info; HTTP_DESC_NONE: none; else
                           this text */
};
#define HTTP_DESC_NONE ""
#define HTTP_ERRORS(t) (t), sizeof(t) / sizeof((t)[0])

/* The row of t (n rows) for rc and ri's reason (ri may be NULL: RC_WHY_NONE); a 500
 * server_error row if none matches. Never NULL. */
const struct http_error *http_error_find(const struct http_error *t, size_t n, enum rc rc,
                                         const struct rc_info *ri);
/* The error_description row e gives for ri (in the arena), or NULL for none. */
const char *http_error_desc(struct http_req *r, const struct http_error *e,
                            const struct rc_info *ri);
/* Answers rc as the matching row of t says, with http_error_json. */
void http_error_answer(struct http_req *r, struct http_resp *w, const struct http_error *t,
                       size_t n, enum rc rc, const struct rc_info *ri, enum http_challenge ch);
/* http_error_json with HTTP_CH_BASIC: for answers outside any table (router, parsers). */
void http_oauth_error(struct http_req *r, struct http_resp *w, int status, const char *error,
                      const char *description);
/* The answer rc's defaults give (util/rc.h: status, OAuth error), description from ri. */
void http_rc_error(struct http_req *r, struct http_resp *w, enum rc rc,
                   const struct rc_info *ri);
/* Plain text response (static body). */
void http_text(struct http_resp *w, int status, const char *text);
/* HTML page response: adds the security headers every page carries (CSP with
 * frame-ancestors 'none', X-Frame-Options, Referrer-Policy, no-store). */
void http_html(struct http_req *r, struct http_resp *w, int status, struct buf *html);
/* 302/303 redirect to location (copied into the arena). */
void http_redirect(struct http_req *r, struct http_resp *w, int status, const char *location);

#endif
