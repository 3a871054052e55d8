#include "flow/account_json.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <string.h>

/* Reads member k: a string without NUL (copied into a), or absent/null when optional. */
static enum rc
member(struct arena *a, json_t *o, const char *k, bool optional, struct span *out)
{
    json_t *v = json_object_get(o, k);
    char *s;

    *out = (struct span){(const uint8_t *)"", 0};
    if (!v || json_is_null(v))
        return optional ? RC_OK : RC_MALFORMED;
    if (!json_is_string(v) || memchr(json_string_value(v), 0, json_string_length(v)))
        return RC_MALFORMED;
    if (!(s = arena_strndup(a, json_string_value(v), json_string_length(v))))
        return RC_NOMEM;
    *out = span_of(s, json_string_length(v));
    return RC_OK;
}

/* Wipes the password from jansson's copy before freeing it. */
static void
drop(json_t *o)
{
    json_t *pw = json_object_get(o, "password");

    if (json_is_string(pw))
        OPENSSL_cleanse((char *)json_string_value(pw), json_string_length(pw));
    json_decref(o);
}

enum rc
account_json_parse(struct arena *a, struct span body, struct register_req *out, struct rc_info *ri)
{
    static const char *const names[] = {"id_number", "name", "phone", "password"};
    struct register_req req;
    struct span *dst[] = {&req.id_number, &req.name, &req.phone, &req.password};
    json_t *o;
    enum rc rc = RC_OK;

    if (body.len > ACCOUNT_JSON_MAX)
        return rc_set(ri, RC_TOO_LARGE, NULL, "body too large");
    o = json_loadb((const char *)body.p, body.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        drop(o);
        return rc_set(ri, RC_MALFORMED, NULL, "body must be one JSON object");
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && rc == RC_OK; i++) {
        rc = member(a, o, names[i], dst[i] == &req.phone, dst[i]);
        if (rc == RC_MALFORMED)
            rc_set(ri, rc, names[i], "missing or not a string");
    }
    drop(o);
    if (rc == RC_OK)
        *out = req;
    return rc;
}
