#include "core/authz.h"

#include <jansson.h>
#include <string.h>

#include "util/num.h"

/* The host part of a loopback redirect URI we accept on any port (RFC 8252 §7.3). IP
 * literals only: `localhost` is NOT RECOMMENDED (§8.3) and gets exact matching. */
static const char *const loopback_prefixes[] = {"http://127.0.0.1", "http://[::1]"};

/* If u is http://127.0.0.1[:port]<rest> or http://[::1][:port]<rest> with rest empty or
 * starting with '/', '?', sets *host (the prefix) and *rest and returns true. */
static bool
loopback_split(struct span u, struct span *host, struct span *rest)
{
    for (size_t k = 0; k < sizeof(loopback_prefixes) / sizeof(loopback_prefixes[0]); k++) {
        size_t pl = strlen(loopback_prefixes[k]), i;
        if (u.len < pl || memcmp(u.p, loopback_prefixes[k], pl) != 0)
            continue;
        i = pl;
        if (i < u.len && u.p[i] == ':') {
            size_t s = ++i;
            uint64_t port;
            while (i < u.len && u.p[i] >= '0' && u.p[i] <= '9')
                i++;
            if (num_parse_u64(span_of(u.p + s, i - s), 1, 65535, &port) != RC_OK)
                return false;
        }
        if (i < u.len && u.p[i] != '/' && u.p[i] != '?')
            return false;
        *host = span_of(u.p, pl);
        *rest = span_of(u.p + i, u.len - i);
        return true;
    }
    return false;
}

static bool
loopback_eq(struct span reg, struct span uri)
{
    struct span rh, rr, uh, ur;

    if (!loopback_split(reg, &rh, &rr) || !loopback_split(uri, &uh, &ur))
        return false;
    return span_eq(rh, uh) && span_eq(rr, ur);
}

enum rc
authz_redirect_match(const char *const *registered, size_t n, bool loopback_any_port,
                     struct span uri, const char **matched)
{
    if (uri.len == 0 || span_has_nul(uri) || memchr(uri.p, '#', uri.len))
        return RC_MALFORMED;
    for (size_t i = 0; i < n; i++) {
        struct span reg = span_str(registered[i]);
        if (span_eq(reg, uri) || (loopback_any_port && loopback_eq(reg, uri))) {
            if (matched)
                *matched = registered[i];
            return RC_OK;
        }
    }
    return RC_NOT_FOUND;
}

/* Calls fn for each space-separated word of s; stops and returns false if fn does. */
static bool
each_word(struct span s, bool (*fn)(struct span w, void *ctx), void *ctx)
{
    size_t i = 0;
    struct span w;

    while (span_next_word(s, &i, &w))
        if (!fn(w, ctx))
            return false;
    return true;
}

static bool
prompt_word(struct span w, void *ctx)
{
    unsigned *bits = ctx;

    if (span_eq_str(w, "none"))
        *bits |= AUTHZ_PROMPT_NONE;
    else if (span_eq_str(w, "login"))
        *bits |= AUTHZ_PROMPT_LOGIN;
    else if (span_eq_str(w, "consent"))
        *bits |= AUTHZ_PROMPT_CONSENT;
    else if (span_eq_str(w, "select_account"))
        *bits |= AUTHZ_PROMPT_SELECT;
    return true;
}

enum rc
authz_prompt_parse(struct span in, unsigned *out, struct rc_info *ri)
{
    unsigned bits = 0;

    each_word(in, prompt_word, &bits);
    if ((bits & AUTHZ_PROMPT_NONE) && bits != AUTHZ_PROMPT_NONE)
        return rc_set(ri, RC_MALFORMED, "prompt", "none cannot be combined with other values");
    *out = bits;
    return RC_OK;
}

enum rc
authz_max_age_parse(struct span in, int64_t *out)
{
    uint64_t v;

    if (num_parse_u64(in, 0, AUTHZ_MAX_AGE_MAX, &v) != RC_OK)
        return RC_MALFORMED;
    *out = (int64_t)v;
    return RC_OK;
}

/* Appends the values of one acr claim request ({"essential", "value", "values"}). */
static enum rc
acr_request(json_t *acr, struct buf *vals, bool *essential)
{
    json_t *v;
    size_t i;

    if (json_is_null(acr))
        return RC_OK; /* "acr": null: voluntary, no particular value (§5.5.1) */
    if (!json_is_object(acr))
        return RC_MALFORMED;
    if ((v = json_object_get(acr, "essential")) && !json_is_boolean(v))
        return RC_MALFORMED;
    if (v && json_is_true(v))
        *essential = true;
    if ((v = json_object_get(acr, "value"))) {
        if (!json_is_string(v))
            return RC_MALFORMED;
        if (buf_printf(vals, "%s%s", vals->len ? " " : "", json_string_value(v)) != RC_OK)
            return RC_TOO_LARGE;
    }
    if ((v = json_object_get(acr, "values")) && !json_is_array(v))
        return RC_MALFORMED;
    json_array_foreach(v, i, acr)
    {
        if (!json_is_string(acr))
            return RC_MALFORMED;
        if (buf_printf(vals, "%s%s", vals->len ? " " : "", json_string_value(acr)) != RC_OK)
            return RC_TOO_LARGE;
    }
    return RC_OK;
}

enum rc
authz_claims_acr(struct arena *a, struct span claims, struct span *values, bool *essential,
                 struct rc_info *ri)
{
    static const char *const targets[] = {"id_token", "userinfo"};
    enum rc rc = RC_OK;
    struct buf vals;
    json_t *root;

    *essential = false;
    *values = (struct span){(const uint8_t *)"", 0};
    if (claims.len > AUTHZ_CLAIMS_MAX)
        return rc_set(ri, RC_TOO_LARGE, "claims", "too long");
    root = json_loadb((const char *)claims.p, claims.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return rc_set(ri, RC_MALFORMED, "claims", "not a JSON object");
    }
    buf_init(&vals, AUTHZ_CLAIMS_MAX);
    for (size_t i = 0; i < 2 && rc == RC_OK; i++) {
        json_t *t = json_object_get(root, targets[i]), *acr;
        if (!t || json_is_null(t))
            continue;
        if (!json_is_object(t))
            rc = RC_MALFORMED;
        else if ((acr = json_object_get(t, "acr")))
            rc = acr_request(acr, &vals, essential);
    }
    json_decref(root);
    if (rc == RC_OK && vals.len) {
        char *s = arena_strndup(a, vals.p, vals.len);
        rc = s ? RC_OK : RC_NOMEM;
        if (s)
            *values = span_of(s, vals.len);
    }
    buf_clear(&vals);
    if (rc == RC_MALFORMED || rc == RC_TOO_LARGE)
        rc_set(ri, rc, "claims", "bad acr request");
    return rc;
}

struct pick {
    struct loa reach, first, reachable;
    bool have_first, have_reachable;
};

static bool
pick_word(struct span w, void *ctx)
{
    struct pick *p = ctx;
    struct loa l;

    if (loa_parse(w, &l) != RC_OK)
        return true;
    if (!p->have_first)
        p->first = l, p->have_first = true;
    if (loa_satisfies(p->reach, l)) {
        p->reachable = l, p->have_reachable = true;
        return false;
    }
    return true;
}

enum rc
authz_acr_pick(struct span values, struct loa reach, struct loa *out)
{
    struct pick p = {.reach = reach};

    each_word(values, pick_word, &p);
    if (!p.have_first)
        return RC_NOT_FOUND;
    *out = p.have_reachable ? p.reachable : p.first;
    return RC_OK;
}

enum authz_decision
authz_decide(const struct authz_need *need, const struct authz_have *have, int64_t now)
{
    bool short_ = !have->present || !loa_satisfies(have->loa, need->min), reauth = false;

    if (!need->fresh && (need->prompt & AUTHZ_PROMPT_LOGIN))
        reauth = true; /* §3.1.2.1: prompt=login re-authenticates */
    else if (!need->fresh && need->max_age >= 0
             && (need->max_age == 0 || now - have->auth_time > need->max_age))
        reauth = true; /* §3.1.2.1: max_age; 0 is "always" (like prompt=login) */
    if (have->present && !short_ && !reauth)
        return AUTHZ_PROCEED;
    if (have->present && short_ && !reauth
        && loa_satisfies(loa_max(have->loa, need->step), need->min))
        return need->prompt & AUTHZ_PROMPT_NONE ? AUTHZ_LOGIN_REQUIRED : AUTHZ_STEP_UP;
    /* a level no login (and step-up after it) can give, or a fresh login that still falls
     * short: fail, never loop back to the page */
    if (need->reach.aal == AAL_NONE || !loa_satisfies(loa_max(need->reach, need->step), need->min)
        || (need->fresh && have->present))
        return AUTHZ_UNMET;
    if (need->prompt & AUTHZ_PROMPT_NONE)
        return AUTHZ_LOGIN_REQUIRED;
    return AUTHZ_LOGIN;
}

struct cover {
    struct span have;
};
static bool
has_word(struct span w, void *ctx)
{
    struct span *want = ctx;

    return !span_eq(w, *want); /* stop (false) when found */
}

bool
authz_list_has(struct span s, const char *v)
{
    struct span want = span_str(v);

    return !each_word(s, has_word, &want);
}

static bool
covered_word(struct span w, void *ctx)
{
    struct cover *c = ctx;

    return !each_word(c->have, has_word, &w);
}

bool
authz_scopes_covered(struct span want, struct span have)
{
    struct cover c = {have};

    return each_word(want, covered_word, &c);
}

/* RFC 6749 §3.3 / Appendix A: scope-token = 1*NQCHAR. */
static bool
nqchar(uint8_t c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

enum rc
authz_scope_filter(struct arena *a, struct span in, authz_scope_fn keep, void *ctx,
                   const char **out, size_t *dropped, struct rc_info *ri)
{
    struct buf b;
    struct span w;
    size_t i = 0, n = 0;
    enum rc rc = RC_OK;
    char *s;

    if (in.len > AUTHZ_SCOPES_MAX)
        return rc_set(ri, RC_TOO_LARGE, "scope", "too long");
    for (size_t k = 0; k < in.len; k++)
        if (in.p[k] != ' ' && !nqchar(in.p[k]))
            return rc_set(ri, RC_MALFORMED, "scope", "a value holds a character outside NQCHAR");
    buf_init(&b, AUTHZ_SCOPES_MAX + 1);
    while (rc == RC_OK && span_next_word(in, &i, &w)) {
        /* a value seen before (kept or not) was decided then */
        if (authz_scopes_covered(w, span_of(in.p, (size_t)(w.p - in.p))))
            continue;
        if (!keep(w, ctx))
            n++;
        else if ((rc = b.len ? buf_append(&b, " ", 1) : RC_OK) == RC_OK)
            rc = buf_append_span(&b, w);
    }
    if (rc == RC_OK) {
        s = arena_strndup(a, b.len ? (const char *)b.p : "", b.len);
        rc = s ? RC_OK : RC_NOMEM;
        if (s)
            *out = s, *dropped = n;
    }
    buf_clear(&b);
    return rc == RC_TOO_LARGE ? rc_set(ri, rc, "scope", "too long") : rc;
}
