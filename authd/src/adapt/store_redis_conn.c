/* Connections of the Redis store backend: one set per thread (a pthread key with a
 * destructor), so the HTTP thread pool never shares a hiredis context. A context that
 * errored is dead: it is freed and the next call reconnects, at most once per
 * RDS_BACKOFF_US per node and thread, so an outage answers RC_UNAVAILABLE fast and a
 * returning server is used again within RDS_BACKOFF_US. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapt/store_redis.h"

struct rds_conn {
    char addr[RDS_ADDR_MAX];
    redisContext *c;
    int64_t retry_at_us;
    unsigned long long epoch; /* r->broken_epoch when c was connected */
};

struct rds_thread {
    struct rds *r;
    struct rds_thread *next, *prev;
    struct rds_conn conns[RDS_MAX_NODES];
    size_t n;
};

int64_t
rds_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timeval
tv_ms(uint32_t ms)
{
    return (struct timeval){ms / 1000, (long)(ms % 1000) * 1000};
}

/* Splits "host:port" (the last colon) into host and port. */
static bool
split_addr(const char *addr, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : 0;

    if (!colon || hl == 0 || hl >= cap)
        return false;
    memcpy(host, addr, hl);
    host[hl] = 0;
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536;
}

redisContext *
rds_dial(struct rds *r, const char *addr, bool unix_socket)
{
    char host[RDS_ADDR_MAX];
    int port;
    redisContext *c;
    struct timeval ct = tv_ms(r->o.connect_timeout_ms), cmd = tv_ms(r->o.command_timeout_ms);

    if (unix_socket)
        c = redisConnectUnixWithTimeout(addr, ct);
    else if (split_addr(addr, host, sizeof(host), &port))
        c = redisConnectWithTimeout(host, port, ct);
    else
        return NULL;
    if (c && !c->err && redisSetTimeout(c, cmd) == REDIS_OK && !unix_socket)
        redisEnableKeepAlive(c);
    if (c && c->err) {
        redisFree(c);
        c = NULL;
    }
    return c;
}

/* Runs one setup command; false unless it answered as wanted (status OK, or for ROLE an
 * array whose first element is "master"). */
static bool
setup_cmd(redisContext *c, int argc, const char **argv, bool role)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
    bool ok;

    if (!rep)
        return false;
    if (role)
        ok = rep->type == REDIS_REPLY_ARRAY && rep->elements > 0
             && rep->element[0]->type == REDIS_REPLY_STRING
             && strcmp(rep->element[0]->str, "master") == 0;
    else
        ok = rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    return ok;
}

/* AUTH, SELECT, and for Sentinel a ROLE check (a demoted master must not take writes). */
redisContext *
rds_connect_node(struct rds *r, const char *addr)
{
    redisContext *c = rds_dial(r, addr, r->unix_socket && r->mode == RDS_STANDALONE);
    char db[16];
    const char *auth[3] = {"AUTH", r->user[0] ? r->user : r->password, r->password};
    const char *sel[2] = {"SELECT", db};
    const char *role[1] = {"ROLE"};

    if (!c)
        return NULL;
    if (r->password[0] && !setup_cmd(c, r->user[0] ? 3 : 2, auth, false))
        goto fail;
    snprintf(db, sizeof(db), "%u", r->db);
    if (r->db && !setup_cmd(c, 2, sel, false))
        goto fail;
    if (r->mode == RDS_SENTINEL && !setup_cmd(c, 1, role, true))
        goto fail;
    return c;
fail:
    redisFree(c);
    return NULL;
}

static void
thread_free(void *arg)
{
    struct rds_thread *t = arg;

    if (!t)
        return;
    pthread_mutex_lock(&t->r->mu);
    if (t->prev)
        t->prev->next = t->next;
    else
        t->r->threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&t->r->mu);
    for (size_t i = 0; i < t->n; i++)
        if (t->conns[i].c)
            redisFree(t->conns[i].c);
    free(t);
}

static struct rds_thread *
thread_state(struct rds *r)
{
    struct rds_thread *t = pthread_getspecific(r->tls);

    if (t)
        return t;
    if (!(t = calloc(1, sizeof(*t))))
        return NULL;
    t->r = r;
    if (pthread_setspecific(r->tls, t) != 0) {
        free(t);
        return NULL;
    }
    pthread_mutex_lock(&r->mu);
    t->next = r->threads;
    if (t->next)
        t->next->prev = t;
    r->threads = t;
    pthread_mutex_unlock(&r->mu);
    return t;
}

enum rc
rds_conn_init(struct rds *r)
{
    if (pthread_key_create(&r->tls, thread_free) != 0)
        return RC_INTERNAL;
    r->tls_ok = true;
    pthread_mutex_init(&r->mu, NULL);
    pthread_rwlock_init(&r->map_lock, NULL);
    return RC_OK;
}

void
rds_conn_clear(struct rds *r)
{
    if (!r->tls_ok)
        return;
    pthread_setspecific(r->tls, NULL);
    pthread_key_delete(r->tls);
    while (r->threads) {
        struct rds_thread *t = r->threads;
        r->threads = t->next;
        t->prev = NULL;
        t->next = NULL;
        for (size_t i = 0; i < t->n; i++)
            if (t->conns[i].c)
                redisFree(t->conns[i].c);
        free(t);
    }
    pthread_rwlock_destroy(&r->map_lock);
    pthread_mutex_destroy(&r->mu);
}

/* The thread's connection to addr, connecting if needed (within the back-off); NULL when
 * the node cannot be reached now. */
static struct rds_conn *
conn_get(struct rds *r, struct rds_thread *t, const char *addr)
{
    struct rds_conn *k = NULL;
    int64_t now;

    for (size_t i = 0; i < t->n && !k; i++)
        if (strcmp(t->conns[i].addr, addr) == 0)
            k = &t->conns[i];
    if (!k) {
        if (t->n == RDS_MAX_NODES) { /* recycle the first slot */
            if (t->conns[0].c)
                redisFree(t->conns[0].c);
            t->conns[0] = t->conns[--t->n];
        }
        k = &t->conns[t->n++];
        memset(k, 0, sizeof(*k));
        snprintf(k->addr, sizeof(k->addr), "%s", addr);
    }
    if (k->c && k->epoch == atomic_load(&r->broken_epoch))
        return k;
    if (k->c) { /* another thread saw a connection break since: this one is suspect too */
        redisFree(k->c);
        k->c = NULL;
        k->retry_at_us = 0;
    }
    now = rds_now_us();
    /* in backoff, unless (one data node: not a cluster) another thread has connected since
     * this one failed: the server is back, and every thread should use it at once */
    if (now < k->retry_at_us
        && (r->mode == RDS_CLUSTER
            || atomic_load(&r->connected_us) < k->retry_at_us - RDS_BACKOFF_US))
        return NULL;
    k->epoch = atomic_load(&r->broken_epoch);
    if (!(k->c = rds_connect_node(r, addr))) {
        k->retry_at_us = now + RDS_BACKOFF_US;
        return NULL;
    }
    atomic_store(&r->connected_us, now);
    return k;
}

static void
conn_drop(struct rds_conn *k)
{
    if (k->c)
        redisFree(k->c);
    k->c = NULL;
}

/* Sends the pipeline and reads every reply. false: the connection broke (replies freed). */
static bool
pipeline(redisContext *c, bool asking, const struct rds_cmd *cmds, size_t n, redisReply **replies)
{
    size_t got = 0;
    bool ok = true;
    void *rep;

    if (asking && redisAppendCommand(c, "ASKING") != REDIS_OK)
        return false;
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv, cmds[i].len) != REDIS_OK)
            return false;
    if (asking) {
        if (redisGetReply(c, &rep) != REDIS_OK)
            return false;
        freeReplyObject(rep);
    }
    for (; got < n && ok; got++) {
        ok = redisGetReply(c, &rep) == REDIS_OK;
        replies[got] = ok ? rep : NULL;
    }
    if (!ok)
        for (size_t i = 0; i < got; i++)
            freeReplyObject(replies[i]);
    return ok;
}

static void
free_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
}

/* A -READONLY or redirect among the replies: the first one, else NULL. */
static const redisReply *
first_redirect(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const redisReply *e = replies[i];
        if (e && e->type == REDIS_REPLY_ERROR
            && (strncmp(e->str, "MOVED ", 6) == 0 || strncmp(e->str, "ASK ", 4) == 0
                || strncmp(e->str, "READONLY", 8) == 0))
            return e;
    }
    return NULL;
}

enum rc
rds_exec(struct rds *r, struct span key, const struct rds_cmd *cmds, size_t n, redisReply **replies)
{
    struct rds_thread *t = thread_state(r);
    char addr[RDS_ADDR_MAX];
    bool ask = false;

    if (!t)
        return RC_NOMEM;
    if (!rds_route(r, key, addr))
        return RC_UNAVAILABLE;
    for (int attempt = 0; attempt < 4; attempt++) {
        struct rds_conn *k = conn_get(r, t, addr);
        const redisReply *redir;
        if (!k) {
            rds_route_failed(r, addr);
            return RC_UNAVAILABLE;
        }
        if (!pipeline(k->c, ask, cmds, n, replies)) {
            atomic_fetch_add(&r->broken_epoch, 1);
            conn_drop(k);
            rds_route_failed(r, addr);
            return RC_UNAVAILABLE;
        }
        if (!(redir = first_redirect(replies, n)))
            return RC_OK;
        if (!rds_route_redirect(r, redir, addr, &ask)) { /* READONLY: a demoted master */
            conn_drop(k);
            free_replies(replies, n);
            return RC_UNAVAILABLE;
        }
        free_replies(replies, n);
    }
    return RC_UNAVAILABLE;
}
