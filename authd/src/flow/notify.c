/* Notices to citizens by sub (see notify.h). */
#include "flow/notify.h"

#include <openssl/crypto.h>
#include <string.h>

#include "flow/account.h"
#include "flow/subject.h"
#include "log/log.h"
#include "port/notify.h"
#include "port/store.h"
#include "util/utf8.h"

static bool
has_notify_scope(const struct policy_client *c)
{
    return strlist_has(&c->scopes, span_str(NOTIFY_SCOPE));
}

static struct span
subrev_key(struct arena *a, struct span sub, const char *client_id)
{
    size_t n = strlen(client_id);
    char *suffix = arena_alloc(a, n + 2);

    if (!suffix)
        return (struct span){NULL, 0};
    suffix[0] = ':';
    memcpy(suffix + 1, client_id, n + 1);
    return store_key(a, "subrev", sub, suffix);
}

enum rc
notify_subject_remember(struct app *app, struct arena *a, const struct policy *p,
                        const struct policy_client *c, const char *sub, const char *account_id)
{
    struct span k;

    (void)p;
    if (!has_notify_scope(c))
        return RC_OK;
    if (!(k = subrev_key(a, span_str(sub), c->id)).p)
        return RC_NOMEM;
    return store_put(app->store, k, span_str(account_id), NOTIFY_SUBJECT_TTL, 0);
}

/* sub: what subject_for writes (hex, or an account id); text: UTF-8 without controls. */
static enum rc
check_req(const struct notify_req *req, struct rc_info *ri)
{
    size_t i;

    if (!req->sub.p || req->sub.len == 0 || req->sub.len >= SUBJECT_MAX)
        return rc_set(ri, RC_MALFORMED, "sub", "missing or too long");
    for (i = 0; i < req->sub.len; i++)
        if (!strchr("0123456789abcdefABCDEF", req->sub.p[i]) || !req->sub.p[i])
            return rc_set(ri, RC_MALFORMED, "sub", "not a subject of ours");
    if (!req->text.p || req->text.len == 0)
        return rc_set(ri, RC_MALFORMED, "text", "missing");
    if (req->text.len > NOTICE_TEXT_MAX)
        return rc_set(ri, RC_TOO_LARGE, "text", "too long");
    if (!utf8_valid(req->text.p, req->text.len))
        return rc_set(ri, RC_MALFORMED, "text", "not UTF-8");
    for (i = 0; i < req->text.len; i++)
        if (req->text.p[i] < 0x20 || req->text.p[i] == 0x7f)
            return rc_set(ri, RC_MALFORMED, "text", "control characters");
    if (req->ref.len > NOTICE_REF_MAX)
        return rc_set(ri, RC_TOO_LARGE, "ref", "too long");
    for (i = 0; i < req->ref.len; i++)
        if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-",
                    req->ref.p[i])
            || !req->ref.p[i])
            return rc_set(ri, RC_MALFORMED, "ref", "letters, digits, . _ - only");
    return RC_OK;
}

/* The account client c knows as sub. */
static enum rc
resolve(struct app *app, struct arena *a, const struct policy_client *c, struct span sub,
        struct account *acct, struct rc_info *ri)
{
    struct span k = subrev_key(a, sub, c->id), id;
    const char *idc;
    enum rc rc;

    if (!k.p)
        return RC_NOMEM;
    if ((rc = store_get(app->store, a, k, &id)) == RC_NOT_FOUND)
        return rc_set(ri, RC_NOT_FOUND, "sub", "unknown to this client");
    if (rc != RC_OK)
        return rc;
    if (!(idc = arena_span_dup(a, id)))
        return RC_NOMEM;
    rc = account_get(app, a, idc, acct);
    if (rc == RC_NOT_FOUND || (rc == RC_OK && acct->disabled))
        return rc_set(ri, RC_NOT_FOUND, "sub", "no longer a usable account");
    return rc;
}

static enum rc
send_notice(struct app *app, struct arena *a, const struct policy_client *c,
            const struct notify_req *req, struct rc_info *ri)
{
    struct account acct;
    struct notice m;
    enum rc rc;

    if (!has_notify_scope(c))
        return rc_set(ri, RC_DENIED, "client", "scope notify.send is not registered");
    if ((rc = check_req(req, ri)) != RC_OK)
        return rc;
    if (!app->notify)
        return rc_set(ri, RC_UNSUPPORTED, "notify", "notices are not configured");
    if ((rc = resolve(app, a, c, req->sub, &acct, ri)) != RC_OK)
        return rc;
    OPENSSL_cleanse(acct.id_number, sizeof(acct.id_number));
    if (!acct.phone || !*acct.phone)
        return rc_set(ri, RC_CONFLICT, "sub", "no phone number on file");
    m = (struct notice){.to = span_str(acct.phone),
                        .text = req->text,
                        .sender = span_str(c->id),
                        .ref = req->ref.p ? req->ref : SPAN(""),
                        .ts = clock_now(app->clock)};
    if ((rc = notify_send(app->notify, &m)) != RC_OK)
        return rc_set(ri, rc, "notify", "the gateway did not accept the notice");
    return RC_OK;
}

enum rc
notify_citizen(struct app *app, struct arena *a, const struct policy_client *c,
               const struct notify_req *req, struct rc_info *ri)
{
    enum rc rc = send_notice(app, a, c, req, ri);
    struct log_rec *lr = log_begin(LOG_INFO, "notify");

    log_str(lr, "client", c->id);
    log_span(lr, "ref",
             !req->ref.p                      ? SPAN("")
             : req->ref.len <= NOTICE_REF_MAX ? req->ref
                                              : SPAN("(long)"));
    log_str(lr, "rc", rc_name(rc));
    if (rc != RC_OK && ri)
        log_str(lr, "why", ri->msg);
    log_end(lr);
    return rc;
}
