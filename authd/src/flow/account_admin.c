/* Operator actions on accounts (authctl user ...) and the demo citizens of a dev setup. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>

#include "core/mask.h"
#include "flow/account_int.h"
#include "log/log.h"
#include "port/store.h"
#include "util/num.h"

enum rc
account_find(struct app *app, struct arena *a, struct span id_number, struct account *out,
             struct rc_info *ri)
{
    char acct[ACCOUNT_ID_LEN + 1];
    enum rc rc;

    if ((rc = account_id_of(app, id_number, acct, ri)) != RC_OK)
        return rc;
    return account_get(app, a, acct, out);
}

enum rc
account_set_disabled(struct app *app, struct arena *a, struct span id_number, bool disabled,
                     struct rc_info *ri)
{
    char acct[ACCOUNT_ID_LEN + 1];
    struct store_field f = {SPAN("status"), disabled ? SPAN("disabled") : SPAN("active")};
    struct span key;
    enum rc rc;

    if ((rc = account_id_of(app, id_number, acct, ri)) != RC_OK)
        return rc;
    if (!(key = account_key(a, acct, NULL)).p)
        return RC_NOMEM;
    return store_rec_put(app->store, key, &f, 1, 0, STORE_XX | STORE_DURABLE);
}

enum rc
account_unlock(struct app *app, struct arena *a, struct span id_number, struct rc_info *ri)
{
    char acct[ACCOUNT_ID_LEN + 1];
    struct store_op ops[3] = {
        {.kind = STORE_OP_DEL}, {.kind = STORE_OP_DEL}, {.kind = STORE_OP_DEL}};
    enum rc rc;

    if ((rc = account_id_of(app, id_number, acct, ri)) != RC_OK)
        return rc;
    ops[0].key = account_key(a, acct, ":fail");
    ops[1].key = account_key(a, acct, ":lock"); /* the lockout of older versions */
    ops[2].key = store_key(a, "rl", span_str(acct), ":login:idn"); /* flow/ratelimit.h */
    if (!ops[0].key.p || !ops[1].key.p || !ops[2].key.p)
        return RC_NOMEM;
    return store_batch(app->store, ops, 3);
}

enum rc
account_lock_state(struct app *app, struct arena *a, struct span id_number,
                   struct account_lock *out, struct rc_info *ri)
{
    char acct[ACCOUNT_ID_LEN + 1];
    struct span v, fail;
    uint64_t n = 0;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = account_id_of(app, id_number, acct, ri)) != RC_OK)
        return rc;
    if (!(fail = account_key(a, acct, ":fail")).p)
        return RC_NOMEM;
    rc = store_get(app->store, a, fail, &v);
    if (rc == RC_OK && num_parse_u64(v, 0, INT64_MAX, &n) == RC_OK)
        out->failures = (int64_t)n;
    else if (rc != RC_OK && rc != RC_NOT_FOUND)
        return rc;
    return RC_OK;
}

static struct span
json_span(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    return json_is_string(v) ? span_of(json_string_value(v), json_string_length(v))
                             : (struct span){NULL, 0};
}

/* Registers one citizen of the demo file; RC_CONFLICT (already there) counts as done. */
static void
seed_one(struct app *app, json_t *c, size_t i)
{
    struct register_req req = {json_span(c, "id_number"), json_span(c, "name"),
                               json_span(c, "phone"), json_span(c, "password")};
    struct rc_info ri = {0};
    struct account acct;
    struct arena a;
    struct log_rec *lr;
    enum rc rc;

    arena_init(&a, 1u << 20);
    rc = account_add(app, &a, &req, NULL, &acct, &ri);
    arena_clear(&a);
    if (rc == RC_OK || rc == RC_CONFLICT)
        return;
    lr = log_begin(LOG_WARN, "account.seed");
    log_int(lr, "index", (long long)i);
    log_str(lr, "rc", rc_name(rc));
    log_str(lr, "field", ri.field);
    log_str(lr, "reason", ri.msg);
    log_end(lr);
}

enum rc
account_seed_demo(struct app *app, const char *json_path)
{
    json_error_t err;
    json_t *list = json_load_file(json_path, JSON_REJECT_DUPLICATES, &err);
    size_t i;
    json_t *c;

    if (!list) {
        log_msg(LOG_WARN, "account.seed", "error", err.text);
        return RC_NOT_FOUND;
    }
    if (!json_is_array(list)) {
        json_decref(list);
        log_msg(LOG_WARN, "account.seed", "error", "demo_accounts: not a JSON list");
        return RC_MALFORMED;
    }
    json_array_foreach(list, i, c)
    {
        if (json_is_object(c))
            seed_one(app, c, i);
    }
    json_decref(list);
    return RC_OK;
}
