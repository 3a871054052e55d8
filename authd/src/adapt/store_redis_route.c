/* Which node serves a key. Standalone: the one address. Sentinel: the master the sentinels
 * name (SENTINEL get-master-addr-by-name), asked again after a connection error or a
 * -READONLY answer. Cluster: a slot map from CLUSTER SLOTS, refreshed after a connection
 * error, patched by MOVED, bypassed once by ASK (with ASKING). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/store_redis.h"

uint16_t
rds_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

unsigned
rds_key_slot(struct span key)
{
    const uint8_t *open = memchr(key.p, '{', key.len), *close;

    if (open) {
        size_t rest = key.len - (size_t)(open - key.p) - 1;
        close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return rds_crc16(open + 1, (size_t)(close - open - 1)) & (RDS_SLOTS - 1);
    }
    return rds_crc16(key.p, key.len) & (RDS_SLOTS - 1);
}

/* ---- Sentinel ---- */

/* Asks each sentinel for the master's address; "" if none answers. r->mu held. */
static void
discover_master(struct rds *r)
{
    const char *argv[3] = {"SENTINEL", "get-master-addr-by-name", r->master_name};

    r->master[0] = 0;
    for (size_t i = 0; i < r->nseeds && !r->master[0]; i++) {
        redisContext *c = rds_dial(r, r->seeds[i], false);
        redisReply *rep = c ? redisCommandArgv(c, 3, argv, NULL) : NULL;
        if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2
            && rep->element[0]->type == REDIS_REPLY_STRING
            && rep->element[1]->type == REDIS_REPLY_STRING) {
            int w = snprintf(r->master, sizeof(r->master), "%s:%s", rep->element[0]->str,
                             rep->element[1]->str);
            if (w < 0 || (size_t)w >= sizeof(r->master))
                r->master[0] = 0;
        }
        if (rep)
            freeReplyObject(rep);
        if (c)
            redisFree(c);
    }
}

static bool
route_sentinel(struct rds *r, char *addr)
{
    int64_t now = rds_now_us();

    pthread_mutex_lock(&r->mu);
    if (!r->master[0] && now >= r->discover_after_us) {
        discover_master(r);
        r->discover_after_us = now + RDS_BACKOFF_US / 2; /* sentinels are asked rarely */
    }
    snprintf(addr, RDS_ADDR_MAX, "%s", r->master);
    pthread_mutex_unlock(&r->mu);
    return addr[0] != 0;
}

/* ---- Cluster ---- */

/* Index of node addr in the map, adding it; -1 when the table is full. map_lock held. */
static int
node_index(struct rds *r, const char *addr)
{
    for (size_t i = 0; i < r->nnodes; i++)
        if (strcmp(r->nodes[i], addr) == 0)
            return (int)i;
    if (r->nnodes == RDS_MAX_NODES)
        return -1;
    snprintf(r->nodes[r->nnodes], RDS_ADDR_MAX, "%s", addr);
    return (int)r->nnodes++;
}

/* Applies one CLUSTER SLOTS entry [start, end, [host, port, ...], replicas...]. */
static bool
apply_range(struct rds *r, const redisReply *e, const char *seed)
{
    const redisReply *m;
    char addr[RDS_ADDR_MAX], host[RDS_ADDR_MAX];
    long long lo, hi;
    int idx, w;

    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3
        || e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER
        || e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
        return false;
    lo = e->element[0]->integer;
    hi = e->element[1]->integer;
    m = e->element[2];
    if (lo < 0 || hi >= RDS_SLOTS || lo > hi || m->element[0]->type != REDIS_REPLY_STRING
        || m->element[1]->type != REDIS_REPLY_INTEGER)
        return false;
    /* an empty host means "the address you asked on" */
    snprintf(host, sizeof(host), "%s", m->element[0]->str);
    if (!host[0]) {
        snprintf(host, sizeof(host), "%s", seed);
        if (strrchr(host, ':'))
            *strrchr(host, ':') = 0;
    }
    w = snprintf(addr, sizeof(addr), "%s:%lld", host, m->element[1]->integer);
    if (w < 0 || (size_t)w >= sizeof(addr) || (idx = node_index(r, addr)) < 0)
        return false;
    for (long long s = lo; s <= hi; s++)
        r->slot_node[s] = (uint8_t)idx;
    return true;
}

/* Loads the slot map from the first node that answers CLUSTER SLOTS. r->mu held. */
static bool
refresh_map(struct rds *r)
{
    const char *argv[2] = {"CLUSTER", "SLOTS"};
    char cand[2 * RDS_MAX_NODES][RDS_ADDR_MAX];
    size_t nc = 0;
    bool ok = false;

    pthread_rwlock_rdlock(&r->map_lock);
    for (size_t i = 0; i < r->nnodes; i++)
        snprintf(cand[nc++], RDS_ADDR_MAX, "%s", r->nodes[i]);
    pthread_rwlock_unlock(&r->map_lock);
    for (size_t i = 0; i < r->nseeds; i++)
        snprintf(cand[nc++], RDS_ADDR_MAX, "%s", r->seeds[i]);
    for (size_t i = 0; i < nc && !ok; i++) {
        redisContext *c = rds_connect_node(r, cand[i]);
        redisReply *rep = c ? redisCommandArgv(c, 2, argv, NULL) : NULL;
        if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
            pthread_rwlock_wrlock(&r->map_lock);
            r->nnodes = 0;
            memset(r->slot_node, 0, sizeof(r->slot_node));
            ok = true;
            for (size_t j = 0; j < rep->elements && ok; j++)
                ok = apply_range(r, rep->element[j], cand[i]);
            r->map_ok = ok;
            pthread_rwlock_unlock(&r->map_lock);
        }
        if (rep)
            freeReplyObject(rep);
        if (c)
            redisFree(c);
    }
    return ok;
}

static bool
route_cluster(struct rds *r, struct span key, char *addr)
{
    unsigned slot = rds_key_slot(key);
    bool ok;

    pthread_rwlock_rdlock(&r->map_lock);
    if ((ok = r->map_ok))
        snprintf(addr, RDS_ADDR_MAX, "%s", r->nodes[r->slot_node[slot]]);
    pthread_rwlock_unlock(&r->map_lock);
    if (ok)
        return true;
    pthread_mutex_lock(&r->mu);
    if (!r->map_ok && rds_now_us() >= r->refresh_after_us) {
        if (!refresh_map(r))
            r->refresh_after_us = rds_now_us() + RDS_BACKOFF_US;
    }
    pthread_mutex_unlock(&r->mu);
    pthread_rwlock_rdlock(&r->map_lock);
    if ((ok = r->map_ok))
        snprintf(addr, RDS_ADDR_MAX, "%s", r->nodes[r->slot_node[slot]]);
    pthread_rwlock_unlock(&r->map_lock);
    return ok;
}

/* ---- the three entry points rds_exec uses ---- */

/* Fills addr with the node serving key; false when it is unknown (fail closed). */
bool
rds_route(struct rds *r, struct span key, char *addr)
{
    switch (r->mode) {
    case RDS_SENTINEL:
        return route_sentinel(r, addr);
    case RDS_CLUSTER:
        return route_cluster(r, key, addr);
    case RDS_STANDALONE:
        break;
    }
    snprintf(addr, RDS_ADDR_MAX, "%s", r->addr);
    return true;
}

/* addr failed (no connection, broken, or not the master): route afresh next time. */
void
rds_route_failed(struct rds *r, const char *addr)
{
    if (r->mode == RDS_SENTINEL) {
        pthread_mutex_lock(&r->mu);
        if (strcmp(r->master, addr) == 0)
            r->master[0] = 0;
        pthread_mutex_unlock(&r->mu);
    } else if (r->mode == RDS_CLUSTER) {
        pthread_rwlock_wrlock(&r->map_lock);
        r->map_ok = false;
        pthread_rwlock_unlock(&r->map_lock);
    }
}

/* Follows "MOVED slot host:port" (patches the map) or "ASK slot host:port" (this once, with
 * ASKING): fills addr and *ask and returns true. Anything else (READONLY) returns false
 * after marking the route failed. */
bool
rds_route_redirect(struct rds *r, const redisReply *rep, char *addr, bool *ask)
{
    unsigned slot;
    char target[RDS_ADDR_MAX];
    bool moved = strncmp(rep->str, "MOVED ", 6) == 0;
    int idx;

    if (r->mode != RDS_CLUSTER || (!moved && strncmp(rep->str, "ASK ", 4) != 0)
        || sscanf(rep->str + (moved ? 6 : 4), "%u %127s", &slot, target) != 2
        || slot >= RDS_SLOTS) {
        rds_route_failed(r, addr);
        return false;
    }
    *ask = !moved;
    snprintf(addr, RDS_ADDR_MAX, "%s", target);
    if (moved) {
        pthread_rwlock_wrlock(&r->map_lock);
        if ((idx = node_index(r, target)) >= 0)
            r->slot_node[slot] = (uint8_t)idx;
        pthread_rwlock_unlock(&r->map_lock);
    }
    return true;
}

static int
addr_cmp(const void *x, const void *y)
{
    return strcmp(x, y);
}

bool
rds_cluster_master(struct rds *r, size_t i, char *addr, size_t *n)
{
    char all[RDS_MAX_NODES][RDS_ADDR_MAX];
    bool used[RDS_MAX_NODES] = {false};
    size_t k = 0;

    *n = 0;
    if (!route_cluster(r, SPAN("scan"), addr)) /* loads the map when it must */
        return false;
    pthread_rwlock_rdlock(&r->map_lock);
    for (size_t s = 0; s < RDS_SLOTS; s++) /* nodes[] may hold masters that lost every slot */
        used[r->slot_node[s]] = true;
    for (size_t j = 0; j < r->nnodes; j++)
        if (used[j])
            snprintf(all[k++], RDS_ADDR_MAX, "%s", r->nodes[j]);
    pthread_rwlock_unlock(&r->map_lock);
    qsort(all, k, sizeof(all[0]), addr_cmp);
    *n = k;
    if (i >= k)
        return false;
    snprintf(addr, RDS_ADDR_MAX, "%s", all[i]);
    return true;
}
