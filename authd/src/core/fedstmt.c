/* OpenID Federation 1.0 §3 (entity statements) and §7 (trust marks): see fedstmt.h. */
#include "core/fedstmt.h"

#include <stdlib.h>
#include <string.h>

#include "core/fedpolicy.h"
#include "core/jsonget.h"

static enum rc
st_fail(struct rc_info *ri, enum rc rc, const char *field, const char *msg)
{
    return rc_fail(ri, rc, RC_WHY_FED_STATEMENT, field, msg);
}

/* An entity id (§1.2): an https URL (http allowed for loopback tests) without query or
 * fragment, at most FEDSTMT_MAX_URL bytes. */
static bool
entity_id_ok(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n;

    if (!s)
        return false;
    n = json_string_length(v);
    if (n == 0 || n > FEDSTMT_MAX_URL || strlen(s) != n)
        return false;
    if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
        return false;
    return !strchr(s, '?') && !strchr(s, '#');
}

static enum rc
opt_object(json_t *o, const char *name, json_t **out, struct rc_info *ri)
{
    json_t *v = json_object_get(o, name);

    if (v && !json_is_object(v))
        return st_fail(ri, RC_MALFORMED, name, "not an object");
    *out = v;
    return RC_OK;
}

static enum rc
check_hints(json_t *h, struct rc_info *ri)
{
    size_t i;
    json_t *v;

    if (!json_is_array(h) || json_array_size(h) == 0 || json_array_size(h) > FEDSTMT_MAX_HINTS)
        return st_fail(ri, RC_MALFORMED, "authority_hints", "not 1 to 8 entity ids");
    json_array_foreach(h, i, v) if (!entity_id_ok(v)) return st_fail(
        ri, RC_MALFORMED, "authority_hints", "not an entity id");
    return RC_OK;
}

static enum rc
check_marks(json_t *m, struct rc_info *ri)
{
    size_t i;
    json_t *v;

    if (!json_is_array(m))
        return st_fail(ri, RC_MALFORMED, "trust_marks", "not an array");
    json_array_foreach(
        m, i, v) if (!json_is_object(v) || !json_is_string(json_object_get(v, "trust_mark_type"))
                     || !json_is_string(json_object_get(
                         v, "trust_mark"))) return st_fail(ri, RC_MALFORMED, "trust_marks",
                                                           "entry malformed");
    return RC_OK;
}

/* The members after iss, sub, iat, exp. */
static enum rc
parse_rest(struct fedstmt *s, enum fedstmt_kind kind, struct rc_info *ri)
{
    json_t *c = s->claims;
    enum rc rc;

    if (json_object_get(c, "crit"))
        return st_fail(ri, RC_UNSUPPORTED, "crit", "no extension claim is understood");
    s->jwks = json_object_get(c, "jwks");
    if (!json_is_object(s->jwks) || !json_is_array(json_object_get(s->jwks, "keys")))
        return st_fail(ri, RC_MALFORMED, "jwks", "missing or not a JWKS");
    if ((rc = opt_object(c, "metadata", &s->metadata, ri))
        || (rc = opt_object(c, "metadata_policy", &s->metadata_policy, ri))
        || (rc = opt_object(c, "constraints", &s->constraints, ri)))
        return rc;
    if ((rc = fedpolicy_crit_check(json_object_get(c, "metadata_policy_crit"), ri)) != RC_OK)
        return rc;
    s->authority_hints = json_object_get(c, "authority_hints");
    if (s->authority_hints && kind != FEDSTMT_CONFIGURATION)
        return st_fail(ri, RC_MALFORMED, "authority_hints", "only in an entity configuration");
    if (s->authority_hints && (rc = check_hints(s->authority_hints, ri)) != RC_OK)
        return rc;
    if (s->metadata_policy && kind != FEDSTMT_SUBORDINATE)
        return st_fail(ri, RC_MALFORMED, "metadata_policy", "only in a subordinate statement");
    s->trust_marks = json_object_get(c, "trust_marks");
    if (s->trust_marks && (rc = check_marks(s->trust_marks, ri)) != RC_OK)
        return rc;
    return RC_OK;
}

static enum rc
check_times(struct span payload, int64_t now, struct rc_info *ri)
{
    struct jose_claims_opts o = {.now = now, .leeway = FEDSTMT_LEEWAY};
    struct rc_info sub = {0};
    enum rc rc = jose_claims_check(payload, &o, &sub);

    if (rc == RC_EXPIRED)
        return rc_fail(ri, rc, RC_WHY_FED_EXPIRED, "exp", "statement expired");
    if (rc != RC_OK)
        return st_fail(ri, rc, sub.field ? sub.field : "claims", sub.msg ? sub.msg : "bad");
    return RC_OK;
}

enum rc
fedstmt_parse(struct span payload, enum fedstmt_kind kind, int64_t now, struct fedstmt *out,
              struct rc_info *ri)
{
    struct fedstmt s = {0};
    json_t *iss, *sub, *iat, *exp;
    enum rc rc;

    if (payload.len > JOSE_MAX_COMPACT)
        return st_fail(ri, RC_TOO_LARGE, "statement", "too large");
    s.claims = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(s.claims)) {
        rc = st_fail(ri, RC_MALFORMED, "statement", "not a JSON object");
        goto out;
    }
    iss = json_object_get(s.claims, "iss"), sub = json_object_get(s.claims, "sub");
    iat = json_object_get(s.claims, "iat"), exp = json_object_get(s.claims, "exp");
    if (!entity_id_ok(iss) || !entity_id_ok(sub)) {
        rc = st_fail(ri, RC_MALFORMED, "iss", "iss and sub must be entity ids");
        goto out;
    }
    if (!json_is_integer(iat) || !json_is_integer(exp)) {
        rc = st_fail(ri, RC_MALFORMED, "exp", "iat and exp must be integers");
        goto out;
    }
    s.iss = json_string_value(iss), s.sub = json_string_value(sub);
    s.iat = json_integer_value(iat), s.exp = json_integer_value(exp);
    if ((strcmp(s.iss, s.sub) == 0) != (kind == FEDSTMT_CONFIGURATION)) {
        rc = st_fail(ri, RC_MALFORMED, "sub",
                     kind == FEDSTMT_CONFIGURATION ? "iss differs from sub" : "iss equals sub");
        goto out;
    }
    if ((rc = check_times(payload, now, ri)) != RC_OK || (rc = parse_rest(&s, kind, ri)))
        goto out;
    *out = s;
    return RC_OK;
out:
    json_decref(s.claims);
    return rc;
}

enum rc
fedstmt_verify(const struct jose_keyset *ks, struct span token, enum fedstmt_kind kind, int64_t now,
               struct arena *a, struct fedstmt *out, struct rc_info *ri)
{
    struct jose_verify_opts o = {.algs = JOSE_ALG_ALL, .typ = FEDSTMT_TYP};
    struct span payload;
    enum rc rc = jose_verify(ks, &o, token, a, &payload, NULL, ri);

    if (rc == RC_NOT_FOUND)
        rc = RC_DENIED; /* a kid the vouched-for keys lack */
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_FED_STATEMENT);
    return fedstmt_parse(payload, kind, now, out, ri);
}

enum rc
fedstmt_peek(struct span token, enum fedstmt_kind kind, int64_t now, struct arena *a,
             struct fedstmt *out, struct rc_info *ri)
{
    struct span payload;
    enum rc rc = jose_payload_unverified(token, a, &payload);

    if (rc != RC_OK)
        return st_fail(ri, rc, "statement", "not a compact JWS");
    return fedstmt_parse(payload, kind, now, out, ri);
}

void
fedstmt_clear(struct fedstmt *s)
{
    json_decref(s->claims);
    memset(s, 0, sizeof(*s));
}

enum rc
fedstmt_keys(const struct fedstmt *s, struct jose_keyset **out, struct rc_info *ri)
{
    char *txt = json_dumps(s->jwks, JSON_COMPACT);
    enum rc rc;

    if (!txt)
        return RC_NOMEM;
    rc = jose_keyset_parse_jwks(span_str(txt), out, ri);
    free(txt);
    if (rc == RC_OK && jose_keyset_count(*out) == 0) {
        jose_keyset_release(*out);
        *out = NULL;
        rc = RC_MALFORMED;
    }
    return rc == RC_OK ? RC_OK : st_fail(ri, rc, "jwks", "no usable key");
}

static enum rc
tm_fail(struct rc_info *ri, enum rc rc, const char *field, const char *msg)
{
    return rc_fail(ri, rc, RC_WHY_FED_TRUST_MARK, field, msg);
}

enum rc
fedstmt_trust_mark_verify(const struct jose_keyset *ks, struct span token, const char *issuer,
                          const char *sub, const char *type, int64_t now, struct arena *a,
                          struct rc_info *ri)
{
    struct jose_verify_opts vo = {.algs = JOSE_ALG_ALL, .typ = FEDSTMT_TYP_MARK};
    struct jose_claims_opts co = {
        .iss = issuer, .now = now, .leeway = FEDSTMT_LEEWAY, .exp_optional = true};
    struct span payload;
    json_t *c = NULL;
    enum rc rc;

    if ((rc = jose_verify(ks, &vo, token, a, &payload, NULL, ri)) != RC_OK)
        return tm_fail(ri, rc == RC_NOT_FOUND ? RC_DENIED : rc, "trust_mark", "bad signature");
    if ((rc = jose_claims_check(payload, &co, ri)) != RC_OK)
        return tm_fail(ri, rc, "trust_mark", "bad claims");
    c = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_integer(json_object_get(c, "iat")))
        rc = tm_fail(ri, RC_MALFORMED, "iat", "missing");
    else if (!jsonget_str_is(json_object_get(c, "sub"), sub))
        rc = tm_fail(ri, RC_DENIED, "sub", "trust mark of another entity");
    else if (!jsonget_str_is(json_object_get(c, "trust_mark_type"), type))
        rc = tm_fail(ri, RC_DENIED, "trust_mark_type", "another trust mark");
    json_decref(c);
    return rc;
}
