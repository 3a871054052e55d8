/* Open-loop HTTP load at a fixed rate, corrected for coordinated omission (issue 20: Debian
 * ships no wrk2). One thread, epoll, C kept-alive connections, one request in flight on each.
 *   pace --url http://127.0.0.1:PORT/PATH --rate R --seconds S [--conns C]
 *        [--method GET|POST] [--body FORM] [--header 'Name: value']... [--label L]
 *   pace --hop --url AUTHORIZE_URL --header 'Cookie: ...' --token-url URL
 *        --token-header 'Authorization: Basic ...' --token-body 'grant_type=...&code=%s'
 *        [--expect id_token,access_token,refresh_token] (--rate R | --closed) ...
 * --hop: each "request" is an SSO hop: GET the authorization URL with the SSO cookie, take
 * the code of the redirect's Location, POST it to the token endpoint on the same connection;
 * the hop succeeds when the answer is 200 with every --expect field. --closed: closed loop
 * instead of a rate (each connection starts its next request when the last one ended; for
 * the sweeps). In C with epoll the generator costs 15-25 us a request on the cores it shares
 * with the server, much of it the kernel's loopback TCP (a libcurl thread per connection cost
 * ~100 us a hop); it reports its own CPU (driver_cpu_us_per_request or _per_hop).
 * Request i is due at start + i / R, whatever happened before. It is sent at its due time
 * (within 0.1 ms: TICK) on a free connection; when none is free it waits in a queue and is
 * sent as soon as one is. Its latency counts from the due time, not from the send, so the
 * time a request spent waiting because the server was slow is counted (wrk2's correction);
 * the service time (from the actual send) is reported beside it. An answer is complete when
 * its last segment arrived (the kernel's receive timestamp, SO_TIMESTAMPNS), not when this
 * thread got to read it: a generator kept off the CPU does not add its delay to the server's
 * answers. It does delay its sends: a request sent after it was due on a connection that was
 * free (its last answer had arrived) is late by the generator's own doing, and that is
 * reported apart (sent_late_gen, gen_late_p99_ms), with the time this thread waited for a
 * CPU (driver_runq_wait_ms, from /proc/self/schedstat) and how it was scheduled
 * (driver_sched): the bench runs it SCHED_FIFO so that it is not starved by the server it
 * measures. Such lateness still counts in the latency from the due time (never in the
 * server's favour). Prints one line "BENCHJSON {...}" with the keys of the wrk scripts (rps =
 * successful answers completed within the S seconds, per second: a backlog answered after
 * the end does not count; p50/p90/p99 from the due time, over every answer) plus target_rps,
 * svc_p50_ms/svc_p99_ms, sent_late (requests sent more than 1 ms after their due time, for
 * whatever reason), sent_late_gen (those sent more than 1 ms after they were due and had a
 * free connection) and unsent (due before the end, never sent). 2xx and 3xx answers are
 * successes. Answers are read by Content-Length (or to the end of a chunked body). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF (1 << 16)
#define TICK 100e-6 /* open loop: at most one wakeup this often (s), see the loop */

struct conn {
    int fd, busy, step;
    /* freed: when its last answer arrived (or it was opened) */
    double due, sent, freed;
    char *rb, *wb; /* answer read so far; the request being written (req or tokreq) */
    size_t rlen, wpos, wlen;
    char tokreq[8192];
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *req;
static size_t reqlen;
static int hop, closed;
static const char *tokpath, *tokhdrs[8], *tokbody, *expect = "access_token";
static int ntokh;
static char hostport[96];
static char first_error[160];
static struct sockaddr_in addr;
static int ep;
struct vec {
    double *v;
    size_t n, cap;
};
static struct vec lat, svc, gen; /* ms: from the due time, from the send, the generator's own */
static long ok_n, ok_in_time, bad_status, err_sock, late, late_gen, sent_n;
static double t_end, rt_off; /* rt_off: CLOCK_REALTIME - CLOCK_MONOTONIC */

static void
die(const char *m)
{
    perror(m);
    exit(1);
}

static int
conn_open(struct conn *c)
{
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* the kernel's arrival time of what each recv returns (SCM_TIMESTAMPNS) */
    setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl");
    c->busy = 0;
    c->rlen = c->wpos = 0;
    c->freed = now_s();
    return 0;
}

static void
conn_reset(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    conn_open(c);
}

static void
push(struct vec *a, double x)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 65536;
        a->v = realloc(a->v, a->cap * sizeof(double));
        if (!a->v)
            die("realloc");
    }
    a->v[a->n++] = x;
}

static void
record(double due, double sent, double done)
{
    push(&lat, (done - due) * 1000);
    push(&svc, (done - sent) * 1000);
}

/* recv, and in *at the kernel's receive timestamp of the last segment it returned, on the
 * monotonic clock (*at untouched when there is none) */
static ssize_t
recv_at(int fd, char *buf, size_t len, double *at)
{
    union {
        char b[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } cb;
    struct iovec iov = {buf, len};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b)};
    ssize_t r = recvmsg(fd, &m, 0);
    if (r <= 0)
        return r;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(h), sizeof(ts));
            *at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - rt_off;
        }
    return r;
}

static void
try_write(struct conn *c)
{
    while (c->busy && c->wpos < c->wlen) {
        ssize_t w = send(c->fd, c->wb + c->wpos, c->wlen - c->wpos, MSG_NOSIGNAL);
        if (w > 0) {
            c->wpos += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            err_sock++;
            c->busy = 0;
            conn_reset(c);
            return;
        }
    }
}

static void
start(struct conn *c, double due)
{
    double t = now_s(), ready = c->freed > due ? c->freed : due;
    c->busy = 1;
    c->due = due;
    c->sent = t;
    c->rlen = 0;
    c->wpos = 0;
    c->step = 0;
    c->wb = req;
    c->wlen = reqlen;
    sent_n++;
    if (t - due > 0.001)
        late++;
    /* the generator's own lateness: from when the request was due and this connection was
     * free (its last answer had arrived) to the send; the wait for a free connection before
     * that is the server's */
    if (!closed) {
        push(&gen, t > ready ? (t - ready) * 1000 : 0);
        late_gen += t - ready > 0.001;
    }
    try_write(c);
}

/* 1: a whole answer is in c->rb (status in *status), 0: not yet, -1: malformed */
static int
complete(struct conn *c, int *status, size_t *used, size_t *hlenp)
{
    char *hend = memmem(c->rb, c->rlen, "\r\n\r\n", 4);
    if (!hend)
        return c->rlen >= RBUF - 1 ? -1 : 0;
    size_t hlen = (size_t)(hend - c->rb) + 4;
    *hlenp = hlen;
    if (c->rlen < 12 || memcmp(c->rb, "HTTP/1.", 7))
        return -1;
    *status = atoi(c->rb + 9);
    c->rb[hlen - 2] = '\0';
    const char *p = c->rb;
    long clen = -1;
    int chunked = 0;
    while ((p = strstr(p, "\r\n")) && p < c->rb + hlen - 2) {
        p += 2;
        if (!strncasecmp(p, "content-length:", 15))
            clen = atol(p + 15);
        else if (!strncasecmp(p, "transfer-encoding:", 18) && strcasestr(p, "chunked"))
            chunked = 1;
    }
    c->rb[hlen - 2] = '\r';
    if (chunked) {
        char *e = memmem(c->rb + hlen, c->rlen - hlen, "0\r\n\r\n", 5);
        if (!e)
            return c->rlen >= RBUF - 1 ? -1 : 0;
        *used = (size_t)(e - c->rb) + 5;
        return 1;
    }
    if (clen < 0)
        clen = 0;
    if (hlen + (size_t)clen > RBUF - 1)
        return -1;
    if (c->rlen < hlen + (size_t)clen)
        return 0;
    *used = hlen + (size_t)clen;
    return 1;
}

static void
note_error(const char *what, const char *detail, size_t n)
{
    if (!first_error[0])
        snprintf(first_error, sizeof(first_error), "%s: %.*s", what, (int)(n > 100 ? 100 : n),
                 detail);
}

/* The token request for the code in the Location header of the answer in c->rb (headers of
 * hlen bytes); 0 when built, -1 when the answer has no code. */
static int
token_request(struct conn *c, size_t hlen)
{
    static const char hex[] = "0123456789ABCDEF";
    char code[1024], body[4096];
    const char *p = c->rb, *e = c->rb + hlen, *loc = NULL;
    size_t o = 0;
    while ((p = memmem(p, (size_t)(e - p), "\r\n", 2)) && p + 2 < e) {
        p += 2;
        if (!strncasecmp(p, "location:", 9)) {
            loc = p + 9;
            break;
        }
    }
    if (!loc)
        return -1;
    const char *eol = memmem(loc, (size_t)(e - loc), "\r\n", 2);
    const char *q = memmem(loc, (size_t)(eol - loc), "?code=", 6);
    if (!q)
        q = memmem(loc, (size_t)(eol - loc), "&code=", 6);
    if (!q)
        return -1;
    for (q += 6; q < eol && *q != '&' && *q != '#' && o + 4 < sizeof(code); q++) {
        unsigned char ch = (unsigned char)*q;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
            || ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '%') {
            code[o++] = (char)ch;
        } else {
            code[o++] = '%';
            code[o++] = hex[ch >> 4];
            code[o++] = hex[ch & 15];
        }
    }
    code[o] = '\0';
    const char *s = strstr(tokbody, "%s");
    int bl = snprintf(body, sizeof(body), "%.*s%s%s", (int)(s - tokbody), tokbody, code, s + 2);
    int n = snprintf(c->tokreq, sizeof(c->tokreq), "POST %s HTTP/1.1\r\nHost: %s\r\n", tokpath,
                     hostport);
    for (int i = 0; i < ntokh; i++)
        n += snprintf(c->tokreq + n, sizeof(c->tokreq) - (size_t)n, "%s\r\n", tokhdrs[i]);
    n += snprintf(c->tokreq + n, sizeof(c->tokreq) - (size_t)n,
                  "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
                  bl, body);
    if (n >= (int)sizeof(c->tokreq))
        return -1;
    c->wb = c->tokreq;
    c->wlen = (size_t)n;
    c->wpos = 0;
    c->step = 1;
    return 0;
}

/* every --expect field as a JSON key in the body */
static int
has_fields(const char *b, size_t n)
{
    char f[72];
    for (const char *x = expect; *x;) {
        size_t l = strcspn(x, ",");
        snprintf(f, sizeof(f), "\"%.*s\"", (int)(l > 64 ? 64 : l), x);
        if (!memmem(b, n, f, strlen(f)))
            return 0;
        x += l;
        if (*x == ',')
            x++;
    }
    return 1;
}

/* nanoseconds this thread has been runnable without a CPU (/proc/self/schedstat: on the CPU,
 * waiting on a run queue, timeslices) */
static double
runq_wait_ns(void)
{
    unsigned long long on = 0, wait = 0;
    FILE *f = fopen("/proc/self/schedstat", "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &on, &wait) != 2)
            wait = 0;
        fclose(f);
    }
    return (double)wait;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)llround(p / 100.0 * (double)(n - 1));
    return v[i < n ? i : n - 1];
}

int
main(int argc, char **argv)
{
    const char *url = NULL, *method = "GET", *body = NULL, *label = "";
    const char *hdrs[32];
    int nh = 0, nconn = 64;
    double rate = 0, seconds = 5;

    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--url"))
            url = v;
        else if (!strcmp(a, "--rate"))
            rate = atof(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--conns"))
            nconn = atoi(v);
        else if (!strcmp(a, "--method"))
            method = v;
        else if (!strcmp(a, "--body"))
            body = v;
        else if (!strcmp(a, "--header") && nh < 32)
            hdrs[nh++] = v;
        else if (!strcmp(a, "--label"))
            label = v;
        else if (!strcmp(a, "--hop")) {
            hop = 1;
            i--;
        } else if (!strcmp(a, "--closed")) {
            closed = 1;
            i--;
        } else if (!strcmp(a, "--token-url"))
            tokpath = v;
        else if (!strcmp(a, "--token-header") && ntokh < 8)
            tokhdrs[ntokh++] = v;
        else if (!strcmp(a, "--token-body"))
            tokbody = v;
        else if (!strcmp(a, "--expect"))
            expect = v;
        else {
            fprintf(stderr, "pace: unknown option %s\n", a);
            return 2;
        }
    }
    if (closed)
        rate = 1e9; /* no schedule: see the loop */
    if (hop && (!tokpath || !tokbody || !strstr(tokbody, "%s") || strncmp(tokpath, "http://", 7)))
        rate = 0; /* usage */
    if (!url || rate <= 0 || seconds <= 0 || nconn < 1 || nconn > 4096
        || strncmp(url, "http://", 7)) {
        fputs("usage: pace --url http://HOST:PORT/PATH --rate R --seconds S [--conns C] "
              "[--method M] [--body B] [--header H]... [--label L]\n",
              stderr);
        return 2;
    }
    /* http://127.0.0.1:PORT/path: loopback IPv4 only, as everything in the bench */
    char host[64] = {0};
    int port = 80;
    const char *h = url + 7, *slash = strchr(h, '/'), *colon = strchr(h, ':');
    const char *path = slash ? slash : "/";
    if (hop) {
        const char *ts = strchr(tokpath + 7, '/');
        tokpath = ts ? ts : "/";
    }
    size_t hl = (size_t)((colon && (!slash || colon < slash) ? colon
                          : slash                            ? slash
                                                             : h + strlen(h))
                         - h);
    if (hl >= sizeof(host))
        return 2;
    memcpy(host, h, hl);
    if (colon && (!slash || colon < slash))
        port = atoi(colon + 1);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "pace: host must be an IPv4 address: %s\n", host);
        return 2;
    }
    snprintf(hostport, sizeof(hostport), "%s:%d", host, port);
    size_t cap = 4096 + strlen(path) + (body ? strlen(body) : 0);
    for (int i = 0; i < nh; i++)
        cap += strlen(hdrs[i]) + 2;
    req = malloc(cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", method, path, host, port);
    for (int i = 0; i < nh; i++)
        n += snprintf(req + n, cap - (size_t)n, "%s\r\n", hdrs[i]);
    if (body)
        n += snprintf(
            req + n, cap - (size_t)n,
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
            strlen(body), body);
    else
        n += snprintf(req + n, cap - (size_t)n, "\r\n");
    reqlen = (size_t)n;
    signal(SIGPIPE, SIG_IGN);

    struct timespec rt, mt;
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    rt_off = (double)(rt.tv_sec - mt.tv_sec) + (double)(rt.tv_nsec - mt.tv_nsec) / 1e9;
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    struct conn *cs = calloc((size_t)nconn, sizeof(*cs));
    for (int i = 0; i < nconn; i++) {
        cs[i].fd = -1;
        cs[i].rb = malloc(RBUF);
        if (conn_open(&cs[i]) < 0)
            die("connect");
    }
    /* due times waiting for a free connection (a ring; at most rate * seconds of them) */
    size_t qcap = closed ? 16 : (size_t)(rate * seconds) + 16, qh = 0, qt = 0;
    double *q = malloc(qcap * sizeof(double));
    double t0 = now_s() + 0.2, end = t0 + seconds, interval = 1.0 / rate;
    t_end = end;
    long next_i = 0;
    double slept = 1; /* how long the last epoll wait lasted */
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    double rq0 = runq_wait_ns();
    struct epoll_event evs[256];

    for (;;) {
        double t = now_s();
        /* every request due by now: queued, then sent on free connections */
        if (closed && t >= t0 && t < end) {
            for (int i = 0; i < nconn; i++)
                if (!cs[i].busy && cs[i].fd >= 0)
                    start(&cs[i], t);
        }
        while (!closed && t0 + (double)next_i * interval <= t
               && t0 + (double)next_i * interval < end) {
            if (qt - qh < qcap)
                q[qt++ % qcap] = t0 + (double)next_i * interval;
            next_i++;
        }
        for (int i = 0; i < nconn && qh < qt; i++)
            if (!cs[i].busy && cs[i].fd >= 0) {
                start(&cs[i], q[qh++ % qcap]);
            }
        int inflight = 0;
        for (int i = 0; i < nconn; i++)
            inflight += cs[i].busy;
        if (t >= end && (!inflight || t >= end + 2.0))
            break;
        double nd = closed ? (t < t0 ? t0 : end) : t0 + (double)next_i * interval;
        /* Open loop: at most one wakeup a TICK while they come faster. Woken for every answer
         * and every due time, this thread took 34-51 us of CPU a request on the cores the
         * server needs (0.9 of a core at 27 000/s, the server fell behind); with the answers
         * and due requests of a TICK handled in one wakeup, 17 us (24 000/s, against 51 in
         * the same minute). An answer's time is the kernel's, so reading it later does not
         * lengthen it; a send is up to a TICK late, which counts in its latency from the due
         * time and in gen_late (wrk2 sends up to 1 ms late). After a wait of a TICK or more
         * (a slow rate), the next one is not delayed. */
        double b = now_s();
        if (!closed && slept < TICK && b < t + TICK) {
            double w = t + TICK;
            struct timespec until = {(time_t)w, (long)((w - floor(w)) * 1e9)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
                ;
            b = now_s();
        }
        double wait = (nd < end ? nd : end + 2.0) - b;
        if (wait < 0)
            wait = 0;
        struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
        int k = epoll_pwait2(ep, evs, 256, &ts, NULL); /* a backlog waits for answers, not a spin */
        if (k < 0 && errno != EINTR)
            die("epoll_pwait2");
        slept = now_s() - b;
        for (int e = 0; e < k; e++) {
            struct conn *c = evs[e].data.ptr;
            if (evs[e].events & EPOLLOUT)
                try_write(c);
            if (!(evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            for (;;) {
                double at = 0;
                ssize_t r = recv_at(c->fd, c->rb + c->rlen, RBUF - 1 - c->rlen, &at);
                if (r > 0) {
                    c->rlen += (size_t)r;
                    c->rb[c->rlen] = '\0';
                    int st = 0;
                    size_t used = 0, hlen = 0;
                    int done = c->busy ? complete(c, &st, &used, &hlen) : -1;
                    if (done == 1) {
                        /* answered when it arrived, not when this thread got to read it */
                        double tn = now_s(), arr = at > tn || at <= 0 ? tn : at;
                        int again = 0;
                        if (arr < c->sent)
                            arr = c->sent;
                        if (hop && c->step == 0) {
                            if (st >= 300 && st < 400 && token_request(c, hlen) == 0)
                                again = 1; /* the token request, on this connection */
                            else {
                                bad_status++;
                                note_error("authorize", c->rb, hlen);
                            }
                        } else if (hop) {
                            if (st == 200 && has_fields(c->rb + hlen, used - hlen)) {
                                ok_n++;
                                ok_in_time += arr <= t_end;
                                record(c->due, c->sent, arr);
                            } else {
                                bad_status++;
                                note_error("token", c->rb, used);
                            }
                        } else if (st >= 200 && st < 400) {
                            ok_n++;
                            ok_in_time += arr <= t_end;
                            record(c->due, c->sent, arr);
                        } else {
                            bad_status++;
                            note_error("status", c->rb, hlen);
                        }
                        memmove(c->rb, c->rb + used, c->rlen - used);
                        c->rlen -= used;
                        if (again) {
                            try_write(c);
                        } else {
                            c->busy = 0;
                            c->freed = arr;
                            if (closed && tn < end)
                                start(c, tn);
                            else if (qh < qt)
                                start(c, q[qh++ % qcap]);
                        }
                    } else if (done < 0) {
                        err_sock++;
                        c->busy = 0;
                        conn_reset(c);
                        break;
                    }
                    if (c->rlen >= RBUF - 1)
                        break;
                } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                    if (c->busy)
                        err_sock++;
                    c->busy = 0;
                    conn_reset(c); /* the server closed it: a new one */
                    break;
                } else {
                    break;
                }
            }
        }
    }
    double el = seconds, rq = (runq_wait_ns() - rq0) / 1e6;
    qsort(lat.v, lat.n, sizeof(double), cmp);
    qsort(svc.v, svc.n, sizeof(double), cmp);
    qsort(gen.v, gen.n, sizeof(double), cmp);
    long unsent = closed ? 0 : (long)(qt - qh) + (long)((end - t0) / interval) - next_i;
    if (unsent < 0)
        unsent = 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
                 + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    /* how the generator was scheduled, and how long it waited for a CPU: when it waits,
     * sends and reads are late, and the figures above are partly its own */
    struct sched_param sp = {0};
    int pol = sched_getscheduler(0);
    sched_getparam(0, &sp);
    char sched[48];
    if (pol == SCHED_FIFO || pol == SCHED_RR)
        snprintf(sched, sizeof(sched), "%s %d", pol == SCHED_FIFO ? "fifo" : "rr",
                 sp.sched_priority);
    else
        snprintf(sched, sizeof(sched), "other nice %d", getpriority(PRIO_PROCESS, 0));
    printf("BENCHJSON {\"driver_cpu_s\":%.3f,\"driver_sched\":\"%s\",\"driver_runq_wait_ms\":%.1f,"
           "\"driver_nivcsw\":%ld,",
           cpu, sched, rq, ru.ru_nivcsw - ru0.ru_nivcsw);
    printf("\"label\":\"%s\",\"requests\":%ld,\"ok\":%ld,\"seconds\":%.3f,\"rps\":%.1f,"
           "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"err_status\":%ld,"
           "\"err_connect\":0,\"err_read\":%ld,\"err_write\":0,\"err_timeout\":0,\"errors\":%ld,"
           "\"target_rps\":%.1f,\"svc_p50_ms\":%.3f,\"svc_p99_ms\":%.3f,\"sent_late\":%ld,"
           "\"unsent\":%ld,\"sent_late_gen\":%ld,\"gen_late_p99_ms\":%.3f,\"gen_late_max_ms\":%.3f,"
           "\"conc\":%d,\"latency_from\":\"%s\",\"driver_cpu_us_per_%s\":%.1f",
           label, sent_n, ok_n, el, (double)ok_in_time / el, pct(lat.v, lat.n, 50),
           pct(lat.v, lat.n, 90), pct(lat.v, lat.n, 99), lat.n ? lat.v[lat.n - 1] : 0.0, bad_status,
           err_sock, bad_status + err_sock, closed ? 0.0 : rate, pct(svc.v, svc.n, 50),
           pct(svc.v, svc.n, 99), closed ? 0 : late, unsent, late_gen, pct(gen.v, gen.n, 99),
           gen.n ? gen.v[gen.n - 1] : 0.0, nconn,
           closed ? "start (closed loop)" : "due time (open loop)", hop ? "hop" : "request",
           ok_n ? cpu * 1e6 / (double)ok_n : 0.0);
    if (first_error[0]) {
        printf(",\"first_error\":\"");
        for (const char *x = first_error; *x; x++)
            if (*x != '"' && *x != '\\' && (unsigned char)*x >= 0x20)
                putchar(*x);
        putchar('"');
    }
    printf("}\n");
    return 0;
}
