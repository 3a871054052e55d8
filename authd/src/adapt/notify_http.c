/* Notice gateway over HTTP(S) (see notify_http.h). */
#include "adapt/notify_http.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct notify_http {
    struct notify base;
    char *url;
    struct outbound *ob; /* owned */
};

static char *
notice_json(const struct notice *m)
{
    json_t *o = json_pack(
        "{s:s%, s:s%, s:s%, s:s%, s:I}", "to", (const char *)m->to.p, m->to.len, "text",
        (const char *)m->text.p, m->text.len, "sender", (const char *)m->sender.p, m->sender.len,
        "ref", m->ref.p ? (const char *)m->ref.p : "", m->ref.len, "ts", (json_int_t)m->ts);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return s;
}

/* The gateway's answer body is not read: only its status counts. */
static enum rc
http_send(struct notify *n, const struct notice *m)
{
    struct notify_http *h = (struct notify_http *)n;
    struct outbound_resp resp = {0};
    char *body = notice_json(m);
    enum rc rc;

    if (!body)
        return RC_NOMEM;
    rc = outbound_send(h->ob,
                       &(struct outbound_req){.url = h->url,
                                              .body = span_str(body),
                                              .content_type = "application/json"},
                       &resp);
    free(body);
    return rc == RC_OK && resp.status >= 200 && resp.status < 300 ? RC_OK : RC_UNAVAILABLE;
}

static void
http_free(struct notify *n)
{
    struct notify_http *h = (struct notify_http *)n;

    outbound_free(h->ob);
    free(h->url);
    free(h);
}

static const struct notify_ops http_ops = {"http", http_send, http_free};

void
notify_http_outbound_opts(uint32_t timeout_ms, struct outbound_opts *out)
{
    uint32_t t = timeout_ms ? timeout_ms : 3000;

    *out = (struct outbound_opts){.connect_timeout_ms = t, .timeout_ms = t, .user_agent = ""};
}

enum rc
notify_http_open(const char *url, struct outbound *ob, struct notify **out, struct rc_info *ri)
{
    struct notify_http *h;

    if (strlen(url) > 2048 || strpbrk(url, " \r\n")) {
        outbound_free(ob);
        return rc_set(ri, RC_MALFORMED, "notify", "not a usable URL");
    }
    if (!ob)
        return rc_set(ri, RC_INTERNAL, "notify", "no outbound HTTP client");
    if (!(h = calloc(1, sizeof(*h))) || !(h->url = strdup(url))) {
        free(h);
        outbound_free(ob);
        return RC_NOMEM;
    }
    h->base.ops = &http_ops;
    h->ob = ob;
    *out = &h->base;
    return RC_OK;
}
