/* authd-hotline: the 12345 hotline console for agents (docs/hotline.md, "The console").
 *
 *   login     the agent logs in: authorization code + PKCE with a loopback redirect
 *             (RFC 8252 §7.3: a listener on 127.0.0.1 at a free port), the /authorize address
 *             printed (or opened with --browser), the code exchanged at /token
 *   lookup    POST /hotline/lookup: the masked summary of the caller
 *   consent   CIBA (poll mode) with the lookup's login_hint_token: /bc-authorize as the
 *             console client, then /token polled with the CIBA grant, its status shown
 *   act       the consented token exchanged (RFC 8693) for the workflow or license service,
 *             and the caller's applications or licenses read there
 *   status, logout, help, quit (the prompt)
 *
 * One-shot subcommands for scripts; without one, a prompt loop. The session (the agent's
 * token, the lookup's hint tokens, the consented token) lives in memory and, with
 * --session FILE, in that file (mode 0600) between one-shot runs. Tokens are never printed.
 *
 * HTTP through libcurl and libauthd-client (its form posts with client_secret_basic, its
 * token exchange), the loopback listener through libmicrohttpd, JSON through jansson,
 * base64url through core/jose. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authd_client.h"
#include "client_int.h"
#include "core/jose.h"
#include "util/arena.h"
#include "util/span.h"

extern char **environ;

#define ANSWER_MAX  (256 * 1024)
#define CIBA_GRANT  "urn:openid:params:grant-type:ciba"
#define DEFAULT_ACR "urn:authd:acr:ial2:aal2"

/* Exit codes of the one-shot commands. */
enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_DENIED = 3, EX_EXPIRED = 4 };

struct console {
    const char *issuer, *client_id, *session_path, *browser, *acr;
    const char *workflow_url, *license_url, *workflow_aud, *license_aud;
    const char *redirect_path; /* the loopback redirect's path ("/callback") */
    unsigned redirect_port;    /* 0: a free port (RFC 8252 §7.3) */
    char *secret;
    long login_timeout_s;
    int allow_http;
    struct authd_client *ac;
    char *authorize_ep, *token_ep, *bc_ep, *lookup_ep;
    json_t *session; /* staff_token, purpose, hints [..], consent_token, consent_scope */
};

/* ---- small helpers ----------------------------------------------------------------------- */

/* Prints s (a text from an answer) with control bytes shown as '?'. */
static void
print_clean(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* An error answer of authd or a service: the status, the OAuth error and its description. */
static void
show_error(const char *what, long status, struct span body)
{
    json_t *j = json_loadb((const char *)body.p, body.len, 0, NULL);
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *d = json_string_value(json_object_get(j, "error_description"));

    fprintf(stderr, "%s refused: HTTP %ld", what, status);
    if (e) {
        fputs(" ", stderr);
        print_clean(stderr, e);
    }
    if (d) {
        fputs(": ", stderr);
        print_clean(stderr, d);
    }
    fputc('\n', stderr);
    json_decref(j);
}

static void
show_lib_error(const char *what, enum authd_status st, const struct authd_error *err)
{
    if (st == AUTHD_ERR_REFUSED && err) {
        fprintf(stderr, "%s refused: HTTP %d %s", what, err->http_status, err->error);
        if (err->description[0])
            fprintf(stderr, ": %s", err->description);
        fputc('\n', stderr);
    } else if (st == AUTHD_ERR_UNAVAILABLE) {
        fprintf(stderr, "%s: authd cannot be reached\n", what);
    } else {
        fprintf(stderr, "%s failed: %s\n", what, authd_status_name(st));
    }
}

static char *
dup_json_str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? strdup(v) : NULL;
}

/* A fresh random base64url string of n random bytes, into *out (malloc'ed). */
static int
random_b64url(size_t n, char **out)
{
    unsigned char raw[64];
    struct arena a;
    struct span s;
    int rc = -1;

    arena_init(&a, 1024);
    if (n <= sizeof(raw) && RAND_bytes(raw, (int)n) == 1
        && jose_b64url_encode(span_of(raw, n), &a, &s) == RC_OK && (*out = strdup((char *)s.p)))
        rc = 0;
    OPENSSL_cleanse(raw, sizeof(raw));
    arena_clear(&a);
    return rc;
}

/* ---- the session ------------------------------------------------------------------------- */

static void
session_load(struct console *C)
{
    json_error_t je;

    C->session = NULL;
    if (C->session_path && access(C->session_path, F_OK) == 0)
        C->session = json_load_file(C->session_path, 0, &je);
    if (!json_is_object(C->session)) {
        json_decref(C->session);
        C->session = json_object();
    }
}

static int
session_save(struct console *C)
{
    char *text;
    int fd, rc = 0;
    size_t len;

    if (!C->session_path)
        return 0;
    if (!(text = json_dumps(C->session, JSON_COMPACT)))
        return -1;
    len = strlen(text);
    fd = open(C->session_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, text, len) != (ssize_t)len) {
        fprintf(stderr, "cannot write the session file %s: %s\n", C->session_path, strerror(errno));
        rc = -1;
    }
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(text, len);
    free(text);
    return rc;
}

static const char *
session_str(struct console *C, const char *key)
{
    return json_string_value(json_object_get(C->session, key));
}

/* ---- HTTP -------------------------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    return buf_append(b, p, size * n) == RC_OK ? size * n : 0;
}

/* A request with `Authorization: Bearer token` (libcurl writes the header): GET when form is
 * NULL, else a form POST. 0: *status and body filled; -1: no answer. */
static int
bearer_request(struct console *C, const char *url, const char *token, const struct buf *form,
               long *status, struct buf *body)
{
    CURL *h = curl_easy_init();
    CURLcode cc;

    if (!h)
        return -1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, C->allow_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, token);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    if (form) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)form->p);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form->len);
    }
    cc = curl_easy_perform(h);
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK) {
        fprintf(stderr, "%s cannot be reached: %s\n", url, curl_easy_strerror(cc));
        return -1;
    }
    return 0;
}

/* A form POST to authd authenticated as the console client (client_secret_basic), through
 * libauthd-client. 0: a JSON answer in *out (any status), *status set. */
static int
client_post(struct console *C, const char *url, const struct buf *form, long *status, json_t **out)
{
    struct fetch_answer a;
    int rc = -1;

    fetch_answer_init(&a, ANSWER_MAX);
    if (fetch_post_form(C->ac, url, buf_span(form), FETCH_AUTH_BASIC, ANSWER_MAX, &a) != AUTHD_OK) {
        fprintf(stderr, "authd cannot be reached at %s\n", url);
    } else {
        *status = a.status;
        *out = json_loadb((const char *)a.body.p, a.body.len, 0, NULL);
        if (!*out)
            fprintf(stderr, "authd answered HTTP %ld without JSON\n", a.status);
        else
            rc = 0;
    }
    fetch_answer_clear(&a);
    return rc;
}

static void
show_json_error(const char *what, long status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    show_error(what, status, span_str(text ? text : ""));
    free(text);
}

/* ---- discovery --------------------------------------------------------------------------- */

static int
discover(struct console *C)
{
    char url[1024];
    struct fetch_answer a;
    json_t *d = NULL;
    int rc = -1;

    snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", C->issuer);
    fetch_answer_init(&a, ANSWER_MAX);
    if (fetch_get(C->ac, url, ANSWER_MAX, &a) != AUTHD_OK || a.status != 200
        || !(d = json_loadb((const char *)a.body.p, a.body.len, 0, NULL))) {
        fprintf(stderr, "authd's discovery document cannot be read at %s (HTTP %ld)\n", url,
                a.status);
        goto out;
    }
    C->authorize_ep = dup_json_str(d, "authorization_endpoint");
    C->token_ep = dup_json_str(d, "token_endpoint");
    C->bc_ep = dup_json_str(d, "backchannel_authentication_endpoint");
    if (!C->authorize_ep || !C->token_ep || !C->bc_ep) {
        fprintf(stderr, "authd's discovery document lacks an endpoint the console needs\n");
        goto out;
    }
    if (asprintf(&C->lookup_ep, "%s/hotline/lookup", C->issuer) < 0)
        goto out;
    rc = 0;
out:
    json_decref(d);
    fetch_answer_clear(&a);
    return rc;
}

/* ---- login: code + PKCE with a loopback redirect ---------------------------------------- */

struct loopback {
    const char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, answered; /* the redirect taken; its page sent to the browser */
    char *code, *state, *iss, *error, *error_description;
};

static char *
arg_dup(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    return v ? strdup(v) : NULL;
}

static enum MHD_Result
on_callback(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
            const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    static const char done_page[] = "The console has your login. You may close this window.\n";
    static const char other_page[] = "Not found.\n";
    struct loopback *L = cls;
    struct MHD_Response *r;
    enum MHD_Result ret;
    int ours = strcmp(url, L->path) == 0 && strcmp(method, "GET") == 0;

    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    if (ours) {
        pthread_mutex_lock(&L->mu);
        if (!L->done) {
            L->code = arg_dup(conn, "code");
            L->state = arg_dup(conn, "state");
            L->iss = arg_dup(conn, "iss");
            L->error = arg_dup(conn, "error");
            L->error_description = arg_dup(conn, "error_description");
            L->done = 1;
            pthread_cond_signal(&L->cv);
        }
        pthread_mutex_unlock(&L->mu);
    }
    r = MHD_create_response_from_buffer(ours ? sizeof(done_page) - 1 : sizeof(other_page) - 1,
                                        (void *)(ours ? done_page : other_page),
                                        MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, ours ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND, r);
    MHD_destroy_response(r);
    return ret;
}

/* The browser has the page (or went away): the listener may stop now. */
static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct loopback *L = cls;

    (void)conn, (void)con_cls, (void)toe;
    pthread_mutex_lock(&L->mu);
    if (L->done) {
        L->answered = 1;
        pthread_cond_signal(&L->cv);
    }
    pthread_mutex_unlock(&L->mu);
}

static void
open_browser(const char *program, const char *url)
{
    char *argv[] = {(char *)program, (char *)url, NULL};
    pid_t pid;

    if (posix_spawnp(&pid, program, NULL, NULL, argv, environ) != 0)
        fprintf(stderr, "cannot start %s; open the address above yourself\n", program);
    /* not waited for here: a browser may live on; reaped at exit */
}

static int
cmd_login(struct console *C)
{
    struct loopback L = {
        .path = C->redirect_path, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)C->redirect_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    char *verifier = NULL, *state = NULL, *nonce = NULL, *redirect = NULL, *url = NULL;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    struct arena ar;
    struct span challenge;
    struct buf q, form;
    struct timespec until;
    json_t *tok = NULL;
    long status = 0;
    int rc = EX_FAIL;

    arena_init(&ar, 4096);
    buf_init(&q, 8192);
    buf_init(&form, 16384);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                         on_callback, &L, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_NOTIFY_COMPLETED,
                         on_completed, &L, MHD_OPTION_END);
    if (!d || !(info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT))) {
        fprintf(stderr, "cannot listen on 127.0.0.1:%u for the login's redirect\n",
                C->redirect_port);
        goto out;
    }
    if (random_b64url(32, &verifier) != 0 || random_b64url(16, &state) != 0
        || random_b64url(16, &nonce) != 0)
        goto out;
    SHA256((const unsigned char *)verifier, strlen(verifier), digest);
    if (jose_b64url_encode(span_of(digest, sizeof(digest)), &ar, &challenge) != RC_OK
        || asprintf(&redirect, "http://127.0.0.1:%u%s", (unsigned)info->port, C->redirect_path) < 0)
        goto out;
    if (fetch_form_add(&q, "response_type", "code", 4) != RC_OK
        || fetch_form_add(&q, "client_id", C->client_id, strlen(C->client_id)) != RC_OK
        || fetch_form_add(&q, "redirect_uri", redirect, strlen(redirect)) != RC_OK
        || fetch_form_add(&q, "scope", "openid", 6) != RC_OK
        || fetch_form_add(&q, "state", state, strlen(state)) != RC_OK
        || fetch_form_add(&q, "nonce", nonce, strlen(nonce)) != RC_OK
        || fetch_form_add(&q, "code_challenge", (const char *)challenge.p, challenge.len) != RC_OK
        || fetch_form_add(&q, "code_challenge_method", "S256", 4) != RC_OK
        || fetch_form_add(&q, "acr_values", C->acr, strlen(C->acr)) != RC_OK
        || asprintf(&url, "%s?%s", C->authorize_ep, (const char *)q.p) < 0)
        goto out;
    printf("Open this address to log in (employee number, password, authenticator code):\n"
           "  %s\nwaiting for the login (at most %ld s) ...\n",
           url, C->login_timeout_s);
    fflush(stdout);
    if (C->browser)
        open_browser(C->browser, url);

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += C->login_timeout_s;
    pthread_mutex_lock(&L.mu);
    while (!L.done)
        if (pthread_cond_timedwait(&L.cv, &L.mu, &until) == ETIMEDOUT)
            break;
    if (L.done) { /* let the browser have its page: a few seconds at most */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        while (!L.answered)
            if (pthread_cond_timedwait(&L.cv, &L.mu, &until) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&L.mu);
    MHD_stop_daemon(d);
    d = NULL;
    if (!L.done) {
        fprintf(stderr, "login: no answer from the browser in %ld s\n", C->login_timeout_s);
        goto out;
    }
    if (!L.state || strcmp(L.state, state) != 0) {
        fprintf(stderr, "login refused: the redirect's state is not this login's\n");
        goto out;
    }
    if (L.iss && strcmp(L.iss, C->issuer) != 0) { /* RFC 9207 */
        fprintf(stderr, "login refused: the redirect names another issuer\n");
        goto out;
    }
    if (L.error || !L.code) {
        fprintf(stderr, "login refused by authd: %s", L.error ? L.error : "no code");
        if (L.error_description) {
            fputs(": ", stderr);
            print_clean(stderr, L.error_description);
        }
        fputc('\n', stderr);
        goto out;
    }
    if (fetch_form_add(&form, "grant_type", "authorization_code", 18) != RC_OK
        || fetch_form_add(&form, "code", L.code, strlen(L.code)) != RC_OK
        || fetch_form_add(&form, "redirect_uri", redirect, strlen(redirect)) != RC_OK
        || fetch_form_add(&form, "code_verifier", verifier, strlen(verifier)) != RC_OK)
        goto out;
    if (client_post(C, C->token_ep, &form, &status, &tok) != 0)
        goto out;
    if (status != 200 || !json_string_value(json_object_get(tok, "access_token"))) {
        show_json_error("login (token endpoint)", status, tok);
        goto out;
    }
    json_object_clear(C->session);
    json_object_set(C->session, "staff_token", json_object_get(tok, "access_token"));
    json_object_set_new(
        C->session, "staff_expires_at",
        json_integer(time(NULL) + json_integer_value(json_object_get(tok, "expires_in"))));
    if (session_save(C) != 0)
        goto out;
    printf("logged in (token valid %lld s)\n",
           (long long)json_integer_value(json_object_get(tok, "expires_in")));
    rc = EX_OK;
out:
    if (d)
        MHD_stop_daemon(d);
    if (verifier)
        OPENSSL_cleanse(verifier, strlen(verifier));
    if (L.code)
        OPENSSL_cleanse(L.code, strlen(L.code));
    free(verifier), free(state), free(nonce), free(redirect), free(url);
    free(L.code), free(L.state), free(L.iss), free(L.error), free(L.error_description);
    json_decref(tok);
    buf_clear(&q);
    buf_clear(&form);
    arena_clear(&ar);
    return rc;
}

static const char *
staff_token(struct console *C)
{
    const char *t = session_str(C, "staff_token");
    if (!t)
        fprintf(stderr, "not logged in: run `login` first\n");
    return t;
}

/* ---- lookup ------------------------------------------------------------------------------ */

static int
cmd_lookup(struct console *C, const char *purpose, const char *id_number, const char *phone)
{
    const char *tok = staff_token(C);
    struct buf form, body;
    json_t *j = NULL, *cands, *c, *hints;
    long status = 0;
    size_t i;
    int rc = EX_FAIL;

    if (!tok)
        return EX_FAIL;
    if (!purpose || (!id_number == !phone)) {
        fprintf(stderr, "lookup needs --purpose and one of --id-number or --phone\n");
        return EX_USAGE;
    }
    buf_init(&form, 4096);
    buf_init(&body, ANSWER_MAX);
    if (fetch_form_add(&form, "purpose", purpose, strlen(purpose)) != RC_OK
        || (id_number && fetch_form_add(&form, "id_number", id_number, strlen(id_number)) != RC_OK)
        || (phone && fetch_form_add(&form, "phone", phone, strlen(phone)) != RC_OK))
        goto out;
    if (bearer_request(C, C->lookup_ep, tok, &form, &status, &body) != 0)
        goto out;
    if (status != 200) {
        show_error("lookup", status, buf_span(&body));
        goto out;
    }
    j = json_loadb((const char *)body.p, body.len, 0, NULL);
    if (!json_is_array(cands = json_object_get(j, "candidates"))) {
        fprintf(stderr, "lookup: authd's answer has no candidates\n");
        goto out;
    }
    hints = json_array();
    printf("purpose: %s\n", purpose);
    if (json_array_size(cands) == 0)
        printf("no match\n");
    json_array_foreach(cands, i, c)
    {
        json_t *ch = json_object_get(c, "channels"), *v;
        size_t k;

        printf("[%zu] name %s  id %s  ial %lld  channels", i + 1,
               json_string_value(json_object_get(c, "name")) ?: "?",
               json_string_value(json_object_get(c, "id_number")) ?: "?",
               (long long)json_integer_value(json_object_get(c, "ial")));
        json_array_foreach(ch, k, v) printf("%s%s", k ? ", " : " ", json_string_value(v) ?: "?");
        putchar('\n');
        /* one entry per shown candidate, so that --candidate K is the K shown */
        v = json_object_get(c, "login_hint_token");
        json_array_append_new(hints, json_is_string(v) ? json_incref(v) : json_null());
    }
    json_object_set_new(C->session, "hints", hints);
    json_object_set_new(C->session, "purpose", json_string(purpose));
    json_object_del(C->session, "consent_token");
    rc = session_save(C) == 0 ? EX_OK : EX_FAIL;
out:
    json_decref(j);
    buf_clear(&form);
    buf_clear(&body);
    return rc;
}

/* ---- consent: CIBA poll mode ------------------------------------------------------------- */

static const char *
default_scope(const char *purpose)
{
    /* what the console needs for each purpose of the demo policy: the applications for a
     * status query, the licenses for a license query (--scope for others) */
    if (purpose && strcmp(purpose, "license_query") == 0)
        return "openid license.read";
    return "openid workflow.apply";
}

static int
cmd_consent(struct console *C, const char *binding, const char *scope, long candidate,
            long poll_limit_s)
{
    json_t *hints = json_object_get(C->session, "hints"), *j = NULL;
    const char *hint, *rid;
    struct buf form;
    long status = 0, interval, expires_in, waited = 0;
    time_t started = time(NULL);
    int rc = EX_FAIL;
    char *auth_req_id = NULL;

    if (!staff_token(C))
        return EX_FAIL;
    if (!json_is_array(hints) || json_array_size(hints) == 0) {
        fprintf(stderr, "consent needs a lookup with a match first\n");
        return EX_FAIL;
    }
    if (candidate < 1 || (size_t)candidate > json_array_size(hints)
        || !(hint = json_string_value(json_array_get(hints, (size_t)candidate - 1)))) {
        fprintf(stderr, "no candidate [%ld] in the last lookup\n", candidate);
        return EX_USAGE;
    }
    if (!scope)
        scope = default_scope(session_str(C, "purpose"));
    buf_init(&form, 16384);
    if (fetch_form_add(&form, "scope", scope, strlen(scope)) != RC_OK
        || fetch_form_add(&form, "login_hint_token", hint, strlen(hint)) != RC_OK
        || (binding && fetch_form_add(&form, "binding_message", binding, strlen(binding)) != RC_OK))
        goto out;
    if (client_post(C, C->bc_ep, &form, &status, &j) != 0)
        goto out;
    if (status != 200 || !(rid = json_string_value(json_object_get(j, "auth_req_id")))) {
        show_json_error("consent request (/bc-authorize)", status, j);
        goto out;
    }
    auth_req_id = strdup(rid);
    interval = json_integer_value(json_object_get(j, "interval"));
    expires_in = json_integer_value(json_object_get(j, "expires_in"));
    if (interval <= 0)
        interval = 5; /* CIBA Core §7.3 */
    printf("consent requested: the caller's phone has the request (expires in %ld s)%s%s\n",
           expires_in, binding ? "; read out: " : "", binding ? binding : "");
    fflush(stdout);
    for (;;) {
        const char *err;

        sleep((unsigned)interval);
        waited = (long)(time(NULL) - started);
        json_decref(j);
        j = NULL;
        buf_reset(&form);
        if (fetch_form_add(&form, "grant_type", CIBA_GRANT, strlen(CIBA_GRANT)) != RC_OK
            || fetch_form_add(&form, "auth_req_id", auth_req_id, strlen(auth_req_id)) != RC_OK)
            goto out;
        if (client_post(C, C->token_ep, &form, &status, &j) != 0)
            goto out;
        if (status == 200 && json_string_value(json_object_get(j, "access_token"))) {
            json_object_set(C->session, "consent_token", json_object_get(j, "access_token"));
            json_object_set_new(
                C->session, "consent_scope",
                json_string(json_string_value(json_object_get(j, "scope")) ?: scope));
            if (session_save(C) != 0)
                goto out;
            printf("status: APPROVED by the caller after %ld s; consented token valid %lld s, "
                   "scope %s\n",
                   waited, (long long)json_integer_value(json_object_get(j, "expires_in")),
                   json_string_value(json_object_get(j, "scope")) ?: scope);
            rc = EX_OK;
            goto out;
        }
        err = json_string_value(json_object_get(j, "error"));
        if (status == 400 && err && strcmp(err, "authorization_pending") == 0) {
            printf("status: waiting for the caller's approval (%ld s)\n", waited);
        } else if (status == 400 && err && strcmp(err, "slow_down") == 0) {
            interval += 5; /* RFC 8628 §3.5, CIBA Core §11 */
            printf("status: authd asks to slow down; polling every %ld s\n", interval);
        } else if (status == 400 && err && strcmp(err, "access_denied") == 0) {
            printf("status: DENIED by the caller; nothing was released\n");
            rc = EX_DENIED;
            goto out;
        } else if (status == 400 && err && strcmp(err, "expired_token") == 0) {
            printf("status: EXPIRED: the caller did not answer in time; nothing was released\n");
            rc = EX_EXPIRED;
            goto out;
        } else {
            show_json_error("consent (token endpoint)", status, j);
            goto out;
        }
        fflush(stdout);
        if (poll_limit_s > 0 && waited >= poll_limit_s) {
            printf("status: stopped polling after %ld s (the request stays open at authd)\n",
                   waited);
            goto out;
        }
    }
out:
    if (auth_req_id)
        OPENSSL_cleanse(auth_req_id, strlen(auth_req_id));
    free(auth_req_id);
    json_decref(j);
    buf_clear(&form);
    fflush(stdout);
    return rc;
}

/* ---- act: token exchange, then the caller's applications or licenses -------------------- */

/* What the console prints of a service's list: the title, then per entry four fields, the
 * last one after its label ("stage", "valid until"). */
struct listing {
    const char *title, *key, *f[4], *last_label, *missing[4];
};

static const struct listing APPLICATIONS = {
    "applications", "applications", {"id", "service_code", "title", "stage"}, "stage",
    {"?", "?", "", "?"}};
static const struct listing LICENSES = {
    "licenses", "licenses", {"id", "type", "name", "valid_until"}, "valid until",
    {"?", "?", "", "-"}};

static void
show_list(const struct listing *L, json_t *body)
{
    json_t *list = json_object_get(body, L->key), *e;
    const char *v[4];
    size_t i;

    printf("%s: %zu\n", L->title, json_array_size(list));
    json_array_foreach(list, i, e)
    {
        for (int k = 0; k < 4; k++)
            v[k] = json_string_value(json_object_get(e, L->f[k])) ?: L->missing[k];
        printf("  %s  %s  %s  %s %s\n", v[0], v[1], v[2], L->last_label, v[3]);
    }
}

static int
cmd_act(struct console *C, int licenses)
{
    const char *consent = session_str(C, "consent_token");
    const char *aud = licenses ? C->license_aud : C->workflow_aud;
    const char *scope = licenses ? "license.read" : "workflow.apply";
    const char *base = licenses ? C->license_url : C->workflow_url;
    struct authd_token t = {0};
    struct authd_error err = {0};
    enum authd_status st;
    struct buf body;
    char url[1024];
    long status = 0;
    json_t *j = NULL;
    int rc = EX_FAIL;

    if (!consent) {
        fprintf(stderr, "act needs the caller's consent first (`consent`)\n");
        return EX_FAIL;
    }
    if (!base) {
        fprintf(stderr, "act: no %s given\n", licenses ? "--license-url" : "--workflow-url");
        return EX_USAGE;
    }
    st = authd_client_exchange(C->ac, consent, strlen(consent), aud, scope, &t, &err);
    if (st != AUTHD_OK) {
        show_lib_error("token exchange", st, &err);
        return EX_FAIL;
    }
    printf("acting for the caller at %s (scope %s)\n", aud, t.scope ? t.scope : scope);
    snprintf(url, sizeof(url), "%s%s", base, licenses ? "/v1/licenses" : "/v1/applications");
    buf_init(&body, ANSWER_MAX);
    if (bearer_request(C, url, t.access_token, NULL, &status, &body) != 0)
        goto out;
    if (status != 200) {
        show_error(licenses ? "license service" : "workflow service", status, buf_span(&body));
        goto out;
    }
    j = json_loadb((const char *)body.p, body.len, 0, NULL);
    show_list(licenses ? &LICENSES : &APPLICATIONS, j);
    rc = EX_OK;
out:
    json_decref(j);
    buf_clear(&body);
    authd_token_clear(&t);
    return rc;
}

static int
cmd_status(struct console *C)
{
    json_int_t until = json_integer_value(json_object_get(C->session, "staff_expires_at"));
    json_t *hints = json_object_get(C->session, "hints");

    if (!session_str(C, "staff_token"))
        printf("not logged in\n");
    else
        printf("logged in as an agent of %s (token %s)\n", C->issuer,
               until > time(NULL) ? "valid" : "expired: log in again");
    if (session_str(C, "purpose"))
        printf("last lookup: purpose %s, %zu candidate(s)\n", session_str(C, "purpose"),
               json_array_size(hints));
    if (session_str(C, "consent_token"))
        printf("the caller consented: scope %s\n", session_str(C, "consent_scope") ?: "?");
    return EX_OK;
}

static int
cmd_logout(struct console *C)
{
    json_object_clear(C->session);
    if (C->session_path)
        unlink(C->session_path);
    printf("logged out; the session is forgotten\n");
    return EX_OK;
}

/* ---- commands ---------------------------------------------------------------------------- */

static void
usage_commands(FILE *f)
{
    fputs("commands:\n"
          "  login\n"
          "  lookup --purpose P (--id-number N | --phone N)\n"
          "  consent [--binding-message M] [--scope S] [--candidate K] [--max-wait S]\n"
          "  act [--licenses]\n"
          "  status | logout | help | quit\n",
          f);
}

/* Runs one command (argv[0] is its name). */
static int
run_command(struct console *C, int argc, char **argv)
{
    static const struct option lo[] = {
        {"purpose", 1, 0, 'p'},         {"id-number", 1, 0, 'i'}, {"phone", 1, 0, 'P'},
        {"binding-message", 1, 0, 'b'}, {"scope", 1, 0, 's'},     {"candidate", 1, 0, 'k'},
        {"max-wait", 1, 0, 'w'},        {"licenses", 0, 0, 'L'},  {0, 0, 0, 0}};
    const char *purpose = NULL, *id_number = NULL, *phone = NULL, *binding = NULL, *scope = NULL;
    long candidate = 1, max_wait = 0;
    int licenses = 0, o;
    const char *cmd = argv[0];

    optind = 0; /* glibc: a full re-initialisation for each command of the prompt */
    opterr = 1;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 'p':
            purpose = optarg;
            break;
        case 'i':
            id_number = optarg;
            break;
        case 'P':
            phone = optarg;
            break;
        case 'b':
            binding = optarg;
            break;
        case 's':
            scope = optarg;
            break;
        case 'k':
            candidate = strtol(optarg, NULL, 10);
            break;
        case 'w':
            max_wait = strtol(optarg, NULL, 10);
            break;
        case 'L':
            licenses = 1;
            break;
        default:
            usage_commands(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument %s\n", cmd, argv[optind]);
        return EX_USAGE;
    }
    if (strcmp(cmd, "login") == 0)
        return cmd_login(C);
    if (strcmp(cmd, "lookup") == 0)
        return cmd_lookup(C, purpose, id_number, phone);
    if (strcmp(cmd, "consent") == 0)
        return cmd_consent(C, binding, scope, candidate, max_wait);
    if (strcmp(cmd, "act") == 0)
        return cmd_act(C, licenses);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(C);
    if (strcmp(cmd, "logout") == 0)
        return cmd_logout(C);
    if (strcmp(cmd, "help") == 0) {
        usage_commands(stdout);
        return EX_OK;
    }
    fprintf(stderr, "unknown command %s\n", cmd);
    usage_commands(stderr);
    return EX_USAGE;
}

/* Splits a line into words: blanks separate, double quotes group ("工单 4711"). */
static int
split_words(char *line, char **argv, int max)
{
    int n = 0;
    char *p = line, *w;

    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        if (n == max - 1)
            return -1;
        if (*p == '"') {
            w = ++p;
            while (*p && *p != '"')
                p++;
        } else {
            w = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                p++;
        }
        if (*p)
            *p++ = 0;
        argv[n++] = w;
    }
    argv[n] = NULL;
    return n;
}

static int
prompt_loop(struct console *C)
{
    char *line = NULL, *argv[32];
    size_t cap = 0;
    ssize_t len;
    int argc, tty = isatty(STDIN_FILENO);

    printf("12345 hotline console at %s. Type `help` for the commands.\n", C->issuer);
    for (;;) {
        if (tty)
            fputs("hotline> ", stdout);
        fflush(stdout);
        if ((len = getline(&line, &cap, stdin)) < 0)
            break;
        if ((argc = split_words(line, argv, 32)) < 0) {
            fprintf(stderr, "too many words\n");
            continue;
        }
        if (argc == 0)
            continue;
        if (strcmp(argv[0], "quit") == 0 || strcmp(argv[0], "exit") == 0)
            break;
        run_command(C, argc, argv);
        OPENSSL_cleanse(line, (size_t)len); /* an ID number typed on it */
        fflush(stdout);
        fflush(stderr);
    }
    if (line)
        OPENSSL_cleanse(line, cap);
    free(line);
    return EX_OK;
}

/* ---- start ------------------------------------------------------------------------------- */

static void
usage(FILE *f)
{
    fputs("usage: authd-hotline --issuer URL --secret-file FILE [--client-id demo-console]\n"
          "         [--session FILE] [--browser PROGRAM] [--acr ACR] [--login-timeout S]\n"
          "         [--workflow-url URL] [--license-url URL] [--workflow-audience AUD]\n"
          "         [--license-audience AUD] [--redirect-uri http://127.0.0.1:PORT/PATH]\n"
          "         [--allow-http] [COMMAND [OPTIONS]]\n"
          "without COMMAND: a prompt (one command a line)\n",
          f);
    usage_commands(f);
}

/* --redirect-uri http://127.0.0.1:PORT/PATH: a loopback redirect registered with a fixed port
 * (a confidential client's policy matches it exactly; a public client's any port). */
static int
parse_redirect(struct console *C, const char *uri)
{
    static const char prefix[] = "http://127.0.0.1:";
    char *end;
    long port;

    if (strncmp(uri, prefix, sizeof(prefix) - 1) != 0)
        goto bad;
    port = strtol(uri + sizeof(prefix) - 1, &end, 10);
    if (end == uri + sizeof(prefix) - 1 || port < 1 || port > 65535 || *end != '/'
        || strpbrk(end, "?#"))
        goto bad;
    C->redirect_port = (unsigned)port;
    C->redirect_path = end;
    return 0;
bad:
    fprintf(stderr, "--redirect-uri must be http://127.0.0.1:PORT/PATH\n");
    return -1;
}

static int
read_secret(const char *path, char **out)
{
    char buf[512];
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f) {
        fprintf(stderr, "cannot read the client secret file %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = 0;
    *out = n ? strdup(buf) : NULL;
    OPENSSL_cleanse(buf, sizeof(buf));
    if (!*out)
        fprintf(stderr, "the client secret file %s is empty\n", path);
    return *out ? 0 : -1;
}

int
main(int argc, char **argv)
{
    static const struct option lo[] = {{"issuer", 1, 0, 'i'},
                                       {"client-id", 1, 0, 'c'},
                                       {"secret-file", 1, 0, 'f'},
                                       {"session", 1, 0, 's'},
                                       {"token-file", 1, 0, 's'},
                                       {"browser", 1, 0, 'b'},
                                       {"acr", 1, 0, 'a'},
                                       {"login-timeout", 1, 0, 't'},
                                       {"workflow-url", 1, 0, 'W'},
                                       {"license-url", 1, 0, 'L'},
                                       {"workflow-audience", 1, 0, 'w'},
                                       {"license-audience", 1, 0, 'l'},
                                       {"allow-http", 0, 0, 'h'},
                                       {"redirect-uri", 1, 0, 'r'},
                                       {"help", 0, 0, 'H'},
                                       {0, 0, 0, 0}};
    struct console C = {.client_id = "demo-console",
                        .acr = DEFAULT_ACR,
                        .workflow_aud = "workflow-service",
                        .license_aud = "license-service",
                        .redirect_path = "/callback",
                        .login_timeout_s = 300};
    const char *secret_file = NULL, *auds[2];
    struct authd_client_config cfg = {0};
    int o, rc;

    /* the subcommand's own options follow its name: stop at the first non-option */
    while ((o = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
        switch (o) {
        case 'i':
            C.issuer = optarg;
            break;
        case 'c':
            C.client_id = optarg;
            break;
        case 'f':
            secret_file = optarg;
            break;
        case 's':
            C.session_path = optarg;
            break;
        case 'b':
            C.browser = optarg;
            break;
        case 'a':
            C.acr = optarg;
            break;
        case 't':
            C.login_timeout_s = strtol(optarg, NULL, 10);
            break;
        case 'W':
            C.workflow_url = optarg;
            break;
        case 'L':
            C.license_url = optarg;
            break;
        case 'w':
            C.workflow_aud = optarg;
            break;
        case 'l':
            C.license_aud = optarg;
            break;
        case 'h':
            C.allow_http = 1;
            break;
        case 'r':
            if (parse_redirect(&C, optarg) != 0)
                return EX_USAGE;
            break;
        case 'H':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (!C.issuer || !secret_file || C.login_timeout_s <= 0) {
        usage(stderr);
        return EX_USAGE;
    }
    if (read_secret(secret_file, &C.secret) != 0)
        return EX_FAIL;
    auds[0] = C.client_id;
    auds[1] = NULL;
    cfg.issuer = C.issuer;
    cfg.audiences = auds;
    cfg.allow_http = C.allow_http;
    cfg.client_id = C.client_id;
    cfg.client_secret = C.secret;
    cfg.init_curl_global = 1;
    cfg.http_timeout_ms = 15000;
    if (authd_client_new(&cfg, &C.ac) != AUTHD_OK) {
        fprintf(stderr, "bad configuration (an https issuer, or --allow-http for loopback)\n");
        OPENSSL_cleanse(C.secret, strlen(C.secret));
        free(C.secret);
        return EX_USAGE;
    }
    OPENSSL_cleanse(C.secret, strlen(C.secret)); /* the client holds its own copy */
    free(C.secret);
    C.secret = NULL;
    session_load(&C);
    if (discover(&C) != 0)
        rc = EX_FAIL;
    else if (optind < argc)
        rc = run_command(&C, argc - optind, argv + optind);
    else
        rc = prompt_loop(&C);
    json_decref(C.session); /* jansson frees without wiping; the file keeps them anyway */
    authd_client_free(C.ac);
    free(C.authorize_ep), free(C.token_ep), free(C.bc_ep), free(C.lookup_ep);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    return rc;
}
