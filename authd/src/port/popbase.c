/* The population-base port: dispatch to a backend and count the answers (see popbase.h). */
#include "port/popbase.h"

#include <string.h>

#include "adapt/popbase_file.h"
#include "adapt/popbase_http.h"

static const char *const answer_names[POP__COUNT] = {"match", "mismatch", "not_found", "cancelled",
                                                     "unavailable"};

const char *
pop_answer_name(enum pop_answer a)
{
    return (unsigned)a < POP__COUNT ? answer_names[a] : "unavailable";
}

/* Backends by scheme. http:// reaches the HTTP backend only to be refused with a reason
 * (the population service needs mutual TLS). */
enum rc
popbase_open(const char *spec, const struct popbase_opts *o, struct popbase **out,
             struct rc_info *ri)
{
    if (!spec)
        return rc_set(ri, RC_MALFORMED, "popbase", "not configured");
    if (strncmp(spec, "file:", 5) == 0)
        return popbase_file_open(spec + 5, o ? o->name_key_path : NULL, out, ri);
    if (strncmp(spec, "https://", 8) == 0 || strncmp(spec, "http://", 7) == 0)
        return popbase_http_open(spec, o, out, ri);
    return rc_set(ri, RC_MALFORMED, "popbase", "must be file:PATH or an https:// URL");
}

enum rc
popbase_verify(struct popbase *p, struct span id18, struct span name, enum pop_answer *ans,
               struct pop_attrs *attrs)
{
    enum rc rc = p->ops->verify(p, id18, name, ans, attrs);

    if (rc != RC_OK)
        *ans = POP_UNAVAILABLE; /* fail closed, whatever the backend left there */
    if (rc != RC_MALFORMED)     /* a caller's bad input says nothing about the service */
        atomic_fetch_add_explicit(&p->answers[*ans], 1, memory_order_relaxed);
    return rc;
}

enum rc
popbase_ping(struct popbase *p)
{
    return p->ops->ping(p);
}

void
popbase_free(struct popbase *p)
{
    if (p)
        p->ops->free(p);
}
