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

static const char *const reason_names[RC__WHY_COUNT] = {
    [RC_WHY_NONE] = "none",
    [RC_WHY_PARAM] = "param",
    [RC_WHY_GRANT_TYPE] = "grant_type",
    [RC_WHY_CLIENT_AUTH] = "client_auth",
    [RC_WHY_CLIENT_NOT_ALLOWED] = "client_not_allowed",
    [RC_WHY_SCOPE] = "scope",
    [RC_WHY_TARGET] = "target",
    [RC_WHY_GRANT] = "grant",
    [RC_WHY_SUBJECT_TOKEN] = "subject_token",
    [RC_WHY_IDNUM_LENGTH] = "idnum_length",
    [RC_WHY_IDNUM_CHARACTER] = "idnum_character",
    [RC_WHY_IDNUM_CHECK_DIGIT] = "idnum_check_digit",
    [RC_WHY_IDNUM_DATE] = "idnum_date",
    [RC_WHY_IDNUM_PROVINCE] = "idnum_province",
    [RC_WHY_NAME] = "name",
    [RC_WHY_PHONE] = "phone",
    [RC_WHY_PW_SHORT] = "pw_short",
    [RC_WHY_PW_LONG] = "pw_long",
    [RC_WHY_PW_IDNUM] = "pw_idnum",
    [RC_WHY_PW_BIRTH] = "pw_birth",
    [RC_WHY_PW_PHONE] = "pw_phone",
    [RC_WHY_PW_INVALID] = "pw_invalid",
    [RC_WHY_NOT_VERIFIED] = "not_verified",
    [RC_WHY_REGISTERED] = "registered",
    [RC_WHY_CREDENTIALS] = "credentials",
    [RC_WHY_DISABLED] = "disabled",
    [RC_WHY_LOCKED] = "locked",
    [RC_WHY_RATE] = "rate",
    [RC_WHY_CSRF] = "csrf",
    [RC_WHY_CLIENT] = "client",
    [RC_WHY_REDIRECT_URI] = "redirect_uri",
    [RC_WHY_RESPONSE_TYPE] = "response_type",
    [RC_WHY_REQUEST_OBJECT] = "request_object",
    [RC_WHY_REQUEST_URI] = "request_uri",
    [RC_WHY_REGISTRATION] = "registration",
    [RC_WHY_POLICY] = "policy",
    [RC_WHY_ACR_UNMET] = "acr_unmet",
    [RC_WHY_LEVEL] = "level",
    [RC_WHY_LOGIN_REQUIRED] = "login_required",
    [RC_WHY_CONSENT_REQUIRED] = "consent_required",
    [RC_WHY_DECLINED] = "declined",
    [RC_WHY_PENDING] = "pending",
    [RC_WHY_NO_PHONE] = "no_phone",
    [RC_WHY_USER_CODE] = "user_code",
    [RC_WHY_AUTHZ_PENDING] = "authorization_pending",
    [RC_WHY_SLOW_DOWN] = "slow_down",
    [RC_WHY_DEVICE_EXPIRED] = "device_expired",
    [RC_WHY_PAR_URI] = "par_uri",
    [RC_WHY_PAR_REQUIRED] = "par_required",
    [RC_WHY_DPOP_PROOF] = "dpop_proof",
    [RC_WHY_DPOP_NONCE] = "dpop_nonce",
    [RC_WHY_DPOP_BOUND] = "dpop_bound",
    [RC_WHY_FED_STATEMENT] = "fed_statement",
    [RC_WHY_FED_EXPIRED] = "fed_expired",
    [RC_WHY_FED_POLICY] = "fed_policy",
    [RC_WHY_FED_CONSTRAINT] = "fed_constraint",
    [RC_WHY_FED_TRUST_MARK] = "fed_trust_mark",
    [RC_WHY_FED_ANCHOR] = "fed_anchor",
    [RC_WHY_FED_UNREACHABLE] = "fed_unreachable",
    [RC_WHY_UNKNOWN_USER] = "unknown_user",
    [RC_WHY_BINDING_MESSAGE] = "binding_message",
    [RC_WHY_OTHER_CITIZEN] = "other_citizen",
    [RC_WHY_FED_ACR] = "fed_acr",
    [RC_WHY_FED_LOGIN] = "fed_login",
    [RC_WHY_NOT_STAFF] = "not_staff",
    [RC_WHY_ROLE] = "role",
    [RC_WHY_PURPOSE] = "purpose",
    [RC_WHY_QUOTA] = "quota",
    [RC_WHY_LOGIN_HINT_TOKEN] = "login_hint_token",
    [RC_WHY_ACCESS_TOKEN] = "access_token",
    [RC_WHY_KIOSK_CERT] = "kiosk_cert",
    [RC_WHY_CARD_NONCE] = "card_nonce",
    [RC_WHY_CARD_ASSERTION] = "card_assertion",
    [RC_WHY_CARD_EXPIRED] = "card_expired",
    [RC_WHY_CARD_RECORD] = "card_record",
    [RC_WHY_FACE_SCORE] = "face_score",
    [RC_WHY_KIOSK_NOT_ALLOWED] = "kiosk_not_allowed",
    [RC_WHY_CERT_BINDING] = "cert_binding",
    [RC_WHY_FED_ENTITY_ID] = "fed_entity_id",
    [RC_WHY_FED_NOT_VOUCHED] = "fed_not_vouched",
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

const char *
rc_reason_name(enum rc_reason why)
{
    return (int)why >= 0 && why < RC__WHY_COUNT && reason_names[why] ? reason_names[why]
                                                                     : "unknown";
}

enum rc
rc_fail(struct rc_info *ri, enum rc rc, enum rc_reason why, const char *field, const char *msg)
{
    if (ri) {
        ri->field = field;
        ri->msg = msg;
        ri->why = why;
    }
    return rc;
}

enum rc
rc_set(struct rc_info *ri, enum rc rc, const char *field, const char *msg)
{
    return rc_fail(ri, rc, RC_WHY_NONE, field, msg);
}

enum rc
rc_because(struct rc_info *ri, enum rc rc, enum rc_reason why)
{
    if (ri)
        ri->why = why;
    return rc;
}
