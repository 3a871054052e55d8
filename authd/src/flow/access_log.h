/* The citizen's access log (docs/accounts.md, The access log): who looked at them. A page of
 * the account (GET /account/access-log, an SSO session required) lists the audit records
 * about the session's account, newest first, read through the chain's per-account index
 * (flow/audit.h audit_account_records): hotline lookups, consent requests and answers,
 * agents acting on their behalf, releases of the ID number to a service, card logins at a
 * kiosk; any other event about the account is shown by its name and time, never dropped.
 * A citizen sees only their own records: the account is the session's, never a parameter. */
#ifndef AUTHD_FLOW_ACCESS_LOG_H
#define AUTHD_FLOW_ACCESS_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/account_page.h"
#include "flow/app.h"
#include "util/arena.h"

struct auditlog_rec;

#define ACCESS_LOG_PAGE 20 /* records on one page */

/* The event names the hotline, CIBA, token exchange, claims and kiosk flows append with. */
#define ACCESS_EV_LOOKUP     "hotline.lookup"
#define ACCESS_EV_CONSENT_RQ "ciba.request"
#define ACCESS_EV_CONSENT_AN "ciba.answer"
#define ACCESS_EV_ACT        "token.act"
#define ACCESS_EV_RELEASE    "claims.id_number"
#define ACCESS_EV_CARD       "card.login"

enum access_kind {
    ACCESS_LOOKUP,          /* hotline.lookup: agent, purpose, by, outcome */
    ACCESS_CONSENT_REQUEST, /* ciba.request: agent, service, purpose */
    ACCESS_CONSENT_ANSWER,  /* ciba.answer: agent, service, purpose, outcome */
    ACCESS_ACT,             /* token.act: agent, service, audience */
    ACCESS_RELEASE,         /* claims.id_number: service, idn (masked), via */
    ACCESS_CARD_LOGIN,      /* card.login: kiosk, location, service */
    ACCESS_OTHER,           /* any other event: its name */
};

/* One line of the page; strings in the arena, NULL when the record has none (an empty
 * field is NULL too). */
struct access_entry {
    uint64_t seq;
    int64_t ts;
    enum access_kind kind;
    const char *ev;
    const char *agent_name; /* masked, as recorded */
    const char *emp;        /* employee number */
    const char *service;    /* the client's display name (policy `name`), else its id */
    const char *audience;   /* token.act: the service the token was exchanged for */
    const char *purpose;    /* the purpose's display name (policy), else its code */
    const char *outcome;    /* a code: found, not_found, refused, approved, denied, expired */
    const char *by;         /* hotline.lookup: id_number or phone */
    const char *idn;        /* claims.id_number: the number, masked */
    const char *via;        /* claims.id_number: token, userinfo, introspect */
    const char *kiosk, *location;
};

struct access_view {
    struct access_entry *entries;
    size_t n;
    uint64_t older; /* the next page's `before` (0: this is the last page) */
    bool first;     /* this is the newest page */
};

/* GET: a page of the browser's session's access log, records with seq < before (0: the
 * newest). VIEW (*v filled), LOGIN (no session: the account page's login, which comes back
 * to /account), ERROR RC_UNAVAILABLE (the store), RC_NOMEM. Returns the rc. */
enum rc access_log_view(struct app *app, struct arena *a, const struct account_ctx *ctx,
                        uint64_t before, struct access_view *v, struct account_result *out);

/* The page line of record r (pure but for the client and purpose names from the policy). */
void access_log_entry(struct app *app, struct arena *a, const struct auditlog_rec *r,
                      struct access_entry *e);

#endif
