/* The notify port: dispatch to a backend (see notify.h). */
#include "port/notify.h"

#include <string.h>

#include "adapt/notify_file.h"
#include "adapt/notify_http.h"

enum rc
notify_open(const char *spec, const struct notify_opts *o, struct notify **out, struct rc_info *ri)
{
    *out = NULL;
    if (!spec || !*spec || strcmp(spec, "none") == 0)
        return RC_OK;
    if (strncmp(spec, "file:", 5) == 0 && spec[5])
        return notify_file_open(spec + 5, out, ri);
    if (strncmp(spec, "https://", 8) == 0 || strncmp(spec, "http://", 7) == 0)
        return notify_http_open(spec, o ? o->timeout_ms : 0, out, ri);
    return rc_set(ri, RC_MALFORMED, "notify", "must be file:PATH, an http(s):// URL or none");
}

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
