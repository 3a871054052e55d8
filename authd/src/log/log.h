/* Structured logging: one event, one line, one JSON object with stable keys
 * ({"ts":..,"lvl":..,"ev":.., ...}). Strings from outside are JSON-escaped (jansson) and
 * capped at LOG_MAX_STR bytes. Never pass secrets, tokens or unmasked ID numbers. */
#ifndef AUTHD_LOG_LOG_H
#define AUTHD_LOG_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/config.h"
#include "util/span.h"

#define LOG_MAX_STR 256

struct log_rec;

/* Sets the threshold and the output (fd 2 by default); not thread-safe, call at start. */
void log_setup(enum log_level min, int fd);
/* Changes the threshold at run time (atomic). */
void log_set_level(enum log_level min);
bool log_enabled(enum log_level l);
/* Starts an event; NULL when l is below the threshold or out of memory (the other calls
 * accept NULL and do nothing). */
struct log_rec *log_begin(enum log_level l, const char *ev);
void log_str(struct log_rec *r, const char *key, const char *val);
void log_span(struct log_rec *r, const char *key, struct span val);
void log_int(struct log_rec *r, const char *key, long long val);
/* Writes the line with one write(2) and frees r. */
void log_end(struct log_rec *r);
/* One-call form for simple events: log_msg(LOG_WARN, "policy.reload", "msg", "..."). */
void log_msg(enum log_level l, const char *ev, const char *key, const char *val);

#endif
