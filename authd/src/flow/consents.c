/* Remembered consents (see consents.h). */
#include "flow/consents.h"

#include <stdlib.h>
#include <string.h>

#include "conf/policy.h"
#include "flow/refresh.h"
#include "log/log.h"
#include "port/store.h"

struct span
consents_key(struct arena *a, const char *account_id, const char *client_id)
{
    char *suffix = arena_printf(a, ":%s", client_id);

    return suffix ? store_key(a, "consent", span_str(account_id), suffix) : (struct span){NULL, 0};
}

static struct span
index_key(struct arena *a, const char *account_id)
{
    return store_key(a, "consents", span_str(account_id), NULL);
}

void
consents_remember(struct app *app, struct arena *a, const char *account_id, const char *client_id,
                  const char *scope)
{
    struct policy *p = app_policy_get(app);
    uint32_t ttl = p ? p->tokens.consent_ttl : 0;
    struct span key = consents_key(a, account_id, client_id), idx = index_key(a, account_id);

    app_policy_put(p);
    if (!ttl || !key.p || !idx.p)
        return;
    if (store_put(app->store, key, span_str(scope), ttl, 0) == RC_OK)
        store_set_add(app->store, idx, span_str(client_id), ttl);
}

static int
by_client(const void *x, const void *y)
{
    return strcmp(((const struct consent *)x)->client_id, ((const struct consent *)y)->client_id);
}

enum rc
consents_list(struct app *app, struct arena *a, const char *account_id, struct consent **out,
              size_t *n)
{
    struct span idx = index_key(a, account_id), *m = NULL, scope;
    size_t nm = 0, k = 0;
    struct consent *v;
    enum rc rc;

    *out = NULL, *n = 0;
    if (!idx.p)
        return RC_NOMEM;
    if ((rc = store_set_members(app->store, a, idx, &m, &nm)) != RC_OK)
        return rc == RC_NOT_FOUND ? RC_OK : rc;
    if (nm > CONSENTS_LIST_MAX)
        nm = CONSENTS_LIST_MAX;
    if (!(v = arena_alloc(a, (nm ? nm : 1) * sizeof(*v))))
        return RC_NOMEM;
    for (size_t i = 0; i < nm; i++) {
        const char *cid = arena_span_dup(a, m[i]);
        if (!cid)
            return RC_NOMEM;
        rc = store_get(app->store, a, consents_key(a, account_id, cid), &scope);
        if (rc == RC_NOT_FOUND) { /* expired: leaves the list */
            store_set_rem(app->store, idx, m[i]);
            continue;
        }
        if (rc != RC_OK)
            return rc;
        if (!(v[k].scope = arena_span_dup(a, scope)))
            return RC_NOMEM;
        v[k++].client_id = cid;
    }
    qsort(v, k, sizeof(*v), by_client);
    *out = v, *n = k;
    return RC_OK;
}

enum rc
consents_revoke(struct app *app, struct arena *a, const char *account_id, const char *client_id)
{
    struct span key = consents_key(a, account_id, client_id), idx = index_key(a, account_id);
    struct policy *p;
    size_t n = 0;
    enum rc rc;

    if (!key.p || !idx.p)
        return RC_NOMEM;
    rc = store_del(app->store, key);
    if (rc != RC_OK && rc != RC_NOT_FOUND)
        return rc;
    rc = store_set_rem(app->store, idx, span_str(client_id));
    if (rc != RC_OK && rc != RC_NOT_FOUND)
        return rc;
    if (!(p = app_policy_get(app)))
        return RC_UNAVAILABLE;
    rc = rtf_revoke_client(app, a, p, account_id, client_id, &n);
    app_policy_put(p);
    struct log_rec *lr = log_begin(rc == RC_OK ? LOG_INFO : LOG_ERROR, "account.consent_revoked");
    log_str(lr, "client", client_id);
    log_int(lr, "families", (int64_t)n);
    log_str(lr, "rc", rc_name(rc));
    log_end(lr);
    return rc;
}
