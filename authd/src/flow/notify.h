/* Notices to citizens on behalf of relying modules (POST /notify). A module knows a citizen
 * only by the `sub` in the tokens it received, and never learns the phone number. To turn
 * that sub back into an account, authd remembers, whenever it issues a token carrying a
 * sub to (or towards) a client registered with scope `notify.send`, the pair:
 *
 *   authd:subrev:{SUB}:CLIENT  -> account id     TTL NOTIFY_SUBJECT_TTL, renewed per token
 *
 * Keyed by the client as well as the sub, so a module can reach only the citizens whose
 * tokens it was given (by the code flow, or as the audience or caller of a token
 * exchange), never a sub it picked up elsewhere; and since pairwise subs are per sector,
 * the key also works when the sub comes from another client's sector (exchange keeps the
 * caller's sub, flow/token_exchange.c). Clients without notify.send cost nothing. */
#ifndef AUTHD_FLOW_NOTIFY_H
#define AUTHD_FLOW_NOTIFY_H

#include "conf/policy.h"
#include "flow/app.h"
#include "util/arena.h"

#define NOTIFY_SCOPE       "notify.send"
#define NOTIFY_SUBJECT_TTL (90u * 86400u) /* an application may take weeks to decide */

/* Remembers that client c knows account_id as sub, if c has scope notify.send; does
 * nothing otherwise. RC_OK, RC_UNAVAILABLE, RC_NOMEM. */
enum rc notify_subject_remember(struct app *app, struct arena *a, const struct policy *p,
                                const struct policy_client *c, const char *sub,
                                const char *account_id);

/* A notice request (spans into the parsed form; ref may be absent). */
struct notify_req {
    struct span sub, text, ref;
};

/* Sends text to the phone of the citizen client c knows as sub, through app->notify.
 * RC_OK. RC_DENIED (c lacks notify.send), RC_MALFORMED / RC_TOO_LARGE (ri names the field:
 * sub, text, ref), RC_NOT_FOUND (c was never given a token for sub, or the account is
 * gone or disabled), RC_CONFLICT (no phone number on file), RC_UNSUPPORTED (notices are not
 * configured), RC_UNAVAILABLE (store or gateway). Logs one `notify` event (client, ref,
 * rc; never the phone or the text). */
enum rc notify_citizen(struct app *app, struct arena *a, const struct policy_client *c,
                       const struct notify_req *req, struct rc_info *ri);

#endif
