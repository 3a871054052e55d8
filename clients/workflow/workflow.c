/* authd-workflow: the application service (办件系统), a relying module of authd.
 *
 *   POST /v1/applications             citizen token (workflow.apply), {"service_code": ".."}:
 *                                     the service looks up which licenses the service code
 *                                     needs, exchanges the citizen's token for one towards
 *                                     the license service (RFC 8693, libauthd-client) and
 *                                     fetches them itself: the citizen uploads nothing
 *   GET  /v1/applications             citizen token (workflow.apply): the caller's own
 *                                     applications ({"applications": [..]})
 *   GET  /v1/applications/{id}        the owner (same sub) or an officer
 *   POST /v1/applications/{id}/stage  officer token (workflow.officer), {"stage": ".."}:
 *                                     submitted -> accepted -> under_review ->
 *                                     approved | rejected -> delivered; anything else 409
 *
 * Each stage sends the citizen a progress notice through authd (POST /notify, as this
 * module, by the sub it knows; authd holds the phone number).
 *
 * Officers: the officer desk is its own confidential client (client_credentials, scope
 * workflow.officer); its tokens name it as aud, so this service accepts two audiences:
 * itself (citizens' exchanged tokens) and the officer client, and treats a token as an
 * officer's only when its client_id and sub are the officer client and it has the scope.
 *
 * Storage: applications live in memory (a demo service: they vanish on restart).
 *
 * Usage: authd-workflow --listen ADDR:PORT --issuer URL --license-url URL --secret-file FILE
 *                       [--client-id workflow-service] [--officer-client workflow-officer]
 *                       [--license-audience license-service] [--allow-http] */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../svc/svc.h"

#define NAME     "workflow"
#define APPS_MAX 10000

/* Which licenses a service code needs (a real service reads this from its catalogue). */
static const struct service {
    const char *code, *title;
    const char *needs[3];
} services[] = {
    {"hukou-marriage",
     "婚后户口迁移 Household move after marriage",
     {"household_register", "marriage_certificate", NULL}},
    {"talent-settle",
     "人才引进落户 Talent residence",
     {"household_register", "degree_certificate", NULL}},
    {"degree-verify", "学历认证 Degree verification", {"degree_certificate", NULL, NULL}},
};

static const char *const stages[] = {"submitted", "accepted", "under_review",
                                     "approved",  "rejected", "delivered"};

struct wf {
    struct authd_client *ac;
    const char *issuer, *license_url, *license_aud, *client_id, *officer;
    char *secret;
    pthread_mutex_t mu;
    json_t *apps; /* object: id -> application (under mu) */
};

/* ---- stages ----------------------------------------------------------------------------- */

static int
stage_known(const char *s)
{
    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
        if (strcmp(stages[i], s) == 0)
            return 1;
    return 0;
}

/* The allowed transitions (and only these). */
static int
stage_allowed(const char *from, const char *to)
{
    static const char *const t[][2] = {{"submitted", "accepted"},    {"accepted", "under_review"},
                                       {"under_review", "approved"}, {"under_review", "rejected"},
                                       {"approved", "delivered"},    {"rejected", "delivered"}};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i][0], from) == 0 && strcmp(t[i][1], to) == 0)
            return 1;
    return 0;
}

static const char *
stage_zh(const char *s)
{
    static const char *const zh[] = {"已提交", "已受理", "审查中", "已批准", "未予批准", "已办结"};

    for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
        if (strcmp(stages[i], s) == 0)
            return zh[i];
    return s;
}

/* ---- calls out ---------------------------------------------------------------------------- */

/* A progress notice through authd's /notify. 0 sent, -1 not. */
static int
notify(struct wf *W, const char *sub, const char *app_id, const char *stage)
{
    char url[1024], text[512], *form = NULL, *body = NULL, *et = NULL;
    long status = 0;
    int rc = -1;

    snprintf(text, sizeof(text), "您的办件 %s %s。Application %s: %s.", app_id, stage_zh(stage),
             app_id, stage);
    if ((size_t)snprintf(url, sizeof(url), "%s/notify", W->issuer) < sizeof(url)
        && (et = curl_easy_escape(NULL, text, 0))
        && asprintf(&form, "sub=%s&text=%s&ref=%s", sub, et, app_id) > 0
        && svc_http("POST", url, NULL, W->client_id, W->secret, "application/x-www-form-urlencoded",
                    form, &status, &body)
               == 0
        && status == 202)
        rc = 0;
    svc_log(NAME, "notify", "ref", app_id, "stage", stage, "result", rc == 0 ? "sent" : "failed",
            NULL);
    curl_free(et);
    free(form);
    free(body);
    return rc;
}

/* GET from the license service with token; 0 with *out (JSON or text) on 200. */
static int
license_get(struct wf *W, const char *token, const char *path, char **out, long *status)
{
    char url[1024];

    *out = NULL;
    if ((size_t)snprintf(url, sizeof(url), "%s%s", W->license_url, path) >= sizeof(url))
        return -1;
    if (svc_http("GET", url, token, NULL, NULL, NULL, NULL, status, out) != 0)
        return -1;
    if (*status == 200)
        return 0;
    free(*out);
    *out = NULL;
    return -1;
}

/* Fetches each license svc needs (summary and signed copy) into evidence; the names of the
 * missing ones into missing. 0 ok (maybe with missing), -1 license service failed. */
static int
gather(struct wf *W, const char *token, const struct service *sv, json_t *evidence, json_t *missing)
{
    char *list = NULL, *jws = NULL, path[256];
    long status = 0;
    json_t *j, *ls, *l;
    size_t i;

    if (license_get(W, token, "/v1/licenses", &list, &status) != 0
        || !(j = json_loads(list, 0, NULL))) {
        free(list);
        return -1;
    }
    free(list);
    ls = json_object_get(j, "licenses");
    for (int k = 0; k < 3 && sv->needs[k]; k++) {
        json_t *found = NULL;
        json_array_foreach(ls, i, l)
        {
            if (strcmp(json_string_value(json_object_get(l, "type")) ?: "", sv->needs[k]) == 0)
                found = l;
        }
        if (!found) {
            json_array_append_new(missing, json_string(sv->needs[k]));
            continue;
        }
        snprintf(path, sizeof(path), "/v1/licenses/%s.jws",
                 json_string_value(json_object_get(found, "id")) ?: "");
        if (license_get(W, token, path, &jws, &status) != 0) {
            json_decref(j);
            return -1;
        }
        json_array_append_new(evidence, json_pack("{s:O, s:s}", "license", found, "signed", jws));
        free(jws);
    }
    json_decref(j);
    return 0;
}

/* ---- handlers ----------------------------------------------------------------------------- */

static const struct service *
service_of(const char *code)
{
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
        if (strcmp(services[i].code, code) == 0)
            return &services[i];
    return NULL;
}

static void
new_id(char out[16])
{
    unsigned char r[6];

    if (RAND_bytes(r, sizeof(r)) != 1)
        memset(r, 0, sizeof(r));
    snprintf(out, 16, "A%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

/* The exchange, then the licenses; 0 with evidence filled, -1 with rs answered. */
static int
fetch_licenses(struct wf *W, const char *token, const struct service *sv, json_t *evidence,
               struct svc_resp *rs)
{
    struct authd_token ex = {0};
    struct authd_error err = {0};
    json_t *missing = json_array();
    enum authd_status st = authd_client_exchange(W->ac, token, strlen(token), W->license_aud,
                                                 "license.read", &ex, &err);
    int rc = -1;

    if (st == AUTHD_ERR_REFUSED)
        svc_error(rs, 403, "exchange_refused", err.description);
    else if (st != AUTHD_OK)
        svc_error(rs, 503, "temporarily_unavailable", authd_status_name(st));
    else if (gather(W, ex.access_token, sv, evidence, missing) != 0)
        svc_error(rs, 503, "temporarily_unavailable", "the license service did not answer");
    else if (json_array_size(missing) > 0)
        svc_json(rs, 422,
                 json_pack("{s:s, s:s, s:O}", "error", "missing_license", "error_description",
                           "the license registry holds no such license for you", "missing",
                           missing));
    else
        rc = 0;
    authd_token_clear(&ex);
    json_decref(missing);
    return rc;
}

static void
apply(struct wf *W, const struct svc_req *rq, struct svc_resp *rs)
{
    struct authd_token_info ti = {0};
    char agent[96];
    const struct service *sv;
    json_t *body = NULL, *evidence = json_array(), *app, *copy = NULL;
    char id[16];

    if (svc_bearer(W->ac, rq, "workflow.apply", NULL, rs, &ti) != 0)
        goto out;
    if (!(body = json_loads(rq->body, 0, NULL)) || !json_is_object(body)
        || !json_is_string(json_object_get(body, "service_code"))) {
        svc_error(rs, 400, "invalid_request", "expected {\"service_code\": \"...\"}");
        goto out;
    }
    if (!(sv = service_of(json_string_value(json_object_get(body, "service_code"))))) {
        svc_error(rs, 400, "invalid_request", "unknown service_code");
        goto out;
    }
    if (fetch_licenses(W, svc_bearer_token(rq), sv, evidence, rs) != 0)
        goto out;
    new_id(id);
    app = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:[{s:s, s:I}]}", "id", id, "owner", ti.sub,
                    "service_code", sv->code, "title", sv->title, "stage", "submitted", "licenses",
                    evidence, "history", "stage", "submitted", "at", (json_int_t)time(NULL));
    pthread_mutex_lock(&W->mu); /* stored apps change only under mu; answer with a copy */
    if (app && json_object_size(W->apps) < APPS_MAX && json_object_set(W->apps, id, app) == 0)
        copy = json_deep_copy(app);
    pthread_mutex_unlock(&W->mu);
    json_decref(app);
    if (!copy) {
        svc_error(rs, 503, "temporarily_unavailable", "too many applications");
        goto out;
    }
    json_object_set_new(copy, "notice",
                        json_string(notify(W, ti.sub, id, "submitted") == 0 ? "sent" : "failed"));
    svc_json(rs, 201, copy);
out:
    svc_agent(&ti, agent, sizeof(agent)); /* the citizen (sub) and who acts for them */
    svc_log(NAME, "apply", "client", ti.client_id, "sub", ti.sub, "agent", agent, "status",
            rs->status == 201 ? "201" : "refused", NULL);
    json_decref(evidence);
    json_decref(body);
    authd_token_info_clear(&ti);
}

static int
is_officer(struct wf *W, const struct authd_token_info *ti)
{
    return ti->client_id && strcmp(ti->client_id, W->officer) == 0 && ti->sub
           && strcmp(ti->sub, W->officer) == 0 && ti->scope
           && strstr(ti->scope, "workflow.officer") != NULL;
}

static void
show(struct wf *W, const struct svc_req *rq, const char *id, struct svc_resp *rs)
{
    struct authd_token_info ti = {0};
    char agent[96];
    json_t *app, *copy = NULL;

    if (svc_bearer(W->ac, rq, NULL, NULL, rs, &ti) != 0)
        return;
    pthread_mutex_lock(&W->mu);
    if ((app = json_object_get(W->apps, id))
        && (is_officer(W, &ti)
            || (ti.scope && strstr(ti.scope, "workflow.apply")
                && strcmp(json_string_value(json_object_get(app, "owner")), ti.sub) == 0)))
        copy = json_deep_copy(app);
    pthread_mutex_unlock(&W->mu);
    if (copy)
        svc_json(rs, 200, copy);
    else
        svc_error(rs, 404, "not_found", "no such application");
    svc_agent(&ti, agent, sizeof(agent));
    svc_log(NAME, "show", "client", ti.client_id, "sub", ti.sub, "agent", agent, "status",
            copy ? "200" : "404", NULL);
    authd_token_info_clear(&ti);
}

/* The caller's own applications (the hotline console reads them for a consenting caller). */
static void
mine(struct wf *W, const struct svc_req *rq, struct svc_resp *rs)
{
    struct authd_token_info ti = {0};
    char agent[96];
    const char *id;
    json_t *out, *app;

    if (svc_bearer(W->ac, rq, "workflow.apply", NULL, rs, &ti) != 0)
        return;
    out = json_array();
    pthread_mutex_lock(&W->mu);
    json_object_foreach(W->apps, id, app)
    {
        if (strcmp(json_string_value(json_object_get(app, "owner")) ?: "", ti.sub) == 0)
            json_array_append_new(out, json_deep_copy(app));
    }
    pthread_mutex_unlock(&W->mu);
    svc_json(rs, 200, json_pack("{s:o}", "applications", out));
    svc_agent(&ti, agent, sizeof(agent));
    svc_log(NAME, "list", "client", ti.client_id, "sub", ti.sub, "agent", agent, NULL);
    authd_token_info_clear(&ti);
}

static void
stage(struct wf *W, const struct svc_req *rq, const char *id, struct svc_resp *rs)
{
    struct authd_token_info ti = {0};
    json_t *body = json_loads(rq->body, 0, NULL), *app, *copy = NULL;
    const char *to = json_string_value(json_object_get(body, "stage")), *from;
    char owner[128] = "";
    int conflict = 0;

    if (svc_bearer(W->ac, rq, "workflow.officer", NULL, rs, &ti) != 0)
        goto out;
    if (!is_officer(W, &ti)) {
        svc_error(rs, 403, "insufficient_scope", "officers only");
        goto out;
    }
    if (!to || !stage_known(to)) {
        svc_error(rs, 400, "invalid_request",
                  "expected {\"stage\": \"accepted\"} or another stage");
        goto out;
    }
    pthread_mutex_lock(&W->mu);
    if ((app = json_object_get(W->apps, id))) {
        from = json_string_value(json_object_get(app, "stage"));
        if ((conflict = !stage_allowed(from, to)) == 0) {
            json_object_set_new(app, "stage", json_string(to));
            json_array_append_new(
                json_object_get(app, "history"),
                json_pack("{s:s, s:I}", "stage", to, "at", (json_int_t)time(NULL)));
            snprintf(owner, sizeof(owner), "%s", json_string_value(json_object_get(app, "owner")));
            copy = json_deep_copy(app);
        }
    }
    pthread_mutex_unlock(&W->mu);
    if (!app)
        svc_error(rs, 404, "not_found", "no such application");
    else if (conflict)
        svc_error(rs, 409, "invalid_transition", "that stage does not follow the current one");
    else {
        json_object_set_new(copy, "notice",
                            json_string(notify(W, owner, id, to) == 0 ? "sent" : "failed"));
        svc_json(rs, 200, copy);
    }
out:
    json_decref(body);
    authd_token_info_clear(&ti);
}

static void
handle(void *arg, const struct svc_req *rq, struct svc_resp *rs)
{
    struct wf *W = arg;
    const char *p = rq->path, *rest;
    char id[32];
    size_t n;

    if (strcmp(p, "/healthz") == 0) {
        svc_json(rs, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    if (strcmp(p, "/v1/applications") == 0) {
        if (strcmp(rq->method, "POST") == 0)
            apply(W, rq, rs);
        else if (strcmp(rq->method, "GET") == 0)
            mine(W, rq, rs);
        else
            svc_error(rs, 405, "invalid_request", "GET or POST only");
        return;
    }
    if (strncmp(p, "/v1/applications/", 17) != 0) {
        svc_error(rs, 404, "not_found", "no such resource");
        return;
    }
    rest = p + 17;
    n = strcspn(rest, "/");
    if (n == 0 || n >= sizeof(id)) {
        svc_error(rs, 404, "not_found", "no such application");
        return;
    }
    memcpy(id, rest, n);
    id[n] = 0;
    if (rest[n] == 0 && strcmp(rq->method, "GET") == 0)
        show(W, rq, id, rs);
    else if (strcmp(rest + n, "/stage") == 0 && strcmp(rq->method, "POST") == 0)
        stage(W, rq, id, rs);
    else
        svc_error(rs, 404, "not_found", "no such resource");
}

/* ---- start ------------------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"listen", 1, 0, 'l'},           {"issuer", 1, 0, 'i'},     {"license-url", 1, 0, 'L'},
        {"secret-file", 1, 0, 'f'},      {"client-id", 1, 0, 'c'},  {"officer-client", 1, 0, 'o'},
        {"license-audience", 1, 0, 'a'}, {"allow-http", 0, 0, 'h'}, {0, 0, 0, 0}};
    static struct wf W = {.client_id = "workflow-service",
                          .officer = "workflow-officer",
                          .license_aud = "license-service"};
    const char *listen = "127.0.0.1:8091", *secret_file = NULL;
    const char *auds[3] = {NULL, NULL, NULL};
    struct authd_client_config cc = {.leeway_s = 30};
    struct svc *s = NULL;
    int ch;

    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'l':
            listen = optarg;
            break;
        case 'i':
            W.issuer = optarg;
            break;
        case 'L':
            W.license_url = optarg;
            break;
        case 'f':
            secret_file = optarg;
            break;
        case 'c':
            W.client_id = optarg;
            break;
        case 'o':
            W.officer = optarg;
            break;
        case 'a':
            W.license_aud = optarg;
            break;
        case 'h':
            cc.allow_http = 1;
            break;
        default:
            return 2;
        }
    }
    if (!W.issuer || !W.license_url || !secret_file || svc_read_file(secret_file, &W.secret) != 0) {
        fprintf(stderr, "usage: authd-workflow --issuer URL --license-url URL --secret-file FILE "
                        "[--listen ADDR:PORT] [--client-id ID] [--officer-client ID] "
                        "[--license-audience ID] [--allow-http]\n");
        return 2;
    }
    W.secret[strcspn(W.secret, "\r\n")] = 0;
    auds[0] = W.client_id, auds[1] = W.officer;
    cc.issuer = W.issuer, cc.audiences = auds, cc.client_id = W.client_id;
    cc.client_secret = W.secret;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    svc_block_signals();
    pthread_mutex_init(&W.mu, NULL);
    W.apps = json_object();
    if (authd_client_new(&cc, &W.ac) != AUTHD_OK || svc_start(listen, handle, &W, &s) != 0)
        return 1;
    svc_log(NAME, "start", "listen", listen, NULL);
    svc_wait();
    svc_stop(s);
    authd_client_free(W.ac);
    json_decref(W.apps);
    OPENSSL_cleanse(W.secret, strlen(W.secret));
    free(W.secret);
    curl_global_cleanup();
    return 0;
}
