/* Calls to authd's endpoints: introspection (RFC 7662), client_credentials (RFC 6749 §4.4)
 * and token exchange (RFC 8693), each authenticated with client_secret_basic. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

#define GRANT_EXCHANGE    "urn:ietf:params:oauth:grant-type:token-exchange"
#define TOKEN_TYPE_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define MAX_TOKEN_IN      (16 * 1024) /* a token we send */
#define MAX_FORM          (40 * 1024)

/* Copies an untrusted string into a fixed field: printable ASCII only, truncated. */
static void
copy_text(char *dst, size_t cap, json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = 0;

    for (; *s && n + 1 < cap; s++)
        dst[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    dst[n] = '\0';
}

/* Turns a non-200 answer into a status, filling err from an RFC 6749 §5.2 body. */
static enum authd_status
answer_error(const struct fetch_answer *a, struct authd_error *err)
{
    json_t *o = json_loadb((const char *)a->body.p, a->body.len, 0, NULL);
    json_t *e = json_object_get(o, "error");
    enum authd_status st;

    if (a->status >= 500)
        st = AUTHD_ERR_UNAVAILABLE;
    else if (a->status >= 400 && json_is_string(e))
        st = AUTHD_ERR_REFUSED;
    else
        st = AUTHD_ERR_PROTOCOL;
    if (err) {
        err->http_status = (int)a->status;
        copy_text(err->error, sizeof(err->error), e);
        copy_text(err->description, sizeof(err->description),
                  json_object_get(o, "error_description"));
    }
    json_decref(o);
    return st;
}

/* POSTs form to url with client authentication; AUTHD_OK only for a 200 answer. */
static enum authd_status
call(struct authd_client *c, const char *url, struct buf *form, struct fetch_answer *a,
     struct authd_error *err)
{
    enum authd_status st;

    if (err)
        memset(err, 0, sizeof(*err));
    if (!c->client_id)
        return AUTHD_ERR_INVALID_ARGUMENT;
    st = fetch_post_form(c, url, buf_span(form), FETCH_AUTH_BASIC, CLIENT_MAX_RESPONSE, a);
    if (st == AUTHD_OK && a->status != 200)
        st = answer_error(a, err);
    return st;
}

static enum authd_status
dup_member(json_t *o, const char *name, bool required, char **out)
{
    json_t *v = json_object_get(o, name);

    if (!v)
        return required ? AUTHD_ERR_PROTOCOL : AUTHD_OK;
    if (!json_is_string(v) || !json_string_length(v))
        return AUTHD_ERR_PROTOCOL;
    return (*out = strdup(json_string_value(v))) ? AUTHD_OK : AUTHD_ERR_NOMEM;
}

/* RFC 6749 §5.1 / RFC 8693 §2.2.1 success answer. */
static enum authd_status
parse_token(struct span body, bool exchange, struct authd_token *out)
{
    json_t *o = json_loadb((const char *)body.p, body.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *exp = json_object_get(o, "expires_in");
    enum authd_status st = AUTHD_ERR_PROTOCOL;

    if (!json_is_object(o) || (exp && (!json_is_integer(exp) || json_integer_value(exp) < 0)))
        goto out;
    if ((st = dup_member(o, "access_token", true, &out->access_token))
        || (st = dup_member(o, "token_type", true, &out->token_type))
        || (st = dup_member(o, "issued_token_type", exchange, &out->issued_token_type))
        || (st = dup_member(o, "scope", false, &out->scope)))
        goto out;
    out->expires_in = exp ? (int64_t)json_integer_value(exp) : 0;
out:
    json_decref(o);
    if (st != AUTHD_OK)
        authd_token_clear(out);
    return st;
}

enum authd_status
authd_client_credentials(struct authd_client *c, const char *scope, struct authd_token *out,
                         struct authd_error *err)
{
    struct fetch_answer a;
    struct buf form;
    enum authd_status st = AUTHD_ERR_NOMEM;

    memset(out, 0, sizeof(*out));
    fetch_answer_init(&a, 0);
    buf_init(&form, MAX_FORM);
    if (fetch_form_add(&form, "grant_type", "client_credentials", 18) != RC_OK
        || (scope && fetch_form_add(&form, "scope", scope, strlen(scope)) != RC_OK))
        goto out;
    if ((st = call(c, c->token_uri, &form, &a, err)) == AUTHD_OK)
        st = parse_token(buf_span(&a.body), false, out);
out:
    fetch_answer_clear(&a);
    buf_clear(&form);
    return st;
}

enum authd_status
authd_client_exchange(struct authd_client *c, const char *subject_token, size_t subject_len,
                      const char *audience, const char *scope, struct authd_token *out,
                      struct authd_error *err)
{
    struct fetch_answer a;
    struct buf form;
    enum authd_status st = AUTHD_ERR_INVALID_ARGUMENT;

    memset(out, 0, sizeof(*out));
    fetch_answer_init(&a, 0);
    buf_init(&form, MAX_FORM);
    if (!subject_token || !subject_len || subject_len > MAX_TOKEN_IN || !audience || !*audience)
        goto out;
    st = AUTHD_ERR_NOMEM;
    if (fetch_form_add(&form, "grant_type", GRANT_EXCHANGE, strlen(GRANT_EXCHANGE)) != RC_OK
        || fetch_form_add(&form, "subject_token", subject_token, subject_len) != RC_OK
        || fetch_form_add(&form, "subject_token_type", TOKEN_TYPE_ACCESS, strlen(TOKEN_TYPE_ACCESS))
               != RC_OK
        || fetch_form_add(&form, "audience", audience, strlen(audience)) != RC_OK
        || (scope && fetch_form_add(&form, "scope", scope, strlen(scope)) != RC_OK))
        goto out;
    if ((st = call(c, c->token_uri, &form, &a, err)) == AUTHD_OK)
        st = parse_token(buf_span(&a.body), true, out);
out:
    fetch_answer_clear(&a);
    buf_clear(&form); /* holds the subject token */
    return st;
}

/* RFC 7662 §2.2: active, then the token's claims (iss, exp, nbf, aud rechecked when present). */
static enum authd_status
parse_introspection(struct authd_client *c, struct span body, const struct authd_validate_opts *o,
                    struct authd_token_info *out)
{
    json_t *j = json_loadb((const char *)body.p, body.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *active = json_object_get(j, "active");
    enum authd_status st = AUTHD_ERR_PROTOCOL;

    if (!json_is_boolean(active))
        goto out;
    st = AUTHD_ERR_INACTIVE;
    if (!json_is_true(active))
        goto out;
    if ((st = tokinfo_init(out)) != AUTHD_OK || (st = tokinfo_extract(c, body, false, out)))
        goto out;
    st = tokinfo_check_opts(out, o);
out:
    json_decref(j);
    return st;
}

enum authd_status
authd_client_introspect(struct authd_client *c, const char *token, size_t len,
                        const struct authd_validate_opts *o, struct authd_token_info *out,
                        struct authd_error *err)
{
    struct fetch_answer a;
    struct buf form;
    enum authd_status st = AUTHD_ERR_INVALID_ARGUMENT;

    memset(out, 0, sizeof(*out));
    fetch_answer_init(&a, 0);
    buf_init(&form, MAX_FORM);
    if (!token || !len || len > MAX_TOKEN_IN)
        goto out;
    st = AUTHD_ERR_NOMEM;
    if (fetch_form_add(&form, "token", token, len) != RC_OK
        || fetch_form_add(&form, "token_type_hint", "access_token", 12) != RC_OK)
        goto out;
    if ((st = call(c, c->introspect_uri, &form, &a, err)) == AUTHD_OK)
        st = parse_introspection(c, buf_span(&a.body), o, out);
out:
    fetch_answer_clear(&a);
    buf_clear(&form);
    if (st != AUTHD_OK)
        authd_token_info_clear(out);
    return st;
}
