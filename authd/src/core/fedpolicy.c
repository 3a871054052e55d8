/* OpenID Federation 1.0 §6.1 (metadata policy) and §6.2 (constraints): see fedpolicy.h. */
#include "core/fedpolicy.h"

#include <stdbool.h>
#include <string.h>

static const char *const known_ops[] = {"value",     "add",         "default",  "one_of",
                                        "subset_of", "superset_of", "essential"};
#define NOPS (sizeof(known_ops) / sizeof(known_ops[0]))

static enum rc
pol_fail(struct rc_info *ri, enum rc rc, const char *field, const char *msg)
{
    return rc_fail(ri, rc, RC_WHY_FED_POLICY, field, msg);
}

static bool
is_known(const char *op)
{
    for (size_t i = 0; i < NOPS; i++)
        if (strcmp(op, known_ops[i]) == 0)
            return true;
    return false;
}

static bool
arr_has(const json_t *a, const json_t *v)
{
    size_t i;
    json_t *x;

    json_array_foreach(a, i, x) if (json_equal(x, v)) return true;
    return false;
}

/* every member of a is in b */
static bool
arr_subset(const json_t *a, const json_t *b)
{
    size_t i;
    json_t *x;

    json_array_foreach(a, i, x) if (!arr_has(b, x)) return false;
    return true;
}

/* New array: a ∩ b (in a's order), or a ∪ b. NULL when out of memory. */
static json_t *
arr_meet(const json_t *a, const json_t *b, bool intersect)
{
    json_t *r = json_array(), *x;
    size_t i;

    if (!r)
        return NULL;
    json_array_foreach(a, i, x) if (!intersect || arr_has(b, x)) json_array_append(r, x);
    if (!intersect)
        json_array_foreach(b, i, x) if (!arr_has(r, x)) json_array_append(r, x);
    return r;
}

/* The JSON type each operator takes (§6.1.3.1). */
static enum rc
op_type_ok(const char *op, const json_t *v, struct rc_info *ri)
{
    if (strcmp(op, "essential") == 0 && !json_is_boolean(v))
        return pol_fail(ri, RC_MALFORMED, "essential", "not a boolean");
    if ((strcmp(op, "add") == 0 || strcmp(op, "one_of") == 0 || strcmp(op, "subset_of") == 0
         || strcmp(op, "superset_of") == 0)
        && !json_is_array(v))
        return pol_fail(ri, RC_MALFORMED, op, "not an array");
    if (strcmp(op, "one_of") == 0 && json_array_size(v) == 0)
        return pol_fail(ri, RC_MALFORMED, op, "empty: no value could ever be allowed");
    if (strcmp(op, "default") == 0 && json_is_null(v))
        return pol_fail(ri, RC_MALFORMED, "default", "null");
    return RC_OK;
}

/* Combines the operator op of a superior (cur, in ops) with the subordinate's v. */
static enum rc
merge_op(json_t *ops, const char *op, json_t *cur, json_t *v, struct rc_info *ri)
{
    json_t *m;

    if (strcmp(op, "value") == 0 || strcmp(op, "default") == 0) {
        if (!json_equal(cur, v))
            return pol_fail(ri, RC_DENIED, op, "superiors set different values");
        return RC_OK;
    }
    if (strcmp(op, "essential") == 0) /* a superior's true cannot be undone */
        return json_object_set_new(ops, op, json_boolean(json_is_true(cur) || json_is_true(v)))
                   ? RC_NOMEM
                   : RC_OK;
    m = arr_meet(cur, v, strcmp(op, "one_of") == 0 || strcmp(op, "subset_of") == 0);
    if (!m)
        return RC_NOMEM;
    if (strcmp(op, "one_of") == 0 && json_array_size(m) == 0) {
        json_decref(m);
        return pol_fail(ri, RC_DENIED, op, "no value left in one_of");
    }
    return json_object_set_new(ops, op, m) ? RC_NOMEM : RC_OK;
}

static enum rc
merge_param(json_t *acc_type, const char *param, const json_t *sub_ops, struct rc_info *ri)
{
    json_t *ops = json_object_get(acc_type, param), *v, *cur;
    const char *op;
    enum rc rc;

    if (!json_is_object(sub_ops))
        return pol_fail(ri, RC_MALFORMED, param, "operators not an object");
    if (!ops) {
        if (!(ops = json_object()) || json_object_set_new(acc_type, param, ops))
            return RC_NOMEM;
    }
    json_object_foreach((json_t *)sub_ops, op, v)
    {
        if (!is_known(op))
            continue; /* §6.1.3: non-critical unknown operators are ignored */
        if ((rc = op_type_ok(op, v, ri)) != RC_OK)
            return rc;
        if (!(cur = json_object_get(ops, op))) {
            if (json_object_set(ops, op, v))
                return RC_NOMEM;
        } else if ((rc = merge_op(ops, op, cur, v, ri)) != RC_OK)
            return rc;
    }
    return RC_OK;
}

enum rc
fedpolicy_merge(json_t *acc, const json_t *sup, struct rc_info *ri)
{
    const char *type, *param;
    json_t *params, *ops, *acc_type;
    enum rc rc;

    if (!sup || json_is_null(sup))
        return RC_OK;
    if (!json_is_object(acc) || !json_is_object(sup))
        return pol_fail(ri, RC_MALFORMED, "metadata_policy", "not an object");
    json_object_foreach((json_t *)sup, type, params)
    {
        if (!json_is_object(params))
            return pol_fail(ri, RC_MALFORMED, "metadata_policy", "entity type not an object");
        if (!(acc_type = json_object_get(acc, type))) {
            if (!(acc_type = json_object()) || json_object_set_new(acc, type, acc_type))
                return RC_NOMEM;
        }
        json_object_foreach(params, param, ops)
        {
            if ((rc = merge_param(acc_type, param, ops, ri)) != RC_OK)
                return rc;
        }
    }
    return fedpolicy_check(acc, ri);
}

/* §6.1.3.1: the combinations of operators on one parameter that are allowed, and their
 * conditions. */
static enum rc
check_value(const json_t *ops, const json_t *val, struct rc_info *ri)
{
    json_t *add = json_object_get(ops, "add"), *one = json_object_get(ops, "one_of");
    json_t *sub = json_object_get(ops, "subset_of"), *sup = json_object_get(ops, "superset_of");
    json_t *ess = json_object_get(ops, "essential");

    if (json_is_null(val)) {
        if (add || json_object_get(ops, "default") || one || sub || sup || json_is_true(ess))
            return pol_fail(ri, RC_DENIED, "value", "null value with other operators");
        return RC_OK;
    }
    if (add && (!json_is_array(val) || !arr_subset(add, val)))
        return pol_fail(ri, RC_DENIED, "value", "add not within value");
    if (one && !arr_has(one, val))
        return pol_fail(ri, RC_DENIED, "value", "value not in one_of");
    if (sub && (!json_is_array(val) || !arr_subset(val, sub)))
        return pol_fail(ri, RC_DENIED, "value", "value not a subset of subset_of");
    if (sup && (!json_is_array(val) || !arr_subset(sup, val)))
        return pol_fail(ri, RC_DENIED, "value", "value not a superset of superset_of");
    return RC_OK;
}

static enum rc
check_ops(const json_t *ops, struct rc_info *ri)
{
    json_t *val = json_object_get(ops, "value"), *add = json_object_get(ops, "add");
    json_t *one = json_object_get(ops, "one_of"), *sub = json_object_get(ops, "subset_of");
    json_t *sup = json_object_get(ops, "superset_of");

    if (val)
        return check_value(ops, val, ri);
    if (add && one)
        return pol_fail(ri, RC_DENIED, "add", "add cannot be combined with one_of");
    if (one && (sub || sup))
        return pol_fail(ri, RC_DENIED, "one_of",
                        "one_of cannot be combined with subset_of "
                        "or superset_of");
    if (add && sub && !arr_subset(add, sub))
        return pol_fail(ri, RC_DENIED, "add", "add not within subset_of");
    if (sub && sup && !arr_subset(sup, sub))
        return pol_fail(ri, RC_DENIED, "superset_of", "superset_of not within subset_of");
    return RC_OK;
}

enum rc
fedpolicy_check(const json_t *policy, struct rc_info *ri)
{
    const char *type, *param, *op;
    json_t *params, *ops, *v;
    enum rc rc;

    if (!json_is_object(policy))
        return pol_fail(ri, RC_MALFORMED, "metadata_policy", "not an object");
    json_object_foreach((json_t *)policy, type, params)
    {
        if (!json_is_object(params))
            return pol_fail(ri, RC_MALFORMED, "metadata_policy", "entity type not an object");
        json_object_foreach(params, param, ops)
        {
            if (!json_is_object(ops))
                return pol_fail(ri, RC_MALFORMED, param, "operators not an object");
            json_object_foreach(ops, op,
                                v) if (is_known(op) && (rc = op_type_ok(op, v, ri))) return rc;
            if ((rc = check_ops(ops, ri)) != RC_OK)
                return rc;
        }
    }
    return RC_OK;
}

enum rc
fedpolicy_crit_check(const json_t *crit, struct rc_info *ri)
{
    size_t i;
    json_t *x;

    if (!crit)
        return RC_OK;
    if (!json_is_array(crit))
        return pol_fail(ri, RC_MALFORMED, "metadata_policy_crit", "not an array");
    json_array_foreach(crit, i, x)
    {
        if (!json_is_string(x))
            return pol_fail(ri, RC_MALFORMED, "metadata_policy_crit", "not a string");
        if (!is_known(json_string_value(x)))
            return pol_fail(ri, RC_UNSUPPORTED, "metadata_policy_crit", "unknown operator");
    }
    return RC_OK;
}

/* Applies one parameter's operators to md (the metadata of one entity type). */
static enum rc
apply_param(json_t *md, const char *p, const json_t *ops, struct rc_info *ri)
{
    json_t *o, *cur, *m;

    if ((o = json_object_get(ops, "value"))) {
        if (json_is_null(o))
            json_object_del(md, p);
        else if (json_object_set(md, p, o))
            return RC_NOMEM;
    }
    if ((o = json_object_get(ops, "add"))) {
        cur = json_object_get(md, p);
        if (cur && !json_is_array(cur))
            return pol_fail(ri, RC_DENIED, "add", "parameter not an array");
        if (!(m = cur ? arr_meet(cur, o, false) : json_copy(o)) || json_object_set_new(md, p, m))
            return RC_NOMEM;
    }
    if ((o = json_object_get(ops, "default")) && !json_object_get(md, p)
        && json_object_set(md, p, o))
        return RC_NOMEM;
    cur = json_object_get(md, p);
    if ((o = json_object_get(ops, "one_of")) && cur && !arr_has(o, cur))
        return pol_fail(ri, RC_DENIED, "one_of", "parameter not one of the allowed values");
    if ((o = json_object_get(ops, "subset_of")) && cur) {
        if (!json_is_array(cur))
            return pol_fail(ri, RC_DENIED, "subset_of", "parameter not an array");
        if (!(m = arr_meet(cur, o, true)) || json_object_set_new(md, p, m))
            return RC_NOMEM;
        cur = m;
    }
    if ((o = json_object_get(ops, "superset_of")) && cur
        && (!json_is_array(cur) || !arr_subset(o, cur)))
        return pol_fail(ri, RC_DENIED, "superset_of", "parameter lacks required values");
    if (json_is_true(json_object_get(ops, "essential")) && !json_object_get(md, p))
        return pol_fail(ri, RC_DENIED, "essential", "essential parameter absent");
    return RC_OK;
}

enum rc
fedpolicy_apply(const json_t *policy, json_t *metadata, struct rc_info *ri)
{
    const char *type, *param;
    json_t *params, *ops, *md;
    enum rc rc;

    if (!json_is_object(policy) || !json_is_object(metadata))
        return pol_fail(ri, RC_MALFORMED, "metadata", "not an object");
    json_object_foreach((json_t *)policy, type, params)
    {
        if (!(md = json_object_get(metadata, type)))
            continue;
        if (!json_is_object(md))
            return pol_fail(ri, RC_MALFORMED, "metadata", "entity type not an object");
        json_object_foreach(params, param, ops)
        {
            if ((rc = apply_param(md, param, ops, ri)) != RC_OK)
                return rc;
        }
    }
    return RC_OK;
}

static enum rc
con_fail(struct rc_info *ri, enum rc rc, const char *field, const char *msg)
{
    return rc_fail(ri, rc, RC_WHY_FED_CONSTRAINT, field, msg);
}

/* The host of an https:// or http:// entity id into h (size hn); false if none. */
static bool
url_host(const char *url, char *h, size_t hn)
{
    const char *p = url, *e;
    size_t n;

    if (strncmp(p, "https://", 8) == 0)
        p += 8;
    else if (strncmp(p, "http://", 7) == 0)
        p += 7;
    else
        return false;
    e = p + strcspn(p, ":/?#");
    n = (size_t)(e - p);
    if (n == 0 || n >= hn)
        return false;
    memcpy(h, p, n);
    h[n] = 0;
    return true;
}

/* name matches constraint c: exact host, or ".suffix" for any name under suffix. */
static bool
name_matches(const char *host, const char *c)
{
    size_t hl = strlen(host), cl = strlen(c);

    if (c[0] == '.')
        return hl > cl && strcmp(host + hl - cl, c) == 0;
    return strcmp(host, c) == 0;
}

static bool
any_match(const json_t *list, const char *host)
{
    size_t i;
    json_t *x;

    json_array_foreach(list, i, x) if (json_is_string(x)
                                       && name_matches(host, json_string_value(x))) return true;
    return false;
}

static enum rc
check_names(const json_t *nc, const char *const *ids, size_t n, struct rc_info *ri)
{
    json_t *perm = json_object_get(nc, "permitted"), *excl = json_object_get(nc, "excluded");
    char host[256];

    if (!json_is_object(nc) || (perm && !json_is_array(perm)) || (excl && !json_is_array(excl)))
        return con_fail(ri, RC_MALFORMED, "naming_constraints", "malformed");
    for (size_t i = 0; i < n; i++) {
        if (!url_host(ids[i], host, sizeof(host)))
            return con_fail(ri, RC_DENIED, "naming_constraints", "entity id has no host");
        if (perm && !any_match(perm, host))
            return con_fail(ri, RC_DENIED, "naming_constraints", "entity not permitted");
        if (excl && any_match(excl, host))
            return con_fail(ri, RC_DENIED, "naming_constraints", "entity excluded");
    }
    return RC_OK;
}

static enum rc
check_types(const json_t *allowed, json_t *md, struct rc_info *ri)
{
    const char *type;
    json_t *v, *tmp;

    if (!json_is_array(allowed))
        return con_fail(ri, RC_MALFORMED, "allowed_entity_types", "not an array");
    if (!md)
        return RC_OK;
    json_object_foreach_safe(md, tmp, type, v)
    {
        json_t *s = json_string(type);
        bool keep = strcmp(type, "federation_entity") == 0 || arr_has(allowed, s);
        json_decref(s);
        if (!keep)
            json_object_del(md, type);
    }
    return RC_OK;
}

enum rc
fedpolicy_constraints(const json_t *constraints, size_t below, const char *const *ids, size_t n,
                      json_t *leaf_metadata, struct rc_info *ri)
{
    json_t *v;
    enum rc rc;

    if (!constraints)
        return RC_OK;
    if (!json_is_object(constraints))
        return con_fail(ri, RC_MALFORMED, "constraints", "not an object");
    if ((v = json_object_get(constraints, "max_path_length"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return con_fail(ri, RC_MALFORMED, "max_path_length", "not a count");
        if ((json_int_t)below > json_integer_value(v))
            return con_fail(ri, RC_DENIED, "max_path_length", "chain too long");
    }
    if ((v = json_object_get(constraints, "naming_constraints"))
        && (rc = check_names(v, ids, n, ri)) != RC_OK)
        return rc;
    if ((v = json_object_get(constraints, "allowed_entity_types"))
        && (rc = check_types(v, leaf_metadata, ri)) != RC_OK)
        return rc;
    return RC_OK;
}
