/* The SSO hop under load (issue 20): a citizen already logged in opens one more service.
 * One hop = GET AUTHORIZE with the browser's SSO cookie -> redirect with ?code= -> POST
 * TOKEN with that code (ID + access + refresh token expected). Server-agnostic: authd,
 * Glewlwyd and oidc-provider differ only in the URLs, the cookie and the token form.
 *   hop_driver --authorize URL --cookie COOKIE --token URL --auth 'Basic ...'
 *              --body 'grant_type=authorization_code&...&code=%s' [--expect a,b,c]
 *              [--conc N] [--seconds S] [--rate R] [--label L]
 * N threads (each one browser tab with a kept-alive connection: libcurl easy handle).
 * Closed loop by default: each thread starts its next hop when the last one ended.
 * --rate R: open loop. Thread k sends hop i at its intended time start + (i + k / N) * N / R,
 * whatever happened before; a hop's latency counts from that intended time, not from the
 * actual send, so when the server falls behind the wait is counted (the coordinated-omission
 * correction wrk2 makes). The service time (from the actual send) is reported beside it.
 * Prints one line "BENCHJSON {...}" with the keys of the wrk scripts and driver.py (rps =
 * completed hops per second), plus, paced: target_rps, sent_late (hops sent more than 1 ms
 * after their intended time) and svc_p50_ms/svc_p99_ms. Exit 0 when the run happened. */
#define _DEFAULT_SOURCE
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX (1u << 16)

struct conf {
    const char *authorize, *cookie, *token, *auth, *body, *label, *expect;
    int conc;
    double seconds, rate;
};

struct worker {
    const struct conf *cf;
    int k;
    double start, end;
    CURL *h;
    struct curl_slist *tok_hdrs, *auth_hdrs;
    char body[BODY_MAX];
    size_t blen;
    double *lat, *svc;
    size_t n, cap;
    long errors, late;
    char why[160];
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_until(double t)
{
    double d = t - now_s();
    if (d <= 0)
        return;
    struct timespec ts = {(time_t)d, (long)((d - floor(d)) * 1e9)};
    nanosleep(&ts, NULL);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
    struct worker *w = arg;
    size_t len = size * n;
    if (w->blen + len >= sizeof(w->body))
        return 0;
    memcpy(w->body + w->blen, p, len);
    w->blen += len;
    w->body[w->blen] = '\0';
    return len;
}

static int
fail(struct worker *w, const char *what, const char *detail)
{
    if (!w->why[0])
        snprintf(w->why, sizeof(w->why), "%s: %.100s", what, detail ? detail : "");
    w->errors++;
    return -1;
}

static void
put(struct worker *w, double lat, double svc)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 4096;
        double *a = realloc(w->lat, cap * sizeof(double)), *b;
        if (!a)
            return;
        w->lat = a;
        b = realloc(w->svc, cap * sizeof(double));
        if (!b)
            return;
        w->svc = b;
        w->cap = cap;
    }
    w->lat[w->n] = lat;
    w->svc[w->n++] = svc;
}

/* form-urlencode src into dst (the code is base64url or hex in practice) */
static void
enc(char *dst, size_t cap, const char *src, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~') {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '%';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    dst[o] = '\0';
}

static int
hop(struct worker *w)
{
    const struct conf *cf = w->cf;
    long status = 0;
    char *loc = NULL, code[1024], form[4096];
    const char *p, *q;
    CURLcode rc;

    w->blen = 0;
    w->body[0] = '\0';
    curl_easy_setopt(w->h, CURLOPT_URL, cf->authorize);
    curl_easy_setopt(w->h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->auth_hdrs);
    rc = curl_easy_perform(w->h);
    if (rc != CURLE_OK)
        return fail(w, "authorize", curl_easy_strerror(rc));
    curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(w->h, CURLINFO_REDIRECT_URL, &loc);
    if (status < 300 || status > 303 || !loc) {
        char d[64];
        snprintf(d, sizeof(d), "HTTP %ld, no redirect", status);
        return fail(w, "authorize", d);
    }
    p = strstr(loc, "?code=");
    if (!p)
        p = strstr(loc, "&code=");
    if (!p)
        return fail(w, "authorize: redirect without code", loc);
    p += 6;
    q = p + strcspn(p, "&#");
    enc(code, sizeof(code), p, (size_t)(q - p));
    const char *s = strstr(cf->body, "%s");
    snprintf(form, sizeof(form), "%.*s%s%s", (int)(s - cf->body), cf->body, code, s + 2);

    w->blen = 0;
    w->body[0] = '\0';
    curl_easy_setopt(w->h, CURLOPT_URL, cf->token);
    curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->tok_hdrs);
    rc = curl_easy_perform(w->h);
    if (rc != CURLE_OK)
        return fail(w, "token", curl_easy_strerror(rc));
    curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        char d[200];
        snprintf(d, sizeof(d), "HTTP %ld %.120s", status, w->body);
        return fail(w, "token", d);
    }
    /* every expected field, as a JSON key */
    char fld[64];
    for (const char *e = cf->expect; *e;) {
        size_t l = strcspn(e, ",");
        snprintf(fld, sizeof(fld), "\"%.*s\"", (int)l, e);
        if (!strstr(w->body, fld))
            return fail(w, "token: answer without", fld);
        e += l;
        if (*e == ',')
            e++;
    }
    return 0;
}

static void *
run(void *arg)
{
    struct worker *w = arg;
    const struct conf *cf = w->cf;
    double interval = cf->rate > 0 ? cf->conc / cf->rate : 0;
    double next = w->start + (cf->rate > 0 ? interval * w->k / cf->conc : 0);

    for (;;) {
        double t0, t1;
        if (cf->rate > 0) {
            if (next >= w->end)
                break;
            sleep_until(next);
        }
        t0 = now_s();
        if (t0 >= w->end)
            break;
        if (hop(w) == 0) {
            t1 = now_s();
            /* open loop: from the intended time (coordinated-omission corrected) */
            put(w, ((cf->rate > 0 ? t1 - next : t1 - t0)) * 1000, (t1 - t0) * 1000);
        }
        if (cf->rate > 0) {
            if (t0 - next > 0.001)
                w->late++;
            next += interval;
        }
    }
    return NULL;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)llround(p / 100.0 * (double)(n - 1));
    return v[i < n ? i : n - 1];
}

static void
usage(void)
{
    fputs("usage: hop_driver --authorize URL --cookie C --token URL --auth HDR --body FORM(%s)"
          " [--expect a,b] [--conc N] [--seconds S] [--rate R] [--label L]\n",
          stderr);
    exit(2);
}

int
main(int argc, char **argv)
{
    struct conf cf = {.conc = 8, .seconds = 5, .label = "", .expect = "access_token",
                      .auth = ""};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        if (!strcmp(a, "--authorize"))
            cf.authorize = v;
        else if (!strcmp(a, "--cookie"))
            cf.cookie = v;
        else if (!strcmp(a, "--token"))
            cf.token = v;
        else if (!strcmp(a, "--auth"))
            cf.auth = v;
        else if (!strcmp(a, "--body"))
            cf.body = v;
        else if (!strcmp(a, "--expect"))
            cf.expect = v;
        else if (!strcmp(a, "--conc"))
            cf.conc = atoi(v);
        else if (!strcmp(a, "--seconds"))
            cf.seconds = atof(v);
        else if (!strcmp(a, "--rate"))
            cf.rate = atof(v);
        else if (!strcmp(a, "--label"))
            cf.label = v;
        else
            usage();
        i++;
    }
    if (!cf.authorize || !cf.cookie || !cf.token || !cf.body || !strstr(cf.body, "%s")
        || cf.conc < 1 || cf.conc > 1024 || cf.seconds <= 0)
        usage();
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct worker *ws = calloc((size_t)cf.conc, sizeof(*ws));
    pthread_t *th = calloc((size_t)cf.conc, sizeof(*th));
    char hdr[4096];
    if (!ws || !th)
        return 1;
    double start = now_s() + 0.05;
    for (int k = 0; k < cf.conc; k++) {
        struct worker *w = &ws[k];
        w->cf = &cf;
        w->k = k;
        w->start = start;
        w->end = start + cf.seconds;
        w->h = curl_easy_init();
        if (!w->h)
            return 1;
        snprintf(hdr, sizeof(hdr), "Cookie: %s", cf.cookie);
        w->auth_hdrs = curl_slist_append(NULL, hdr);
        w->tok_hdrs = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
        if (cf.auth[0]) {
            snprintf(hdr, sizeof(hdr), "Authorization: %s", cf.auth);
            w->tok_hdrs = curl_slist_append(w->tok_hdrs, hdr);
        }
        curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
        curl_easy_setopt(w->h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(w->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(w->h, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(w->h, CURLOPT_TCP_NODELAY, 1L);
    }
    for (int k = 0; k < cf.conc; k++)
        pthread_create(&th[k], NULL, run, &ws[k]);
    for (int k = 0; k < cf.conc; k++)
        pthread_join(th[k], NULL);
    double el = now_s() - start;
    if (el > cf.seconds + 0.5 || cf.rate > 0)
        el = el > cf.seconds ? el : cf.seconds;

    size_t n = 0;
    long errors = 0, late = 0;
    const char *why = NULL;
    for (int k = 0; k < cf.conc; k++)
        n += ws[k].n, errors += ws[k].errors, late += ws[k].late;
    double *lat = malloc((n + 1) * sizeof(double)), *svc = malloc((n + 1) * sizeof(double));
    size_t o = 0;
    for (int k = 0; k < cf.conc; k++) {
        if (ws[k].n) {
            memcpy(lat + o, ws[k].lat, ws[k].n * sizeof(double));
            memcpy(svc + o, ws[k].svc, ws[k].n * sizeof(double));
        }
        o += ws[k].n;
        if (!why && ws[k].why[0])
            why = ws[k].why;
    }
    qsort(lat, n, sizeof(double), cmp);
    qsort(svc, n, sizeof(double), cmp);
    printf("BENCHJSON {\"label\":\"%s\",\"requests\":%zu,\"ok\":%zu,\"seconds\":%.3f,"
           "\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"errors\":%ld,\"err_status\":%ld,\"conc\":%d",
           cf.label, n + (size_t)errors, n, el, (double)n / el, pct(lat, n, 50),
           pct(lat, n, 90), pct(lat, n, 99), n ? lat[n - 1] : 0.0, errors, errors, cf.conc);
    if (cf.rate > 0)
        printf(",\"target_rps\":%.1f,\"sent_late\":%ld,\"svc_p50_ms\":%.3f,\"svc_p99_ms\":%.3f,"
               "\"latency_from\":\"intended send time\"",
               cf.rate, late, pct(svc, n, 50), pct(svc, n, 99));
    if (why) {
        printf(",\"first_error\":\"");
        for (const char *c = why; *c; c++)
            if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
                putchar(*c);
        printf("\"");
    }
    printf("}\n");
    for (int k = 0; k < cf.conc; k++) {
        curl_slist_free_all(ws[k].auth_hdrs);
        curl_slist_free_all(ws[k].tok_hdrs);
        curl_easy_cleanup(ws[k].h);
        free(ws[k].lat);
        free(ws[k].svc);
    }
    free(lat);
    free(svc);
    free(ws);
    free(th);
    curl_global_cleanup();
    return 0;
}
