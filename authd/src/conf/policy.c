#include "conf/policy.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/num.h"

enum section { SEC_NONE, SEC_CLIENT, SEC_SCOPE, SEC_TOKENS };

struct pctx {
    struct policy *p;
    enum section sec;
    int sec_line;
};

static const struct {
    const char *name;
    size_t off;
    uint32_t min, max, def;
} token_keys[] = {
#define T(f) offsetof(struct policy_tokens, f)
    {"access_token_ttl", T(access_token_ttl), 30, 86400, 600},
    {"id_token_ttl", T(id_token_ttl), 30, 86400, 600},
    {"code_ttl", T(code_ttl), 10, 600, 60},
    {"refresh_token_ttl", T(refresh_token_ttl), 60, 31536000, 2592000},
    {"refresh_token_idle_ttl", T(refresh_token_idle_ttl), 60, 31536000, 1209600},
    {"refresh_grace_s", T(refresh_grace_s), 0, 300, 10},
    {"session_ttl", T(session_ttl), 60, 2592000, 28800},
    {"session_idle_ttl", T(session_idle_ttl), 60, 2592000, 3600},
    {"consent_ttl", T(consent_ttl), 0, 31536000, 15552000},
    {"clock_leeway_s", T(clock_leeway_s), 0, 300, 30},
    {"kiosk_idle_ttl", T(kiosk_idle_ttl), 10, 86400, 120},
    {"kiosk_face_score_min", T(kiosk_face_score_min), 0, 100, 80},
#undef T
};
#define NTOKEN_KEYS (sizeof(token_keys) / sizeof(token_keys[0]))

static void
strlist_clear(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

static void
client_clear(struct policy_client *c)
{
    free(c->id), free(c->name), free(c->location), free(c->jwks), free(c->backchannel_logout_uri);
    free(c->frontchannel_logout_uri), free(c->sector), free(c->min_acr);
    strlist_clear(&c->redirect_uris), strlist_clear(&c->post_logout_redirect_uris);
    strlist_clear(&c->scopes), strlist_clear(&c->exchange_audiences);
    strlist_clear(&c->authenticators);
}

void
policy_retain(struct policy *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void
policy_release(struct policy *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    for (size_t i = 0; i < p->nclients; i++)
        client_clear(&p->clients[i]);
    for (size_t i = 0; i < p->nscopes; i++) {
        free(p->scopes[i].name), free(p->scopes[i].min_acr);
        strlist_clear(&p->scopes[i].claims), strlist_clear(&p->scopes[i].authenticators);
    }
    free(p->clients), free(p->scopes), free(p->dir);
    free(p);
}

bool
strlist_has(const struct strlist *l, struct span s)
{
    for (size_t i = 0; i < l->n; i++)
        if (span_eq_str(s, l->v[i]))
            return true;
    return false;
}

const struct policy_client *
policy_client(const struct policy *p, struct span id)
{
    for (size_t i = 0; i < p->nclients; i++)
        if (span_eq_str(id, p->clients[i].id))
            return &p->clients[i];
    return NULL;
}

const struct policy_scope *
policy_scope(const struct policy *p, struct span name)
{
    for (size_t i = 0; i < p->nscopes; i++)
        if (span_eq_str(name, p->scopes[i].name))
            return &p->scopes[i];
    return NULL;
}

/* Splits v on spaces and commas into l. NULL or the reason. */
static const char *
parse_list(const char *v, struct strlist *l)
{
    const char *s = v;

    strlist_clear(l);
    while (*s) {
        size_t n;
        while (*s == ' ' || *s == ',' || *s == '\t')
            s++;
        if (!*s)
            break;
        n = strcspn(s, " ,\t");
        if (l->n == POLICY_MAX_LIST)
            return "too many values";
        if (!(l->v[l->n] = strndup(s, n)))
            return "out of memory";
        for (size_t i = 0; i < l->n; i++)
            if (strcmp(l->v[i], l->v[l->n]) == 0) {
                free(l->v[l->n]);
                return "value listed twice";
            }
        l->n++;
        s += n;
    }
    return NULL;
}

/* An algorithm of the table that authd signs with (jose_alg_info's signs column). */
static const char *
parse_sign_alg(const char *v, enum jose_alg *out)
{
    const struct jose_alg_info *ai = jose_alg_info(jose_alg_parse(span_str(v)));

    if (!ai || !ai->signs)
        return "not an algorithm authd signs with (ES256, RS256, PS256, SM2SM3)";
    *out = ai->alg;
    return NULL;
}

static const char *
parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
        *out = false;
    else
        return "must be true or false";
    return NULL;
}

static const char *
parse_enum(const char *v, const char *const *names, size_t n, int *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = (int)i;
            return NULL;
        }
    return "not one of the allowed values";
}

static const char *
set_str(char **slot, const char *v)
{
    free(*slot);
    return (*slot = strdup(v)) ? NULL : "out of memory";
}

static const char *
parse_url(const char *v)
{
    if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0
        && !strchr(v, ':'))
        return "must be an absolute URI";
    if (strchr(v, '#'))
        return "must not have a fragment (RFC 6749 §3.1.2)";
    return NULL;
}

static const char *
parse_url_list(const char *v, struct strlist *l)
{
    const char *why = parse_list(v, l);

    for (size_t i = 0; !why && i < l->n; i++)
        why = parse_url(l->v[i]);
    return why;
}

static const char *
parse_secret_hash(const char *v, struct policy_client *c)
{
    if (strncmp(v, "sha256:", 7) != 0 || strlen(v) != 7 + 64)
        return "must be sha256: followed by 64 hex digits (authctl client add writes it)";
    for (size_t i = 0; i < 32; i++) {
        unsigned hi, lo;
        char h = v[7 + 2 * i], l = v[8 + 2 * i];
        hi = (unsigned)(h >= 'a' ? h - 'a' + 10 : h - '0');
        lo = (unsigned)(l >= 'a' ? l - 'a' + 10 : l - '0');
        if (!strchr("0123456789abcdef", h) || !strchr("0123456789abcdef", l) || !h || !l)
            return "must be lower-case hex";
        c->secret_sha256[i] = (uint8_t)(hi << 4 | lo);
    }
    c->has_secret = true;
    return NULL;
}

static const struct policy_grant grants[] = {
    {GRANT_AUTHORIZATION_CODE, "authorization_code"},
    {GRANT_REFRESH_TOKEN, "refresh_token"},
    {GRANT_CLIENT_CREDENTIALS, "client_credentials"},
    {GRANT_TOKEN_EXCHANGE, "urn:ietf:params:oauth:grant-type:token-exchange"},
    {GRANT_DEVICE_CODE, "urn:ietf:params:oauth:grant-type:device_code"},
    {GRANT_CIBA, "urn:openid:params:grant-type:ciba"},
};

const struct policy_grant *
policy_grant_at(size_t i)
{
    return i < sizeof(grants) / sizeof(grants[0]) ? &grants[i] : NULL;
}

unsigned
policy_grant_parse(struct span s)
{
    for (size_t i = 0; i < sizeof(grants) / sizeof(grants[0]); i++)
        if (span_eq_str(s, grants[i].name))
            return grants[i].bit;
    return 0;
}

static const char *
parse_grants(const char *v, unsigned *out)
{
    struct strlist l = {0};
    const char *why = parse_list(v, &l);

    *out = 0;
    for (size_t i = 0; !why && i < l.n; i++) {
        unsigned bit = policy_grant_parse(span_str(l.v[i]));
        if (!bit)
            why = "unknown grant type";
        *out |= bit;
    }
    strlist_clear(&l);
    return why;
}

static const char *
client_key(struct policy_client *c, const char *k, const char *v)
{
    static const char *const types[] = {"confidential", "public"};
    static const char *const auths[] = {"client_secret_basic", "client_secret_post",
                                        "private_key_jwt", "none", "tls_client_auth"};
    static const char *const subjects[] = {"pairwise", "public"};
    int e = 0;
    const char *why;

    if (strcmp(k, "name") == 0)
        return set_str(&c->name, v);
    if (strcmp(k, "location") == 0)
        return set_str(&c->location, v);
    if (strcmp(k, "type") == 0) {
        why = parse_enum(v, types, 2, &e);
        c->type = (enum client_type)e;
        return why;
    }
    if (strcmp(k, "auth_method") == 0) {
        why = parse_enum(v, auths, 5, &e);
        c->auth = (enum client_auth)e;
        return why;
    }
    if (strcmp(k, "subject_type") == 0) {
        why = parse_enum(v, subjects, 2, &e);
        c->subject_type = (enum subject_type)e;
        return why;
    }
    if (strcmp(k, "secret_hash") == 0)
        return parse_secret_hash(v, c);
    if (strcmp(k, "jwks") == 0)
        return v[0] == '{' ? set_str(&c->jwks, v) : "must be a JWKS JSON object on one line";
    if (strcmp(k, "redirect_uris") == 0)
        return parse_url_list(v, &c->redirect_uris);
    if (strcmp(k, "post_logout_redirect_uris") == 0)
        return parse_url_list(v, &c->post_logout_redirect_uris);
    if (strcmp(k, "backchannel_logout_uri") == 0)
        return parse_url(v) ? parse_url(v) : set_str(&c->backchannel_logout_uri, v);
    if (strcmp(k, "frontchannel_logout_uri") == 0)
        return parse_url(v) ? parse_url(v) : set_str(&c->frontchannel_logout_uri, v);
    if (strcmp(k, "frontchannel_logout_session_required") == 0)
        return parse_bool(v, &c->frontchannel_logout_session_required);
    if (strcmp(k, "grant_types") == 0)
        return parse_grants(v, &c->grants);
    if (strcmp(k, "scopes") == 0)
        return parse_list(v, &c->scopes);
    if (strcmp(k, "first_party") == 0)
        return parse_bool(v, &c->first_party);
    if (strcmp(k, "pkce_required") == 0)
        return parse_bool(v, &c->pkce_required);
    if (strcmp(k, "id_number_allowed") == 0)
        return parse_bool(v, &c->id_number_allowed);
    if (strcmp(k, "id_token_signed_response_alg") == 0)
        return parse_sign_alg(v, &c->id_token_alg);
    if (strcmp(k, "access_token_signed_response_alg") == 0)
        return parse_sign_alg(v, &c->access_token_alg);
    if (strcmp(k, "strict_scopes") == 0)
        return parse_bool(v, &c->strict_scopes);
    if (strcmp(k, "sector") == 0)
        return set_str(&c->sector, v);
    if (strcmp(k, "min_acr") == 0)
        return set_str(&c->min_acr, v);
    if (strcmp(k, "exchange_audiences") == 0)
        return parse_list(v, &c->exchange_audiences);
    if (strcmp(k, "authenticators") == 0)
        return parse_list(v, &c->authenticators);
    if (strcmp(k, "require_pushed_authorization_requests") == 0)
        return parse_bool(v, &c->require_par);
    if (strcmp(k, "profile") == 0) {
        if (strcmp(v, "fapi2") != 0)
            return "the only profile is fapi2";
        c->fapi2 = true;
        return NULL;
    }
    if (strcmp(k, "dpop_bound_access_tokens") == 0)
        return parse_bool(v, &c->dpop_bound);
    if (strcmp(k, "dpop_nonce_required") == 0)
        return parse_bool(v, &c->dpop_nonce);
    return "unknown key";
}

static const char *
scope_key(struct policy_scope *s, const char *k, const char *v)
{
    if (strcmp(k, "claims") == 0)
        return parse_list(v, &s->claims);
    if (strcmp(k, "min_acr") == 0)
        return set_str(&s->min_acr, v);
    if (strcmp(k, "authenticators") == 0)
        return parse_list(v, &s->authenticators);
    return "unknown key";
}

static const char *
tokens_key(struct policy_tokens *t, const char *k, const char *v, char *why_buf, size_t n)
{
    uint64_t x;

    for (size_t i = 0; i < NTOKEN_KEYS; i++) {
        if (strcmp(k, token_keys[i].name) != 0)
            continue;
        if (num_parse_u64(span_str(v), token_keys[i].min, token_keys[i].max, &x) != RC_OK) {
            snprintf(why_buf, n, "must be a whole number of seconds %u-%u", token_keys[i].min,
                     token_keys[i].max);
            return why_buf;
        }
        *(uint32_t *)(void *)((char *)t + token_keys[i].off) = (uint32_t)x;
        return NULL;
    }
    return "unknown key";
}

bool
policy_id_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

static enum rc
open_section(struct pctx *pc, const char *file, int line, const char *v,
             struct config_error *err)
{
    struct policy *p = pc->p;
    const char *name = strchr(v, ' ');

    pc->sec_line = line;
    if (strcmp(v, "tokens") == 0) {
        pc->sec = SEC_TOKENS;
        return RC_OK;
    }
    if (!name || !policy_id_valid(name + 1))
        return ini_error(err, RC_MALFORMED, file, line, NULL,
                         "expected [client ID], [scope NAME] or [tokens] (IDs: letters, digits, "
                         "'-', '_', '.', at most 64)");
    name++;
    if (strncmp(v, "client ", 7) == 0) {
        void *n = realloc(p->clients, (p->nclients + 1) * sizeof(*p->clients));
        if (!n)
            return ini_error(err, RC_NOMEM, file, line, NULL, "out of memory");
        p->clients = n;
        if (policy_client(p, span_str(name)))
            return ini_error(err, RC_CONFLICT, file, line, NULL, "client %s defined twice", name);
        memset(&p->clients[p->nclients], 0, sizeof(*p->clients));
        p->clients[p->nclients].pkce_required = true;
        p->clients[p->nclients].id_token_alg = JOSE_ES256;
        p->clients[p->nclients].access_token_alg = JOSE_ES256;
        p->clients[p->nclients].grants = GRANT_AUTHORIZATION_CODE;
        p->clients[p->nclients].line = line;
        if (!(p->clients[p->nclients++].id = strdup(name)))
            return ini_error(err, RC_NOMEM, file, line, NULL, "out of memory");
        pc->sec = SEC_CLIENT;
        return RC_OK;
    }
    if (strncmp(v, "scope ", 6) == 0) {
        void *n = realloc(p->scopes, (p->nscopes + 1) * sizeof(*p->scopes));
        if (!n)
            return ini_error(err, RC_NOMEM, file, line, NULL, "out of memory");
        p->scopes = n;
        if (policy_scope(p, span_str(name)))
            return ini_error(err, RC_CONFLICT, file, line, NULL, "scope %s defined twice", name);
        memset(&p->scopes[p->nscopes], 0, sizeof(*p->scopes));
        if (!(p->scopes[p->nscopes++].name = strdup(name)))
            return ini_error(err, RC_NOMEM, file, line, NULL, "out of memory");
        pc->sec = SEC_SCOPE;
        return RC_OK;
    }
    return ini_error(err, RC_MALFORMED, file, line, NULL, "unknown section [%s]", v);
}

static enum rc
on_line(void *ctx, const char *file, int line, const char *key, const char *value,
        struct config_error *err)
{
    struct pctx *pc = ctx;
    char why_buf[96];
    const char *why = "a key outside any section";

    if (!key)
        return open_section(pc, file, line, value, err);
    if (!*value)
        return ini_error(err, RC_MALFORMED, file, line, key, "empty value");
    switch (pc->sec) {
    case SEC_CLIENT:
        why = client_key(&pc->p->clients[pc->p->nclients - 1], key, value);
        break;
    case SEC_SCOPE:
        why = scope_key(&pc->p->scopes[pc->p->nscopes - 1], key, value);
        break;
    case SEC_TOKENS:
        why = tokens_key(&pc->p->tokens, key, value, why_buf, sizeof(why_buf));
        break;
    case SEC_NONE:
        break;
    }
    return why ? ini_error(err, RC_MALFORMED, file, line, key, "%s", why) : RC_OK;
}

/* Cross-field checks of the client just completed; profile = fapi2 turns on what the
 * profile requires (docs/fapi.md) and refuses a client it does not allow. */
static enum rc
check_client(struct policy_client *c, const char *file, int line, struct config_error *err)
{
    const char *why = NULL;

    if (c->fapi2) { /* FAPI 2.0 SP §5.3.2; a tls_client_auth client's tokens are bound to its
                       certificate instead of a DPoP key (RFC 8705 §3, SP §5.3.2.1) */
        c->require_par = c->pkce_required = true;
        if (c->auth != AUTH_TLS_CLIENT_AUTH)
            c->dpop_bound = true;
    }
    if (c->fapi2
        && (c->type != CLIENT_CONFIDENTIAL
            || (c->auth != AUTH_PRIVATE_KEY_JWT && c->auth != AUTH_TLS_CLIENT_AUTH)))
        why = "profile fapi2 needs a confidential client with auth_method = private_key_jwt "
              "or tls_client_auth";
    else if (c->type == CLIENT_PUBLIC && c->auth != AUTH_NONE)
        why = "a public client has auth_method = none";
    else if (c->type == CLIENT_CONFIDENTIAL && c->auth == AUTH_NONE)
        why = "a confidential client needs an auth_method other than none";
    else if ((c->auth == AUTH_CLIENT_SECRET_BASIC || c->auth == AUTH_CLIENT_SECRET_POST)
             && !c->has_secret)
        why = "client_secret_* needs secret_hash";
    else if (c->auth == AUTH_PRIVATE_KEY_JWT && !c->jwks)
        why = "private_key_jwt needs jwks";
    else if ((c->grants & GRANT_AUTHORIZATION_CODE) && c->redirect_uris.n == 0)
        why = "authorization_code needs redirect_uris";
    else if (c->type == CLIENT_PUBLIC && !c->pkce_required)
        why = "a public client must require PKCE (RFC 9700 §2.1.1)";
    else if (c->type == CLIENT_PUBLIC && (c->grants & GRANT_CLIENT_CREDENTIALS))
        why = "client_credentials needs a confidential client";
    if (why)
        return ini_error(err, RC_MALFORMED, file, line, c->id, "%s", why);
    return RC_OK;
}

static enum rc
parse_into(struct policy *p, const char *file, const char *text, size_t len,
           struct config_error *err)
{
    struct pctx pc = {p, SEC_NONE, 0};
    size_t first = p->nclients;
    enum rc rc;

    if ((rc = ini_parse(file, text, len, on_line, &pc, err)) != RC_OK)
        return rc;
    for (size_t i = first; i < p->nclients; i++)
        if ((rc = check_client(&p->clients[i], file, p->clients[i].line, err)) != RC_OK)
            return rc;
    return RC_OK;
}

static struct policy *
policy_new(void)
{
    struct policy *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    for (size_t i = 0; i < NTOKEN_KEYS; i++)
        *(uint32_t *)(void *)((char *)&p->tokens + token_keys[i].off) = token_keys[i].def;
    return p;
}

enum rc
policy_parse(const char *file, const char *text, size_t len, struct policy **out,
             struct config_error *err)
{
    struct policy *p = policy_new();
    enum rc rc;

    if (!p)
        return ini_error(err, RC_NOMEM, file, 0, NULL, "out of memory");
    if ((rc = parse_into(p, file, text, len, err)) != RC_OK) {
        policy_release(p);
        return rc;
    }
    *out = p;
    return RC_OK;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum rc
read_text(const char *path, char **text, size_t *len, struct config_error *err)
{
    FILE *f = fopen(path, "rb");

    if (!f)
        return ini_error(err, RC_NOT_FOUND, path, 0, NULL, "cannot open");
    *text = malloc(INI_MAX_FILE + 1);
    *len = *text ? fread(*text, 1, INI_MAX_FILE + 1, f) : 0;
    fclose(f);
    if (!*text)
        return ini_error(err, RC_NOMEM, path, 0, NULL, "out of memory");
    return RC_OK;
}

enum rc
policy_load(const char *dir, struct policy **out, struct config_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *names[256], path[4096], *text = NULL;
    size_t n = 0, len = 0;
    struct policy *p = NULL;
    enum rc rc = RC_OK;

    if (!d)
        return ini_error(err, RC_NOT_FOUND, dir, 0, NULL, "cannot open the policy directory");
    while ((e = readdir(d)) && rc == RC_OK) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".conf") != 0)
            continue;
        if (n == 256 || !(names[n++] = strdup(e->d_name)))
            rc = ini_error(err, RC_TOO_LARGE, dir, 0, NULL, "too many policy files");
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    if (rc == RC_OK && !(p = policy_new()))
        rc = ini_error(err, RC_NOMEM, dir, 0, NULL, "out of memory");
    for (size_t i = 0; rc == RC_OK && i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if ((rc = read_text(path, &text, &len, err)) == RC_OK)
            rc = parse_into(p, path, text, len, err);
        free(text);
        text = NULL;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    if (rc == RC_OK && !(p->dir = strdup(dir)))
        rc = RC_NOMEM;
    if (rc != RC_OK) {
        policy_release(p);
        return rc;
    }
    *out = p;
    return RC_OK;
}
