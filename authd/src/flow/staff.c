/* Staff accounts (flow/staff.h). */
#include "flow/staff.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "conf/policy.h"
#include "core/mask.h"
#include "flow/account_int.h"
#include "flow/audit.h"
#include "flow/grant.h"
#include "flow/ratelimit.h"
#include "log/log.h"
#include "port/clock.h"
#include "port/secrets.h"
#include "util/num.h"
#include "util/utf8.h"

#define STAFF_INDEX_TAG "all"

bool
staff_emp_valid(struct span emp)
{
    if (emp.len == 0 || emp.len > STAFF_EMP_MAX)
        return false;
    for (size_t i = 0; i < emp.len; i++) {
        char c = ((const char *)emp.p)[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return true;
}

bool
staff_id_is(const char *id)
{
    size_t n = strlen(STAFF_ID_PREFIX);

    return id && strncmp(id, STAFF_ID_PREFIX, n) == 0 && staff_emp_valid(span_str(id + n));
}

static struct span
record_key(struct arena *a, struct span emp)
{
    return store_key(a, "staff", emp, NULL);
}

static struct span
index_key(struct arena *a)
{
    return store_key(a, "staffidx", SPAN(STAFF_INDEX_TAG), NULL);
}

static enum rc
enrol_key(struct app *app, struct arena *a, struct span token, struct span *key)
{
    struct span parts[2] = {SPAN("staffen"), token};
    char h[65];
    enum rc rc;

    if (token.len != STAFF_ENROL_TOK_LEN || !span_is_b64url(token))
        return RC_NOT_FOUND;
    if ((rc = secrets_hmac_hex(app->secrets, SECRET_TOKEN, parts, 2, h)) != RC_OK)
        return rc;
    *key = store_key(a, "staffen", span_of(h, 64), NULL);
    return key->p ? RC_OK : RC_NOMEM;
}

/* *out from a stored record of emp. */
static enum rc
from_record(struct arena *a, struct span emp, const struct store_record *rec, struct staff *out)
{
    struct span name = store_rec_field(rec, "name"), role = store_rec_field(rec, "role");
    struct span quota = store_rec_field(rec, "quota"), created = store_rec_field(rec, "created");
    uint64_t q = 0, t = 0;

    memset(out, 0, sizeof(*out));
    if (!staff_emp_valid(emp) || !name.p || !role.p)
        return RC_INTERNAL;
    memcpy(out->emp, emp.p, emp.len);
    snprintf(out->account_id, sizeof(out->account_id), "%s%s", STAFF_ID_PREFIX, out->emp);
    out->name = arena_strndup(a, (const char *)name.p, name.len);
    out->role = arena_strndup(a, (const char *)role.p, role.len);
    out->disabled = !span_eq_str(store_rec_field(rec, "status"), "active");
    out->enrolled = store_rec_field(rec, "pw").len > 0;
    if (quota.len)
        (void)num_parse_u64(quota, 0, UINT32_MAX, &q);
    if (created.len)
        (void)num_parse_u64(created, 0, INT64_MAX, &t);
    out->quota = (uint32_t)q, out->created = (int64_t)t;
    return out->name && out->role ? RC_OK : RC_NOMEM;
}

enum rc
staff_get(struct app *app, struct arena *a, struct span emp, struct staff *out)
{
    struct store_record rec;
    struct span key;
    enum rc rc;

    if (!staff_emp_valid(emp))
        return RC_NOT_FOUND;
    if (!(key = record_key(a, emp)).p)
        return RC_NOMEM;
    if ((rc = store_rec_get(app->store, a, key, &rec)) != RC_OK)
        return rc;
    return from_record(a, emp, &rec, out);
}

enum rc
staff_of_account(struct app *app, struct arena *a, const char *account_id, struct staff *out)
{
    if (!staff_id_is(account_id))
        return RC_NOT_FOUND;
    return staff_get(app, a, span_str(account_id + strlen(STAFF_ID_PREFIX)), out);
}

/* One audit record of a staff action: emp, role, by (and quota when set). */
static enum rc
audit_staff(struct app *app, const char *ev, const struct staff *s, const char *by,
            const char *quota)
{
    const char *kv[] = {"emp", s->emp, "role", s->role, "by", by ? by : "", "quota", quota};

    return audit_append(app, ev, kv, quota ? 8 : 6);
}

/* A fresh enrolment token for emp, stored; *link in a. */
static enum rc
new_link(struct app *app, struct arena *a, struct span emp, const char **link)
{
    char tok[STAFF_ENROL_TOK_LEN + 8];
    struct span key;
    enum rc rc;

    if ((rc = grant_random_token(app, 32, tok, sizeof(tok))) != RC_OK)
        return rc;
    if ((rc = enrol_key(app, a, span_str(tok), &key)) == RC_OK)
        rc = store_put(app->store, key, emp, STAFF_ENROL_TTL_S, STORE_NX | STORE_DURABLE);
    if (rc == RC_OK
        && !(*link = arena_printf(a, "%s%s?t=%s", app->cfg->issuer, STAFF_ENROL_PATH, tok)))
        rc = RC_NOMEM;
    OPENSSL_cleanse(tok, sizeof(tok));
    return rc == RC_CONFLICT ? RC_INTERNAL : rc;
}

enum rc
staff_add(struct app *app, struct arena *a, struct span emp, struct span name, struct span role,
          const char *by, const char **link, struct rc_info *ri)
{
    struct policy *p = app_policy_get(app);
    bool known_role = p && policy_role(p, role);
    char created[24];
    struct staff s = {0};
    enum rc rc;

    app_policy_put(p);
    if (!staff_emp_valid(emp))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "emp", "1-16 letters and digits");
    if (name.len == 0 || name.len > STAFF_NAME_MAX || !utf8_valid(name.p, name.len)
        || span_has_nul(name))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "name", "1-64 bytes of UTF-8");
    if (!known_role)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_ROLE, "role", "not a [role] of the policy");
    snprintf(created, sizeof(created), "%" PRId64, clock_now(app->clock));
    struct store_field f[] = {
        {SPAN("name"), name},   {SPAN("role"), role},      {SPAN("status"), SPAN("active")},
        {SPAN("pw"), SPAN("")}, {SPAN("quota"), SPAN("")}, {SPAN("created"), span_str(created)},
    };
    struct span key = record_key(a, emp), ix = index_key(a);
    if (!key.p || !ix.p)
        return rc_because(ri, RC_NOMEM, RC_WHY_NONE);
    rc = store_rec_put(app->store, key, f, sizeof(f) / sizeof(f[0]), 0, STORE_NX | STORE_DURABLE);
    if (rc == RC_CONFLICT)
        return rc_fail(ri, RC_CONFLICT, RC_WHY_PARAM, "emp", "already a staff member");
    if (rc == RC_OK)
        rc = store_set_add(app->store, ix, emp, 0);
    if (rc == RC_OK && (rc = from_record(a, emp, &(struct store_record){6, f}, &s)) == RC_OK)
        rc = audit_staff(app, "staff.add", &s, by, NULL);
    if (rc == RC_OK)
        rc = new_link(app, a, emp, link);
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

enum rc
staff_relink(struct app *app, struct arena *a, struct span emp, const char **link,
             struct rc_info *ri)
{
    struct staff s;
    enum rc rc = staff_get(app, a, emp, &s);

    if (rc == RC_OK)
        rc = new_link(app, a, emp, link);
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, rc, RC_WHY_PARAM, "emp", "no such staff member");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

static int
cmp_emp(const void *x, const void *y)
{
    return strcmp(((const struct staff *)x)->emp, ((const struct staff *)y)->emp);
}

enum rc
staff_list(struct app *app, struct arena *a, struct staff **out, size_t *n)
{
    struct span *m = NULL, ix = index_key(a);
    size_t nm = 0, k = 0;
    enum rc rc;

    *out = NULL, *n = 0;
    if (!ix.p)
        return RC_NOMEM;
    if ((rc = store_set_members(app->store, a, ix, &m, &nm)) == RC_NOT_FOUND)
        return RC_OK;
    if (rc != RC_OK)
        return rc;
    if (nm && !(*out = arena_alloc(a, nm * sizeof(**out))))
        return RC_NOMEM;
    for (size_t i = 0; i < nm; i++) {
        rc = staff_get(app, a, m[i], &(*out)[k]);
        if (rc == RC_OK)
            k++;
        else if (rc != RC_NOT_FOUND)
            return rc;
    }
    qsort(*out, k, sizeof(**out), cmp_emp);
    *n = k;
    return RC_OK;
}

/* Merges fields f into emp's existing record. */
static enum rc
update(struct app *app, struct arena *a, struct span emp, const struct store_field *f, size_t n,
       struct staff *s, struct rc_info *ri)
{
    struct span key;
    enum rc rc = staff_get(app, a, emp, s);

    if (rc == RC_OK && !(key = record_key(a, emp)).p)
        rc = RC_NOMEM;
    if (rc == RC_OK)
        rc = store_rec_put(app->store, key, f, n, 0, STORE_XX | STORE_DURABLE);
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, rc, RC_WHY_PARAM, "emp", "no such staff member");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}

enum rc
staff_set_disabled(struct app *app, struct arena *a, struct span emp, bool disabled, const char *by,
                   struct rc_info *ri)
{
    struct store_field f = {SPAN("status"), disabled ? SPAN("disabled") : SPAN("active")};
    struct staff s;
    enum rc rc = update(app, a, emp, &f, 1, &s, ri);

    if (rc == RC_OK)
        rc = audit_staff(app, disabled ? "staff.disable" : "staff.enable", &s, by, NULL);
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, ri && ri->why ? ri->why : RC_WHY_NONE);
}

enum rc
staff_set_quota(struct app *app, struct arena *a, struct span emp, uint32_t quota, const char *by,
                struct rc_info *ri)
{
    char q[16];
    struct store_field f;
    struct staff s;
    enum rc rc;

    snprintf(q, sizeof(q), "%" PRIu32, quota);
    f = (struct store_field){SPAN("quota"), quota ? span_str(q) : SPAN("")};
    if ((rc = update(app, a, emp, &f, 1, &s, ri)) == RC_OK)
        rc = audit_staff(app, "staff.quota", &s, by, q);
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, ri && ri->why ? ri->why : RC_WHY_NONE);
}

enum rc
staff_enrol_find(struct app *app, struct arena *a, struct span token, struct staff *out)
{
    struct span key, emp;
    enum rc rc = enrol_key(app, a, token, &key);

    if (rc == RC_OK)
        rc = store_get(app->store, a, key, &emp);
    if (rc == RC_OK)
        rc = staff_get(app, a, emp, out);
    if (rc == RC_OK && out->disabled)
        rc = RC_NOT_FOUND;
    return rc == RC_MALFORMED || rc == RC_INTERNAL ? RC_NOT_FOUND : rc;
}

enum rc
staff_enrol(struct app *app, struct arena *a, struct span token, struct span password,
            struct rc_info *ri)
{
    char phc[ACCOUNT_PHC_MAX];
    struct staff s;
    struct span key, emp;
    enum rc rc = staff_enrol_find(app, a, token, &s);

    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, rc, RC_WHY_PENDING, "t", "unknown, used or expired");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if ((rc = account_pw_policy(app, password, s.emp, 0, SPAN(""), ri)) != RC_OK)
        return rc;
    if ((rc = account_hash_password(app, password, phc)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    /* the token is used up first: two tabs posting it set one password */
    if ((rc = enrol_key(app, a, token, &key)) == RC_OK)
        rc = store_take(app->store, a, key, &emp);
    if (rc == RC_OK) {
        struct store_field f = {SPAN("pw"), span_str(phc)};
        rc = update(app, a, emp, &f, 1, &s, ri);
    }
    OPENSSL_cleanse(phc, sizeof(phc));
    if (rc == RC_OK)
        rc = audit_staff(app, "staff.enrol", &s, s.emp, NULL);
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, rc, RC_WHY_PENDING, "t", "unknown, used or expired");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, ri && ri->why ? ri->why : RC_WHY_NONE);
}

enum rc
staff_login(struct app *app, struct arena *a, struct span emp, struct span password,
            const char *client_ip, struct staff *out, struct rc_info *ri, uint32_t *retry_s)
{
    const struct config *cfg = app->cfg;
    struct ratelimit l[2] = {
        {"login:ip", span_str(client_ip ? client_ip : ""), cfg->login_rate_per_ip, 0},
        {"staff:emp", staff_emp_valid(emp) ? emp : SPAN("-"), cfg->rate_login_per_idnum, 0},
    };
    struct store_record rec;
    const char *phc = NULL;
    struct span key, pw;
    enum rc rc;

    *retry_s = 0;
    if (password.len > ACCOUNT_PASSWORD_MAX)
        return rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, NULL, "wrong number or password");
    if ((rc = ratelimit_take(app, a, l, 2, retry_s, ri)) != RC_OK)
        return rc == RC_LIMITED ? rc_because(ri, rc, RC_WHY_RATE) : rc_because(ri, rc, RC_WHY_NONE);
    rc = staff_emp_valid(emp) ? RC_OK : RC_NOT_FOUND;
    if (rc == RC_OK && !(key = record_key(a, emp)).p)
        rc = RC_NOMEM;
    if (rc == RC_OK && (rc = store_rec_get(app->store, a, key, &rec)) == RC_OK
        && (pw = store_rec_field(&rec, "pw")).len
        && !(phc = arena_strndup(a, (const char *)pw.p, pw.len)))
        rc = RC_NOMEM;
    if (rc != RC_OK && rc != RC_NOT_FOUND)
        return rc_because(ri, rc, RC_WHY_NONE);
    /* the same argon2id work for an unknown number or a member not enrolled yet */
    if (account_pw_verify(app, phc, password) != RC_OK || rc != RC_OK
        || from_record(a, emp, &rec, out) != RC_OK || out->disabled)
        return rc_fail(ri, RC_DENIED, RC_WHY_CREDENTIALS, NULL, "wrong number or password");
    return RC_OK;
}

enum rc
staff_account_op(struct arena *a, const char *id, struct store_op *op)
{
    if (!staff_id_is(id))
        return RC_NOT_FOUND;
    *op = (struct store_op){.kind = STORE_OP_REC_GET,
                            .key = record_key(a, span_str(id + strlen(STAFF_ID_PREFIX)))};
    return op->key.p ? RC_OK : RC_NOMEM;
}

enum rc
staff_account_from_call(struct arena *a, const char *id, const struct store_call *c,
                        struct account *out)
{
    struct staff s;

    memset(out, 0, sizeof(*out));
    if (c->rc != RC_OK)
        return c->rc;
    if (from_record(a, span_str(id + strlen(STAFF_ID_PREFIX)), &c->rec, &s) != RC_OK)
        return RC_INTERNAL;
    snprintf(out->id, sizeof(out->id), "%s", s.account_id);
    out->name = s.name;
    out->phone = out->phone_verified = "";
    out->ial = IAL2; /* the employer's record, not the population base */
    out->disabled = s.disabled;
    out->created = s.created;
    return RC_OK;
}
