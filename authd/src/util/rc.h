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

/* Why a request was refused, finer than enum rc: a stable code, never English. Each
 * endpoint maps (rc, reason) to its answer in one table (http/http.h: struct http_error:
 * status, OAuth error, page message key); logs carry its name (rc_reason_name). Codes are
 * appended, never renumbered or renamed. */
enum rc_reason {
    RC_WHY_NONE = 0,           /* "none": nothing finer than the rc */
    RC_WHY_PARAM,              /* "param": a parameter missing, malformed or not accepted */
    RC_WHY_GRANT_TYPE,         /* "grant_type": a grant type the server does not offer */
    RC_WHY_CLIENT_AUTH,        /* "client_auth": client authentication failed */
    RC_WHY_CLIENT_NOT_ALLOWED, /* "client_not_allowed": not registered for this use */
    RC_WHY_SCOPE,              /* "scope": the requested scope is refused */
    RC_WHY_TARGET,             /* "target": the audience or resource is refused */
    RC_WHY_GRANT,              /* "grant": code or refresh token unknown, expired or reused */
    RC_WHY_SUBJECT_TOKEN,      /* "subject_token": token exchange's subject token unusable */
    RC_WHY_IDNUM_LENGTH,       /* "idnum_length": the ID number is not 18 characters */
    RC_WHY_IDNUM_CHARACTER,    /* "idnum_character": not 17 digits and a digit or X */
    RC_WHY_IDNUM_CHECK_DIGIT,  /* "idnum_check_digit" */
    RC_WHY_IDNUM_DATE,         /* "idnum_date": the birth date is not valid */
    RC_WHY_IDNUM_PROVINCE,     /* "idnum_province": the region code is not valid */
    RC_WHY_NAME,               /* "name": the name is unusable */
    RC_WHY_PHONE,              /* "phone": not a mainland mobile number */
    RC_WHY_PW_SHORT,           /* "pw_short": password below password_min_length */
    RC_WHY_PW_LONG,            /* "pw_long": password above ACCOUNT_PASSWORD_MAX */
    RC_WHY_PW_IDNUM,           /* "pw_idnum": password is the ID number */
    RC_WHY_PW_BIRTH,           /* "pw_birth": password is the birth date */
    RC_WHY_PW_PHONE,           /* "pw_phone": password is the mobile number */
    RC_WHY_PW_INVALID,         /* "pw_invalid": password holds a character not allowed */
    RC_WHY_NOT_VERIFIED,       /* "not_verified": the population base did not confirm */
    RC_WHY_REGISTERED,         /* "registered": the ID number has an account already */
    RC_WHY_CREDENTIALS,        /* "credentials": wrong ID number or password (one for both) */
    RC_WHY_DISABLED,           /* "disabled": the account is disabled */
    RC_WHY_LOCKED,             /* "locked": locked out after failed attempts */
    RC_WHY_RATE,               /* "rate": too many attempts from an address or for a number */
    RC_WHY_CSRF,               /* "csrf": a form's CSRF token is missing or wrong (RC_DENIED),
                                  or could not be made (another rc) */
    RC_WHY_CLIENT,             /* "client": client_id missing or not a known client */
    RC_WHY_REDIRECT_URI,       /* "redirect_uri": missing, or not registered for the client */
    RC_WHY_RESPONSE_TYPE,      /* "response_type": a response type the server does not offer */
    RC_WHY_REQUEST_OBJECT,     /* "request_object": a request object (OIDC Core §6) */
    RC_WHY_REQUEST_URI,        /* "request_uri": a request object by reference */
    RC_WHY_REGISTRATION,       /* "registration": client metadata in the request (§7.2.1) */
    RC_WHY_POLICY,             /* "policy": the client's or a scope's policy is unusable */
    RC_WHY_ACR_UNMET,          /* "acr_unmet": the client asked for a level out of reach */
    RC_WHY_LEVEL,              /* "level": policy demands a level out of reach */
    RC_WHY_LOGIN_REQUIRED,     /* "login_required": no usable session and no interaction */
    RC_WHY_CONSENT_REQUIRED,   /* "consent_required": consent needed and no interaction */
    RC_WHY_DECLINED,           /* "declined": the citizen declined */
    RC_WHY_PENDING,            /* "pending": a page's pending request is unknown, expired, or
                                  cannot go on this way */
    RC_WHY_NO_PHONE,           /* "no_phone": no (verified) phone number on record for a code */
    RC_WHY_USER_CODE,          /* "user_code": a device grant user code unknown or malformed */
    RC_WHY_AUTHZ_PENDING,      /* "authorization_pending": the device grant is not decided yet */
    RC_WHY_SLOW_DOWN,          /* "slow_down": a device grant polled sooner than its interval */
    RC_WHY_DEVICE_EXPIRED,     /* "device_expired": the device code (or a CIBA auth_req_id)
                                  expired (expired_token) */
    RC_WHY_PAR_URI,            /* "par_uri": a pushed request's request_uri is unknown, expired,
                                  used, or another client's (RFC 9126 §4) */
    RC_WHY_PAR_REQUIRED,       /* "par_required": the client must push its requests (§5) */
    RC_WHY_DPOP_PROOF,         /* "dpop_proof": a DPoP proof missing, malformed, stale, replayed,
                                  or for another request (RFC 9449 §4.3) */
    RC_WHY_DPOP_NONCE,         /* "dpop_nonce": the server's nonce is required (§8, §9) */
    RC_WHY_DPOP_BOUND,         /* "dpop_bound": a DPoP-bound token without its key (as Bearer,
                                  or with a proof of another key) */
    RC_WHY_FED_STATEMENT,      /* "fed_statement": a federation statement is malformed, has the
                                  wrong typ, a bad signature or broken iss/sub chaining */
    RC_WHY_FED_EXPIRED,        /* "fed_expired": a federation statement has expired */
    RC_WHY_FED_POLICY,         /* "fed_policy": metadata policies cannot be combined or the
                                  metadata breaks them (OpenID Federation 1.0 §6.1) */
    RC_WHY_FED_CONSTRAINT,     /* "fed_constraint": a chain breaks a superior's constraints */
    RC_WHY_FED_TRUST_MARK,     /* "fed_trust_mark": a required trust mark is missing or bad */
    RC_WHY_FED_ANCHOR,         /* "fed_anchor": not a configured trust anchor, or no path to it */
    RC_WHY_FED_UNREACHABLE,    /* "fed_unreachable": an entity of the chain cannot be fetched */
    RC_WHY_UNKNOWN_USER,       /* "unknown_user": a CIBA login_hint names no usable account
                                  (CIBA Core §13 unknown_user_id) */
    RC_WHY_BINDING_MESSAGE,    /* "binding_message": a CIBA binding_message too long or not
                                  printable (CIBA Core §13 invalid_binding_message) */
    RC_WHY_OTHER_CITIZEN,      /* "other_citizen": a CIBA request approved from the session of
                                  a citizen other than the one it names */
    RC_WHY_FED_ACR,            /* "fed_acr": a home province's acr above what its trust mark
                                  or the anchor's policy allows (brokered login) */
    RC_WHY_FED_LOGIN,          /* "fed_login": the home province refused or broke the brokered
                                  login (an error answer, a bad ID token, a lost state) */
    RC_WHY_NOT_STAFF,          /* "not_staff": a staff endpoint called with the token of a
                                  citizen (or of a disabled or removed staff member) */
    RC_WHY_ROLE,               /* "role": the staff member's role does not allow the action */
    RC_WHY_PURPOSE,            /* "purpose": a purpose code missing, unknown, or not one of the
                                  staff member's role */
    RC_WHY_QUOTA,              /* "quota": a staff member over the daily lookup quota */
    RC_WHY_LOGIN_HINT_TOKEN,   /* "login_hint_token": a CIBA login_hint_token that is not one of
                                  ours, another client's, or expired */
    RC_WHY_ACCESS_TOKEN,       /* "access_token": a staff endpoint's bearer token missing,
                                  malformed, invalid, expired or revoked */
    RC_WHY_KIOSK_CERT,         /* "kiosk_cert": no client certificate, or one that is not an
                                  enrolled, unrevoked kiosk's (invalid_client) */
    RC_WHY_CARD_NONCE,         /* "card_nonce": a card assertion's nonce unknown, used, expired
                                  or another kiosk's */
    RC_WHY_CARD_ASSERTION,     /* "card_assertion": a card assertion malformed, badly signed,
                                  expired or not for us */
    RC_WHY_CARD_EXPIRED,       /* "card_expired": the ID card is past its valid_until */
    RC_WHY_CARD_RECORD,        /* "card_record": the population base does not match the card
                                  (name, number) or the record is cancelled */
    RC_WHY_FACE_SCORE,         /* "face_score": the face match is under policy */
    RC_WHY_KIOSK_NOT_ALLOWED,  /* "kiosk_not_allowed": the kiosk may not serve this client or
                                  scope */
    RC_WHY_CERT_BINDING,       /* "cert_binding": a certificate-bound token presented without
                                  that certificate (RFC 8705 §3) */
    RC_WHY_FED_ENTITY_ID,      /* "fed_entity_id": a client_id taken for an entity id is not one
                                  (§1.2: https, a host, no userinfo, query or fragment) */
    RC_WHY_FED_NOT_VOUCHED,    /* "fed_not_vouched": no trust anchor has a subordinate statement
                                  about the entity (automatic registration, fed_client.c) */
    RC__WHY_COUNT
};

/* Wildcards for tables keyed by (rc, reason): match any code. */
#define RC_ANY     RC__COUNT
#define RC_WHY_ANY RC__WHY_COUNT

/* Optional reason for a failure: a code, and static strings only, never the offending
 * value. msg is developer-facing English (an error_description where the wire has one). */
struct rc_info {
    const char *msg;    /* "not registered" */
    const char *field;  /* "redirect_uri" */
    enum rc_reason why; /* RC_WHY_NONE unless the failure has a finer reason */
};

/* Returns the symbolic name ("RC_DENIED") of rc; never NULL. */
const char *rc_name(enum rc rc);
/* Returns the default HTTP status for rc (RC_OK: 200). */
int rc_http_status(enum rc rc);
/* Returns the default OAuth 2.0 error code for rc (RC_OK: NULL). */
const char *rc_oauth_error(enum rc rc);
/* Fills ri (if not NULL) with a static message and field name, reason RC_WHY_NONE; returns
 * rc unchanged so a caller can write
 * `return rc_set(ri, RC_MALFORMED, "redirect_uri", "not registered");`. */
enum rc rc_set(struct rc_info *ri, enum rc rc, const char *field, const char *msg);
/* rc_set with a reason code: `return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "empty");`. */
enum rc rc_fail(struct rc_info *ri, enum rc rc, enum rc_reason why, const char *field,
                const char *msg);
/* Gives a callee's failure (already in ri, field and message kept) the reason why; returns
 * rc. With RC_WHY_NONE: passes the failure on unrefined, its rc alone decides the answer. */
enum rc rc_because(struct rc_info *ri, enum rc rc, enum rc_reason why);
/* Returns the stable name of a reason ("pw_short"); never NULL ("unknown" if out of range). */
const char *rc_reason_name(enum rc_reason why);

#endif
