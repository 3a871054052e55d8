/* SMS one-time codes: 6 digits sent through the notify port (port/notify.h) to the phone
 * number on the citizen's account record, never to one from the request. Two purposes,
 * each with its own code: SMS_LOGIN (the second factor, flow/authn_sms.c; only to a phone
 * marked verified) and SMS_PHONE (verifying the phone number on record, /mfa/phone).
 *
 * A code lives sms_code_ttl_s (default 300 s), is good for one successful use, and dies
 * after SMS_MAX_ATTEMPTS attempts (right or wrong). Sending a new code replaces the old
 * one. The store keeps only a keyed hash of the code (HMAC(SECRET_TOKEN, "sms", purpose,
 * account id, phone number, code): a code is good only while the number it went to is the
 * one on record), compared in constant time:
 *
 *   authd:sms:{ACCT}:login   "<expires unix s>:<hex hash>"  TTL sms_code_ttl_s, 75 bytes
 *   authd:sms:{ACCT}:phone   the same for the phone check
 *   authd:sms:{ACCT}:login:n attempts made at the code (counter), same TTL
 *   authd:sms:{ACCT}:phone:n
 *
 * SMS bombing: every send takes a token from four buckets (flow/ratelimit.h), all or none,
 * before anything is sent: per phone number (sms_per_phone per sms_window_s; the bucket is
 * keyed by a keyed hash of the number), per account (sms_per_idnum per sms_window_s), per
 * client address (sms_per_ip per sms_window_s) and the deployment's budget
 * (sms_daily_budget per sms_budget_window_s, a day by default). docs/security.md, "SMS
 * bombing". */
#ifndef AUTHD_FLOW_SMS_H
#define AUTHD_FLOW_SMS_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/account.h"
#include "flow/app.h"
#include "util/arena.h"

#define SMS_MAX_ATTEMPTS 5

enum sms_purpose { SMS_LOGIN, SMS_PHONE };

/* The text of a code's SMS in lang ("zh" or "en"; anything else is zh): the service name
 * (sms_service_name) and the code, nothing else. In a; NULL when out of memory. */
const char *sms_text(struct arena *a, const char *service, const char *lang, const char *code);

/* Sends a new code for purpose to the phone on account_id's record. client_ip (may be
 * NULL: no per-address bucket) is the requester's address. RC_OK: sent. RC_DENIED with
 * RC_WHY_NO_PHONE: no phone number on record, or (SMS_LOGIN) not verified. RC_LIMITED
 * with RC_WHY_RATE: a limit; *retry_s (>= 1) is the wait and ri->msg says it.
 * RC_NOT_FOUND: no such account. RC_UNAVAILABLE: the store, or the gateway (the code is
 * then withdrawn). Logs one `sms.send` event (purpose, rc; never the number or the
 * code). */
enum rc sms_send(struct app *app, struct arena *a, const char *account_id, enum sms_purpose purpose,
                 const char *client_ip, const char *lang, struct rc_info *ri, uint32_t *retry_s);

/* Sends text (not a code: a notice such as a CIBA request's link, flow/ciba.h) to the
 * phone number on acct's record (verified or not), through the SMS buckets above, all or
 * none, before anything is sent (client_ip NULL: no per-address bucket). RC_OK: sent.
 * RC_DENIED with RC_WHY_NO_PHONE (no number on record, or acct disabled), RC_LIMITED with
 * RC_WHY_RATE and *retry_s, RC_TOO_LARGE (text past NOTICE_TEXT_MAX), RC_UNAVAILABLE
 * (store or gateway). Logs one `sms.notice` event (rc; never the number or the text). */
enum rc sms_send_notice(struct app *app, struct arena *a, const struct account *acct,
                        const char *client_ip, const char *text, struct rc_info *ri,
                        uint32_t *retry_s);

/* Checks a typed code for purpose. Every call counts as an attempt. RC_OK: it was the
 * live code, now used up. RC_DENIED (RC_WHY_CREDENTIALS): wrong, malformed, expired, used,
 * past SMS_MAX_ATTEMPTS, or never sent (one answer for all). RC_UNAVAILABLE. */
enum rc sms_check(struct app *app, struct arena *a, const char *account_id,
                  enum sms_purpose purpose, struct span typed, struct rc_info *ri);

/* True when acct's phone number is on record and verified: SMS is then a second factor. */
bool sms_enrolled(const struct account *acct);

/* Marks the phone number now on account_id's record verified (the account field
 * phone_verified holds the number verified, so a later change of number is unverified).
 * RC_OK, RC_NOT_FOUND, RC_UNAVAILABLE. */
enum rc sms_phone_mark_verified(struct app *app, struct arena *a, const char *account_id,
                                const char *phone);

#endif
