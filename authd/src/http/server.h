/* The HTTP server: libmicrohttpd with its internal epoll thread pool. */
#ifndef AUTHD_HTTP_SERVER_H
#define AUTHD_HTTP_SERVER_H

#include "flow/app.h"

struct server;

/* Starts listening as app->cfg says (TLS when tls_cert/tls_key are set). RC_OK: *out owned
 * by the caller (server_stop). Failures are written to ri (address in use, bad TLS file). */
enum rc server_start(struct app *app, struct server **out, struct rc_info *ri);
/* Stops accepting new connections (new ones are refused); requests in flight go on. The
 * listening socket is closed by server_stop, after the library's threads are gone. */
void server_quiesce(struct server *s);
/* Requests started and not yet completed. */
long server_inflight(struct server *s);
/* Closes every connection, then the listening socket, and frees s. */
void server_stop(struct server *s);
/* libmicrohttpd's panic handler (MHD_set_panic_func, installed by server_start): writes
 * one "http.panic" error line with the library's file, line and reason, then abort()s.
 * Public for its unit test. */
void server_panic(void *cls, const char *file, unsigned int line, const char *reason);

#endif
