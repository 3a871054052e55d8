/* authd-kiosk: the agent of a self-service kiosk (docs/kiosk.md, "The kiosk agent").
 *
 * Card login (default): waits for an ID card on the reader (reader.h: PC/SC, a card-data
 * file, a vendor SDK shim), asks authd for a nonce (POST /kiosk/nonce), signs a card
 * assertion (compact JWS, ES256, typ card-assertion+jwt, header x5t#S256 of the kiosk
 * certificate) with the device key, posts it (POST /kiosk/card-login) over mutual TLS with
 * the certificate `authctl kiosk enroll` issued, shows what the kiosk screen would show
 * (the name and ID number masked, the levels, the session), then waits for the card to be
 * taken away and ends the session (POST /kiosk/card-removed). Every request authenticates
 * the kiosk's client with tls_client_auth (RFC 8705 §2): client_id, no secret.
 *
 * QR hand-over (--qr): the device authorization grant (RFC 8628): POST
 * /device_authorization, draws verification_uri_complete as a QR code in UTF-8 blocks
 * (core/qr.h, authd's renderer) with the user code, polls /token every interval seconds (5
 * more after each slow_down) until tokens, access_denied or expired_token.
 *
 * HTTP goes through libauthd-client's fetch (libcurl; CURLOPT_SSLCERT/SSLKEY/CAINFO from
 * its configuration); JSON by jansson; the JWS by cjose; hashes and keys by OpenSSL.
 *
 * Exit status: 0 done; 1 a refusal or failure (said on stderr); 2 a usage error. */
#include <cjose/cjose.h>
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_int.h"
#include "core/jose.h"
#include "core/jsonget.h"
#include "core/mask.h"
#include "core/qr.h"
#include "reader.h"

#define ANSWER_MAX    (64 * 1024)
#define ASSERTION_TTL 60
#define DEVICE_GRANT  "urn:ietf:params:oauth:grant-type:device_code"

struct opts {
    const char *reader, *issuer, *client_id, *cert, *key, *ca, *scope;
    const char *mtls_url; /* where the kiosk endpoints are; NULL: discovered */
    const char *browser;  /* a program to open session_uri with, or NULL */
    double face_score;    /* < 0: none */
    int once, qr, dump_card, allow_http, wait_s;
};

struct kiosk {
    struct opts o;
    struct authd_client *ac;
    cjose_jwk_t *jwk;   /* the device key */
    char x5t[64];       /* base64url SHA-256 of the certificate DER */
    char kiosk_id[128]; /* the certificate's CN */
    char base[512];     /* the endpoints' base URL: the issuer, or its mutual-TLS alias */
    EVP_PKEY *cert_key; /* the certificate's public key */
};

extern char **environ;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void screen(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
screen(const char *fmt, ...)
{
    va_list ap;

    fputs("[kiosk] ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

static void
usage(FILE *f)
{
    fputs("usage: authd-kiosk --issuer URL --client-id ID --reader pcsc[:NAME]|file:PATH|"
          "vendor:LIB.so\n"
          "                   --cert FILE --key FILE [--ca FILE] [--scope S] [--face-score X]\n"
          "                   [--mtls-url URL] [--browser PROGRAM] [--once] [--wait S]"
          " [--allow-http]\n"
          "       authd-kiosk --reader SPEC --dump-card [--once] [--wait S]\n"
          "       authd-kiosk --qr --issuer URL --client-id ID [--ca FILE] [--scope S]"
          " [--allow-http]\n"
          "See docs/kiosk.md, \"The kiosk agent\".\n",
          f);
}

/* ---- hashes and keys (OpenSSL, cjose) ---- */

/* base64url of SHA-256(p) into out (at least 44 bytes). */
static int
sha256_b64url(const void *p, size_t len, char *out, size_t cap)
{
    unsigned char md[32];
    unsigned int ml = 0;
    char *enc = NULL;
    size_t el = 0;
    cjose_err ce;
    int rc = -1;

    if (EVP_Digest(p, len, md, &ml, EVP_sha256(), NULL) == 1
        && cjose_base64url_encode(md, ml, &enc, &el, &ce) && el < cap) {
        memcpy(out, enc, el + 1);
        rc = 0;
    }
    cjose_get_dealloc()(enc);
    return rc;
}

static int
load_cert(struct kiosk *k)
{
    FILE *f = fopen(k->o.cert, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int len = x ? i2d_X509(x, &der) : -1, rc = -1;

    if (f)
        fclose(f);
    if (len > 0 && sha256_b64url(der, (size_t)len, k->x5t, sizeof(k->x5t)) == 0
        && (k->cert_key = X509_get_pubkey(x))
        && X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, k->kiosk_id,
                                     sizeof(k->kiosk_id))
               > 0)
        rc = 0;
    OPENSSL_free(der);
    X509_free(x);
    if (rc)
        fprintf(stderr, "authd-kiosk: %s: not a PEM certificate with a CN (the kiosk id)\n",
                k->o.cert);
    return rc;
}

/* The device key (PEM, EC P-256) as a cjose JWK for ES256. */
static int
load_key(struct kiosk *k)
{
    FILE *f = fopen(k->o.key, "r");
    EVP_PKEY *pk = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    char group[32] = "";
    unsigned char d[32], pub[65];
    size_t pl = 0;
    BIGNUM *bn = NULL;
    cjose_jwk_ec_keyspec spec;
    cjose_err ce;

    if (f)
        fclose(f);
    if (!pk
        || !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           NULL)
        || strcmp(group, "prime256v1") != 0
        || !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn)
        || BN_bn2binpad(bn, d, sizeof(d)) != sizeof(d)
        || !EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pl)
        || pl != sizeof(pub) || pub[0] != 0x04) {
        fprintf(stderr, "authd-kiosk: %s: not a PEM EC P-256 private key\n", k->o.key);
        BN_clear_free(bn);
        EVP_PKEY_free(pk);
        return -1;
    }
    if (EVP_PKEY_eq(pk, k->cert_key) != 1) {
        fprintf(stderr, "authd-kiosk: %s is not the key of the certificate %s\n", k->o.key,
                k->o.cert);
        OPENSSL_cleanse(d, sizeof(d));
        BN_clear_free(bn);
        EVP_PKEY_free(pk);
        return -1;
    }
    memset(&spec, 0, sizeof(spec));
    spec.crv = CJOSE_JWK_EC_P_256;
    spec.d = d, spec.dlen = sizeof(d);
    spec.x = pub + 1, spec.xlen = 32;
    spec.y = pub + 33, spec.ylen = 32;
    k->jwk = cjose_jwk_create_EC_spec(&spec, &ce);
    OPENSSL_cleanse(d, sizeof(d));
    BN_clear_free(bn);
    EVP_PKEY_free(pk);
    if (!k->jwk)
        return fprintf(stderr, "authd-kiosk: key: %s\n", ce.message), -1;
    return 0;
}

/* ---- HTTP (libauthd-client's fetch) ---- */

/* POSTs the form (pairs of name, value; NULL-terminated) to the base URL + path. Returns the
 * HTTP status (0: no answer) and the parsed JSON body in *out (NULL when none). */
static long
post(struct kiosk *k, const char *path, json_t **out, ...)
{
    struct buf form, url;
    struct fetch_answer a;
    const char *name, *value;
    va_list ap;
    long status = 0;

    *out = NULL;
    buf_init(&form, 32 * 1024);
    buf_init(&url, 2048);
    fetch_answer_init(&a, ANSWER_MAX);
    va_start(ap, out);
    while ((name = va_arg(ap, const char *))) {
        value = va_arg(ap, const char *);
        if (fetch_form_add(&form, name, value, strlen(value)) != RC_OK)
            goto out;
    }
    if (buf_printf(&url, "%s%s", k->base, path) != RC_OK)
        goto out;
    if (fetch_post_form(k->ac, (const char *)url.p, buf_span(&form), FETCH_AUTH_NONE, ANSWER_MAX,
                        &a)
        != AUTHD_OK) {
        fprintf(stderr, "authd-kiosk: POST %s: no answer from %s\n", path, k->base);
        goto out;
    }
    status = a.status;
    if (a.body.len)
        *out = json_loadb((const char *)a.body.p, a.body.len, 0, NULL);
out:
    va_end(ap);
    buf_clear(&form);
    buf_clear(&url);
    fetch_answer_clear(&a);
    return status;
}

/* "error: description" of an OAuth error answer, into buf. */
static const char *
oauth_error(long status, json_t *j, char *buf, size_t n)
{
    const char *e = json_string_value(json_object_get(j, "error"));
    const char *d = json_string_value(json_object_get(j, "error_description"));

    snprintf(buf, n, "HTTP %ld %s%s%s", status, e ? e : "(no OAuth error)", d ? ": " : "",
             d ? d : "");
    return buf;
}

/* What the screen shows of a token answer: the ID token's levels (the token came straight
 * from the token endpoint over TLS, OIDC Core §3.1.3.7, so its payload is read as is). */
static void
show_tokens(json_t *t, const char *how)
{
    const char *idt = json_string_value(json_object_get(t, "id_token"));
    const char *sid = json_string_value(json_object_get(t, "sid")), *acr;
    json_t *c = NULL, *amr;
    struct arena a;
    struct span payload;
    char amrs[128] = "", sidm[16] = "";
    size_t i;

    arena_init(&a, 64 * 1024);
    if (idt && jose_payload_unverified(span_str(idt), &a, &payload) == RC_OK)
        c = json_loadb((const char *)payload.p, payload.len, 0, NULL);
    amr = json_object_get(c, "amr");
    for (i = 0; i < json_array_size(amr); i++) {
        const char *v = json_string_value(json_array_get(amr, i));
        if (v && strlen(amrs) + strlen(v) + 2 < sizeof(amrs)) {
            strcat(amrs, i ? "," : "");
            strcat(amrs, v);
        }
    }
    if (!sid)
        sid = json_string_value(json_object_get(c, "sid"));
    if (sid)
        snprintf(sidm, sizeof(sidm), "%.6s…", sid);
    acr = json_string_value(json_object_get(c, "acr"));
    screen("logged in (%s): acr %s, amr %s, session %s, token expires in %lld s", how,
           acr ? acr : "?", amrs[0] ? amrs : "?", sidm[0] ? sidm : "?",
           (long long)json_integer_value(json_object_get(t, "expires_in")));
    json_decref(c);
    arena_clear(&a);
}

/* The base URL of the endpoints a kiosk reaches over mutual TLS: --mtls-url, else the
 * origin of the token endpoint's alias in discovery (RFC 8705 §5, mtls_endpoint_aliases:
 * authd's kiosk_listen), else the issuer. 0, or -1 when discovery cannot be read. */
static int
find_base(struct kiosk *k)
{
    struct buf url;
    struct fetch_answer a;
    json_t *d = NULL;
    const char *tok;
    size_t n;
    int rc = -1;

    snprintf(k->base, sizeof(k->base), "%s", k->o.mtls_url ? k->o.mtls_url : k->o.issuer);
    n = strlen(k->base);
    if (n && k->base[n - 1] == '/')
        k->base[n - 1] = '\0';
    if (k->o.mtls_url || k->o.qr)
        return 0;
    buf_init(&url, 2048);
    fetch_answer_init(&a, ANSWER_MAX);
    if (buf_printf(&url, "%s/.well-known/openid-configuration", k->base) == RC_OK
        && fetch_get(k->ac, (const char *)url.p, ANSWER_MAX, &a) == AUTHD_OK && a.status == 200)
        d = json_loadb((const char *)a.body.p, a.body.len, 0, NULL);
    if (d) {
        tok = json_string_value(
            json_object_get(json_object_get(d, "mtls_endpoint_aliases"), "token_endpoint"));
        n = tok ? strlen(tok) : 0;
        if (n > 6 && n - 6 < sizeof(k->base) && strcmp(tok + n - 6, "/token") == 0)
            snprintf(k->base, sizeof(k->base), "%.*s", (int)(n - 6), tok);
        rc = 0;
    } else {
        fprintf(stderr, "authd-kiosk: cannot read %s (HTTP %ld)\n", (const char *)url.p, a.status);
    }
    json_decref(d);
    buf_clear(&url);
    fetch_answer_clear(&a);
    return rc;
}

/* Opens session_uri in the kiosk screen's browser: --browser PROGRAM URI, no shell. */
static void
open_browser(struct kiosk *k, const char *uri)
{
    char *argv[] = {(char *)k->o.browser, (char *)uri, NULL};
    pid_t pid;

    if (posix_spawnp(&pid, k->o.browser, NULL, NULL, argv, environ) != 0)
        screen("browser session: cannot start %s", k->o.browser);
    else
        screen("browser session: opened in %s", k->o.browser);
}

/* ---- card login ---- */

static void
show_card(const struct card *c)
{
    char name[MASK_NAME_SIZE], idn[MASK_IDNUM_SIZE];

    mask_name(span_str(c->name), name);
    mask_idnum(span_str(c->id_number), idn);
    screen("card read: %s %s, valid %s to %s", name, idn, c->valid_from, c->valid_until);
}

/* The card as the assertion's "card" member (and as --dump-card prints it). */
static json_t *
card_json(const struct card *c)
{
    char ph[64];

    if (sha256_b64url(c->photo, c->photo_len, ph, sizeof(ph)))
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", c->type, "id_number",
                     c->id_number, "name", c->name, "valid_from", c->valid_from, "valid_until",
                     c->valid_until, "authority", c->authority, "photo_sha256", ph);
}

/* The card assertion (the wire protocol in docs/kiosk.md), signed with the device key;
 * malloc'd compact JWS or NULL. */
static char *
assertion(struct kiosk *k, const struct card *c, const char *nonce)
{
    json_t *p =
        json_pack("{s:s, s:s, s:I, s:I, s:s, s:o*}", "iss", k->kiosk_id, "aud", k->o.issuer, "iat",
                  (json_int_t)time(NULL), "exp", (json_int_t)time(NULL) + ASSERTION_TTL, "nonce",
                  nonce, "card", card_json(c));
    cjose_header_t *h = cjose_header_new(NULL);
    cjose_jws_t *jws = NULL;
    const char *ser = NULL;
    char *claims = NULL, *out = NULL;
    cjose_err ce;

    if (p && k->o.face_score >= 0)
        json_object_set_new(p, "face_score", json_real(k->o.face_score));
    claims = p && json_object_get(p, "card") ? json_dumps(p, JSON_COMPACT) : NULL;
    if (claims && h && cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &ce)
        && cjose_header_set(h, "typ", "card-assertion+jwt", &ce)
        && cjose_header_set(h, "x5t#S256", k->x5t, &ce)
        && (jws = cjose_jws_sign(k->jwk, h, (const uint8_t *)claims, strlen(claims), &ce))
        && cjose_jws_export(jws, &ser, &ce))
        out = strdup(ser);
    if (claims) {
        OPENSSL_cleanse(claims, strlen(claims));
        free(claims);
    }
    cjose_jws_release(jws);
    cjose_header_release(h);
    json_decref(p);
    return out;
}

/* Logs the holder of c in; *sid (malloc'd) the session to end on removal. 0 or -1. */
static int
card_login(struct kiosk *k, const struct card *c, char **sid)
{
    char err[512], *jws = NULL;
    json_t *j = NULL;
    const char *nonce, *s, *uri;
    long st;
    int rc = -1;

    *sid = NULL;
    st = post(k, "/kiosk/nonce", &j, "client_id", k->o.client_id, NULL);
    nonce = json_string_value(json_object_get(j, "nonce"));
    if (st != 200 || !nonce) {
        screen("login refused: nonce: %s", oauth_error(st, j, err, sizeof(err)));
        goto out;
    }
    jws = assertion(k, c, nonce);
    json_decref(j), j = NULL;
    if (!jws) {
        screen("login failed: could not sign the card assertion");
        goto out;
    }
    st = post(k, "/kiosk/card-login", &j, "client_id", k->o.client_id, "scope", k->o.scope,
              "assertion", jws, NULL);
    s = json_string_value(json_object_get(j, "sid"));
    if (st != 200 || !json_string_value(json_object_get(j, "access_token")) || !s) {
        screen("login refused: %s", oauth_error(st, j, err, sizeof(err)));
        goto out;
    }
    show_tokens(j, "ID card");
    uri = json_string_value(json_object_get(j, "session_uri"));
    if (uri && k->o.browser)
        open_browser(k, uri);
    else if (uri)
        screen("browser session: a single-use link valid 60 s (--browser opens it)");
    *sid = strdup(s);
    rc = *sid ? 0 : -1;
out:
    if (jws) {
        OPENSSL_cleanse(jws, strlen(jws));
        free(jws);
    }
    json_decref(j);
    return rc;
}

/* Ends the card session sid; why: what the screen says happened ("card removed"). */
static int
card_removed(struct kiosk *k, const char *sid, const char *why)
{
    char err[512];
    json_t *j = NULL;
    long st = post(k, "/kiosk/card-removed", &j, "client_id", k->o.client_id, "sid", sid, NULL);

    if (st == 204)
        screen("%s: logged out", why);
    else
        screen("%s: logout refused: %s", why, oauth_error(st, j, err, sizeof(err)));
    json_decref(j);
    return st == 204 ? 0 : -1;
}

static int
run_cards(struct kiosk *k, struct reader *r)
{
    struct card c;
    char err[512], *sid = NULL;
    int timeout = k->o.wait_s > 0 ? k->o.wait_s * 1000 : -1, rc, status = 0;
    json_t *cj;
    char *dump;

    while (!stop) {
        screen("请将身份证放在读卡器上 Place your ID card on the reader (%s)", r->label);
        rc = r->ops->read_card(r, timeout, &c, err, sizeof(err));
        if (rc == READER_TIMEOUT)
            return stop ? status : (screen("no card within %d s", k->o.wait_s), 1);
        if (rc == READER_ERROR) {
            screen("card not read: %s", err);
            status = 1;
        } else {
            show_card(&c);
            if (k->o.dump_card) {
                cj = card_json(&c);
                dump = cj ? json_dumps(cj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
                printf("card %s\n", dump ? dump : "{}");
                free(dump);
                json_decref(cj);
            } else if (card_login(k, &c, &sid)) {
                status = 1;
            }
            card_clear(&c);
        }
        rc = r->ops->wait_removed(r, -1, err, sizeof(err));
        if (rc == READER_ERROR) {
            screen("reader: %s", err);
            status = 1;
        }
        if (sid) {
            /* stopped with the card still on the reader: the session ends too */
            if (card_removed(k, sid, rc == READER_OK ? "card removed" : "agent stopping"))
                status = 1;
            free(sid), sid = NULL;
        } else if (rc == READER_OK) {
            screen("card removed");
        }
        if (k->o.once || rc != READER_OK)
            break;
    }
    return status;
}

/* ---- QR hand-over: the device authorization grant (RFC 8628) ---- */

static int
run_qr(struct kiosk *k)
{
    char err[512];
    json_t *d = NULL, *t = NULL;
    const char *dc, *uc, *uri, *vuri, *e;
    struct buf qr;
    json_int_t interval, expires;
    time_t deadline;
    long st;
    int rc = 1;

    st = post(k, "/device_authorization", &d, "client_id", k->o.client_id, "scope", k->o.scope,
              NULL);
    dc = json_string_value(json_object_get(d, "device_code"));
    uc = json_string_value(json_object_get(d, "user_code"));
    uri = json_string_value(json_object_get(d, "verification_uri_complete"));
    if (st != 200 || !dc || !uc || !uri) {
        screen("QR hand-over refused: %s", oauth_error(st, d, err, sizeof(err)));
        goto out;
    }
    interval = json_integer_value(json_object_get(d, "interval"));
    interval = interval > 0 ? interval : 5; /* RFC 8628 §3.2 */
    expires = json_integer_value(json_object_get(d, "expires_in"));
    deadline = time(NULL) + (expires > 0 ? expires : 600);
    buf_init(&qr, 64 * 1024);
    if (qr_utf8(&qr, span_str(uri)) != RC_OK) {
        buf_clear(&qr);
        screen("QR hand-over: cannot draw %s", uri);
        goto out;
    }
    screen("用手机扫码登录 Scan with your phone to log in here:");
    fwrite(qr.p, 1, qr.len, stdout);
    buf_clear(&qr);
    vuri = json_string_value(json_object_get(d, "verification_uri"));
    screen("or open %s and enter the code %s", vuri ? vuri : uri, uc);
    screen("user code: %s", uc);
    fflush(stdout);
    while (!stop && time(NULL) < deadline) {
        struct timespec ts = {(time_t)interval, 0};
        while (nanosleep(&ts, &ts) && !stop)
            ;
        if (stop)
            break;
        json_decref(t);
        st = post(k, "/token", &t, "grant_type", DEVICE_GRANT, "device_code", dc, "client_id",
                  k->o.client_id, NULL);
        e = json_string_value(json_object_get(t, "error"));
        if (st == 200 && json_string_value(json_object_get(t, "access_token"))) {
            show_tokens(t, "QR hand-over");
            rc = 0;
            goto out;
        }
        if (e && strcmp(e, "authorization_pending") == 0)
            continue;
        if (e && strcmp(e, "slow_down") == 0) {
            interval += 5; /* RFC 8628 §3.5 */
            screen("slow_down: polling every %lld s", (long long)interval);
            continue;
        }
        if (e && strcmp(e, "access_denied") == 0)
            screen("QR hand-over: the citizen denied it on the phone");
        else if (e && strcmp(e, "expired_token") == 0)
            screen("QR hand-over: the code expired; start again");
        else
            screen("QR hand-over refused: %s", oauth_error(st, t, err, sizeof(err)));
        goto out;
    }
    if (!stop)
        screen("QR hand-over: the code expired; start again");
out:
    json_decref(d);
    json_decref(t);
    return rc;
}

/* ---- main ---- */

static int
parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"reader", required_argument, NULL, 'r'},
                                       {"issuer", required_argument, NULL, 'i'},
                                       {"client-id", required_argument, NULL, 'c'},
                                       {"cert", required_argument, NULL, 'C'},
                                       {"key", required_argument, NULL, 'K'},
                                       {"ca", required_argument, NULL, 'A'},
                                       {"scope", required_argument, NULL, 's'},
                                       {"face-score", required_argument, NULL, 'f'},
                                       {"wait", required_argument, NULL, 'w'},
                                       {"once", no_argument, NULL, '1'},
                                       {"qr", no_argument, NULL, 'q'},
                                       {"dump-card", no_argument, NULL, 'd'},
                                       {"allow-http", no_argument, NULL, 'H'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"mtls-url", required_argument, NULL, 'M'},
                                       {"browser", required_argument, NULL, 'B'},
                                       {NULL, 0, NULL, 0}};
    char *end;
    int ch;

    memset(o, 0, sizeof(*o));
    o->scope = "openid profile";
    o->face_score = -1;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'r':
            o->reader = optarg;
            break;
        case 'i':
            o->issuer = optarg;
            break;
        case 'c':
            o->client_id = optarg;
            break;
        case 'C':
            o->cert = optarg;
            break;
        case 'K':
            o->key = optarg;
            break;
        case 'A':
            o->ca = optarg;
            break;
        case 'M':
            o->mtls_url = optarg;
            break;
        case 'B':
            o->browser = optarg;
            break;
        case 's':
            o->scope = optarg;
            break;
        case 'f':
            o->face_score = strtod(optarg, &end);
            if (*end || !(o->face_score >= 0 && o->face_score <= 1))
                return fprintf(stderr, "authd-kiosk: --face-score: a number in 0..1\n"), -1;
            break;
        case 'w':
            o->wait_s = (int)strtol(optarg, &end, 10);
            if (*end || o->wait_s <= 0 || o->wait_s > 86400)
                return fprintf(stderr, "authd-kiosk: --wait: seconds, 1..86400\n"), -1;
            break;
        case '1':
            o->once = 1;
            break;
        case 'q':
            o->qr = 1;
            break;
        case 'd':
            o->dump_card = 1;
            break;
        case 'H':
            o->allow_http = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc)
        return fprintf(stderr, "authd-kiosk: unexpected argument %s\n", argv[optind]), -1;
    if (o->qr)
        return o->issuer && o->client_id ? 0 : -1;
    if (!o->reader)
        return -1;
    if (o->dump_card)
        return 0;
    return o->issuer && o->client_id && o->cert && o->key ? 0 : -1;
}

int
main(int argc, char **argv)
{
    struct kiosk k;
    struct reader *r = NULL;
    struct authd_client_config cc;
    const char *aud[2];
    struct sigaction sa;
    char err[512];
    int rc = 1;

    memset(&k, 0, sizeof(k));
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv, &k.o)) {
        usage(stderr);
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (k.o.issuer) {
        memset(&cc, 0, sizeof(cc));
        aud[0] = k.o.client_id, aud[1] = NULL;
        cc.issuer = k.o.issuer;
        cc.audiences = aud;
        cc.ca_file = k.o.ca;
        cc.tls_cert_file = k.o.qr ? NULL : k.o.cert;
        cc.tls_key_file = k.o.qr ? NULL : k.o.key;
        cc.allow_http = k.o.allow_http;
        /* no client_id here: the library pairs it with a secret; the kiosk's client
         * authenticates by its certificate (tls_client_auth) and sends client_id itself */
        cc.http_timeout_ms = 10000;
        if (authd_client_new(&cc, &k.ac) != AUTHD_OK) {
            fprintf(stderr, "authd-kiosk: bad --issuer (https, or http with --allow-http)\n");
            goto out;
        }
    }
    if (!k.o.qr && !k.o.dump_card && (load_cert(&k) || load_key(&k)))
        goto out;
    if (k.o.issuer && find_base(&k))
        goto out;
    if (k.o.qr) {
        rc = run_qr(&k);
        goto out;
    }
    if (reader_open(k.o.reader, &stop, &r, err, sizeof(err)) != READER_OK) {
        fprintf(stderr, "authd-kiosk: %s\n", err);
        goto out;
    }
    rc = run_cards(&k, r);
out:
    if (r)
        r->ops->close(r);
    cjose_jwk_release(k.jwk);
    EVP_PKEY_free(k.cert_key);
    authd_client_free(k.ac);
    curl_global_cleanup();
    return rc;
}
