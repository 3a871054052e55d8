#include "log/log.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = LOG_INFO;
static int out_fd = 2;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_setup(enum log_level min, int fd)
{
    atomic_store(&min_level, (int)min);
    out_fd = fd;
}

void
log_set_level(enum log_level min)
{
    atomic_store(&min_level, (int)min);
}

bool
log_enabled(enum log_level l)
{
    return (int)l >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

struct log_rec *
log_begin(enum log_level l, const char *ev)
{
    json_t *o;
    struct timeval tv;
    struct tm tm;
    char ts[64];

    if (!log_enabled(l) || !(o = json_object()))
        return NULL;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(tv.tv_usec / 1000));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "lvl", json_string(level_names[l]));
    json_object_set_new(o, "ev", json_string(ev));
    return (struct log_rec *)o;
}

void
log_span(struct log_rec *r, const char *key, struct span val)
{
    json_t *s;
    size_t n = val.len > LOG_MAX_STR ? LOG_MAX_STR : val.len;

    if (!r)
        return;
    /* json_stringn_nocheck would keep invalid UTF-8; check, and mark what was dropped. */
    while (n && !(s = json_stringn((const char *)val.p, n)))
        n--; /* cut back to a UTF-8 boundary (or drop an invalid tail) */
    if (!n)
        s = json_string(val.len ? "(unprintable)" : "");
    json_object_set_new((json_t *)r, key, s);
}

void
log_str(struct log_rec *r, const char *key, const char *val)
{
    if (r && val)
        log_span(r, key, span_str(val));
}

void
log_int(struct log_rec *r, const char *key, long long val)
{
    if (r)
        json_object_set_new((json_t *)r, key, json_integer(val));
}

void
log_end(struct log_rec *r)
{
    char *line;
    size_t n;

    if (!r)
        return;
    line = json_dumps((json_t *)r, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
    json_decref((json_t *)r);
    if (!line)
        return;
    n = strlen(line);
    line[n] = '\n'; /* replaces the NUL; json_dumps allocated n + 1 */
    if (write(out_fd, line, n + 1) < 0) {
        /* nowhere left to report a failed log write */
    }
    free(line);
}

void
log_msg(enum log_level l, const char *ev, const char *key, const char *val)
{
    struct log_rec *r = log_begin(l, ev);

    log_str(r, key, val);
    log_end(r);
}
