/* Full browser-style authd logins under load, in C so that the load generator's own CPU
 * does not eat into the two cores whose argon2id rate the logins are compared with (the
 * Python driver's share of them held logins to 0.63-0.76 of that rate). Used by
 * scripts/bench/run:
 *   login_driver --base URL --demo STATE/demo.json --conc N --seconds S [--no-token]
 *                [--count N] [--label L]
 * Does what `driver.py authd-login` does, step for step: GET /authorize (code, PKCE S256)
 * -> GET /login -> POST /login (authz, csrf, id_number, password) -> consent when asked ->
 * redirect with the code -> POST /token as demo-portal (client_secret_basic). N threads =
 * N browsers; each login starts with an empty cookie jar (a fresh browser) but keeps the
 * thread's connection alive, as a real load test does (driver.py opens new connections).
 * Prints one line "BENCHJSON {...}" with driver.py's keys, which report.py reads. Exit 0
 * when the run happened, 2 on bad arguments, 1 on an unusable demo file or setup failure;
 * a failed login is counted with its reason, never fatal. */
#define _DEFAULT_SOURCE /* getrandom, clock_gettime under -std=c11 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* driver.py's VERIFIER ("bench-" and 60 "v"), and its CHALLENGE =
 * BASE64URL(SHA256(VERIFIER)) without padding (RFC 7636 §4.2), precomputed so the driver
 * needs no crypto library; a wrong value would fail every /token with invalid_grant. */
#define VERIFIER      "bench-vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
#define CHALLENGE     "rnAm029VGi6sDxVji8KtTOLipTtwmzWXRgkDERGNOu8"
#define BODY_MAX      (1u << 20) /* a login page is a few KiB; more means something is wrong */
#define MAX_HOPS      6          /* driver.py's bound before "too many redirects" */
#define REASON_MAX    120        /* driver.py keeps str(e)[:120] */
#define REQ_TIMEOUT_S 60L        /* a hung server fails the login instead of the run */
_Static_assert(sizeof(VERIFIER) == 6 + 60 + 1, "VERIFIER is driver.py's");

struct citizen {
    char *id_number, *password;
};

struct conf {
    const char *base, *demo, *label;
    int conc, token;
    double seconds;
    long count;
    char *client_id, *client_secret, *redirect;
    struct citizen *cit;
    size_t ncit;
};

/* Shared by the workers: the stop conditions, and the failures in time order. */
struct shared {
    const struct conf *cf;
    double end;
    atomic_long done;
    pthread_mutex_t lock;
    long errors;
    char first_error[REASON_MAX + 1];
};

/* A growable NUL-terminated byte string; an append that fails sets overflow, so a caller
 * builds a whole message and checks once. */
struct buf {
    char *p;
    size_t len, cap;
    int overflow;
};

struct worker {
    struct shared *sh;
    int k;
    CURL *h;
    struct curl_slist *hdrs;
    struct buf body, form, url, loc, tmp;
    char why[REASON_MAX + 1];
    double *lat; /* milliseconds of each successful login */
    size_t nlat, caplat;
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->overflow || n > BODY_MAX - b->len) {
        b->overflow = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->overflow = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void
buf_reset(struct buf *b)
{
    b->len = 0;
    b->overflow = 0;
    if (b->p)
        b->p[0] = '\0';
}

static void
buf_clear(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* The string so far: never NULL, also before the first append. */
static const char *
buf_s(const struct buf *b)
{
    return b->p ? b->p : "";
}

/* application/x-www-form-urlencoded exactly as Python's urlencode (quote_plus) writes it. */
static void
buf_enc(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || (c && strchr("-._~", c)))
            buf_add(b, s, 1);
        else if (c == ' ')
            buf_add(b, "+", 1);
        else
            buf_add(b, e, 3);
    }
}

/* Appends "name=value", preceded by "&" unless it is the first pair. */
static void
buf_pair(struct buf *b, const char *name, const char *value)
{
    if (b->len)
        buf_add(b, "&", 1);
    buf_str(b, name);
    buf_add(b, "=", 1);
    buf_enc(b, value);
}

static void
buf_utf8(struct buf *b, unsigned long cp)
{
    char u[4];

    if (cp < 0x80) {
        u[0] = (char)cp;
        buf_add(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 63));
        buf_add(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 63));
        u[2] = (char)(0x80 | (cp & 63));
        buf_add(b, u, 3);
    } else {
        u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 63));
        u[2] = (char)(0x80 | (cp >> 6 & 63)), u[3] = (char)(0x80 | (cp & 63));
        buf_add(b, u, 4);
    }
}

/* Appends s[0..n) with HTML character references decoded, as html.unescape does for what
 * core/html writes (&amp; &lt; &gt; &quot; &#39;) and any numeric reference; other
 * references are kept as they are. */
static void
buf_unescape(struct buf *b, const char *s, size_t n)
{
    static const struct {
        const char *ref, *ch;
    } named[] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};

    for (size_t i = 0; i < n;) {
        size_t k, semi = i;
        while (semi < n && semi - i < 12 && s[semi] != ';')
            semi++;
        if (s[i] != '&' || semi >= n || s[semi] != ';') {
            buf_add(b, s + i++, 1);
            continue;
        }
        for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
            if (strlen(named[k].ref) == semi + 1 - i && !memcmp(s + i, named[k].ref, semi + 1 - i))
                break;
        if (k < sizeof(named) / sizeof(named[0])) {
            buf_str(b, named[k].ch);
        } else if (s[i + 1] == '#' && semi > i + 2) {
            int x = s[i + 2] == 'x' || s[i + 2] == 'X';
            char *end;
            unsigned long cp = strtoul(s + i + 2 + x, &end, x ? 16 : 10);
            if (end != s + semi || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                buf_add(b, s + i++, 1);
                continue;
            }
            buf_utf8(b, cp);
        } else {
            buf_add(b, s + i++, 1);
            continue;
        }
        i = semi + 1;
    }
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;

    buf_add(b, p, size * n);           /* size is 1 by libcurl's contract */
    return b->overflow ? 0 : size * n; /* a short count makes curl fail the transfer */
}

/* Keeps why this login failed, in driver.py's words. Returns -1 for the caller to pass on. */
__attribute__((format(printf, 2, 3))) static int
fail(struct worker *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(w->why, sizeof(w->why), fmt, ap) < 0)
        strcpy(w->why, "failure reason unprintable");
    va_end(ap);
    return -1;
}

/* secrets.token_urlsafe(8): 8 random bytes, base64url without padding (11 characters). */
static int
token_urlsafe8(char out[12])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[9] = {0};

    if (getrandom(r, 8, 0) != 8)
        return -1;
    for (int i = 0; i < 3; i++) {
        uint32_t v = (uint32_t)r[3 * i] << 16 | (uint32_t)r[3 * i + 1] << 8 | r[3 * i + 2];
        for (int j = 0; j < 4 && 4 * i + j < 11; j++)
            out[4 * i + j] = b64[(v >> (18 - 6 * j)) & 63];
    }
    out[11] = '\0';
    return 0;
}

/* One request on the worker's handle (its cookies and its kept-alive connection). form
 * NULL: GET, else POST of that urlencoded form; auth: as the portal, client_secret_basic.
 * Returns the HTTP status with the answer in w->body, or -1 with the reason kept. */
static long
http(struct worker *w, const char *url, const char *form, int auth, const char *path)
{
    const struct conf *cf = w->sh->cf;
    long status = 0;
    CURLcode rc;

    buf_reset(&w->body);
    rc = curl_easy_setopt(w->h, CURLOPT_URL, url);
    if (rc == CURLE_OK && form)
        rc = curl_easy_setopt(w->h, CURLOPT_POSTFIELDS, form);
    else if (rc == CURLE_OK)
        rc = curl_easy_setopt(w->h, CURLOPT_HTTPGET, 1L);
    if (rc == CURLE_OK && form)
        rc = curl_easy_setopt(w->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(w->h, CURLOPT_USERNAME, auth ? cf->client_id : NULL);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(w->h, CURLOPT_PASSWORD, auth ? cf->client_secret : NULL);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(w->h);
    if (rc == CURLE_OK)
        rc = curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_WRITE_ERROR && w->body.overflow)
        return fail(w, "%s: answer over %u bytes", path, BODY_MAX);
    if (rc != CURLE_OK)
        return fail(w, "%s: %s", path, curl_easy_strerror(rc));
    return status;
}

/* The value of the hidden field `name` in the page in w->body, HTML-unescaped into w->tmp
 * (driver.py's regex name="NAME" value="([^"]*)"). */
static int
field(struct worker *w, const char *name)
{
    char pat[64];
    const char *p = buf_s(&w->body), *q;

    if (snprintf(pat, sizeof(pat), "name=\"%s\" value=\"", name) >= (int)sizeof(pat))
        return fail(w, "field name %s too long", name);
    buf_reset(&w->tmp);
    for (; (p = strstr(p, pat)); p++) {
        p += strlen(pat);
        if ((q = strchr(p, '"'))) {
            buf_unescape(&w->tmp, p, (size_t)(q - p));
            return w->tmp.overflow ? fail(w, "out of memory") : 0;
        }
    }
    return fail(w, "page has no %s field", name);
}

/* Copies the path of URL u into w->tmp (urlparse(u).path). */
static int
url_path(struct worker *w, const char *u)
{
    CURLU *cu = curl_url();
    char *path = NULL;
    int ok = cu && curl_url_set(cu, CURLUPART_URL, u, 0) == CURLUE_OK
             && curl_url_get(cu, CURLUPART_PATH, &path, 0) == CURLUE_OK;

    buf_reset(&w->tmp);
    if (ok)
        buf_str(&w->tmp, path);
    curl_free(path);
    curl_url_cleanup(cu);
    if (!ok)
        return fail(w, "unparsable redirect %.60s", u);
    return w->tmp.overflow ? fail(w, "out of memory") : 0;
}

/* Appends to `out` the comma-joined, decoded, non-empty values of query parameter `name`
 * of the URL in w->loc, at most max of them, as ",".join(parse_qs(query)[name][:max])
 * would. Returns how many. */
static int
query_values(struct worker *w, const char *name, int max, struct buf *out)
{
    const char *q = strchr(buf_s(&w->loc), '?'), *end;
    size_t nl = strlen(name);
    int n = 0;

    for (q = q ? q + 1 : ""; *q && *q != '#' && n < max; q = *end == '&' ? end + 1 : end) {
        end = q + strcspn(q, "&#");
        if ((size_t)(end - q) <= nl + 1 || strncmp(q, name, nl) || q[nl] != '=')
            continue;
        char *raw = strndup(q + nl + 1, (size_t)(end - q) - nl - 1), *v = NULL;
        for (char *c = raw; c && *c; c++)
            if (*c == '+') /* parse_qs: '+' is a space, but "%2B" a plus */
                *c = ' ';
        if (!raw || !(v = curl_easy_unescape(w->h, raw, 0, NULL)))
            out->overflow = 1;
        free(raw);
        if (n++)
            buf_add(out, ",", 1);
        buf_str(out, v ? v : "");
        curl_free(v);
    }
    return n;
}

/* The redirect back to the portal: its code into w->tmp, or the OAuth error as reason. */
static int
take_code(struct worker *w)
{
    buf_reset(&w->tmp);
    if (query_values(w, "code", 1, &w->tmp) > 0) /* parse_qs(q)["code"][0] */
        return w->tmp.overflow ? fail(w, "out of memory") : 0;
    buf_reset(&w->tmp);
    if (query_values(w, "error", 16, &w->tmp) == 0)
        buf_str(&w->tmp, "?");
    return fail(w, "redirect without code: %s", w->tmp.overflow ? "?" : buf_s(&w->tmp));
}

/* The form driver.py posts on the page at `path` (in w->tmp), built in w->form. */
static int
page_form(struct worker *w, const char *path, const struct citizen *c)
{
    buf_reset(&w->form);
    if (field(w, "authz"))
        return -1;
    buf_pair(&w->form, "authz", buf_s(&w->tmp));
    if (field(w, "csrf"))
        return -1;
    buf_pair(&w->form, "csrf", buf_s(&w->tmp));
    if (!strcmp(path, "/login")) {
        buf_pair(&w->form, "id_number", c->id_number);
        buf_pair(&w->form, "password", c->password);
    } else if (!strcmp(path, "/consent")) {
        buf_pair(&w->form, "action", "approve");
    } else {
        return fail(w, "unexpected page %s", path);
    }
    return w->form.overflow ? fail(w, "out of memory") : 0;
}

/* The /authorize URL of driver.py (code, PKCE S256, fresh state and nonce) in w->url. */
static int
authorize_url(struct worker *w)
{
    const struct conf *cf = w->sh->cf;
    char state[12] = "", nonce[12] = "";
    int rnd = token_urlsafe8(state) | token_urlsafe8(nonce);

    buf_reset(&w->url);
    buf_str(&w->url, cf->base);
    buf_str(&w->url, "/authorize?");
    buf_reset(&w->form);
    buf_pair(&w->form, "response_type", "code");
    buf_pair(&w->form, "client_id", cf->client_id);
    buf_pair(&w->form, "redirect_uri", cf->redirect);
    buf_pair(&w->form, "scope", "openid");
    buf_pair(&w->form, "state", state);
    buf_pair(&w->form, "nonce", nonce);
    buf_pair(&w->form, "code_challenge", CHALLENGE);
    buf_pair(&w->form, "code_challenge_method", "S256");
    buf_str(&w->url, buf_s(&w->form));
    if (rnd || w->form.overflow || w->url.overflow)
        return fail(w, "/authorize: cannot build the URL");
    return 0;
}

/* One browser login up to the code, as driver.py's authd_to_code: follow each redirect;
 * a page (login, consent) is fetched and its form posted. The code ends in w->tmp. */
static int
to_code(struct worker *w, const struct citizen *c)
{
    const struct conf *cf = w->sh->cf;
    char path[256];
    char *loc = NULL;
    long st;

    if (authorize_url(w) || url_path(w, buf_s(&w->url)))
        return -1;
    if (w->tmp.len >= sizeof(path))
        return fail(w, "--base path too long");
    memcpy(path, buf_s(&w->tmp), w->tmp.len + 1); /* "/authorize" under --base's path */
    st = http(w, buf_s(&w->url), NULL, 0, path);
    for (int hop = 0; hop < MAX_HOPS && st >= 0; hop++) {
        if (st != 302 && st != 303)
            return fail(w, "%s: HTTP %ld", path, st);
        if (curl_easy_getinfo(w->h, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
            return fail(w, "%s: HTTP %ld without Location", path, st);
        buf_reset(&w->loc);
        buf_str(&w->loc, loc); /* loc lives only until the next request */
        if (w->loc.overflow)
            return fail(w, "out of memory");
        if (!strncmp(buf_s(&w->loc), cf->redirect, strlen(cf->redirect)))
            return take_code(w);
        if (url_path(w, buf_s(&w->loc)))
            return -1;
        if (w->tmp.len >= sizeof(path))
            return fail(w, "redirect path too long");
        memcpy(path, buf_s(&w->tmp), w->tmp.len + 1);
        if ((st = http(w, buf_s(&w->loc), NULL, 0, path)) < 0)
            return -1;
        if (st != 200)
            return fail(w, "%s: HTTP %ld", path, st);
        if (page_form(w, path, c))
            return -1;
        buf_reset(&w->url);
        buf_str(&w->url, cf->base);
        buf_str(&w->url, path);
        if (w->url.overflow)
            return fail(w, "out of memory");
        st = http(w, buf_s(&w->url), buf_s(&w->form), 0, path);
    }
    return st < 0 ? -1 : fail(w, "too many redirects");
}

/* The code (in w->tmp) for tokens as demo-portal, with the PKCE verifier (RFC 7636 §4.5). */
static int
token(struct worker *w)
{
    const struct conf *cf = w->sh->cf;
    json_t *js;
    long st;
    int ok;

    buf_reset(&w->form);
    buf_pair(&w->form, "grant_type", "authorization_code");
    buf_pair(&w->form, "code", buf_s(&w->tmp));
    buf_pair(&w->form, "redirect_uri", cf->redirect);
    buf_pair(&w->form, "code_verifier", VERIFIER);
    buf_reset(&w->url);
    buf_str(&w->url, cf->base);
    buf_str(&w->url, "/token");
    if (w->form.overflow || w->url.overflow)
        return fail(w, "out of memory");
    if ((st = http(w, buf_s(&w->url), buf_s(&w->form), 1, "/token")) < 0)
        return -1;
    if (st != 200)
        return fail(w, "/token: HTTP %ld", st);
    js = json_loadb(buf_s(&w->body), w->body.len, 0, NULL);
    ok = json_is_object(js) && json_object_get(js, "id_token");
    json_decref(js);
    return ok ? 0 : fail(w, "/token: HTTP 200 %s", js ? "without id_token" : "not JSON");
}

/* One login as a fresh browser: an empty cookie jar, the kept-alive connection. */
static int
login(struct worker *w, const struct citizen *c)
{
    if (curl_easy_setopt(w->h, CURLOPT_COOKIELIST, "ALL") != CURLE_OK)
        return fail(w, "cannot empty the cookie jar");
    if (to_code(w, c))
        return -1;
    return w->sh->cf->token ? token(w) : 0;
}

static int
lat_push(struct worker *w, double ms)
{
    if (w->nlat == w->caplat) {
        size_t cap = w->caplat ? 2 * w->caplat : 1024;
        double *p = realloc(w->lat, cap * sizeof(*p));
        if (!p)
            return -1;
        w->lat = p;
        w->caplat = cap;
    }
    w->lat[w->nlat++] = ms;
    return 0;
}

/* Keeps the first failure's reason; non-ASCII bytes become '?' so a truncated UTF-8
 * sequence cannot make the JSON string invalid. */
static void
count_error(struct worker *w)
{
    struct shared *sh = w->sh;

    for (char *c = w->why; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    pthread_mutex_lock(&sh->lock);
    if (sh->errors++ == 0)
        memcpy(sh->first_error, w->why, sizeof(sh->first_error));
    pthread_mutex_unlock(&sh->lock);
}

/* Browser k logs in citizens k, k + conc, k + 2 conc, ... (driver.py's worker) until the
 * time is up or --count logins are done. */
static void *
run_worker(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    const struct conf *cf = sh->cf;

    for (size_t i = (size_t)w->k; now_s() < sh->end; i += (size_t)cf->conc) {
        if (cf->count && atomic_load(&sh->done) >= cf->count)
            break;
        double t0 = now_s();
        int rc = login(w, &cf->cit[i % cf->ncit]);
        double ms = (now_s() - t0) * 1000;
        if (rc == 0 && lat_push(w, ms))
            rc = fail(w, "out of memory");
        if (rc)
            count_error(w);
        atomic_fetch_add(&sh->done, 1);
    }
    return NULL;
}

/* The worker's easy handle: body into w->body, cookie engine on with an empty jar,
 * no "Expect: 100-continue" (requests sends none), Basic when credentials are set. */
static int
worker_init(struct worker *w, struct shared *sh, int k)
{
    int bad = 0;

    w->sh = sh;
    w->k = k;
    if (!(w->h = curl_easy_init()) || !(w->hdrs = curl_slist_append(NULL, "Expect:")))
        return -1;
    bad |= CURLE_OK != curl_easy_setopt(w->h, CURLOPT_NOSIGNAL, 1L);
    bad |= CURLE_OK != curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_body);
    bad |= CURLE_OK != curl_easy_setopt(w->h, CURLOPT_WRITEDATA, &w->body);
    bad |= CURLE_OK != curl_easy_setopt(w->h, CURLOPT_COOKIEFILE, "");
    bad |= CURLE_OK != curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->hdrs);
    bad |= CURLE_OK != curl_easy_setopt(w->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    bad |= CURLE_OK != curl_easy_setopt(w->h, CURLOPT_TIMEOUT, REQ_TIMEOUT_S);
    return bad ? -1 : 0;
}

static void
worker_clear(struct worker *w)
{
    curl_easy_cleanup(w->h);
    curl_slist_free_all(w->hdrs);
    buf_clear(&w->body);
    buf_clear(&w->form);
    buf_clear(&w->url);
    buf_clear(&w->loc);
    buf_clear(&w->tmp);
    free(w->lat);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* driver.py's pct: xs[min(n - 1, int(round(p / 100 * (n - 1))))] on sorted xs, with
 * Python's round (half to even), without libm. */
static double
pct(const double *xs, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    double x = p / 100.0 * (double)(n - 1);
    size_t i = (size_t)x;
    double frac = x - (double)i;
    if (frac > 0.5 || (frac == 0.5 && (i & 1)))
        i++;
    return xs[i < n - 1 ? i : n - 1];
}

/* round(x, digits) for x >= 0, without libm. */
static double
round_to(double x, double scale)
{
    return (double)(long long)(x * scale + 0.5) / scale;
}

/* Prints the BENCHJSON line: driver.py's keys, in its order. Returns 0, or -1 when out of
 * memory or the label is not UTF-8. */
static int
report(const struct conf *cf, struct shared *sh, struct worker *ws, double el)
{
    size_t n = 0, k = 0;
    double *lat;
    json_t *o;
    char *s;

    for (int i = 0; i < cf->conc; i++)
        n += ws[i].nlat;
    if (!(lat = malloc((n ? n : 1) * sizeof(*lat))))
        return -1;
    for (int i = 0; i < cf->conc; i++)
        for (size_t j = 0; j < ws[i].nlat; j++)
            lat[k++] = ws[i].lat[j];
    qsort(lat, n, sizeof(*lat), cmp_double);
    o = json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:o, s:I, s:I, s:i}", "label",
                  cf->label, "requests", (json_int_t)n + sh->errors, "ok", (json_int_t)n, "seconds",
                  round_to(el, 1e3), "rps", round_to((double)n / el, 1e2), "p50_ms",
                  round_to(pct(lat, n, 50), 1e2), "p90_ms", round_to(pct(lat, n, 90), 1e2),
                  "p99_ms", round_to(pct(lat, n, 99), 1e2), "max_ms",
                  n ? json_real(round_to(lat[n - 1], 1e2)) : json_integer(0), "errors",
                  (json_int_t)sh->errors, "err_status", (json_int_t)sh->errors, "conc", cf->conc);
    free(lat);
    if (o && sh->errors && json_object_set_new(o, "first_error", json_string(sh->first_error)))
        json_decref(o), o = NULL;
    s = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(o);
    if (!s)
        return -1;
    printf("BENCHJSON %s\n", s);
    fflush(stdout);
    free(s);
    return 0;
}

/* A string member of object o, copied; NULL when absent or not a string (or no memory). */
static char *
str_dup(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? strdup(s) : NULL;
}

/* demo-portal's client_id, client_secret and first redirect URI (driver.py's portal()). */
static int
load_portal(struct conf *cf, json_t *d)
{
    json_t *cl = NULL, *v;
    size_t i;

    json_array_foreach(json_object_get(d, "clients"), i, v)
    {
        const char *id = json_string_value(json_object_get(v, "client_id"));
        if (id && !strcmp(id, "demo-portal")) {
            cl = v;
            break;
        }
    }
    if (!cl)
        return -1;
    cf->client_id = str_dup(cl, "client_id");
    cf->client_secret = str_dup(cl, "client_secret");
    v = json_array_get(json_object_get(cl, "redirect_uris"), 0);
    cf->redirect = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    return cf->client_id && cf->client_secret && cf->redirect && *cf->redirect ? 0 : -1;
}

/* Every citizen's id_number and password, in the file's order (driver.py's cits). */
static int
load_citizens(struct conf *cf, json_t *d)
{
    json_t *cits = json_object_get(d, "citizens"), *v;
    size_t i;

    if (!json_array_size(cits) || !(cf->cit = calloc(json_array_size(cits), sizeof(*cf->cit))))
        return -1;
    json_array_foreach(cits, i, v)
    {
        cf->ncit = i + 1; /* counts the entry even if incomplete, so it is freed */
        cf->cit[i].id_number = str_dup(v, "id_number");
        cf->cit[i].password = str_dup(v, "password");
        if (!cf->cit[i].id_number || !cf->cit[i].password)
            return -1;
    }
    return 0;
}

/* Reads what the logins need from the demo file that scripts/dev-setup writes. Returns 0,
 * or -1 with a message on stderr. */
static int
load_demo(struct conf *cf)
{
    json_error_t err;
    json_t *d = json_load_file(cf->demo, 0, &err);
    int rc;

    if (!d) {
        fprintf(stderr, "login_driver: %s:%d: %s\n", cf->demo, err.line, err.text);
        return -1;
    }
    rc = load_portal(cf, d) || load_citizens(cf, d) ? -1 : 0;
    json_decref(d);
    if (rc)
        fprintf(stderr, "login_driver: %s: no usable demo-portal client or citizens\n", cf->demo);
    return rc;
}

static void
conf_clear(struct conf *cf)
{
    for (size_t i = 0; i < cf->ncit; i++) {
        free(cf->cit[i].id_number);
        free(cf->cit[i].password);
    }
    free(cf->cit);
    free(cf->client_id);
    free(cf->client_secret);
    free(cf->redirect);
}

/* argparse's rules for driver.py authd-login: unknown options and bad numbers are usage
 * errors; --base and --demo are required. */
static int
parse_args(int argc, char **argv, struct conf *cf)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--no-token")) {
            cf->token = 0;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (!strcmp(a, "--base"))
            cf->base = v;
        else if (!strcmp(a, "--demo"))
            cf->demo = v;
        else if (!strcmp(a, "--label"))
            cf->label = v;
        else if (!strcmp(a, "--conc"))
            cf->conc = (int)strtol(v, &end, 10);
        else if (!strcmp(a, "--count"))
            cf->count = strtol(v, &end, 10);
        else if (!strcmp(a, "--seconds"))
            cf->seconds = strtod(v, &end);
        else
            return -1;
        if (end && (end == v || *end))
            return -1;
    }
    if (!cf->base || !cf->demo || cf->conc < 1 || cf->conc > 4096 || cf->count < 0
        || !(cf->seconds > 0 && cf->seconds < 1e7))
        return -1;
    return 0;
}

/* The browsers, run to the end; 0, or -1 if a handle or thread could not be had. */
static int
run(const struct conf *cf, struct shared *sh, struct worker *ws)
{
    pthread_t *tid = calloc((size_t)cf->conc, sizeof(*tid));
    int started = 0, rc = 0;
    double start;

    for (int k = 0; k < cf->conc; k++)
        if (worker_init(&ws[k], sh, k))
            rc = -1;
    if (!tid || rc) {
        free(tid);
        fprintf(stderr, "login_driver: cannot set up %d browsers\n", cf->conc);
        return -1;
    }
    start = now_s();
    sh->end = start + cf->seconds;
    for (; started < cf->conc; started++)
        if (pthread_create(&tid[started], NULL, run_worker, &ws[started]) != 0)
            break;
    for (int k = 0; k < started; k++)
        pthread_join(tid[k], NULL);
    free(tid);
    if (started < cf->conc) {
        fprintf(stderr, "login_driver: started %d of %d threads\n", started, cf->conc);
        return -1;
    }
    if (report(cf, sh, ws, now_s() - start)) {
        fprintf(stderr, "login_driver: out of memory for the report\n");
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct conf cf = {.label = "", .conc = 1, .token = 1, .seconds = 5};
    struct shared sh = {.cf = &cf};
    struct worker *ws = NULL;
    int rc = 1;

    if (parse_args(argc, argv, &cf)) {
        fprintf(stderr, "usage: login_driver --base URL --demo FILE [--conc N] [--seconds S]"
                        " [--no-token] [--count N] [--label L]\n");
        return 2;
    }
    if (load_demo(&cf))
        goto out;
    if (pthread_mutex_init(&sh.lock, NULL) != 0)
        goto out;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
        && (ws = calloc((size_t)cf.conc, sizeof(*ws))))
        rc = run(&cf, &sh, ws) ? 1 : 0;
    else
        fprintf(stderr, "login_driver: cannot initialise libcurl\n");
    for (int k = 0; ws && k < cf.conc; k++)
        worker_clear(&ws[k]);
    free(ws);
    curl_global_cleanup(); /* a no-op after a failed curl_global_init */
    pthread_mutex_destroy(&sh.lock);
out:
    conf_clear(&cf);
    return rc;
}
