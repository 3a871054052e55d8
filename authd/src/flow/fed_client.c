/* Automatic registration (OpenID Federation 1.0 §12.1): a relying party of another province
 * is known by its entity id. client_resolve (flow/clients.h) asks fed_client for an id the
 * policy does not register; fed_client resolves the entity's trust chain to one of our
 * anchors and builds the client from its openid_relying_party metadata, policy applied.
 *
 * The client built is confidential, authenticates with private_key_jwt by a key of its
 * metadata jwks, may only push its requests (require_par: automatic registration through
 * a pushed authorization request, §12.1.1.2, so that /authorize never trusts a bare
 * client_id), needs PKCE, gets pairwise subjects with its entity id as sector, the
 * authorization_code grant only, may receive the ID number (the broker keys its local account
 * by it), and is first party (the citizen chose their home province on the broker's page;
 * the consent page still asks before the ID number is shared).
 *
 * Built clients are kept in struct fed until their chain's exp (at most
 * federation_cache_max_s); a client replaced after expiry stays allocated until the daemon
 * stops (client_resolve's callers hold the pointer without a reference count). Only
 * entities whose chain resolves are built, so this is bounded by the federation's size
 * times its renewals. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conf/policy.h"
#include "core/jose.h"
#include "core/jsonget.h"
#include "flow/fed.h"
#include "log/log.h"
#include "port/clock.h"

#define FED_CLIENTS_LIVE 64

struct fc {
    struct policy_client c;
    int64_t exp;
    struct fc *next;
};

/* An entity id refused within FED_REFUSED_TTL_S (the negative cache). */
struct refused {
    char *id;
    int64_t until;
};

struct fed_clients {
    pthread_mutex_t mu;
    struct fc *live, *retired;
    size_t nlive;
    struct refused refused[FED_REFUSED_MAX];
    size_t next_refused; /* the slot replaced next when none is free or expired */
};

static void
strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

static void
fc_free(struct fc *f)
{
    if (!f)
        return;
    free(f->c.id);
    free(f->c.name);
    free(f->c.jwks);
    free(f->c.backchannel_logout_uri);
    free(f->c.sector);
    strlist_free(&f->c.redirect_uris);
    strlist_free(&f->c.scopes);
    free(f);
}

enum rc
fed_clients_new(struct fed_clients **out)
{
    struct fed_clients *c = calloc(1, sizeof(*c));

    if (!c || pthread_mutex_init(&c->mu, NULL) != 0)
        return free(c), RC_NOMEM;
    *out = c;
    return RC_OK;
}

void
fed_clients_free(struct fed_clients *c)
{
    struct fc *f, *n;

    if (!c)
        return;
    for (f = c->live; f; f = n)
        n = f->next, fc_free(f);
    for (f = c->retired; f; f = n)
        n = f->next, fc_free(f);
    for (size_t i = 0; i < FED_REFUSED_MAX; i++)
        free(c->refused[i].id);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Appends the strings of array (or of the space-separated string) v to l. */
static bool
strlist_fill(struct strlist *l, const json_t *v)
{
    size_t i;
    json_t *e;

    if (json_is_string(v)) {
        struct span w;
        size_t pos = 0;
        while (span_next_word(span_str(json_string_value(v)), &pos, &w) && l->n < POLICY_MAX_LIST)
            if (!(l->v[l->n++] = strndup((const char *)w.p, w.len)))
                return false;
        return true;
    }
    json_array_foreach(v, i, e) if (json_is_string(e) && l->n < POLICY_MAX_LIST)
    {
        if (!(l->v[l->n++] = strdup(json_string_value(e))))
            return false;
    }
    return true;
}

static char *
dup_or_null(const json_t *v)
{
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* The client of entity id from its resolved metadata; NULL when it is no relying party. */
static struct fc *
build(const char *id, const struct fed_resolved *res)
{
    const json_t *rp = json_object_get(res->metadata, "openid_relying_party");
    const json_t *jwks = json_object_get(rp, "jwks");
    struct fc *f;

    if (!json_is_object(rp) || !json_is_object(jwks))
        return NULL;
    if (!(f = calloc(1, sizeof(*f))))
        return NULL;
    f->exp = res->exp;
    f->c.id = strdup(id);
    f->c.name = json_is_string(json_object_get(rp, "client_name"))
                    ? dup_or_null(json_object_get(rp, "client_name"))
                    : strdup(id);
    f->c.jwks = json_dumps(jwks, JSON_COMPACT);
    f->c.sector = strdup(id);
    f->c.backchannel_logout_uri = dup_or_null(json_object_get(rp, "backchannel_logout_uri"));
    f->c.type = CLIENT_CONFIDENTIAL;
    f->c.auth = AUTH_PRIVATE_KEY_JWT;
    f->c.grants = GRANT_AUTHORIZATION_CODE;
    f->c.first_party = true;
    f->c.pkce_required = true;
    f->c.require_par = true;
    f->c.id_number_allowed = true; /* a province of the federation: the broker keys its
                                      local account by the ID number (flow/fed_broker.h) */
    f->c.subject_type = SUBJECT_PAIRWISE;
    f->c.id_token_alg = JOSE_ES256;
    f->c.access_token_alg = JOSE_ES256;
    if (!f->c.id || !f->c.name || !f->c.jwks || !f->c.sector
        || !strlist_fill(&f->c.redirect_uris, json_object_get(rp, "redirect_uris"))
        || !strlist_fill(&f->c.scopes, json_object_get(rp, "scope")) || f->c.redirect_uris.n == 0) {
        fc_free(f);
        return NULL;
    }
    if (f->c.scopes.n == 0 && !(f->c.scopes.v[f->c.scopes.n++] = strdup("openid"))) {
        fc_free(f);
        return NULL;
    }
    return f;
}

static struct fc *
find_live(struct fed_clients *c, const char *id, int64_t now)
{
    for (struct fc *f = c->live; f; f = f->next)
        if (strcmp(f->c.id, id) == 0 && f->exp > now)
            return f;
    return NULL;
}

/* Puts f in front; an older client of the same id, and the oldest past
 * FED_CLIENTS_LIVE, retire (still allocated: see the top comment). */
static void
insert(struct fed_clients *c, struct fc *f)
{
    struct fc **pp = &c->live, *old;
    size_t n = 0;

    while ((old = *pp)) {
        if (strcmp(old->c.id, f->c.id) == 0 || ++n >= FED_CLIENTS_LIVE) {
            *pp = old->next;
            old->next = c->retired, c->retired = old;
            c->nlive--;
            continue;
        }
        pp = &old->next;
    }
    f->next = c->live, c->live = f;
    c->nlive++;
}

/* Whether id was refused less than FED_REFUSED_TTL_S ago (under c->mu). */
static bool
was_refused(struct fed_clients *c, const char *id, int64_t now)
{
    for (size_t i = 0; i < FED_REFUSED_MAX; i++)
        if (c->refused[i].id && c->refused[i].until > now && strcmp(c->refused[i].id, id) == 0)
            return true;
    return false;
}

/* Remembers id as refused until now + FED_REFUSED_TTL_S, in an expired slot or else the
 * oldest (under c->mu). Best effort: out of memory, it is simply not remembered. */
static void
remember_refused(struct fed_clients *c, const char *id, int64_t now)
{
    size_t slot = c->next_refused;
    char *dup = strdup(id);

    for (size_t i = 0; i < FED_REFUSED_MAX; i++)
        if (!c->refused[i].id || c->refused[i].until <= now) {
            slot = i;
            break;
        }
    if (slot == c->next_refused)
        c->next_refused = (c->next_refused + 1) % FED_REFUSED_MAX;
    if (!dup)
        return;
    free(c->refused[slot].id);
    c->refused[slot] = (struct refused){dup, now + FED_REFUSED_TTL_S};
}

/* An Entity Identifier (OpenID Federation 1.0 §1.2): an https URL with a host, no
 * userinfo, query or fragment, printable ASCII. http is accepted only when this node's own
 * entity id is http (a federation on a test network, where fetches are not https-only
 * either: compose.c). */
static bool
entity_id_shape(struct app *app, struct span id)
{
    const char *own = app->cfg ? app->cfg->federation_entity_id : NULL;
    bool http_ok = own && strncmp(own, "http://", 7) == 0;
    size_t skip, host;

    if (id.len > 8 && memcmp(id.p, "https://", 8) == 0)
        skip = 8;
    else if (http_ok && id.len > 7 && memcmp(id.p, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    if (id.len > 256)
        return false;
    for (size_t i = 0; i < id.len; i++)
        if (id.p[i] <= 0x20 || id.p[i] >= 0x7f || id.p[i] == '?' || id.p[i] == '#')
            return false;
    for (host = skip; host < id.len && id.p[host] != '/'; host++)
        if (id.p[host] == '@' || id.p[host] == '\\')
            return false;
    return host > skip; /* a host */
}

static void
log_refused(const char *id, const char *why)
{
    struct log_rec *lr = log_begin(LOG_WARN, "fed.client");

    if (!lr)
        return;
    log_str(lr, "sub", id);
    log_str(lr, "result", "refused");
    log_str(lr, "why", why);
    log_end(lr);
}

/* Asks the anchors first: the index of the first that vouches for id, or -1. */
static int
vouching_anchor(struct app *app, const char *id, struct arena *a)
{
    struct fed *fd = app->fed;

    for (size_t i = 0; i < fd->nanchors; i++)
        if (fed_vouched(app, id, fd->anchors[i].id, a, NULL) == RC_OK)
            return (int)i;
    return -1;
}

bool
fed_client_would_fetch(struct app *app, struct span id)
{
    struct fed *fd = app->fed;
    struct fed_clients *c = fd ? fd->clients : NULL;
    int64_t now;
    bool fetches;
    struct arena a;
    char *sid;

    if (!c || fd->nanchors == 0 || !id.p || !entity_id_shape(app, id))
        return false;
    arena_init(&a, 1024);
    if (!(sid = arena_span_dup(&a, id)))
        return arena_clear(&a), true; /* counted: fail towards the limit */
    now = clock_now(app->clock);
    pthread_mutex_lock(&c->mu);
    fetches = !find_live(c, sid, now) && !was_refused(c, sid, now);
    pthread_mutex_unlock(&c->mu);
    arena_clear(&a);
    return fetches;
}

const struct policy_client *
fed_client(struct app *app, struct span id)
{
    struct fed *fd = app->fed;
    struct fed_clients *c = fd ? fd->clients : NULL;
    int64_t now;
    struct fc *f = NULL;
    struct arena a;
    bool refused;
    char *sid;
    int ai;

    if (!c || fd->nanchors == 0 || !id.p || id.len == 0)
        return NULL;
    arena_init(&a, 1u << 20);
    if (!(sid = arena_span_dup(&a, id)))
        goto out;
    if (!entity_id_shape(app, id)) {
        /* a plain unknown client_id is no federation matter: logged only if it looks like
         * a URL */
        if (memchr(id.p, ':', id.len))
            log_refused(sid, rc_reason_name(RC_WHY_FED_ENTITY_ID));
        goto out;
    }
    now = clock_now(app->clock);
    pthread_mutex_lock(&c->mu);
    f = find_live(c, sid, now);
    refused = !f && was_refused(c, sid, now);
    pthread_mutex_unlock(&c->mu);
    if (f || refused)
        goto out;
    if ((ai = vouching_anchor(app, sid, &a)) >= 0) {
        struct fed_resolved res = {0};
        if (fed_resolve(app, sid, fd->anchors[ai].id, &a, &res, NULL) == RC_OK
            && (f = build(sid, &res))) {
            pthread_mutex_lock(&c->mu);
            insert(c, f);
            pthread_mutex_unlock(&c->mu);
            log_msg(LOG_INFO, "fed.client", "registered", sid);
        }
        fed_resolved_clear(&res);
    } else
        log_refused(sid, rc_reason_name(RC_WHY_FED_NOT_VOUCHED));
    if (!f) {
        pthread_mutex_lock(&c->mu);
        remember_refused(c, sid, now);
        pthread_mutex_unlock(&c->mu);
    }
out:
    arena_clear(&a);
    return f ? &f->c : NULL;
}
