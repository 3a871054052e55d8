/* The notify port: checks, then the backend (see notify.h). */
#include "port/notify.h"

enum rc
notify_send(struct notify *n, const struct notice *m)
{
    if (!n)
        return RC_UNAVAILABLE;
    if (m->text.len > NOTICE_TEXT_MAX || m->ref.len > NOTICE_REF_MAX)
        return RC_TOO_LARGE;
    return n->ops->send(n, m);
}

void
notify_free(struct notify *n)
{
    if (n)
        n->ops->free(n);
}
