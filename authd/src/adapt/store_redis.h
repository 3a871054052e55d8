/* Inside the Redis store backend (adapt/store_redis*.c only): the configuration parsed from
 * the URL, per-thread connections, node routing for standalone, Sentinel and Cluster, and
 * one entry point that runs a pipeline of commands on the node that owns a key. */
#ifndef AUTHD_ADAPT_STORE_REDIS_H
#define AUTHD_ADAPT_STORE_REDIS_H

#include <hiredis/hiredis.h>
#include <pthread.h>

#include "adapt/store_redis_open.h"
#include "port/store_impl.h"

#define RDS_MAX_NODES  32
#define RDS_ADDR_MAX   128 /* "host:port" or a unix socket path */
#define RDS_SLOTS      16384
#define RDS_BACKOFF_US 100000 /* one connect attempt per thread per 100 ms while down */

enum rds_mode { RDS_STANDALONE, RDS_SENTINEL, RDS_CLUSTER };

/* One command: argc binary-safe arguments (hiredis's Argv API: lengths, not NULs). */
struct rds_cmd {
    int argc;
    const char **argv;
    const size_t *len;
};

struct rds {
    struct store base;
    enum rds_mode mode;
    bool unix_socket;
    char addr[RDS_ADDR_MAX];                 /* standalone: host:port or socket path */
    char seeds[RDS_MAX_NODES][RDS_ADDR_MAX]; /* sentinels, or cluster seed nodes */
    size_t nseeds;
    char master_name[128];
    char user[128], password[256];
    unsigned db;
    struct store_opts o;
    pthread_key_t tls;
    bool tls_ok;
    /* Bumped whenever a thread sees a connection break. A thread whose connection is older
     * reconnects before using it: a thread that was idle through a Redis restart would
     * otherwise fail its first call after the restart on a dead socket. */
    atomic_ullong broken_epoch;
    /* When a thread last connected (rds_now_us): outside a cluster, a thread backing off
     * from a connect that failed before that time tries again at once. */
    atomic_llong connected_us;
    pthread_mutex_t mu; /* guards: threads list, master, slot map refresh */
    struct rds_thread *threads;
    /* Sentinel: the master the sentinels named last; "" when it must be asked again. */
    char master[RDS_ADDR_MAX];
    int64_t discover_after_us;
    /* Cluster: slot -> index into nodes; map_ok false when it must be refreshed. */
    pthread_rwlock_t map_lock;
    uint8_t slot_node[RDS_SLOTS];
    char nodes[RDS_MAX_NODES][RDS_ADDR_MAX];
    size_t nnodes;
    atomic_bool map_ok;
    int64_t refresh_after_us;
    /* scripts: SHA-1 hex of each, for EVALSHA */
    char sha[8][41];
};

/* Parses url into r (mode, addresses, credentials, db). RC_MALFORMED with ri on error. */
enum rc rds_parse_url(struct rds *r, const char *url, struct rc_info *ri);
/* Sets up per-thread connection state. */
enum rc rds_conn_init(struct rds *r);
/* Closes every thread's connections (no thread may be using r any more). */
void rds_conn_clear(struct rds *r);

/* Runs n commands as one pipeline on the node owning key (every key they touch must share
 * its slot), following MOVED/ASK and rediscovering a Sentinel master. RC_OK: replies[i]
 * hold the n replies (error replies included), each owned by the caller (freeReplyObject).
 * RC_UNAVAILABLE: no connection or it broke (it is then dropped); nothing to free. */
enum rc rds_exec(struct rds *r, struct span key, const struct rds_cmd *cmds, size_t n,
                 redisReply **replies);

/* The Redis Cluster slot of key: CRC16-XMODEM of the {hash tag} if it has a non-empty one,
 * else of the whole key, modulo 16384. */
unsigned rds_key_slot(struct span key);
/* CRC16-XMODEM (poly 0x1021, init 0) of p[0..n). */
uint16_t rds_crc16(const uint8_t *p, size_t n);

int64_t rds_now_us(void);
/* A bare context to addr with the configured timeouts (no AUTH): NULL on failure. */
redisContext *rds_dial(struct rds *r, const char *addr, bool unix_socket);
/* A context to a data node, authenticated, database selected, and for Sentinel checked to
 * be the master. NULL on failure. The password is never logged. */
redisContext *rds_connect_node(struct rds *r, const char *addr);
/* Routing (store_redis_route.c): the node for key; a failed node; a redirect reply. */
bool rds_route(struct rds *r, struct span key, char *addr);
void rds_route_failed(struct rds *r, const char *addr);
bool rds_route_redirect(struct rds *r, const redisReply *rep, char *addr, bool *ask);
/* Cluster: the i-th master of the slot map, masters sorted by address, into addr; *n the
 * number of masters. False when the map cannot be loaded or i >= *n. */
bool rds_cluster_master(struct rds *r, size_t i, char *addr, size_t *n);

/* store_scan and store_rec_cas (store_redis_walk.c). */
enum rc rds_scan(struct store *s, struct arena *a, uint64_t *cursor, struct span prefix,
                 uint32_t count, struct span **keys, size_t *n);
enum rc rds_rec_cas(struct store *s, struct span key, const struct store_field *expect,
                    const struct store_field *f, size_t n);

#endif
