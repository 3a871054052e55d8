/* Internal to `authctl popbase serve` (popbase_serve*.c): the population service over
 * HTTPS with mutual TLS, answering from a file population base (docs/popbase-api.md). */
#ifndef AUTHD_AUTHCTL_POPBASE_SERVE_H
#define AUTHD_AUTHCTL_POPBASE_SERVE_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "port/popbase.h"

#define SERVE_MAX_BODY 4096 /* a request is < 200 bytes */

/* Injected faults, for tests of the client (docs/popbase-api.md, "Fault injection"). */
struct serve_fault {
    uint32_t delay_ms; /* before every answer */
    double error_rate; /* share of requests answered `status` instead, 0..1 */
    uint32_t status;   /* 500..599, default 503 */
    bool hang;         /* accept, read the request, never answer (while set) */
};

struct serve {
    struct popbase *pb;
    struct serve_fault cli; /* from the command line */
    const char *fault_file; /* NULL, or re-read at each request: replaces cli if present */
    atomic_int stopping;
};

/* Parses a fault file's text (lines `delay_ms=N`, `error_rate=F`, `status=N`, `hang=0|1`,
 * `#` comments; absent keys are 0/off, status 503). 0, or -1 on a bad line (*f unchanged). */
int serve_fault_parse(const char *text, struct serve_fault *f);

/* The faults in force now: the fault file's if it exists and parses, else the command
 * line's. */
void serve_fault_current(struct serve *s, struct serve_fault *f);

/* libmicrohttpd callbacks (cls is the struct serve). */
enum MHD_Result serve_on_request(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls);
void serve_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe);
void serve_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                         enum MHD_ConnectionNotificationCode toe);

#endif
