/* The verified client certificate of a request (http/http.h http_client_cert): from the
 * GnuTLS session libmicrohttpd holds for a connection on kiosk_listen, or from the header a
 * trusted TLS-terminating proxy forwards. The verification itself is flow/kiosk.c's. */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#include "core/form.h"
#include "flow/kiosk.h"
#include "http/http.h"

/* True if ip is one of the space-separated addresses of list (compared as addresses). */
static bool
proxy_trusted(const char *list, const char *ip)
{
    unsigned char want[16], have[16];
    int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
    char one[64];

    if (!list || inet_pton(fam, ip, want) != 1)
        return false;
    while (*list) {
        size_t n = strcspn(list, " ");
        if (n && n < sizeof(one)) {
            memcpy(one, list, n);
            one[n] = 0;
            if (inet_pton(fam, one, have) == 1 && memcmp(want, have, fam == AF_INET ? 4 : 16) == 0)
                return true;
        }
        list += n;
        while (*list == ' ')
            list++;
    }
    return false;
}

/* The DER of the TLS peer's certificate on this connection, or an empty span. */
static struct span
tls_peer(struct http_req *r)
{
    const union MHD_ConnectionInfo *ci;
    const gnutls_datum_t *peers;
    gnutls_session_t s;
    unsigned n = 0;

    if (!r->kiosk_listener || !r->conn)
        return span_of(NULL, 0);
    ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    s = ci ? (gnutls_session_t)ci->tls_session : NULL;
    if (!s || gnutls_certificate_type_get(s) != GNUTLS_CRT_X509
        || !(peers = gnutls_certificate_get_peers(s, &n)) || n == 0)
        return span_of(NULL, 0);
    return span_of(peers[0].data, peers[0].size);
}

/* The DER of the certificate in the proxy's header (URL-encoded PEM), in the arena. */
static enum rc
header_cert(struct http_req *r, const char *v, struct span *der)
{
    struct span pem;
    BIO *b = NULL;
    X509 *x = NULL;
    unsigned char *p = NULL, *q;
    int n;
    enum rc rc = RC_DENIED;

    if (strlen(v) > 4 * KIOSK_CERT_MAX || form_decode(&r->arena, span_str(v), &pem) != RC_OK)
        return RC_DENIED;
    if ((b = BIO_new_mem_buf(pem.p, (int)pem.len)) && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))
        && (n = i2d_X509(x, NULL)) > 0 && n <= KIOSK_CERT_MAX
        && (p = q = arena_alloc(&r->arena, (size_t)n)) && i2d_X509(x, &q) == n) {
        *der = span_of(p, (size_t)n);
        rc = RC_OK;
    }
    X509_free(x);
    BIO_free(b);
    return rc;
}

const struct kiosk_cert *
http_client_cert(struct http_req *r, struct rc_info *ri)
{
    const struct config *cfg = r->app->cfg;
    struct kiosk_cert *kc;
    struct span der = tls_peer(r);
    const char *hv;

    if (r->cert_state == 0) {
        r->cert_state = -1;
        if (!der.p && cfg->kiosk_cert_header && (hv = http_header(r, cfg->kiosk_cert_header))
            && proxy_trusted(cfg->kiosk_trusted_proxies, r->client_ip)
            && header_cert(r, hv, &der) != RC_OK)
            rc_fail(&r->cert_ri, RC_DENIED, RC_WHY_KIOSK_CERT, "client certificate",
                    "the forwarded certificate is not a URL-encoded PEM certificate");
        else if (!der.p)
            rc_fail(&r->cert_ri, RC_DENIED, RC_WHY_KIOSK_CERT, "client certificate",
                    "none presented (mutual TLS on kiosk_listen, or a trusted proxy)");
        else if (!(kc = arena_alloc(&r->arena, sizeof(*kc))))
            rc_fail(&r->cert_ri, RC_NOMEM, RC_WHY_NONE, "client certificate", "out of memory");
        else if (kiosk_cert_verify(r->app, &r->arena, der, kc, &r->cert_ri) == RC_OK) {
            r->cert = kc;
            r->cert_state = 1;
        }
    }
    if (r->cert_state != 1 && ri)
        *ri = r->cert_ri;
    return r->cert_state == 1 ? r->cert : NULL;
}
