/* The citizen's access log (flow/access_log.h). */
#include "flow/access_log.h"

#include <string.h>

#include "conf/policy.h"
#include "core/auditlog.h"
#include "flow/audit.h"
#include "flow/session.h"
#include "port/store.h"

/* r's field name, or NULL when absent or empty. */
static const char *
field(const struct auditlog_rec *r, const char *name)
{
    const char *v = auditlog_field(r, name);

    return v && *v ? v : NULL;
}

/* The name a citizen reads for purpose code: the policy's `[purpose CODE]` name (with its
 * English name beside it when it has one), else the code itself. */
static const char *
purpose_name(struct app *app, struct arena *a, const char *code)
{
    struct policy *p;
    const struct policy_purpose *pp;
    const char *out;

    if (!code)
        return NULL;
    p = app_policy_get(app);
    pp = p ? policy_purpose(p, span_str(code)) : NULL;
    if (pp && pp->name && pp->name_en)
        out = arena_printf(a, "%s %s", pp->name, pp->name_en);
    else
        out = arena_printf(a, "%s", pp && pp->name ? pp->name : code);
    app_policy_put(p);
    return out;
}

static const char *
service(struct app *app, struct arena *a, const char *client)
{
    return client ? account_page_client_name(app, a, client) : NULL;
}

void
access_log_entry(struct app *app, struct arena *a, const struct auditlog_rec *r,
                 struct access_entry *e)
{
    static const struct {
        const char *ev;
        enum access_kind kind;
    } kinds[] = {
        {ACCESS_EV_LOOKUP, ACCESS_LOOKUP},
        {ACCESS_EV_CONSENT_RQ, ACCESS_CONSENT_REQUEST},
        {ACCESS_EV_CONSENT_AN, ACCESS_CONSENT_ANSWER},
        {ACCESS_EV_ACT, ACCESS_ACT},
        {ACCESS_EV_RELEASE, ACCESS_RELEASE},
        {ACCESS_EV_CARD, ACCESS_CARD_LOGIN},
    };

    memset(e, 0, sizeof(*e));
    e->seq = r->seq;
    e->ts = r->ts;
    e->ev = r->ev;
    e->kind = ACCESS_OTHER;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(r->ev, kinds[i].ev) == 0)
            e->kind = kinds[i].kind;
    if (e->kind == ACCESS_OTHER)
        return; /* its name and time only: no field of an unknown event is shown */
    e->agent_name = field(r, "agent_name"); /* token.act names its agent by sub only: none */
    e->emp = field(r, "emp");
    e->service = service(app, a, field(r, "client"));
    e->audience = field(r, "audience");
    e->purpose = purpose_name(app, a, field(r, "purpose"));
    e->outcome = field(r, "outcome");
    e->by = field(r, "by");
    e->idn = field(r, "idn");
    e->via = field(r, "via");
    e->kiosk = field(r, "kiosk");
    e->location = field(r, "location");
}

enum rc
access_log_view(struct app *app, struct arena *a, const struct account_ctx *ctx, uint64_t before,
                struct access_view *v, struct account_result *out)
{
    struct session s;
    struct auditlog_rec *recs;
    size_t n;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    memset(v, 0, sizeof(*v));
    if (before > (uint64_t)STORE_INDEX_SCORE_MAX) {
        out->kind = ACCOUNT_ERROR;
        return rc_fail(&out->why, RC_MALFORMED, RC_WHY_PARAM, "before", "out of range");
    }
    if ((rc = session_load(app, a, ctx->session_cookie, &s)) == RC_NOT_FOUND)
        return account_page_login(app, a, ctx, out);
    if (rc != RC_OK) {
        out->kind = ACCOUNT_ERROR;
        return rc_fail(&out->why, rc, RC_WHY_NONE, NULL, "the session cannot be read");
    }
    session_touch(app, a, &s);
    rc = audit_account_records(app->store, a, s.account_id, before, ACCESS_LOG_PAGE, &recs, &n,
                               &v->older);
    if (rc == RC_OK && n && !(v->entries = arena_alloc(a, n * sizeof(*v->entries))))
        rc = RC_NOMEM;
    if (rc != RC_OK) {
        out->kind = ACCOUNT_ERROR;
        return rc_fail(&out->why, rc, RC_WHY_NONE, NULL, "the access log cannot be read");
    }
    for (size_t i = 0; i < n; i++)
        access_log_entry(app, a, &recs[i], &v->entries[i]);
    v->n = n;
    v->first = before == 0;
    out->kind = ACCOUNT_VIEW;
    return RC_OK;
}
