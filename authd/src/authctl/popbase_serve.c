/* `authctl popbase serve`: the population service over HTTPS with mutual TLS, answering
 * from a file population base, so that a province can expose its index and the tests of
 * the HTTP backend talk to a real server (docs/popbase-api.md). libmicrohttpd with an
 * epoll thread pool; fault switches for tests; stops cleanly on SIGTERM or SIGINT. */
#include <errno.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "adapt/popbase_file.h"
#include "authctl/popbase_cmd.h"
#include "authctl/popbase_serve.h"
#include "util/num.h"

#define PEM_MAX     (64 * 1024)
#define MAX_THREADS 64

struct serve_args {
    const char *index, *key, *listen, *tls_cert, *tls_key, *client_ca, *fault_file;
    const char *delay, *rate, *status, *threads;
    bool hang;
};

static const char usage_text[] =
    "usage: authctl popbase serve --index POP.idx --key FILE --listen ADDR:PORT\n"
    "           --tls-cert CERT.pem --tls-key KEY.pem --client-ca CA.pem [--threads N]\n"
    "           [--fault-delay-ms N] [--fault-error-rate 0..1] [--fault-status 5xx]\n"
    "           [--fault-hang] [--fault-file PATH]\n";

static int
parse_args(int argc, char **argv, struct serve_args *a)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {
        {"--index", offsetof(struct serve_args, index)},
        {"--key", offsetof(struct serve_args, key)},
        {"--listen", offsetof(struct serve_args, listen)},
        {"--tls-cert", offsetof(struct serve_args, tls_cert)},
        {"--tls-key", offsetof(struct serve_args, tls_key)},
        {"--client-ca", offsetof(struct serve_args, client_ca)},
        {"--fault-file", offsetof(struct serve_args, fault_file)},
        {"--fault-delay-ms", offsetof(struct serve_args, delay)},
        {"--fault-error-rate", offsetof(struct serve_args, rate)},
        {"--fault-status", offsetof(struct serve_args, status)},
        {"--threads", offsetof(struct serve_args, threads)},
    };

    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        if (strcmp(argv[i], "--fault-hang") == 0) {
            a->hang = true;
            continue;
        }
        while (k < sizeof(opts) / sizeof(opts[0]) && strcmp(argv[i], opts[k].name) != 0)
            k++;
        if (k == sizeof(opts) / sizeof(opts[0]) || i + 1 >= argc) {
            fprintf(stderr, "authctl popbase serve: bad argument '%s'\n", argv[i]);
            return -1;
        }
        *(const char **)((char *)a + opts[k].off) = argv[++i];
    }
    if (!a->index || !a->key || !a->listen || !a->tls_cert || !a->tls_key || !a->client_ca) {
        fputs(usage_text, stderr);
        return -1;
    }
    return 0;
}

/* The command-line faults and the thread count. 0 or -1 after printing why. */
static int
parse_numbers(const struct serve_args *a, struct serve_fault *f, unsigned *threads)
{
    char text[160];
    uint64_t n = 4;

    if (a->threads && num_parse_u64(span_str(a->threads), 1, MAX_THREADS, &n) != RC_OK) {
        fprintf(stderr, "authctl popbase serve: --threads must be 1-%d\n", MAX_THREADS);
        return -1;
    }
    *threads = (unsigned)n;
    if ((size_t)snprintf(text, sizeof(text), "delay_ms=%s\nerror_rate=%s\nstatus=%s\nhang=%d\n",
                         a->delay ? a->delay : "0", a->rate ? a->rate : "0",
                         a->status ? a->status : "503", a->hang)
            >= sizeof(text)
        || serve_fault_parse(text, f) != 0) {
        fprintf(stderr, "authctl popbase serve: --fault-delay-ms 0-600000, --fault-error-rate "
                        "0..1, --fault-status 500-599\n");
        return -1;
    }
    return 0;
}

/* Reads a PEM file into a NUL-terminated heap string (MHD wants C strings). */
static char *
read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *p = f ? malloc(PEM_MAX + 1) : NULL;
    size_t n = 0;

    if (p) {
        n = fread(p, 1, PEM_MAX + 1, f);
        if (ferror(f) || n == 0 || n > PEM_MAX) {
            OPENSSL_cleanse(p, n > PEM_MAX ? PEM_MAX + 1 : n);
            free(p);
            p = NULL;
        } else {
            p[n] = 0;
        }
    }
    if (f)
        fclose(f);
    if (!p)
        fprintf(stderr, "authctl popbase serve: %s: cannot read a PEM file (at most %d bytes)\n",
                path, PEM_MAX);
    return p;
}

static void
free_pem(char *p)
{
    if (p) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

/* "127.0.0.1:8443" or "[::1]:8443" into *ss. 0 or -1. */
static int
parse_listen(const char *v, struct sockaddr_storage *ss, bool *v6)
{
    char host[64];
    const char *colon = strrchr(v, ':'), *hs = v, *he = colon;
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM},
                    *ai = NULL;
    uint64_t port;

    if (!colon || num_parse_u64(span_str(colon + 1), 1, 65535, &port) != RC_OK)
        return -1;
    if (*v == '[') {
        hs = v + 1;
        if (colon[-1] != ']')
            return -1;
        he = colon - 1;
    }
    if (he <= hs || (size_t)(he - hs) >= sizeof(host))
        return -1;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = 0;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return 0;
}

static struct MHD_Daemon *
start_daemon(struct serve *s, const struct sockaddr_storage *ss, bool v6, unsigned threads,
             const char *cert, const char *key, const char *ca)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TLS;

    if (v6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, serve_on_request, s, MHD_OPTION_SOCK_ADDR, ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_HTTPS_MEM_CERT, cert,
        MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_TRUST, ca, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_NOTIFY_COMPLETED,
        serve_on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, serve_on_connection, s,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
}

/* Blocks SIGTERM and SIGINT (the MHD threads inherit the mask), so that the main thread
 * alone takes them with sigwait. */
static void
block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Opens the index, loads the TLS files, serves until SIGTERM. Exit code. */
static int
run(const struct serve_args *a, struct serve *s, unsigned threads)
{
    struct sockaddr_storage ss = {0};
    struct rc_info ri = {0};
    char *cert = NULL, *key = NULL, *ca = NULL;
    struct MHD_Daemon *d = NULL;
    sigset_t set;
    bool v6 = false;
    int sig = 0, e = 1;

    if (parse_listen(a->listen, &ss, &v6) != 0) {
        fprintf(stderr, "authctl popbase serve: --listen must be ADDRESS:PORT\n");
        return 2;
    }
    if (popbase_file_open(a->index, a->key, &s->pb, &ri) != RC_OK) {
        fprintf(stderr, "authctl popbase serve: %s: %s\n", a->index,
                ri.msg ? ri.msg : "cannot open");
        return 1;
    }
    block_signals(&set);
    if (!(cert = read_pem(a->tls_cert)) || !(key = read_pem(a->tls_key))
        || !(ca = read_pem(a->client_ca)))
        goto out;
    if (!(d = start_daemon(s, &ss, v6, threads, cert, key, ca))) {
        fprintf(stderr, "authctl popbase serve: cannot listen on %s or load the TLS files\n",
                a->listen);
        goto out;
    }
    fprintf(stderr, "popbase serve: https://%s, %llu records, %u threads%s\n", a->listen,
            (unsigned long long)popbase_file_count(s->pb), threads,
            s->fault_file ? ", fault file" : "");
    while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
        ;
    atomic_store(&s->stopping, 1); /* hanging and delayed answers give up */
    MHD_stop_daemon(d);
    fprintf(stderr, "popbase serve: stopped\n");
    e = 0;
out:
    free_pem(cert);
    free_pem(key);
    free_pem(ca);
    popbase_free(s->pb);
    return e;
}

int
popbase_serve(struct authctl *ctl, int argc, char **argv)
{
    struct serve_args a;
    struct serve s = {0};
    unsigned threads;

    (void)ctl;
    if (parse_args(argc, argv, &a) != 0 || parse_numbers(&a, &s.cli, &threads) != 0)
        return 2;
    s.fault_file = a.fault_file;
    return run(&a, &s, threads);
}
