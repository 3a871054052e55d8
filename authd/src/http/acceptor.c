#include "http/acceptor.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"

#define ACCEPT_BATCH    64 /* connections taken per wake-up, so a stop is seen promptly */
#define FULL_RECHECK_MS 20 /* at the connection limit, how often to look again */

struct acceptor {
    int fd;      /* the listening socket, closed by acceptor_free only */
    int wake[2]; /* a byte on wake[1] tells the thread to end */
    pthread_t th;
    bool running, shut;
    struct MHD_Daemon *d;
    unsigned max_conns;
};

enum rc
acceptor_open(const struct sockaddr *sa, socklen_t len, struct acceptor **out, struct rc_info *ri)
{
    struct acceptor *a = calloc(1, sizeof(*a));
    int on = 1, e;

    if (!a)
        return RC_NOMEM;
    a->wake[0] = a->wake[1] = -1;
    a->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a->fd < 0 || pipe2(a->wake, O_CLOEXEC) != 0)
        goto fail;
    /* as libmicrohttpd did with MHD_OPTION_LISTENING_ADDRESS_REUSE = 1 */
    if (setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0
        || setsockopt(a->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
        goto fail;
    if (sa->sa_family == AF_INET6
        && setsockopt(a->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
        goto fail;
    if (bind(a->fd, sa, len) != 0 || listen(a->fd, SOMAXCONN) != 0)
        goto fail;
    *out = a;
    return RC_OK;
fail:
    e = errno;
    acceptor_free(a);
    return rc_set(ri, RC_UNAVAILABLE, "listen",
                  e == EADDRINUSE ? "address already in use" : "cannot listen on the address");
}

static bool
daemon_full(struct acceptor *a)
{
    const union MHD_DaemonInfo *di;

    if (!a->max_conns)
        return false;
    di = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return di && di->num_connections >= a->max_conns;
}

/* Takes the connections waiting, up to ACCEPT_BATCH. */
static void
accept_some(struct acceptor *a)
{
    for (int i = 0; i < ACCEPT_BATCH && !daemon_full(a); i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int c = accept4(a->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_msg(LOG_WARN, "http.accept", "error", "out of descriptors or memory");
                nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
            }
            return; /* EAGAIN: none left */
        }
        /* refused (per-address limit, no worker with room): the library closes c */
        (void)MHD_add_connection(a->d, c, (const struct sockaddr *)&ss, len);
    }
}

static void *
accept_main(void *arg)
{
    struct acceptor *a = arg;

    for (;;) {
        struct pollfd p[2] = {{.fd = a->wake[0], .events = POLLIN},
                              {.fd = a->fd, .events = POLLIN}};
        bool full = daemon_full(a); /* then new connections wait in the backlog */
        int n = poll(p, full ? 1 : 2, full ? FULL_RECHECK_MS : -1);

        if (n < 0) {
            if (errno != EINTR)
                nanosleep(&(struct timespec){0, FULL_RECHECK_MS * 1000 * 1000}, NULL);
            continue;
        }
        if (p[0].revents)
            return NULL;
        if (!full && (p[1].revents & POLLIN))
            accept_some(a);
    }
}

enum rc
acceptor_start(struct acceptor *a, struct MHD_Daemon *d, unsigned max_conns)
{
    a->d = d;
    a->max_conns = max_conns;
    if (pthread_create(&a->th, NULL, accept_main, a) != 0)
        return RC_INTERNAL;
    a->running = true;
    return RC_OK;
}

void
acceptor_stop(struct acceptor *a)
{
    if (!a)
        return;
    if (a->running) {
        while (write(a->wake[1], "x", 1) < 0 && errno == EINTR)
            ;
        pthread_join(a->th, NULL);
        a->running = false;
    }
    if (!a->shut && a->fd >= 0) {
        /* the descriptor stays open (no reuse of its number while anything may still name
         * it); connecting now is refused, and what waited in the backlog is reset */
        (void)shutdown(a->fd, SHUT_RDWR);
        a->shut = true;
    }
}

void
acceptor_free(struct acceptor *a)
{
    if (!a)
        return;
    acceptor_stop(a);
    if (a->fd >= 0)
        close(a->fd);
    if (a->wake[0] >= 0)
        close(a->wake[0]);
    if (a->wake[1] >= 0)
        close(a->wake[1]);
    free(a);
}
