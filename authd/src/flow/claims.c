#include "flow/claims.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/authz.h"
#include "core/mask.h"
#include "flow/audit.h"
#include "log/log.h"

/* Sets one claim from the account; unknown names and empty values are left out. */
static void
add_claim(json_t *o, const char *name, const struct account *ac, bool *idn)
{
    char buf[32];

    if (strcmp(name, "name") == 0 && ac->name && *ac->name) {
        json_object_set_new(o, "name", json_string(ac->name));
    } else if (strcmp(name, "birthdate") == 0 && ac->birth_ymd) {
        snprintf(buf, sizeof(buf), "%04u-%02u-%02u", (unsigned)(ac->birth_ymd / 10000),
                 (unsigned)(ac->birth_ymd / 100 % 100), (unsigned)(ac->birth_ymd % 100));
        json_object_set_new(o, "birthdate", json_string(buf));
    } else if (strcmp(name, "gender") == 0 && (ac->sex == 'M' || ac->sex == 'F')) {
        json_object_set_new(o, "gender", json_string(ac->sex == 'M' ? "male" : "female"));
    } else if (strcmp(name, "phone_number") == 0 && ac->phone && *ac->phone) {
        /* E.164 as OIDC Core §5.1 recommends; stored numbers are mainland mobiles */
        if (ac->phone[0] == '+')
            json_object_set_new(o, "phone_number", json_string(ac->phone));
        else
            json_object_set_new(o, "phone_number", json_pack("s++", "+86", ac->phone, ""));
    } else if (strcmp(name, "phone_number_verified") == 0 && ac->phone && *ac->phone) {
        json_object_set_new(o, "phone_number_verified", json_false()); /* no OTP yet */
    } else if (strcmp(name, "id_number") == 0 && ac->id_number[0]) {
        json_object_set_new(o, "id_number", json_string(ac->id_number));
        *idn = true;
    }
}

enum rc
claims_add_user(json_t *o, const struct policy *p, const struct policy_client *c, struct span scope,
                const struct account *acct, bool *released_id_number)
{
    *released_id_number = false;
    for (size_t i = 0; i < p->nscopes; i++) {
        const struct policy_scope *s = &p->scopes[i];
        if (!authz_list_has(scope, s->name) || !strlist_has(&c->scopes, span_str(s->name)))
            continue;
        for (size_t k = 0; k < s->claims.n; k++) {
            const char *name = s->claims.v[k];
            if (strcmp(name, "id_number") == 0
                && (!c->id_number_allowed || !authz_list_has(scope, "id_number")))
                continue;
            add_claim(o, name, acct, released_id_number);
        }
    }
    return RC_OK;
}

enum rc
claims_log_idn_release(struct app *app, const char *client_id, const char *account_id,
                       const char *id_number, const char *jti, const char *via)
{
    char m[MASK_IDNUM_SIZE];
    struct log_rec *lr = log_begin(LOG_INFO, "claims.id_number");
    const char *kv[10];
    enum rc rc;

    mask_idnum(span_str(id_number), m);
    log_str(lr, "client", client_id);
    log_str(lr, "idn", m);
    log_str(lr, "jti", jti);
    log_str(lr, "via", via);
    log_end(lr);
    kv[0] = "client", kv[1] = client_id, kv[2] = "acct", kv[3] = account_id;
    kv[4] = "idn", kv[5] = m, kv[6] = "jti", kv[7] = jti ? jti : "";
    kv[8] = "via", kv[9] = via;
    rc = audit_append(app, "claims.id_number", kv, 10);
    return rc == RC_OK ? RC_OK : RC_UNAVAILABLE;
}
