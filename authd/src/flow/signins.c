/* Recent sign-ins and failed attempts of an account (see signins.h). */
#include "flow/signins.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonout.h"
#include "flow/account.h"
#include "log/log.h"
#include "port/store.h"

static struct span
record_key(struct arena *a, const char *account_id)
{
    return store_key(a, "signins", span_str(account_id), NULL);
}

struct bounds {
    size_t max;
    int64_t oldest; /* entries before this time are dropped */
    uint32_t ttl;
};

static struct bounds
bounds(const struct app *app, int64_t now)
{
    uint32_t days = app->cfg->signin_history_days ? app->cfg->signin_history_days : 90;
    size_t max = app->cfg->signin_history_max ? app->cfg->signin_history_max : 20;

    return (struct bounds){max < SIGNINS_CAP ? max : SIGNINS_CAP, now - (int64_t)days * 86400,
                           days * 86400u};
}

/* The stored array (a new empty one when absent or damaged). NULL: RC_UNAVAILABLE or out of
 * memory, in *rc. */
static json_t *
load(struct app *app, struct arena *a, struct span key, enum rc *rc)
{
    struct span v;
    json_t *j = NULL;

    *rc = store_get(app->store, a, key, &v);
    if (*rc == RC_OK)
        j = json_loadb((const char *)v.p, v.len, 0, NULL);
    else if (*rc != RC_NOT_FOUND)
        return NULL;
    *rc = RC_OK;
    if (!json_is_array(j)) {
        json_decref(j);
        j = json_array();
    }
    if (!j)
        *rc = RC_NOMEM;
    return j;
}

/* Keeps the first b.max entries of arr that are objects no older than b.oldest. */
static void
trim(json_t *arr, struct bounds b)
{
    size_t i = 0;

    while (i < json_array_size(arr)) {
        json_t *t = json_object_get(json_array_get(arr, i), "t");
        if (i >= b.max || !json_is_integer(t) || json_integer_value(t) < b.oldest)
            json_array_remove(arr, i);
        else
            i++;
    }
}

static json_t *
entry(const struct signin_event *e, int64_t now)
{
    char ip[MASK_IP_SIZE], acr[LOA_ACR_MAX] = "";
    const char *ch = e->client_id && strlen(e->client_id) <= SIGNINS_CHANNEL_MAX ? e->client_id
                                                                                  : "";

    mask_ip(span_str(e->client_ip ? e->client_ip : ""), ip);
    if (e->ok)
        loa_format(e->loa, acr);
    return json_pack("{s:I,s:b,s:s,s:s,s:s}", "t", (json_int_t)now, "ok", e->ok, "ch", ch, "ip",
                     ip, "acr", acr);
}

static void
log_failure(const char *what, enum rc rc)
{
    struct log_rec *lr = log_begin(LOG_WARN, "signins.write");

    log_str(lr, "step", what);
    log_str(lr, "rc", rc_name(rc));
    log_end(lr);
}

void
signins_record(struct app *app, struct arena *a, const char *account_id,
               const struct signin_event *e)
{
    int64_t now = clock_now(app->clock);
    struct bounds b = bounds(app, now);
    struct span key = record_key(a, account_id);
    json_t *arr = NULL, *ent = NULL;
    char *text = NULL;
    enum rc rc = RC_NOMEM;

    if (!key.p || !(arr = load(app, a, key, &rc)))
        goto out;
    rc = RC_NOMEM;
    if (!(ent = entry(e, now)) || json_array_insert_new(arr, 0, ent) != 0)
        goto out;
    trim(arr, b);
    if (!(text = jsonout_compact(arr)))
        goto out;
    rc = store_put(app->store, key, span_str(text), b.ttl, 0);
out:
    if (rc != RC_OK)
        log_failure(arr ? "put" : "get", rc);
    free(text);
    json_decref(arr);
}

/* The string member name of o copied into a ("" when absent). */
static const char *
str_dup(struct arena *a, const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));

    return arena_printf(a, "%s", s ? s : "");
}

enum rc
signins_list(struct app *app, struct arena *a, const char *account_id, struct signin **out,
             size_t *n)
{
    struct bounds b = bounds(app, clock_now(app->clock));
    struct span key = record_key(a, account_id);
    json_t *arr;
    struct signin *v = NULL;
    size_t k = 0;
    enum rc rc;

    *out = NULL, *n = 0;
    if (!key.p)
        return RC_NOMEM;
    if (!(arr = load(app, a, key, &rc)))
        return rc;
    trim(arr, b);
    if (json_array_size(arr) && !(v = arena_alloc(a, json_array_size(arr) * sizeof(*v))))
        rc = RC_NOMEM;
    for (size_t i = 0; v && i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        v[k] = (struct signin){json_integer_value(json_object_get(o, "t")),
                               json_is_true(json_object_get(o, "ok")), str_dup(a, o, "ch"),
                               str_dup(a, o, "ip"), str_dup(a, o, "acr")};
        if (!v[k].channel || !v[k].addr || !v[k].acr) {
            rc = RC_NOMEM;
            break;
        }
        k++;
    }
    json_decref(arr);
    if (rc == RC_OK)
        *out = v, *n = k;
    return rc;
}

void
signins_record_failure(struct app *app, struct arena *a, struct span id_number,
                       const char *client_id, const char *client_ip, enum rc rc,
                       const struct rc_info *why)
{
    char acct[ACCOUNT_ID_LEN + 1];
    struct account x;
    struct signin_event e = {false, client_id, client_ip, {0}};

    if ((rc != RC_DENIED || why->why != RC_WHY_CREDENTIALS)
        && (rc != RC_LIMITED || why->why != RC_WHY_LOCKED))
        return;
    if (account_id_of(app, id_number, acct, NULL) != RC_OK
        || account_get(app, a, acct, &x) != RC_OK)
        return;
    signins_record(app, a, acct, &e);
}
