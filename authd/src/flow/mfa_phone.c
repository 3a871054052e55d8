/* Verifying the phone number on record (see mfa_phone.h). */
#include "flow/mfa_phone.h"

#include <string.h>

#include "flow/account.h"
#include "flow/session.h"
#include "flow/sms.h"

#define CSRF_FORM "mfa_phone"

/* The session of cookie (aal1 at least: an aal0 session waits for its second factor) and
 * its account. */
static enum rc
load(struct app *app, struct arena *a, struct span cookie, struct session *s, struct account *acct)
{
    enum rc rc = session_load(app, a, cookie, s);

    if (rc != RC_OK)
        return rc;
    if (s->loa.aal < AAL1)
        return RC_NOT_FOUND;
    rc = account_get(app, a, s->account_id, acct);
    if (rc == RC_OK && acct->disabled)
        return RC_NOT_FOUND;
    return rc;
}

/* "138****0001": the first three and last four digits of an 11-digit number. */
static const char *
masked(struct arena *a, const char *phone)
{
    size_t n = strlen(phone);

    if (n < 8)
        return arena_printf(a, "%s", n ? "****" : "");
    return arena_printf(a, "%.3s****%s", phone, phone + n - 4);
}

enum rc
mfa_phone_page(struct app *app, struct arena *a, struct span cookie, struct mfa_phone_page *out)
{
    struct session s;
    struct account acct;
    struct span tag;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if ((rc = load(app, a, cookie, &s, &acct)) != RC_OK)
        return rc;
    tag = span_str(s.tag);
    if ((rc = csrf_make(app, CSRF_FORM, &tag, 1, out->csrf)) != RC_OK)
        return rc;
    out->verified = sms_enrolled(&acct);
    out->phone_masked = masked(a, acct.phone);
    return out->phone_masked ? RC_OK : RC_NOMEM;
}

enum rc
mfa_phone_post(struct app *app, struct arena *a, struct span cookie, struct span csrf,
               struct span action, struct span code, const char *client_ip, const char *lang,
               struct rc_info *ri, uint32_t *retry_s)
{
    struct session s;
    struct account acct;
    struct span tag;
    enum rc rc;

    *retry_s = 0;
    if ((rc = load(app, a, cookie, &s, &acct)) != RC_OK)
        return rc;
    tag = span_str(s.tag);
    if (!csrf_check(app, CSRF_FORM, &tag, 1, csrf))
        return rc_fail(ri, RC_DENIED, RC_WHY_CSRF, "csrf", "bad");
    if (span_eq_str(action, "send"))
        return sms_send(app, a, acct.id, SMS_PHONE, client_ip, lang, ri, retry_s);
    if (!span_eq_str(action, "verify"))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "action", "send or verify");
    if (!acct.phone[0])
        return rc_fail(ri, RC_DENIED, RC_WHY_NO_PHONE, "phone", "no phone number on record");
    if ((rc = sms_check(app, a, acct.id, SMS_PHONE, code, ri)) != RC_OK)
        return rc;
    /* the number the code went to: a number changed meanwhile stays unverified */
    return sms_phone_mark_verified(app, a, acct.id, acct.phone);
}
