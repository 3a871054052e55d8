/* Claims of an access token (RFC 9068 §2.2) or an introspection answer (RFC 7662 §2.2)
 * into struct authd_token_info, and the checks both paths share. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "core/loa.h"

#define MAX_AMR 16

/* A copy of string claim name into the arena, NULL when absent. */
static enum authd_status
get_str(json_t *o, const char *name, struct arena *a, const char **out)
{
    json_t *v = json_object_get(o, name);

    *out = NULL;
    if (!v)
        return AUTHD_OK;
    if (!json_is_string(v))
        return AUTHD_ERR_MALFORMED;
    if (!(*out = arena_strndup(a, json_string_value(v), json_string_length(v))))
        return AUTHD_ERR_NOMEM;
    return AUTHD_OK;
}

/* A NumericDate (RFC 7519 §2), 0 when absent. */
static enum authd_status
get_time(json_t *o, const char *name, int64_t *out)
{
    json_t *v = json_object_get(o, name);

    *out = 0;
    if (!v)
        return AUTHD_OK;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return AUTHD_OK;
    }
    if (json_is_real(v) && isfinite(json_real_value(v)) && fabs(json_real_value(v)) < 1e15) {
        *out = (int64_t)floor(json_real_value(v));
        return AUTHD_OK;
    }
    return AUTHD_ERR_MALFORMED;
}

/* amr (OIDC Core §2): an array of strings. */
static enum authd_status
get_amr(json_t *o, struct arena *a, struct authd_token_info *out)
{
    json_t *v = json_object_get(o, "amr"), *m;
    const char **list;
    size_t i;

    if (!v)
        return AUTHD_OK;
    if (!json_is_array(v) || json_array_size(v) > MAX_AMR)
        return AUTHD_ERR_MALFORMED;
    if (!(list = arena_alloc(a, (json_array_size(v) + 1) * sizeof(*list))))
        return AUTHD_ERR_NOMEM;
    json_array_foreach(v, i, m)
    {
        if (!json_is_string(m))
            return AUTHD_ERR_MALFORMED;
        if (!(list[i] = arena_strndup(a, json_string_value(m), json_string_length(m))))
            return AUTHD_ERR_NOMEM;
    }
    out->amr = list;
    out->amr_count = json_array_size(v);
    return AUTHD_OK;
}

/* act (RFC 8693 §4.1): an object naming the acting party; kept whole as compact JSON. */
static enum authd_status
get_act(json_t *o, struct arena *a, struct authd_token_info *out)
{
    json_t *v = json_object_get(o, "act");
    enum authd_status st;
    char *s;

    if (!v)
        return AUTHD_OK;
    if (!json_is_object(v))
        return AUTHD_ERR_MALFORMED;
    if ((st = get_str(v, "sub", a, &out->act_sub)) != AUTHD_OK
        || (st = get_str(v, "client_id", a, &out->act_client_id)) != AUTHD_OK)
        return st;
    if (!(s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)))
        return AUTHD_ERR_NOMEM;
    out->act = arena_strndup(a, s, strlen(s));
    free(s);
    return out->act ? AUTHD_OK : AUTHD_ERR_NOMEM;
}

static enum authd_status
extract(json_t *o, struct arena *a, struct authd_token_info *out)
{
    enum authd_status st;

    if ((st = get_str(o, "iss", a, &out->iss)) || (st = get_str(o, "sub", a, &out->sub))
        || (st = get_str(o, "client_id", a, &out->client_id))
        || (st = get_str(o, "scope", a, &out->scope)) || (st = get_str(o, "acr", a, &out->acr))
        || (st = get_str(o, "jti", a, &out->jti)) || (st = get_time(o, "exp", &out->exp))
        || (st = get_time(o, "iat", &out->iat)) || (st = get_time(o, "auth_time", &out->auth_time))
        || (st = get_amr(o, a, out)) || (st = get_act(o, a, out)))
        return st;
    if (json_object_get(o, "cnf")) { /* RFC 9449 §6.1 */
        json_t *cnf = json_object_get(o, "cnf");
        if (!json_is_object(cnf) || (st = get_str(cnf, "jkt", a, &out->cnf_jkt))
            || (st = get_str(cnf, "x5t#S256", a, &out->cnf_x5t))) /* RFC 8705 §3.1 */
            return AUTHD_ERR_MALFORMED;
    }
    return AUTHD_OK;
}

static bool
aud_is_ours(const struct authd_client *c, json_t *v)
{
    for (size_t k = 0; json_is_string(v) && k < c->n_aud; k++)
        if (strcmp(json_string_value(v), c->audiences[k]) == 0)
            return true;
    return false;
}

/* RFC 9068 §4: aud must contain an identifier we expect (a string or an array). */
static enum authd_status
check_aud(const struct authd_client *c, json_t *o, bool required)
{
    json_t *aud = json_object_get(o, "aud"), *v;
    enum authd_status st = AUTHD_ERR_AUDIENCE;
    size_t i;

    if (!aud)
        return required ? AUTHD_ERR_AUDIENCE : AUTHD_OK;
    if (json_is_string(aud))
        return aud_is_ours(c, aud) ? AUTHD_OK : AUTHD_ERR_AUDIENCE;
    if (!json_is_array(aud))
        return AUTHD_ERR_MALFORMED;
    json_array_foreach(aud, i, v)
    {
        if (!json_is_string(v))
            return AUTHD_ERR_MALFORMED;
        if (aud_is_ours(c, v))
            st = AUTHD_OK;
    }
    return st;
}

enum authd_status
tokinfo_init(struct authd_token_info *out)
{
    struct arena *a = malloc(sizeof(*a));

    memset(out, 0, sizeof(*out));
    if (!a)
        return AUTHD_ERR_NOMEM;
    arena_init(a, CLIENT_INFO_ARENA);
    out->priv_ = a;
    return AUTHD_OK;
}

/* iss, exp, nbf and iat, with the rules and leeway of core/jose's jose_claims_check
 * (RFC 7519 §4.1.1, §4.1.4-4.1.6), on the object already parsed: one JSON parse per token
 * is a measurable share of a validation (docs/relying-modules.md). For an introspection
 * answer every claim is optional. */
static enum authd_status
check_registered(const struct authd_client *c, json_t *o, const struct authd_token_info *t,
                 bool jwt)
{
    int64_t now = client_now(c), nbf = 0;
    enum authd_status st;

    if (jwt && !json_object_get(o, "exp"))
        return AUTHD_ERR_MALFORMED;
    if ((st = get_time(o, "nbf", &nbf)) != AUTHD_OK)
        return st;
    if ((jwt || t->iss) && (!t->iss || strcmp(t->iss, c->issuer) != 0))
        return AUTHD_ERR_ISSUER;
    if (json_object_get(o, "exp") && now >= t->exp + c->leeway) /* not on or after exp */
        return AUTHD_ERR_EXPIRED;
    if (json_object_get(o, "nbf") && now + c->leeway < nbf)
        return AUTHD_ERR_NOT_YET_VALID;
    if (json_object_get(o, "iat") && t->iat > now + c->leeway)
        return AUTHD_ERR_NOT_YET_VALID;
    return AUTHD_OK;
}

enum authd_status
tokinfo_extract(const struct authd_client *c, struct span json, bool jwt,
                struct authd_token_info *out)
{
    json_t *o = json_loadb((const char *)json.p, json.len, JSON_REJECT_DUPLICATES, NULL);
    enum authd_status st = json_is_object(o) ? extract(o, out->priv_, out) : AUTHD_ERR_MALFORMED;

    if (st == AUTHD_OK)
        st = check_registered(c, o, out, jwt);
    if (st == AUTHD_OK)
        st = check_aud(c, o, jwt);
    json_decref(o);
    return st;
}

bool
tokinfo_scope_contains(const char *have, const char *want)
{
    const char *w = want;

    while (w && *w) {
        size_t n = strcspn(w, " ");
        bool found = false;
        for (const char *h = have; n && h && *h;) {
            size_t m = strcspn(h, " ");
            if (m == n && memcmp(h, w, n) == 0) {
                found = true;
                break;
            }
            h += m;
            h += strspn(h, " ");
        }
        if (n && !found)
            return false;
        w += n;
        w += strspn(w, " ");
    }
    return true;
}

enum authd_status
tokinfo_check_opts(const struct authd_token_info *info, const struct authd_validate_opts *o)
{
    struct loa have, want;

    if (!o)
        return AUTHD_OK;
    if (o->scope && !tokinfo_scope_contains(info->scope, o->scope)) /* RFC 9068 §4 last step */
        return AUTHD_ERR_SCOPE;
    if (!o->acr)
        return AUTHD_OK;
    if (loa_parse(span_str(o->acr), &want) != RC_OK)
        return AUTHD_ERR_INVALID_ARGUMENT;
    if (!info->acr || loa_parse(span_str(info->acr), &have) != RC_OK || !loa_satisfies(have, want))
        return AUTHD_ERR_ASSURANCE;
    return AUTHD_OK;
}
