#include "util/rc.h"

#include <stddef.h>

static const struct {
    const char *name;
    int status;
    const char *oauth;
} rc_table[RC__COUNT] = {
    [RC_OK] = {"RC_OK", 200, NULL},
    [RC_MALFORMED] = {"RC_MALFORMED", 400, "invalid_request"},
    [RC_TOO_LARGE] = {"RC_TOO_LARGE", 413, "invalid_request"},
    [RC_DENIED] = {"RC_DENIED", 401, "access_denied"},
    [RC_EXPIRED] = {"RC_EXPIRED", 400, "invalid_grant"},
    [RC_NOT_FOUND] = {"RC_NOT_FOUND", 404, "invalid_request"},
    [RC_CONFLICT] = {"RC_CONFLICT", 409, "invalid_request"},
    [RC_UNAVAILABLE] = {"RC_UNAVAILABLE", 503, "temporarily_unavailable"},
    [RC_NOMEM] = {"RC_NOMEM", 503, "temporarily_unavailable"},
    [RC_INTERNAL] = {"RC_INTERNAL", 500, "server_error"},
    [RC_UNSUPPORTED] = {"RC_UNSUPPORTED", 400, "unsupported_grant_type"},
    [RC_LIMITED] = {"RC_LIMITED", 429, "slow_down"},
    [RC_FULL] = {"RC_FULL", 503, "temporarily_unavailable"},
};

static int
valid(enum rc rc)
{
    return (int)rc >= 0 && rc < RC__COUNT;
}

const char *
rc_name(enum rc rc)
{
    return valid(rc) ? rc_table[rc].name : "RC_UNKNOWN";
}

int
rc_http_status(enum rc rc)
{
    return valid(rc) ? rc_table[rc].status : 500;
}

const char *
rc_oauth_error(enum rc rc)
{
    return valid(rc) ? rc_table[rc].oauth : "server_error";
}

enum rc
rc_set(struct rc_info *ri, enum rc rc, const char *field, const char *msg)
{
    if (ri) {
        ri->field = field;
        ri->msg = msg;
    }
    return rc;
}
