/* A libmicrohttpd server that does nothing: the HTTP ceiling of this machine for authd's
 * server setup (epoll, internal thread pool of 2). Answers every request with a fixed
 * 2-byte body, queued on the *second* access-handler call so keep-alive is kept (see
 * docs/library-notes.md). Used by scripts/bench/run:
 *   mhd_noop PORT [THREADS]      runs until SIGTERM/SIGINT; prints "ready" on stdout. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static struct MHD_Response *resp;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
        const char *version, const char *data, size_t *data_len, void **state)
{
    static int first;

    (void)cls, (void)url, (void)method, (void)version, (void)data;
    if (*state == NULL) { /* first call: headers only; answer on the next one */
        *state = &first;
        return MHD_YES;
    }
    if (*data_len) { /* ignore any body */
        *data_len = 0;
        return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, resp);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mhd_noop PORT [THREADS]\n");
        return 2;
    }
    unsigned port = (unsigned)atoi(argv[1]);
    unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, handler, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_CONNECTION_LIMIT, 10000u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mhd_noop: cannot start on port %u\n", port);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("ready\n");
    fflush(stdout);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(resp);
    return 0;
}
