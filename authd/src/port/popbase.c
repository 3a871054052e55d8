/* The population-base port: call the backend and count the answers (see popbase.h). */
#include "port/popbase.h"

static const char *const answer_names[POP__COUNT] = {"match", "mismatch", "not_found", "cancelled",
                                                     "unavailable"};

const char *
pop_answer_name(enum pop_answer a)
{
    return (unsigned)a < POP__COUNT ? answer_names[a] : "unavailable";
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
