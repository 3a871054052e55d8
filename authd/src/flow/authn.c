/* The registry of authenticators, what policy lets a request use, and the end of a login. */
#include "flow/authn.h"

#include <openssl/crypto.h>
#include <string.h>

#include "core/authz.h"
#include "flow/logout.h"
#include "flow/signins.h"
#include "log/log.h"

/* Every registered authenticator, in the order the login offers them. */
static const struct authn *const all[] = {
    &authn_password,
    &authn_totp,
    &authn_sms,
    &authn_staff,
};
#define NALL (sizeof(all) / sizeof(all[0]))

const struct authn *
authn_at(size_t i)
{
    return i < NALL ? all[i] : NULL;
}

const struct authn *
authn_find(struct span name)
{
    for (size_t i = 0; i < NALL; i++)
        if (span_eq_str(name, all[i]->name))
            return all[i];
    return NULL;
}

bool
authn_second_factor(struct app *app, struct arena *a, const char *account_id)
{
    for (size_t i = 0; i < NALL; i++)
        if ((all[i]->needs & AUTHN_NEEDS_SESSION) && all[i]->enrolled
            && all[i]->enrolled(app, a, account_id))
            return true;
    return false;
}

static bool
listed(const struct strlist *l, const char *name)
{
    return l->n == 0 || strlist_has(l, span_str(name));
}

bool
authn_accepted(const struct policy *p, const struct policy_client *cl, const char *scope,
               const struct authn *m)
{
    struct span w;
    size_t i = 0;

    if (!cl || !listed(&cl->authenticators, m->name))
        return false;
    if (m->named_only && cl->authenticators.n == 0)
        return false;
    while (scope && span_next_word(span_str(scope), &i, &w)) {
        const struct policy_scope *sc = policy_scope(p, w);
        if (sc && !listed(&sc->authenticators, m->name))
            return false;
    }
    return true;
}

void
authn_reach(const struct policy *p, const struct policy_client *cl, const char *scope,
            struct loa *login, struct loa *step)
{
    *login = *step = (struct loa){IAL_NONE, AAL_NONE};
    for (size_t i = 0; i < NALL; i++) {
        struct loa *to = all[i]->needs & AUTHN_NEEDS_SESSION ? step : login;
        if (authn_accepted(p, cl, scope, all[i]))
            *to = loa_max(*to, all[i]->reach);
    }
}

const struct authn *
authn_step_up(const struct policy *p, const struct policy_client *cl, const char *scope,
              struct loa have, struct loa min)
{
    for (size_t i = 0; i < NALL; i++)
        if ((all[i]->needs & AUTHN_NEEDS_SESSION) && authn_accepted(p, cl, scope, all[i])
            && loa_satisfies(loa_max(have, all[i]->reach), min))
            return all[i];
    return NULL;
}

const struct authn *
authn_step_up_for(struct app *app, struct arena *a, const struct policy *p,
                  const struct policy_client *cl, const char *scope, struct loa have,
                  struct loa min, const char *account_id)
{
    for (size_t i = 0; i < NALL; i++)
        if ((all[i]->needs & AUTHN_NEEDS_SESSION) && authn_accepted(p, cl, scope, all[i])
            && loa_satisfies(loa_max(have, all[i]->reach), min)
            && (!all[i]->enrolled || all[i]->enrolled(app, a, account_id)))
            return all[i];
    return authn_step_up(p, cl, scope, have, min);
}

/* Another citizen logs in where old was: that is a logout of old, through the path
 * /end_session takes (token families revoked, back-channel logouts queued). Front-channel
 * frames cannot be shown on the way to the client: relying parties that need to hear of
 * it register a back-channel logout URI. RC_UNAVAILABLE: old could not be ended. */
static enum rc
replace_other(struct app *app, struct arena *a, const struct session *old, bool tls)
{
    struct logout_result lr;
    enum rc rc = logout_session_end(app, a, old, tls, &lr);
    struct log_rec *rec = log_begin(rc == RC_OK ? LOG_INFO : LOG_ERROR, "logout.replaced");

    log_str(rec, "rc", rc_name(rc));
    log_int(rec, "ended", lr.ended);
    log_end(rec);
    return rc;
}

/* The account's sign-in record gains this login (best effort, flow/signins.h). */
static void
record(struct app *app, struct arena *a, const struct authn_proof *proof, struct loa loa)
{
    struct signin_event e = {true, proof->client_id, proof->client_ip, loa};

    signins_record(app, a, proof->account_id, &e);
}

enum rc
authn_complete(struct app *app, struct arena *a, const struct authn *m,
               const struct authn_proof *proof, const struct session *current, bool tls,
               struct session *s, const char **set_cookie)
{
    struct session_login l = {proof->account_id, proof->loa,     m->amr, clock_now(app->clock),
                              proof->device,     proof->client_id};
    const struct session *same = NULL;
    char cookie[SESSION_COOKIE_LEN + 1];
    enum rc rc;

    *set_cookie = NULL;
    if (m->needs & AUTHN_NEEDS_SESSION) {
        if (!current || strcmp(current->account_id, proof->account_id) != 0)
            return RC_DENIED;
        *s = *current; /* a new cookie: the old one must not carry the raised level */
        if ((rc = session_upgrade(app, a, s, &l, cookie)) != RC_OK)
            return rc;
    } else {
        if (current && strcmp(current->account_id, proof->account_id) == 0)
            same = current;
        else if (current && (rc = replace_other(app, a, current, tls)) != RC_OK)
            return rc; /* fail closed: never two citizens' tokens from one browser */
        if ((rc = session_login(app, a, &l, same, cookie, s)) != RC_OK)
            return rc;
    }
    *set_cookie = session_cookie(a, cookie, tls);
    OPENSSL_cleanse(cookie, sizeof(cookie));
    if (!*set_cookie)
        return RC_NOMEM;
    record(app, a, proof, s->loa);
    return RC_OK;
}

bool
authn_staff_login(const struct policy *p, const struct policy_client *cl, const char *scope)
{
    return authn_accepted(p, cl, scope, &authn_staff)
           && !authn_accepted(p, cl, scope, &authn_password);
}
