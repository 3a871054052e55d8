/* authd-client-check: drives libauthd-client line by line for the integration tests
 * (tests/integration/test_client_lib.py). Links only the installed header and library.
 *
 *   authd-client-check --issuer URL --aud A[,B] [--jwks URL] [--token-endpoint URL]
 *       [--introspect URL] [--algs ES256,RS256] [--leeway S] [--min-cache S] [--max-cache S]
 *       [--refetch S] [--grace S] [--client-id ID --client-secret S] [--allow-http]
 *       [--clock T]          (a fake clock starting at T; "now T" moves it)
 *
 * Commands on stdin, one JSON line out for each:
 *   now T | validate TOKEN [scope=a,b] [acr=URN] | introspect TOKEN [scope=..] [acr=..]
 *   refresh | stats | threads N M TOKEN | cc [SCOPE,..] | exchange TOKEN AUD [SCOPE,..]
 *   dpop TOKEN METHOD URL PROOF|-   (authd_client_validate_dpop; jtis remembered here)
 *   mtls TOKEN DER_FILE|-           (authd_client_validate_mtls with that certificate) */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authd_client.h"

static _Atomic int64_t fake_now;

static int64_t
clock_fn(void *arg)
{
    (void)arg;
    return atomic_load(&fake_now);
}

static void
emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    puts(s ? s : "{}");
    fflush(stdout);
    free(s);
    json_decref(o);
}

static void
set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static char *
commas_to_spaces(char *s)
{
    for (char *p = s; p && *p; p++)
        if (*p == ',')
            *p = ' ';
    return s;
}

static json_t *
info_json(enum authd_status st, const struct authd_token_info *i)
{
    json_t *o = json_pack("{s:s}", "status", authd_status_name(st)), *amr = json_array();

    if (st != AUTHD_OK) {
        json_decref(amr);
        return o;
    }
    set_str(o, "iss", i->iss);
    set_str(o, "sub", i->sub);
    set_str(o, "client_id", i->client_id);
    set_str(o, "scope", i->scope);
    set_str(o, "acr", i->acr);
    set_str(o, "jti", i->jti);
    set_str(o, "act_sub", i->act_sub);
    set_str(o, "act_client_id", i->act_client_id);
    set_str(o, "act", i->act);
    set_str(o, "cnf_jkt", i->cnf_jkt);
    set_str(o, "cnf_x5t", i->cnf_x5t);
    for (size_t k = 0; k < i->amr_count; k++)
        json_array_append_new(amr, json_string(i->amr[k]));
    json_object_set_new(o, "amr", amr);
    json_object_set_new(o, "exp", json_integer(i->exp));
    json_object_set_new(o, "iat", json_integer(i->iat));
    json_object_set_new(o, "auth_time", json_integer(i->auth_time));
    return o;
}

static json_t *
error_json(json_t *o, const struct authd_error *e)
{
    if (e->http_status)
        json_object_set_new(o, "http_status", json_integer(e->http_status));
    if (e->error[0])
        set_str(o, "error", e->error);
    if (e->description[0])
        set_str(o, "error_description", e->description);
    return o;
}

/* validate / introspect TOKEN [scope=..] [acr=..] */
static void
cmd_check(struct authd_client *c, char **w, int n, int introspect)
{
    struct authd_validate_opts o = {0};
    struct authd_token_info info;
    struct authd_error err = {0};
    enum authd_status st;

    for (int k = 2; k < n; k++) {
        if (strncmp(w[k], "scope=", 6) == 0)
            o.scope = commas_to_spaces(w[k] + 6);
        else if (strncmp(w[k], "acr=", 4) == 0)
            o.acr = w[k] + 4;
    }
    if (introspect)
        st = authd_client_introspect(c, w[1], strlen(w[1]), &o, &info, &err);
    else
        st = authd_client_validate(c, w[1], strlen(w[1]), &o, &info);
    emit(error_json(info_json(st, &info), &err));
    authd_token_info_clear(&info);
}

/* The module's replay cache: in this process, enough for a test. */
static int
jti_seen(void *arg, const char *jkt, const char *jti, int64_t ttl_s)
{
    static char seen[256][200];
    static size_t n;
    char key[200];

    (void)arg, (void)ttl_s;
    snprintf(key, sizeof(key), "%s %s", jkt, jti);
    for (size_t k = 0; k < n; k++)
        if (strcmp(seen[k], key) == 0)
            return 1;
    if (n < 256)
        snprintf(seen[n++], sizeof(seen[0]), "%s", key);
    return 0;
}

/* mtls TOKEN DER_FILE|- */
static void
cmd_mtls(struct authd_client *c, char **w, int n)
{
    unsigned char der[16384];
    size_t len = 0;
    struct authd_token_info info;
    enum authd_status st;
    FILE *f;

    if (n < 3) {
        emit(json_pack("{s:s}", "status", "usage"));
        return;
    }
    if (strcmp(w[2], "-") != 0 && (f = fopen(w[2], "rb"))) {
        len = fread(der, 1, sizeof(der), f);
        fclose(f);
    }
    st = authd_client_validate_mtls(c, w[1], strlen(w[1]), len ? der : NULL, len, NULL, &info);
    emit(info_json(st, &info));
    authd_token_info_clear(&info);
}

/* dpop TOKEN METHOD URL PROOF|- */
static void
cmd_dpop(struct authd_client *c, char **w, int n)
{
    struct authd_dpop_request rq = {0};
    struct authd_token_info info;
    enum authd_status st;

    if (n < 5) {
        emit(json_pack("{s:s}", "status", "usage"));
        return;
    }
    rq =
        (struct authd_dpop_request){w[2], w[3], strcmp(w[4], "-") ? w[4] : NULL, 0, jti_seen, NULL};
    st = authd_client_validate_dpop(c, w[1], strlen(w[1]), &rq, NULL, &info);
    emit(info_json(st, &info));
    authd_token_info_clear(&info);
}

struct job {
    struct authd_client *c;
    const char *token;
    long rounds, ok;
};

static void *
worker(void *arg)
{
    struct job *j = arg;

    for (long r = 0; r < j->rounds; r++) {
        struct authd_token_info info;
        if (authd_client_validate(j->c, j->token, strlen(j->token), NULL, &info) == AUTHD_OK
            && info.sub)
            j->ok++;
        authd_token_info_clear(&info);
    }
    return NULL;
}

static void
cmd_threads(struct authd_client *c, long n, long rounds, const char *token)
{
    pthread_t th[64];
    struct job jobs[64];
    long ok = 0;

    if (n < 1 || n > 64)
        n = 1;
    for (long k = 0; k < n; k++) {
        jobs[k] = (struct job){c, token, rounds, 0};
        pthread_create(&th[k], NULL, worker, &jobs[k]);
    }
    for (long k = 0; k < n; k++) {
        pthread_join(th[k], NULL);
        ok += jobs[k].ok;
    }
    emit(json_pack("{s:I,s:I}", "ok", (json_int_t)ok, "total", (json_int_t)(n * rounds)));
}

static void
cmd_token(struct authd_client *c, char **w, int n)
{
    struct authd_token t;
    struct authd_error err;
    enum authd_status st;
    json_t *o;

    if (strcmp(w[0], "cc") == 0)
        st = authd_client_credentials(c, n > 1 ? commas_to_spaces(w[1]) : NULL, &t, &err);
    else if (n >= 3)
        st = authd_client_exchange(c, w[1], strlen(w[1]), w[2],
                                   n > 3 ? commas_to_spaces(w[3]) : NULL, &t, &err);
    else
        st = AUTHD_ERR_INVALID_ARGUMENT, memset(&err, 0, sizeof(err)), memset(&t, 0, sizeof(t));
    o = error_json(json_pack("{s:s}", "status", authd_status_name(st)), &err);
    set_str(o, "access_token", t.access_token);
    set_str(o, "token_type", t.token_type);
    set_str(o, "issued_token_type", t.issued_token_type);
    set_str(o, "scope", t.scope);
    json_object_set_new(o, "expires_in", json_integer(t.expires_in));
    emit(o);
    authd_token_clear(&t);
}

static void
cmd_stats(struct authd_client *c)
{
    struct authd_client_stats s;

    authd_client_stats(c, &s);
    emit(json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "fetches", (json_int_t)s.jwks_fetches, "failures",
                   (json_int_t)s.jwks_fetch_failures, "unknown_kid", (json_int_t)s.jwks_unknown_kid,
                   "keys", (json_int_t)s.keys, "fresh_until", (json_int_t)s.keys_fresh_until,
                   "usable_until", (json_int_t)s.keys_usable_until));
}

static void
dispatch(struct authd_client *c, char **w, int n)
{
    if (strcmp(w[0], "now") == 0 && n == 2) {
        atomic_store(&fake_now, strtoll(w[1], NULL, 10));
        emit(json_pack("{s:s}", "status", "AUTHD_OK"));
    } else if (strcmp(w[0], "validate") == 0 && n >= 2) {
        cmd_check(c, w, n, 0);
    } else if (strcmp(w[0], "introspect") == 0 && n >= 2) {
        cmd_check(c, w, n, 1);
    } else if (strcmp(w[0], "dpop") == 0) {
        cmd_dpop(c, w, n);
    } else if (strcmp(w[0], "mtls") == 0) {
        cmd_mtls(c, w, n);
    } else if (strcmp(w[0], "refresh") == 0) {
        emit(json_pack("{s:s}", "status", authd_status_name(authd_client_refresh_keys(c))));
    } else if (strcmp(w[0], "stats") == 0) {
        cmd_stats(c);
    } else if (strcmp(w[0], "threads") == 0 && n == 4) {
        cmd_threads(c, strtol(w[1], NULL, 10), strtol(w[2], NULL, 10), w[3]);
    } else if (strcmp(w[0], "cc") == 0 || strcmp(w[0], "exchange") == 0) {
        cmd_token(c, w, n);
    } else {
        emit(json_pack("{s:s}", "status", "bad command"));
    }
}

static unsigned
parse_algs(char *s)
{
    unsigned a = 0;

    for (char *t = strtok(s, ","); t; t = strtok(NULL, ","))
        a |= strcmp(t, "ES256") == 0    ? AUTHD_ALG_ES256
             : strcmp(t, "RS256") == 0  ? AUTHD_ALG_RS256
             : strcmp(t, "PS256") == 0  ? AUTHD_ALG_PS256
             : strcmp(t, "ES384") == 0  ? AUTHD_ALG_ES384
             : strcmp(t, "SM2SM3") == 0 ? AUTHD_ALG_SM2SM3
                                        : 0x100u; /* refused by authd_client_new */
    return a;
}

static int
parse_args(int argc, char **argv, struct authd_client_config *cfg, const char **aud)
{
    int naud = 0;

    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--allow-http") == 0) {
            cfg->allow_http = 1;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (strcmp(k, "--issuer") == 0)
            cfg->issuer = v;
        else if (strcmp(k, "--aud") == 0)
            for (char *t = strtok(argv[i], ","); t && naud < 8; t = strtok(NULL, ","))
                aud[naud++] = t;
        else if (strcmp(k, "--jwks") == 0)
            cfg->jwks_uri = v;
        else if (strcmp(k, "--token-endpoint") == 0)
            cfg->token_endpoint = v;
        else if (strcmp(k, "--introspect") == 0)
            cfg->introspection_endpoint = v;
        else if (strcmp(k, "--algs") == 0)
            cfg->algs = parse_algs(argv[i]);
        else if (strcmp(k, "--leeway") == 0)
            cfg->leeway_s = strtoll(v, NULL, 10);
        else if (strcmp(k, "--min-cache") == 0)
            cfg->jwks_min_cache_s = strtoll(v, NULL, 10);
        else if (strcmp(k, "--max-cache") == 0)
            cfg->jwks_max_cache_s = strtoll(v, NULL, 10);
        else if (strcmp(k, "--refetch") == 0)
            cfg->jwks_refetch_interval_s = strtoll(v, NULL, 10);
        else if (strcmp(k, "--grace") == 0)
            cfg->jwks_grace_s = strtoll(v, NULL, 10);
        else if (strcmp(k, "--client-id") == 0)
            cfg->client_id = v;
        else if (strcmp(k, "--client-secret") == 0)
            cfg->client_secret = v;
        else if (strcmp(k, "--clock") == 0) {
            atomic_store(&fake_now, strtoll(v, NULL, 10));
            cfg->now = clock_fn;
        } else
            return -1;
    }
    aud[naud] = NULL;
    cfg->audiences = aud;
    return 0;
}

int
main(int argc, char **argv)
{
    struct authd_client_config cfg = {.init_curl_global = 1};
    struct authd_client *c = NULL;
    const char *aud[9];
    char *line = NULL, *w[8];
    size_t cap = 0;
    enum authd_status st;

    if (parse_args(argc, argv, &cfg, aud) != 0) {
        fprintf(stderr, "authd-client-check: bad arguments\n");
        return 2;
    }
    if ((st = authd_client_new(&cfg, &c)) != AUTHD_OK) {
        printf("{\"status\":\"%s\"}\n", authd_status_name(st));
        return 1;
    }
    while (getline(&line, &cap, stdin) > 0) {
        int n = 0;
        for (char *t = strtok(line, " \t\r\n"); t && n < 8; t = strtok(NULL, " \t\r\n"))
            w[n++] = t;
        if (n)
            dispatch(c, w, n);
    }
    free(line);
    authd_client_free(c);
    return 0;
}
