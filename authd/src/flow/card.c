/* The kiosk card login (flow/card.h). */
#include "flow/card.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "core/authz.h"
#include "core/cardassert.h"
#include "core/jose.h"
#include "core/mask.h"
#include "flow/account.h"
#include "flow/account_int.h"
#include "flow/audit.h"
#include "flow/decoupled.h"
#include "flow/grant.h"
#include "log/log.h"
#include "port/popbase.h"
#include "port/secrets.h"
#include "port/store.h"

/* authd:KIND:{HMAC(SECRET_TOKEN, value)} */
static struct span
hashed_key(struct app *app, struct arena *a, const char *kind, struct span value)
{
    char h[65];

    if (secrets_hmac_hex(app->secrets, SECRET_TOKEN, &value, 1, h) != RC_OK)
        return (struct span){NULL, 0};
    return store_key(a, kind, span_str(h), NULL);
}

enum rc
card_nonce(struct app *app, struct arena *a, const struct kiosk_cert *kc, char nonce[23])
{
    struct span key;
    enum rc rc;

    if ((rc = grant_random_token(app, 16, nonce, CARD_NONCE_LEN + 1)) != RC_OK)
        return rc;
    if (!(key = hashed_key(app, a, "cardnonce", span_str(nonce))).p)
        return RC_NOMEM;
    return store_put(app->store, key, span_str(kc->id), CARD_NONCE_TTL, STORE_NX | STORE_LOW);
}

/* The assertion's payload, verified with the key of the presenting certificate. */
static enum rc
verify_jws(struct arena *a, const struct kiosk_cert *kc, struct span jws, struct span *payload,
           struct rc_info *ri)
{
    static const struct jose_verify_opts vo = {JOSE_ES256, CARD_TYP};
    struct jose_keyset *ks = NULL;
    char x5t[CARD_HASH_LEN + 1];
    enum rc rc;

    if ((rc = cardassert_header(a, jws, x5t, ri)) != RC_OK)
        return rc_because(ri, RC_DENIED, RC_WHY_CARD_ASSERTION);
    if (CRYPTO_memcmp(x5t, kc->x5t, CARD_HASH_LEN) != 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_ASSERTION, "assertion",
                       "x5t#S256 is not the presenting kiosk's certificate");
    if ((rc = jose_keyset_new(&ks)) != RC_OK)
        return rc;
    if (jose_keyset_add_jwk(ks, span_str(kc->jwk), 0, NULL) != RC_OK
        || jose_keyset_seal(ks) != RC_OK)
        rc = RC_INTERNAL;
    else if ((rc = jose_verify(ks, &vo, jws, a, payload, NULL, NULL)) != RC_OK)
        rc = rc == RC_NOMEM ? rc
                            : rc_fail(ri, RC_DENIED, RC_WHY_CARD_ASSERTION, "assertion",
                                      "not signed by the presenting kiosk's key");
    jose_keyset_release(ks);
    return rc;
}

/* Takes the nonce (single use), which must be kiosk id's. */
static enum rc
take_nonce(struct app *app, struct arena *a, const char *nonce, const char *id, struct rc_info *ri)
{
    struct span key = hashed_key(app, a, "cardnonce", span_str(nonce)), v;
    enum rc rc;

    if (!key.p)
        return RC_NOMEM;
    rc = store_take(app->store, a, key, &v);
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_NONCE, "nonce",
                       "unknown, already used or expired: ask /kiosk/nonce again");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    if (!span_eq_str(v, id))
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_NONCE, "nonce", "issued to another kiosk");
    return RC_OK;
}

/* The population base must say `match` (fail closed on `unavailable`). */
static enum rc
check_population(struct app *app, const struct card_assertion *ca, struct rc_info *ri)
{
    enum pop_answer ans = POP_UNAVAILABLE;
    struct pop_attrs at;
    enum rc rc = popbase_verify(app->pop, span_str(ca->id.text), span_str(ca->name), &ans, &at);

    if (rc != RC_OK || ans == POP_UNAVAILABLE)
        return rc_fail(ri, RC_UNAVAILABLE, RC_WHY_NONE, "population base", "cannot answer");
    if (ans == POP_CANCELLED)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_RECORD, "card",
                       "the population record is cancelled");
    if (ans != POP_MATCH)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_RECORD, "card",
                       "the card's number and name do not match the population base");
    return RC_OK;
}

static void
log_login(const struct card_assertion *ca, const struct kiosk_cert *kc,
          const struct policy_client *c, enum rc rc, const struct rc_info *ri, const char *acr)
{
    struct log_rec *lr = log_begin(rc == RC_OK ? LOG_INFO : LOG_WARN, "card.login");
    char m[MASK_IDNUM_SIZE];

    if (ca && ca->id.text[0]) {
        mask_idnum(span_str(ca->id.text), m);
        log_str(lr, "idn", m);
    }
    log_str(lr, "kiosk", kc->id);
    log_str(lr, "client", c->id);
    log_str(lr, "rc", rc_name(rc));
    if (rc != RC_OK && ri) {
        log_str(lr, "reason", rc_reason_name(ri->why));
        log_str(lr, "why", ri->msg);
    }
    if (rc == RC_OK)
        log_str(lr, "acr", acr);
    log_end(lr);
}

/* The levels a checked card gives: ial4 with a face match at or over policy, ial3 with
 * none (the chip read and the population base); aal3 either way (a hardware token read by
 * an enrolled device). A score under policy is refused rather than lowered: the kiosk
 * claimed a face check and it failed. */
static enum rc
card_levels(const struct policy *p, const struct card_assertion *ca, struct session_login *l,
            struct rc_info *ri)
{
    if (ca->has_face && ca->face_score * 100.0 < (double)p->tokens.kiosk_face_score_min)
        return rc_fail(ri, RC_DENIED, RC_WHY_FACE_SCORE, "face_score",
                       "under the policy's kiosk_face_score_min");
    l->loa = (struct loa){ca->has_face ? IAL4 : IAL3, AAL3};
    l->amr = ca->has_face ? "hwk face" : "hwk";
    return RC_OK;
}

/* The checks before anything is written: scope, signature, claims, card dates. */
static enum rc
check_assertion(struct app *app, struct arena *a, const struct policy *p,
                const struct policy_client *c, const struct kiosk_cert *kc, struct span scope,
                struct span assertion, const char **sc, struct card_assertion *ca,
                struct rc_info *ri)
{
    int64_t now = clock_now(app->clock);
    uint32_t today = idnum_ymd_from_unix(now, ACCOUNT_TZ_OFFSET_S);
    struct span payload;
    enum rc rc;

    if (!kiosk_allows_client(kc->rec, c->id))
        return rc_fail(ri, RC_DENIED, RC_WHY_KIOSK_NOT_ALLOWED, "client_id",
                       "the kiosk is not enrolled for this client");
    if (!scope.p || scope.len == 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "missing");
    if ((rc = decoupled_scope(a, p, c, scope, sc, ri)) != RC_OK)
        return rc;
    if (!authz_list_has(span_str(*sc), "openid"))
        return rc_fail(ri, RC_DENIED, RC_WHY_SCOPE, "scope", "must include openid");
    if (!kiosk_allows_scope(kc->rec, *sc))
        return rc_fail(ri, RC_DENIED, RC_WHY_KIOSK_NOT_ALLOWED, "scope",
                       "a scope the kiosk is not enrolled for (its services)");
    if (!assertion.p || assertion.len == 0)
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "assertion", "missing");
    if ((rc = verify_jws(a, kc, assertion, &payload, ri)) != RC_OK)
        return rc;
    if ((rc = cardassert_parse(a, payload, today, ca, ri)) != RC_OK)
        return rc_because(ri, RC_DENIED, RC_WHY_CARD_ASSERTION);
    return cardassert_check(ca, kc->id, app->cfg->issuer, now, p->tokens.clock_leeway_s, today, ri);
}

/* The card session: the account's session at the card's levels, the kiosk's idle lifetime,
 * its owner recorded for card-removed, the kiosk client among its relying parties. */
static enum rc
open_session(struct app *app, struct arena *a, const struct policy *p,
             const struct policy_client *c, const struct kiosk_cert *kc, const char *acct,
             struct session_login *l, struct session *s)
{
    char cookie[SESSION_COOKIE_LEN + 1];
    struct span key;
    const char *who;
    enum rc rc;

    l->account_id = acct;
    l->auth_time = clock_now(app->clock);
    l->device = arena_printf(a, "kiosk %s", kc->id);
    l->channel = c->id;
    l->idle_ttl = p->tokens.kiosk_idle_ttl;
    rc = session_login(app, a, l, NULL, cookie, s);
    OPENSSL_cleanse(cookie, sizeof(cookie)); /* the browser gets its own: card_session_open */
    if (rc != RC_OK)
        return rc;
    if (!(key = store_key(a, "cardsid", span_str(s->sid), NULL)).p
        || !(who = arena_printf(a, "%s %s", kc->id, acct)))
        return RC_NOMEM;
    if ((rc = store_put(app->store, key, span_str(who), p->tokens.session_ttl, 0)) != RC_OK)
        return rc;
    return session_add_rp(app, a, s, c->id);
}

/* Every card login on the audit chain: which account, at which kiosk, where, for whom. */
static enum rc
audit_login(struct app *app, const struct kiosk_cert *kc, const struct policy_client *c,
            const char *acct)
{
    const char *kv[] = {"acct",   acct, "kiosk", kc->id, "location", kc->rec->location,
                        "client", c->id};
    return audit_append(app, "card.login", kv, sizeof(kv) / sizeof(kv[0]));
}

static enum rc
session_uri(struct app *app, struct arena *a, const char *sid, const char **out)
{
    char code[CARD_CODE_LEN + 1];
    struct span key;
    enum rc rc;

    if ((rc = grant_random_token(app, 32, code, sizeof(code))) != RC_OK)
        return rc;
    if (!(key = hashed_key(app, a, "cardsso", span_str(code))).p
        || !(*out = arena_printf(a, "%s/kiosk/session?code=%s", app->cfg->issuer, code)))
        rc = RC_NOMEM;
    else
        rc = store_put(app->store, key, span_str(sid), CARD_SSO_TTL, STORE_NX);
    OPENSSL_cleanse(code, sizeof(code));
    return rc;
}

enum rc
card_login(struct app *app, struct arena *a, const struct policy *p, const struct policy_client *c,
           const struct kiosk_cert *kc, struct span scope, struct span assertion,
           struct card_result *out, struct rc_info *ri)
{
    struct card_assertion ca;
    struct session_login l = {0};
    struct session s;
    struct account acct = {0};
    const char *sc = NULL;
    char acr[LOA_ACR_MAX] = "";
    enum rc rc;

    memset(out, 0, sizeof(*out));
    memset(&ca, 0, sizeof(ca));
    if ((rc = check_assertion(app, a, p, c, kc, scope, assertion, &sc, &ca, ri)) != RC_OK
        || (rc = take_nonce(app, a, ca.nonce, kc->id, ri)) != RC_OK
        || (rc = check_population(app, &ca, ri)) != RC_OK
        || (rc = card_levels(p, &ca, &l, ri)) != RC_OK)
        goto out;
    rc = account_find(app, a, span_str(ca.id.text), &acct, NULL);
    if (rc == RC_NOT_FOUND || (rc == RC_OK && acct.disabled)) {
        rc = rc_fail(ri, RC_DENIED, RC_WHY_UNKNOWN_USER, "card",
                     "no usable account for this citizen: register first");
        goto out;
    }
    if (rc != RC_OK || (rc = open_session(app, a, p, c, kc, acct.id, &l, &s)) != RC_OK) {
        rc = rc_because(ri, rc, RC_WHY_NONE);
        goto out;
    }
    if ((rc = audit_login(app, kc, c, acct.id)) != RC_OK) {
        struct logout_result lo;
        (void)logout_session_end(app, a, &s, true, &lo); /* not audited: no login */
        rc = rc_because(ri, rc == RC_UNAVAILABLE ? rc : RC_UNAVAILABLE, RC_WHY_NONE);
        goto out;
    }
    if ((rc = token_issue_session(app, a, p, c, &s, sc, kc->x5t, &out->tok, ri)) != RC_OK
        || (rc = session_uri(app, a, s.sid, &out->session_uri)) != RC_OK) {
        rc = rc_because(ri, rc, ri && ri->why != RC_WHY_NONE ? ri->why : RC_WHY_NONE);
        goto out;
    }
    out->sid = arena_strndup(a, s.sid, strlen(s.sid));
    loa_format(s.loa, acr);
out:
    log_login(&ca, kc, c, rc, ri, acr);
    OPENSSL_cleanse(acct.id_number, sizeof(acct.id_number));
    OPENSSL_cleanse(&ca.id, sizeof(ca.id));
    return rc;
}

enum rc
card_removed(struct app *app, struct arena *a, const struct kiosk_cert *kc, struct span sid,
             bool tls, struct rc_info *ri)
{
    struct span key, v;
    struct session s;
    struct logout_result lo;
    size_t idn = strlen(kc->id);
    enum rc rc;

    if (sid.len != SESSION_SID_LEN || !span_is_b64url(sid))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "sid", "missing or malformed");
    if (!(key = store_key(a, "cardsid", sid, NULL)).p)
        return RC_NOMEM;
    rc = store_get(app->store, a, key, &v);
    if (rc == RC_NOT_FOUND
        || (rc == RC_OK && (v.len <= idn + 1 || memcmp(v.p, kc->id, idn) != 0 || v.p[idn] != ' ')))
        return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "sid", "not a card session of this kiosk");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    rc = session_find_by_sid(app, a, sid, &s);
    if (rc == RC_NOT_FOUND) { /* ended by its idle lifetime: its tokens still go */
        memset(&s, 0, sizeof(s));
        memcpy(s.sid, sid.p, SESSION_SID_LEN);
        if (v.len - idn - 1 > SESSION_ACCT_MAX)
            return rc_fail(ri, RC_MALFORMED, RC_WHY_PARAM, "sid", "not a card session");
        memcpy(s.account_id, v.p + idn + 1, v.len - idn - 1);
        memset(s.tag, '0', SESSION_TAG_LEN);
        s.amr = s.device = s.channel = "";
    } else if (rc != RC_OK) {
        return rc_because(ri, rc, RC_WHY_NONE);
    }
    if ((rc = logout_session_end(app, a, &s, tls, &lo)) != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    (void)store_del(app->store, key);
    log_msg(LOG_INFO, "card.removed", "kiosk", kc->id);
    return RC_OK;
}

enum rc
card_session_open(struct app *app, struct arena *a, struct span code,
                  char cookie[SESSION_COOKIE_LEN + 1], struct rc_info *ri)
{
    struct span key, sid;
    struct session s;
    struct session_login l;
    enum rc rc;

    if (code.len != CARD_CODE_LEN || !span_is_b64url(code))
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_PARAM, "code", "malformed");
    if (!(key = hashed_key(app, a, "cardsso", code)).p)
        return RC_NOMEM;
    if ((rc = store_take(app->store, a, key, &sid)) == RC_OK)
        rc = session_find_by_sid(app, a, sid, &s);
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_PARAM, "code", "unknown, used or expired");
    if (rc != RC_OK)
        return rc_because(ri, rc, RC_WHY_NONE);
    l = (struct session_login){s.account_id, s.loa,     s.amr,     s.auth_time,
                               s.device,     s.channel, s.idle_ttl};
    rc = session_upgrade(app, a, &s, &l, cookie);
    if (rc == RC_NOT_FOUND)
        return rc_fail(ri, RC_NOT_FOUND, RC_WHY_PARAM, "code", "the session has ended");
    return rc == RC_OK ? RC_OK : rc_because(ri, rc, RC_WHY_NONE);
}
