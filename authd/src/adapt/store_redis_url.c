/* Parses the Redis store URLs:
 *   redis://[user:password@]host[:port][/db]
 *   unix:/path/redis.sock[?db=N]
 *   redis-sentinel://[user:password@]h:p,h:p/mastername[?db=N]
 *   redis-cluster://[user:password@]h:p,h:p
 * user and password may be %-encoded. Credentials go to the master or cluster nodes; the
 * sentinels are asked without them. Error messages never hold the URL (it may hold a
 * password). */
#include <stdio.h>
#include <string.h>

#include "adapt/store_redis.h"
#include "util/num.h"

#define DB_MAX 1023

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %-decodes s[0..n) into out (size cap, NUL-terminated). */
static enum rc
decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t w = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
                return RC_MALFORMED;
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (c == 0 || w + 1 >= cap)
            return RC_MALFORMED;
        out[w++] = (char)c;
    }
    out[w] = 0;
    return RC_OK;
}

/* Splits off "user:password@" if present; returns the rest. */
static const char *
credentials(struct rds *r, const char *s, enum rc *rc)
{
    const char *at = strchr(s, '@'), *colon;

    *rc = RC_OK;
    if (!at || (strchr(s, '/') && strchr(s, '/') < at))
        return s;
    colon = memchr(s, ':', (size_t)(at - s));
    if (!colon) {
        *rc = decode(s, (size_t)(at - s), r->password, sizeof(r->password));
        return at + 1;
    }
    if ((*rc = decode(s, (size_t)(colon - s), r->user, sizeof(r->user))) == RC_OK)
        *rc = decode(colon + 1, (size_t)(at - colon - 1), r->password, sizeof(r->password));
    return at + 1;
}

/* Checks "host[:port]" (n bytes) and stores it as "host:port" (port 6379 by default). */
static enum rc
host_port(const char *s, size_t n, char *out, size_t cap)
{
    const char *colon = memchr(s, ':', n);
    size_t hl = colon ? (size_t)(colon - s) : n;
    uint64_t port = 6379;
    int w;

    if (hl == 0)
        return RC_MALFORMED;
    for (size_t i = 0; i < hl; i++)
        if (s[i] <= ' ' || s[i] == '/' || s[i] == '@' || s[i] == '?' || s[i] == ',')
            return RC_MALFORMED;
    if (colon && num_parse_u64(span_of(colon + 1, n - hl - 1), 1, 65535, &port) != RC_OK)
        return RC_MALFORMED;
    w = snprintf(out, cap, "%.*s:%u", (int)hl, s, (unsigned)port);
    return w < 0 || (size_t)w >= cap ? RC_MALFORMED : RC_OK;
}

/* A comma-separated list of host:port into r->seeds; stops at '/', '?' or the end. */
static const char *
host_list(struct rds *r, const char *s, enum rc *rc)
{
    *rc = RC_OK;
    while (*rc == RC_OK) {
        size_t n = strcspn(s, ",/?");
        if (r->nseeds == RDS_MAX_NODES) {
            *rc = RC_MALFORMED;
            break;
        }
        *rc = host_port(s, n, r->seeds[r->nseeds++], RDS_ADDR_MAX);
        s += n;
        if (*s != ',')
            break;
        s++;
    }
    return s;
}

static enum rc
db_number(const char *s, size_t n, unsigned *db)
{
    uint64_t v = 0;

    if (n && num_parse_u64(span_of(s, n), 0, DB_MAX, &v) != RC_OK)
        return RC_MALFORMED;
    *db = (unsigned)v;
    return RC_OK;
}

static enum rc
parse_redis(struct rds *r, const char *s)
{
    enum rc rc;
    size_t n;

    s = credentials(r, s, &rc);
    if (rc != RC_OK)
        return rc;
    n = strcspn(s, "/");
    if ((rc = host_port(s, n, r->addr, sizeof(r->addr))) != RC_OK)
        return rc;
    s += n;
    return *s ? db_number(s + 1, strlen(s + 1), &r->db) : RC_OK;
}

static enum rc
parse_unix(struct rds *r, const char *s)
{
    size_t n = strcspn(s, "?");

    if (n == 0 || s[0] != '/' || n >= sizeof(r->addr))
        return RC_MALFORMED;
    memcpy(r->addr, s, n);
    r->addr[n] = 0;
    r->unix_socket = true;
    s += n;
    if (!*s)
        return RC_OK;
    if (strncmp(s, "?db=", 4) != 0)
        return RC_MALFORMED;
    return db_number(s + 4, strlen(s + 4), &r->db);
}

static enum rc
parse_multi(struct rds *r, const char *s, bool sentinel)
{
    enum rc rc;
    size_t n;

    s = credentials(r, s, &rc);
    if (rc != RC_OK)
        return rc;
    s = host_list(r, s, &rc);
    if (rc != RC_OK)
        return rc;
    if (!sentinel)
        return *s ? RC_MALFORMED : RC_OK; /* a cluster has only database 0 */
    if (*s != '/' || !s[1])
        return RC_MALFORMED;
    s++;
    n = strcspn(s, "?");
    if (n >= sizeof(r->master_name) || n == 0)
        return RC_MALFORMED;
    memcpy(r->master_name, s, n);
    r->master_name[n] = 0;
    s += n;
    if (!*s)
        return RC_OK;
    if (strncmp(s, "?db=", 4) != 0)
        return RC_MALFORMED;
    return db_number(s + 4, strlen(s + 4), &r->db);
}

enum rc
rds_parse_url(struct rds *r, const char *url, struct rc_info *ri)
{
    enum rc rc;

    if (strncmp(url, "redis://", 8) == 0) {
        r->mode = RDS_STANDALONE;
        rc = parse_redis(r, url + 8);
    } else if (strncmp(url, "unix:", 5) == 0) {
        r->mode = RDS_STANDALONE;
        rc = parse_unix(r, url + 5);
    } else if (strncmp(url, "redis-sentinel://", 17) == 0) {
        r->mode = RDS_SENTINEL;
        rc = parse_multi(r, url + 17, true);
    } else if (strncmp(url, "redis-cluster://", 16) == 0) {
        r->mode = RDS_CLUSTER;
        rc = parse_multi(r, url + 16, false);
    } else {
        rc = RC_MALFORMED;
    }
    if (rc != RC_OK)
        return rc_set(ri, RC_MALFORMED, "store", "not a valid Redis URL");
    return RC_OK;
}
