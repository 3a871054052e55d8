/* One table of result codes for the whole daemon: each code has a name, a default HTTP
 * status and a default OAuth error; routes may refine the status or the error. */
#ifndef AUTHD_UTIL_RC_H
#define AUTHD_UTIL_RC_H

enum rc {
    RC_OK = 0,
    RC_MALFORMED,    /* input does not parse */
    RC_TOO_LARGE,    /* input or output exceeds a named maximum */
    RC_DENIED,       /* authentication or authorization refused */
    RC_EXPIRED,      /* was valid, is no longer */
    RC_NOT_FOUND,    /* no such record */
    RC_CONFLICT,     /* exists already, or a concurrent change won */
    RC_UNAVAILABLE,  /* a dependency (store, population base) cannot answer */
    RC_NOMEM,        /* out of memory for this request */
    RC_INTERNAL,     /* a bug or an unexpected library failure */
    RC_UNSUPPORTED,  /* valid but not offered (a grant type, an algorithm) */
    RC_LIMITED,      /* rate limit or lockout */
    RC_FULL,         /* a configured capacity (memory store bound) is reached */
    RC__COUNT
};

/* Optional reason for a failure: static strings only, never the offending value. */
struct rc_info {
    const char *msg;   /* "not registered" */
    const char *field; /* "redirect_uri" */
};

/* Returns the symbolic name ("RC_DENIED") of rc; never NULL. */
const char *rc_name(enum rc rc);
/* Returns the default HTTP status for rc (RC_OK: 200). */
int rc_http_status(enum rc rc);
/* Returns the default OAuth 2.0 error code for rc (RC_OK: NULL). */
const char *rc_oauth_error(enum rc rc);
/* Fills ri (if not NULL) with a static message and field name; returns rc unchanged so a
 * caller can write `return rc_set(ri, RC_MALFORMED, "redirect_uri", "not registered");`. */
enum rc rc_set(struct rc_info *ri, enum rc rc, const char *field, const char *msg);

#endif
