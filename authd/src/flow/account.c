/* Accounts: real-name registration and lookup (see account.h). Login and lockout are in
 * account_login.c, passwords in account_pw.c. */
#include "flow/account.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/idnum.h"
#include "core/mask.h"
#include "core/name.h"
#include "flow/account_int.h"
#include "flow/atrest.h"
#include "flow/staff.h"
#include "log/log.h"
#include "port/popbase.h"
#include "port/secrets.h"
#include "port/store.h"
#include "util/num.h"

/* One message for every population-base refusal, so that the answer does not tell a
 * stranger whether a number exists, is cancelled, or belongs to someone else. */
#define MSG_NOT_VERIFIED "the ID number and name could not be verified"
#define MSG_TRY_LATER    "the population base cannot be reached: try again later"

/* What registration learned about the applicant, field by field. */
struct reg {
    struct idnum id;
    struct name_norm name;
    struct span phone;
    struct pop_attrs attrs;
    enum ial ial;
    char acct[ACCOUNT_ID_LEN + 1];
    char phc[ACCOUNT_PHC_MAX];
};

static enum rc check_phone_digits(struct span p);

struct span
account_key(struct arena *a, const char *id, const char *suffix)
{
    return store_key(a, "acct", span_str(id), suffix);
}

enum rc
account_phone_key(struct app *app, struct arena *a, struct span phone, struct span *key)
{
    struct span parts[2] = {SPAN("phone"), phone};
    char h[65];
    enum rc rc;

    if ((rc = secrets_hmac_hex(app->secrets, SECRET_ACCOUNT, parts, 2, h)) != RC_OK)
        return rc;
    *key = store_key(a, "acctph", span_of(h, 64), NULL);
    return key->p ? RC_OK : RC_NOMEM;
}

enum rc
account_ids_by_phone(struct app *app, struct arena *a, struct span phone, struct span **ids,
                     size_t *n)
{
    struct span key;
    enum rc rc;

    *ids = NULL, *n = 0;
    if (check_phone_digits(phone) != RC_OK || phone.len == 0)
        return RC_NOT_FOUND;
    if ((rc = account_phone_key(app, a, phone, &key)) != RC_OK)
        return rc;
    return store_set_members(app->store, a, key, ids, n);
}

/* Adds a new account to the index of its phone number (best effort: a miss only means the
 * hotline cannot find the account by its phone). */
static void
index_phone(struct app *app, struct arena *a, const char *acct, struct span phone)
{
    struct span key;

    if (phone.len == 0 || account_phone_key(app, a, phone, &key) != RC_OK
        || store_set_add(app->store, key, span_str(acct), 0) != RC_OK) {
        struct log_rec *lr = log_begin(LOG_WARN, "account.phone_index");
        log_str(lr, "acct", acct);
        log_end(lr);
    }
}

static uint32_t
today(const struct app *app)
{
    return idnum_ymd_from_unix(clock_now(app->clock), ACCOUNT_TZ_OFFSET_S);
}

/* The reason code of each core/idnum refusal. */
static enum rc_reason
idnum_why(enum idnum_reason r)
{
    switch (r) {
    case IDNUM_LENGTH:
        return RC_WHY_IDNUM_LENGTH;
    case IDNUM_CHECK_DIGIT:
        return RC_WHY_IDNUM_CHECK_DIGIT;
    case IDNUM_DATE:
        return RC_WHY_IDNUM_DATE;
    case IDNUM_PROVINCE:
        return RC_WHY_IDNUM_PROVINCE;
    default:
        return RC_WHY_IDNUM_CHARACTER;
    }
}

static enum rc
parse_idnum(uint32_t today_ymd, struct span in, struct idnum *out, struct rc_info *ri)
{
    struct idnum_info info = {.today_ymd = today_ymd};
    enum rc rc = idnum_parse(in, out, &info);

    if (rc != RC_OK)
        rc_fail(ri, rc, idnum_why(info.reason), "id_number", info.ri.msg);
    return rc;
}

enum rc
account_id_of(struct app *app, struct span id_number, char out[ACCOUNT_ID_LEN + 1],
              struct rc_info *ri)
{
    struct idnum id;
    struct span part;
    enum rc rc;

    if ((rc = parse_idnum(0, id_number, &id, ri)) != RC_OK)
        return rc;
    part = span_str(id.text);
    return secrets_hmac_hex(app->secrets, SECRET_ACCOUNT, &part, 1, out);
}

/* Phone: empty, or 11 digits starting with 1 (mainland mobile numbers). */
static enum rc
check_phone_digits(struct span p)
{
    if (p.len == 0)
        return RC_OK;
    if (p.len != 11 || p.p[0] != '1')
        return RC_MALFORMED;
    for (size_t i = 0; i < p.len; i++)
        if (p.p[i] < '0' || p.p[i] > '9')
            return RC_MALFORMED;
    return RC_OK;
}

static enum rc
check_phone(struct span p, struct rc_info *ri)
{
    if (check_phone_digits(p) != RC_OK)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PHONE, "phone",
                       "must be 11 digits starting with 1");
    return RC_OK;
}

/* The checks that need nothing but the request: number, name, phone, password. */
static enum rc
check_fields(const struct app *app, const struct register_req *req, struct reg *g,
             struct rc_info *ri)
{
    enum rc rc;

    if ((rc = parse_idnum(today(app), req->id_number, &g->id, ri)) != RC_OK)
        return rc;
    if ((rc = name_normalize(req->name, &g->name, ri)) != RC_OK)
        return rc_because(ri, rc == RC_TOO_LARGE ? RC_MALFORMED : rc, RC_WHY_NAME);
    if ((rc = check_phone(req->phone, ri)) != RC_OK)
        return rc;
    g->phone = req->phone;
    return account_pw_policy(app, req->password, g->id.text, g->id.birth_ymd, req->phone, ri);
}

/* Asks the population base; only POP_MATCH passes. */
static enum rc
check_population(struct app *app, struct reg *g, struct rc_info *ri)
{
    enum pop_answer ans = POP_UNAVAILABLE;
    enum rc rc = popbase_verify(app->pop, span_str(g->id.text), span_of(g->name.p, g->name.len),
                                &ans, &g->attrs);

    if (rc == RC_MALFORMED)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_NAME, "name", "cannot be checked");
    if (rc != RC_OK || ans == POP_UNAVAILABLE)
        return rc_set(ri, RC_UNAVAILABLE, NULL, MSG_TRY_LATER);
    if (ans != POP_MATCH)
        return rc_fail(ri, RC_DENIED, RC_WHY_NOT_VERIFIED, NULL, MSG_NOT_VERIFIED);
    g->ial = IAL3;
    return RC_OK;
}

static void
fmt_u(char *out, size_t n, unsigned long long v)
{
    snprintf(out, n, "%llu", v);
}

/* The personal fields of a record, sealed (flow/atrest.h). */
#define personal  atrest_account_fields
#define NPERSONAL ATREST_NACCOUNT

/* Seals the fields of f named in personal (in place, the blobs in a) under the current
 * data key. */
static enum rc
seal_fields(struct app *app, struct arena *a, const char *acct, struct store_field *f, size_t n)
{
    struct atrest_keys k = {0};
    char kid[ATREST_KID_MAX];
    uint32_t gen;
    enum rc rc = atrest_generation(app, a, &gen);

    if (rc != RC_OK)
        return rc;
    atrest_kid(gen, kid);
    for (size_t i = 0; i < n && rc == RC_OK; i++)
        for (size_t j = 0; j < NPERSONAL && rc == RC_OK; j++)
            if (span_eq_str(f[i].name, personal[j]))
                rc = atrest_seal(app, a, &k, kid, acct, personal[j], f[i].value, &f[i].value);
    atrest_keys_clear(&k);
    return rc;
}

/* Writes the record if the number has none yet (durably: accounts must survive a
 * failover), its personal fields sealed. RC_CONFLICT if it exists. */
static enum rc
write_account(struct app *app, struct arena *a, struct reg *g, struct account *out)
{
    char ial[24], birth[24], region[24], created[24], sex[2] = {g->attrs.sex, 0};
    int64_t now = clock_now(app->clock);
    struct store_field f[] = {
        {SPAN("id_number"), span_str(g->id.text)},
        {SPAN("name"), span_of(g->name.p, g->name.len)},
        {SPAN("phone"), g->phone},
        {SPAN("pw"), span_str(g->phc)},
        {SPAN("ial"), {0}},
        {SPAN("status"), SPAN("active")},
        {SPAN("birth"), {0}},
        {SPAN("sex"), span_str(sex)},
        {SPAN("region"), {0}},
        {SPAN("created"), {0}},
    };
    struct span key = account_key(a, g->acct, NULL);
    struct store_record rec = {sizeof(f) / sizeof(f[0]), f};
    enum rc rc;

    fmt_u(ial, sizeof(ial), (unsigned)g->ial), f[4].value = span_str(ial);
    fmt_u(birth, sizeof(birth), g->attrs.birth_ymd), f[6].value = span_str(birth);
    fmt_u(region, sizeof(region), g->attrs.region), f[8].value = span_str(region);
    fmt_u(created, sizeof(created), (unsigned long long)now), f[9].value = span_str(created);
    if (!key.p)
        return RC_NOMEM;
    if ((rc = account_from_record(app, a, g->acct, &rec, out)) != RC_OK)
        return rc;
    if ((rc = seal_fields(app, a, g->acct, f, rec.n)) != RC_OK)
        return rc;
    if ((rc = store_rec_put(app->store, key, f, rec.n, 0, STORE_NX | STORE_DURABLE)) != RC_OK)
        return rc;
    rc = seal_kid(f[0].value, &key); /* the key id the record is now under */
    if (rc == RC_OK && key.len < sizeof(out->data_kid)) {
        memcpy(out->data_kid, key.p, key.len);
        out->data_kid[key.len] = 0;
    }
    out->data_plain = false;
    index_phone(app, a, g->acct, g->phone);
    return RC_OK;
}

/* True when the stored phone_verified of acct is a plaintext number (an older version's). */
static bool
verified_phone_in_plaintext(struct app *app, struct arena *a, struct span key)
{
    struct store_record rec;
    enum seal_cipher c;
    struct span v;

    if (store_rec_get(app->store, a, key, &rec) != RC_OK)
        return false;
    v = store_rec_field(&rec, "phone_verified");
    return v.len > 0 && !seal_cipher_of(v, &c);
}

enum rc
account_reseal(struct app *app, struct arena *a, const struct account *acct)
{
    char kid[ATREST_KID_MAX];
    struct store_field f[] = {
        {SPAN("id_number"), span_str(acct->id_number)},
        {SPAN("name"), span_str(acct->name)},
        {SPAN("phone"), span_str(acct->phone)},
        {SPAN("phone_verified"), span_str(acct->phone_verified)},
    };
    struct span key = account_key(a, acct->id, NULL);
    size_t n = NPERSONAL - 1;
    uint32_t gen;
    enum rc rc;

    if (!key.p)
        return RC_NOMEM;
    if ((rc = atrest_generation(app, a, &gen)) != RC_OK)
        return rc;
    atrest_kid(gen, kid);
    if (!acct->data_plain && strcmp(acct->data_kid, kid) == 0)
        return RC_OK;
    /* id_number, name and phone never change after registration; phone_verified does
     * (verification, authctl user reset-mfa), so it is rewritten only to seal an older
     * version's plaintext (a sealed one of an older key id stays readable as it is) */
    if (acct->data_plain && verified_phone_in_plaintext(app, a, key))
        n = NPERSONAL;
    if ((rc = seal_fields(app, a, acct->id, f, n)) != RC_OK)
        return rc;
    rc = store_rec_put(app->store, key, f, n, 0, STORE_XX | STORE_DURABLE);
    if (rc == RC_OK) {
        struct log_rec *lr = log_begin(LOG_INFO, "account.reseal");
        log_str(lr, "from", acct->data_plain ? "plaintext" : acct->data_kid);
        log_str(lr, "to", kid);
        log_end(lr);
    }
    return rc;
}

static void
log_register(const char *ev, const struct reg *g, enum rc rc, const struct rc_info *ri)
{
    struct log_rec *lr = log_begin(LOG_INFO, ev);
    char m[MASK_IDNUM_SIZE];

    mask_idnum(span_str(g->id.text), m);
    log_str(lr, "idn", g->id.text[0] ? m : NULL);
    log_str(lr, "rc", rc_name(rc));
    if (rc != RC_OK && ri && ri->field)
        log_str(lr, "field", ri->field);
    if (rc != RC_OK && ri && ri->why != RC_WHY_NONE)
        log_str(lr, "reason", rc_reason_name(ri->why));
    if (rc == RC_OK)
        log_int(lr, "ial", g->ial);
    log_end(lr);
}

enum rc
account_add(struct app *app, struct arena *a, const struct register_req *req,
            const struct account_add_opts *o, struct account *out, struct rc_info *ri)
{
    struct reg g = {.ial = IAL2};
    struct span part;
    enum rc rc;

    if ((rc = check_fields(app, req, &g, ri)) != RC_OK)
        goto out;
    g.attrs = (struct pop_attrs){g.id.birth_ymd, g.id.sex, g.id.region};
    if (!(o && o->skip_popbase) && (rc = check_population(app, &g, ri)) != RC_OK)
        goto out;
    part = span_str(g.id.text);
    if ((rc = secrets_hmac_hex(app->secrets, SECRET_ACCOUNT, &part, 1, g.acct)) != RC_OK)
        goto out;
    if ((rc = account_hash_password(app, req->password, g.phc)) != RC_OK)
        goto out;
    if ((rc = write_account(app, a, &g, out)) == RC_CONFLICT)
        rc_fail(ri, RC_CONFLICT, RC_WHY_REGISTERED, "id_number", "already registered");
    else if (rc != RC_OK)
        rc_set(ri, rc, NULL, "the account store cannot be reached: try again later");
out:
    log_register(o && o->skip_popbase ? "account.add" : "account.register", &g, rc, ri);
    OPENSSL_cleanse(g.phc, sizeof(g.phc));
    return rc;
}

enum rc
account_register_ex(struct app *app, struct arena *a, const struct register_req *req,
                    const char *client_ip, struct account *out, struct rc_info *ri,
                    uint32_t *retry_after_s)
{
    enum rc rc;

    if (retry_after_s)
        *retry_after_s = 0;
    rc = account_rate_ip(app, a, client_ip, "register", app->cfg->register_rate_per_ip, ri,
                         retry_after_s);
    if (rc != RC_OK)
        return rc;
    return account_add(app, a, req, NULL, out, ri);
}

enum rc
account_register(struct app *app, struct arena *a, const struct register_req *req,
                 const char *client_ip, struct account *out, struct rc_info *ri)
{
    return account_register_ex(app, a, req, client_ip, out, ri, NULL);
}

static uint64_t
field_u64(const struct store_record *rec, const char *name)
{
    uint64_t v = 0;

    if (num_parse_u64(store_rec_field(rec, name), 0, UINT64_MAX, &v) != RC_OK)
        return 0;
    return v;
}

/* Opens personal field name of rec into *out (NUL-terminated, in a), noting in acct what
 * it was stored as. */
static enum rc
personal_field(struct app *app, struct arena *a, struct atrest_keys *k, const char *id,
               const struct store_record *rec, const char *name, struct account *acct,
               struct span *out)
{
    struct span v = store_rec_field(rec, name), kid;
    enum rc rc;

    if (!v.p) {
        *out = (struct span){NULL, 0};
        return RC_OK;
    }
    if ((rc = atrest_open(app, a, k, id, name, v, NULL, out, &acct->data_plain)) != RC_OK)
        return rc == RC_NOMEM ? rc : RC_MALFORMED;
    if (strcmp(name, "id_number") == 0 && seal_kid(v, &kid) == RC_OK
        && kid.len < sizeof(acct->data_kid)) {
        memcpy(acct->data_kid, kid.p, kid.len);
        acct->data_kid[kid.len] = 0;
    }
    return RC_OK;
}

enum rc
account_from_record(struct app *app, struct arena *a, const char *id,
                    const struct store_record *rec, struct account *out)
{
    struct span idn, name, phone, pv, sex = store_rec_field(rec, "sex");
    struct atrest_keys k = {0};
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (strlen(id) != ACCOUNT_ID_LEN)
        return RC_MALFORMED;
    if ((rc = personal_field(app, a, &k, id, rec, "id_number", out, &idn)) == RC_OK
        && (rc = personal_field(app, a, &k, id, rec, "name", out, &name)) == RC_OK
        && (rc = personal_field(app, a, &k, id, rec, "phone", out, &phone)) == RC_OK)
        rc = personal_field(app, a, &k, id, rec, "phone_verified", out, &pv);
    atrest_keys_clear(&k);
    if (rc != RC_OK)
        return rc;
    if (idn.len != IDNUM_LEN || !name.p)
        return RC_MALFORMED;
    memcpy(out->id, id, ACCOUNT_ID_LEN);
    memcpy(out->id_number, idn.p, IDNUM_LEN);
    OPENSSL_cleanse((void *)idn.p, idn.len);
    out->name = (const char *)name.p;
    out->phone = phone.p ? (const char *)phone.p : "";
    out->phone_verified = pv.p ? (const char *)pv.p : "";
    out->ial = (enum ial)field_u64(rec, "ial");
    out->disabled = !span_eq_str(store_rec_field(rec, "status"), "active");
    out->birth_ymd = (uint32_t)field_u64(rec, "birth");
    out->sex = sex.len == 1 ? (char)sex.p[0] : '?';
    out->region = (uint32_t)field_u64(rec, "region");
    out->created = (int64_t)field_u64(rec, "created");
    return RC_OK;
}

static bool
is_hex_id(const char *id)
{
    size_t n = 0;

    for (; id && id[n]; n++)
        if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
            return false;
    return n == ACCOUNT_ID_LEN;
}

enum rc
account_get_op(struct arena *a, const char *id, struct store_op *op)
{
    if (staff_id_is(id)) /* a staff member (flow/staff.h): never a citizen */
        return staff_account_op(a, id, op);
    if (!is_hex_id(id))
        return RC_NOT_FOUND;
    *op = (struct store_op){.kind = STORE_OP_REC_GET, .key = account_key(a, id, NULL)};
    return op->key.p ? RC_OK : RC_NOMEM;
}

enum rc
account_from_call(struct app *app, struct arena *a, const char *id, const struct store_call *c,
                  struct account *out)
{
    if (staff_id_is(id))
        return staff_account_from_call(a, id, c, out);
    if (c->rc != RC_OK)
        return c->rc;
    return account_from_record(app, a, id, &c->rec, out) == RC_OK ? RC_OK : RC_INTERNAL;
}

enum rc
account_get(struct app *app, struct arena *a, const char *id, struct account *out)
{
    struct store_call c = {0};
    enum rc rc;

    if ((rc = account_get_op(a, id, &c.op)) != RC_OK)
        return rc;
    c.rc = store_rec_get(app->store, a, c.op.key, &c.rec);
    return account_from_call(app, a, id, &c, out);
}
