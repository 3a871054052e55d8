/* What the reference relying modules (clients/license, clients/workflow) share: a small
 * libmicrohttpd server, RFC 6750 bearer checks through libauthd-client, JSON answers, and
 * outgoing HTTP calls with libcurl. Not part of libauthd-client: a government service
 * brings its own web framework; this is the least a demo module needs. */
#ifndef AUTHD_CLIENTS_SVC_H
#define AUTHD_CLIENTS_SVC_H

#include <jansson.h>
#include <stddef.h>

#include "authd_client.h"

#define SVC_BODY_MAX 16384 /* request bodies above this are refused (413) */

struct svc_req {
    const char *method; /* "GET", "POST" */
    const char *path;   /* without the query */
    const char *authz;  /* the Authorization header, or NULL */
    const char *body;   /* NUL-terminated, body_len bytes; "" when none */
    size_t body_len;
};

struct svc_resp {
    int status;
    char *body;         /* malloc'd, freed by the server */
    const char *ctype;  /* static */
    char www_auth[256]; /* WWW-Authenticate value, or "" */
};

typedef void (*svc_handler_fn)(void *arg, const struct svc_req *rq, struct svc_resp *rs);

struct svc;

/* Starts serving host:port (loopback or any address) with fn on a thread pool of 2.
 * 0: *out owned by the caller (svc_stop). -1: cannot listen (message on stderr). */
int svc_start(const char *listen, svc_handler_fn fn, void *arg, struct svc **out);
/* Stops the server and waits for its threads. NULL is fine. */
void svc_stop(struct svc *s);
/* Blocks until SIGTERM or SIGINT (call svc_block_signals first, before svc_start). */
void svc_wait(void);
/* Blocks SIGTERM, SIGINT, SIGPIPE in this thread and the threads it starts. */
void svc_block_signals(void);

/* Sets a JSON answer (consumes j; NULL j gives 500). */
void svc_json(struct svc_resp *rs, int status, json_t *j);
/* {"error": error, "error_description": desc} */
void svc_error(struct svc_resp *rs, int status, const char *error, const char *desc);

/* Validates the request's bearer token (RFC 6750 §2.1) with c, requiring scope (or NULL).
 * 0: *info filled (caller clears it). -1: rs holds the answer: 401 with WWW-Authenticate
 * (no token, or invalid_token), 403 insufficient_scope / insufficient assurance, 503 when
 * authd's keys cannot be had. */
int svc_bearer(struct authd_client *c, const struct svc_req *rq, const char *scope, const char *acr,
               struct svc_resp *rs, struct authd_token_info *info);

/* The raw bearer token of rq, or NULL (points into rq->authz). */
const char *svc_bearer_token(const struct svc_req *rq);

/* One outgoing HTTP call: method GET or POST to url; bearer (Authorization: Bearer) or
 * user/pass (Basic) or neither; body with ctype for POST. 0: *status and *out (malloc'd,
 * NUL-terminated, caller frees) set. -1: no answer (network, timeout). */
int svc_http(const char *method, const char *url, const char *bearer, const char *user,
             const char *pass, const char *ctype, const char *body, long *status, char **out);

/* Reads a whole small file. 0: *out malloc'd and NUL-terminated. -1 otherwise. */
int svc_read_file(const char *path, char **out);

/* Hex SHA-256 of s (65 bytes with the NUL). */
void svc_sha256_hex(const char *s, size_t n, char out[65]);

/* Who acts for the citizen in ti, for the log: the innermost act of the token (RFC 8693
 * §4.1: the first actor; a hotline agent's carries "emp", written "emp:E1001", else its
 * "sub"), or "" when the token has no act. Into out (n bytes, NUL-terminated). */
void svc_agent(const struct authd_token_info *ti, char *out, size_t n);

/* Logs one JSON line to stderr: {"ts":..,"svc":name,"ev":ev, k1:v1, ...} (pairs end with
 * NULL). Values are JSON-escaped. */
void svc_log(const char *name, const char *ev, ...);

#endif
