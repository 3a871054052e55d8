/* The notify port: a short progress notice to a citizen's phone (SMS or app push gateway).
 * Backends: adapt/notify_file.c (file:PATH, development: appends one JSON line per notice)
 * and adapt/notify_http.c (http(s)://URL: POSTs the notice as JSON to a gateway, one
 * attempt with a timeout; the caller decides whether to try again later). Delivery is
 * at most once: a failed send is reported, never retried here, so a gateway outage cannot
 * turn into a storm of retries. */
#ifndef AUTHD_PORT_NOTIFY_H
#define AUTHD_PORT_NOTIFY_H

#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

#define NOTICE_TEXT_MAX 500 /* bytes of UTF-8 (about 160 Chinese characters) */
#define NOTICE_REF_MAX  64

/* One notice. Every span is borrowed for the duration of the call. */
struct notice {
    struct span to;     /* the phone number, digits */
    struct span text;   /* UTF-8, at most NOTICE_TEXT_MAX bytes */
    struct span sender; /* the client id of the module that asked */
    struct span ref;    /* the module's reference (an application id), may be empty */
    int64_t ts;         /* unix seconds */
};

struct notify;

struct notify_ops {
    const char *name; /* "file", "http" */
    /* RC_OK once the sink or gateway accepted the notice; RC_UNAVAILABLE otherwise. */
    enum rc (*send)(struct notify *n, const struct notice *m);
    void (*free)(struct notify *n);
};

/* Every backend struct starts with this. */
struct notify {
    const struct notify_ops *ops;
};

struct notify_opts {
    uint32_t timeout_ms; /* http: whole request, 0 = 3000 */
};

/* A backend is opened by the composition root (compose/compose.h: compose_notify_open). */
/* Sends m through n. RC_OK, RC_UNAVAILABLE (sink or gateway failed), RC_TOO_LARGE
 * (m->text over NOTICE_TEXT_MAX). */
enum rc notify_send(struct notify *n, const struct notice *m);
/* NULL is fine. */
void notify_free(struct notify *n);

#endif
