/* The HTTP server's listening socket and its accept thread, which hands each connection to
 * libmicrohttpd (MHD_add_connection; the daemon runs with MHD_USE_NO_LISTEN_SOCKET).
 *
 * Why not libmicrohttpd's own listener: a graceful stop must stop accepting while requests
 * in flight go on, and MHD_quiesce_daemon (0.9.75) races with its epoll thread pool. The
 * main thread and a worker both remove the listening socket from the worker's epoll set;
 * whichever comes second gets ENOENT, and two of the three call sites (daemon.c:5531 in
 * MHD_quiesce_daemon, 4976 in MHD_epoll) panic on it: abort(), every request in flight lost.
 * The panic handler may not return (MHD_PANIC is followed by __builtin_unreachable). With
 * our own accept thread no libmicrohttpd thread ever sees the listening socket. */
#ifndef AUTHD_HTTP_ACCEPTOR_H
#define AUTHD_HTTP_ACCEPTOR_H

#include <sys/socket.h>

#include "util/rc.h"

struct MHD_Daemon;
struct acceptor;

/* Binds and listens on sa (SO_REUSEADDR). RC_OK: *out owned by the caller (acceptor_free);
 * no thread yet. RC_UNAVAILABLE with ri "address already in use" or "cannot listen". */
enum rc acceptor_open(const struct sockaddr *sa, socklen_t len, struct acceptor **out,
                      struct rc_info *ri);
/* Starts the accept thread: each connection goes to d, none while d holds max_conns
 * connections (they wait in the backlog). RC_INTERNAL if the thread cannot start. */
enum rc acceptor_start(struct acceptor *a, struct MHD_Daemon *d, unsigned max_conns);
/* Stops accepting: joins the thread, then shuts the socket down so that new connections
 * are refused at once (and those waiting in the backlog reset). Idempotent; NULL ok. */
void acceptor_stop(struct acceptor *a);
/* Stops, closes the socket and frees a. Call after MHD_stop_daemon. NULL ok. */
void acceptor_free(struct acceptor *a);

#endif
