/* authctl kiosk ...: the device PKI of the kiosk channel (docs/kiosk.md), with the OpenSSL
 * X509 API (no openssl command line, no CA database: the registry files are the database):
 *
 *   kiosk enroll --id K --location TEXT --services "SCOPE ..." [--client "CLIENT ..."]
 *                [--operator NAME] [--days N]
 *       a new EC P-256 key and a certificate signed by the kiosk CA (kiosk_ca, kiosk_ca_key):
 *       SAN URI urn:authd:kiosk:K, CN K, clientAuth, N days (397); writes kiosk_dir/K.key
 *       (0600: hand it to the kiosk), K.crt and the record K.json (flow/kiosk.h) that authd
 *       reads at each use. Enrolling K again replaces its certificate (the old one stops
 *       working: the record names the current serial). Publishes the CRL if there is none.
 *   kiosk revoke K   marks the record revoked and re-signs the CRL (kiosk_crl) with every
 *                    revoked kiosk's serial; authd reloads it when the file changes
 *   kiosk crl        re-signs the CRL (it is valid KIOSK_CRL_DAYS days: run it from cron)
 *   kiosk list       one line per kiosk: id, state, certificate expiry, location, clients,
 *                    services
 * Exit codes: 0 done, 1 refused, 2 usage or setup error. */
#include <dirent.h>
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authctl/authctl.h"
#include "conf/config.h"
#include "flow/kiosk.h"

#define KIOSK_CRL_DAYS  7
#define KIOSK_CERT_DAYS 397

#define USAGE                                                                                      \
    "kiosk enroll --id K --location TEXT --services \"SCOPE ...\" [--client \"CLIENT ...\"] "      \
    "[--operator NAME] [--days N] | kiosk revoke K | kiosk crl | kiosk list"

struct ca {
    X509 *cert;
    EVP_PKEY *key;
};

static int
fail(const char *msg, const char *what)
{
    fprintf(stderr, "authctl kiosk: %s%s%s\n", msg, what ? ": " : "", what ? what : "");
    return 2;
}

static int
ca_open(const struct config *c, struct ca *ca)
{
    FILE *f;

    memset(ca, 0, sizeof(*ca));
    if (!c->kiosk_ca || !c->kiosk_ca_key || !c->kiosk_crl)
        return fail("kiosk_ca, kiosk_ca_key and kiosk_crl must be set in the config", NULL);
    if (!(f = fopen(c->kiosk_ca, "r")))
        return fail("cannot open", c->kiosk_ca);
    ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!(f = fopen(c->kiosk_ca_key, "r")))
        return fail("cannot open", c->kiosk_ca_key);
    ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!ca->cert || !ca->key || X509_check_private_key(ca->cert, ca->key) != 1)
        return fail("the kiosk CA certificate and key do not load or do not match", NULL);
    return 0;
}

static void
ca_close(struct ca *ca)
{
    X509_free(ca->cert);
    EVP_PKEY_free(ca->key);
}

static bool
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    bool ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* Writes text to path through a temporary file and a rename, with mode. */
static int
write_atomic(const char *path, mode_t mode, int (*emit)(FILE *f, void *arg), void *arg)
{
    char tmp[4200];
    FILE *f;
    int ok;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return fail("path too long", path);
    umask(077);
    if (!(f = fopen(tmp, "w")))
        return fail("cannot write", tmp);
    ok = emit(f, arg) == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return fail("cannot write", path);
    }
    return 0;
}

static int
emit_key(FILE *f, void *k)
{
    return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int
emit_cert(FILE *f, void *x)
{
    return PEM_write_X509(f, x);
}

static int
emit_crl(FILE *f, void *crl)
{
    return PEM_write_X509_CRL(f, crl);
}

/* The certificate of kiosk id, signed by ca, for key. NULL on failure. */
static X509 *
issue(struct ca *ca, const char *id, EVP_PKEY *key, long days, char serial_hex[80])
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    unsigned char rnd[16];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    X509V3_CTX ctx;
    char san[128];
    char *hex = NULL;
    bool ok;

    snprintf(san, sizeof(san), "URI:%s%s", KIOSK_URN, id);
    ok = x && n && RAND_bytes(rnd, sizeof(rnd)) == 1;
    if (ok)
        rnd[0] &= 0x7f; /* a positive serial */
    ok = ok && (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) && (serial = BN_to_ASN1_INTEGER(bn, NULL))
         && (hex = BN_bn2hex(bn)) && X509_set_version(x, 2) == 1
         && X509_set_serialNumber(x, serial) == 1
         && X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"CN", -1, -1, 0)
         && X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"authd kiosks",
                                       -1, -1, 0)
         && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)id, -1, -1, 0)
         && X509_set_subject_name(x, n) == 1
         && X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) == 1
         && X509_gmtime_adj(X509_getm_notBefore(x), -60)
         && X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) && X509_set_pubkey(x, key) == 1;
    if (ok) {
        X509V3_set_ctx(&ctx, ca->cert, x, NULL, NULL, 0);
        ok = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE")
             && add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature")
             && add_ext(x, &ctx, NID_ext_key_usage, "clientAuth")
             && add_ext(x, &ctx, NID_subject_alt_name, san)
             && add_ext(x, &ctx, NID_subject_key_identifier, "hash")
             && add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")
             && X509_sign(x, ca->key, EVP_sha256()) > 0;
    }
    if (ok)
        snprintf(serial_hex, 80, "%s", hex);
    OPENSSL_free(hex);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    X509_NAME_free(n);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Calls fn for every record in dir. */
static void
each_record(const char *dir, struct arena *a, void (*fn)(const struct kiosk_rec *r, void *arg),
            void *arg)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char id[KIOSK_ID_MAX + 1];
    struct kiosk_rec r;

    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n <= 5 || n - 5 > KIOSK_ID_MAX || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        memcpy(id, e->d_name, n - 5);
        id[n - 5] = 0;
        if (kiosk_rec_get(dir, a, id, &r) == RC_OK)
            fn(&r, arg);
    }
    if (d)
        closedir(d);
}

struct crl_build {
    X509_CRL *crl;
    bool ok;
};

static void
add_revoked(const struct kiosk_rec *r, void *arg)
{
    struct crl_build *cb = arg;
    X509_REVOKED *rv;
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *t = NULL;

    if (!r->revoked || !r->serial || !*r->serial)
        return;
    rv = X509_REVOKED_new();
    if (!rv || !BN_hex2bn(&bn, r->serial) || !(serial = BN_to_ASN1_INTEGER(bn, NULL))
        || !(t = ASN1_TIME_set(NULL, (time_t)(r->revoked_at ? r->revoked_at : time(NULL))))
        || X509_REVOKED_set_serialNumber(rv, serial) != 1
        || X509_REVOKED_set_revocationDate(rv, t) != 1 || X509_CRL_add0_revoked(cb->crl, rv) != 1) {
        X509_REVOKED_free(rv);
        cb->ok = false;
    }
    ASN1_TIME_free(t);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
}

/* Signs and writes the CRL of every revoked record. */
static int
publish_crl(const struct config *c, struct ca *ca)
{
    struct crl_build cb = {X509_CRL_new(), true};
    struct arena a;
    ASN1_TIME *last = ASN1_TIME_set(NULL, time(NULL) - 60);
    ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + KIOSK_CRL_DAYS * 86400L);
    int rc = 2;

    arena_init(&a, 1u << 20);
    if (cb.crl && last && next && X509_CRL_set_version(cb.crl, 1) == 1
        && X509_CRL_set_issuer_name(cb.crl, X509_get_subject_name(ca->cert)) == 1
        && X509_CRL_set1_lastUpdate(cb.crl, last) == 1
        && X509_CRL_set1_nextUpdate(cb.crl, next) == 1) {
        each_record(c->kiosk_dir, &a, add_revoked, &cb);
        if (cb.ok && X509_CRL_sort(cb.crl) == 1 && X509_CRL_sign(cb.crl, ca->key, EVP_sha256()) > 0)
            rc = write_atomic(c->kiosk_crl, 0644, emit_crl, cb.crl);
        else
            rc = fail("cannot sign the CRL", NULL);
    } else {
        rc = fail("cannot build the CRL", NULL);
    }
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(cb.crl);
    arena_clear(&a);
    return rc;
}

static int
enroll(const struct config *c, struct ca *ca, int argc, char **argv)
{
    const char *id = authctl_opt(argc, argv, "--id"), *days_s = authctl_opt(argc, argv, "--days");
    struct kiosk_rec r = {0};
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    char path[4096], serial[80];
    long days = days_s ? strtol(days_s, NULL, 10) : KIOSK_CERT_DAYS;
    int rc = 2;

    r.id = id;
    r.location = authctl_opt(argc, argv, "--location");
    r.services = authctl_opt(argc, argv, "--services");
    r.clients = authctl_opt(argc, argv, "--client");
    r.operator_name = authctl_opt(argc, argv, "--operator");
    if (!id || !r.location || !r.services)
        return fail("usage", USAGE);
    if (!kiosk_id_valid(span_str(id)))
        return fail("--id must be 1-64 of letters, digits, '-', '_', '.'", id);
    if (days < 1 || days > 3650)
        return fail("--days must be 1-3650", days_s);
    if (!r.clients)
        r.clients = "";
    if (mkdir(c->kiosk_dir, 0755) != 0 && errno != EEXIST)
        return fail("cannot create", c->kiosk_dir);
    if (!(key = EVP_EC_gen("P-256")) || !(x = issue(ca, id, key, days, serial))) {
        rc = fail("cannot issue the certificate", NULL);
        goto out;
    }
    r.serial = serial;
    r.enrolled_at = time(NULL);
    {
        const ASN1_TIME *na = X509_get0_notAfter(x);
        struct tm tm;
        r.not_after = ASN1_TIME_to_tm(na, &tm) == 1 ? (int64_t)timegm(&tm) : 0;
    }
    snprintf(path, sizeof(path), "%s/%s.key", c->kiosk_dir, id);
    if ((rc = write_atomic(path, 0600, emit_key, key)) != 0)
        goto out;
    snprintf(path, sizeof(path), "%s/%s.crt", c->kiosk_dir, id);
    if ((rc = write_atomic(path, 0644, emit_cert, x)) != 0)
        goto out;
    if (kiosk_rec_put(c->kiosk_dir, &r) != RC_OK) {
        rc = fail("cannot write the record", id);
        goto out;
    }
    if (access(c->kiosk_crl, R_OK) != 0 && (rc = publish_crl(c, ca)) != 0)
        goto out;
    printf("enrolled kiosk %s: %s/%s.crt (serial %s, %ld days), key %s/%s.key\n", id, c->kiosk_dir,
           id, serial, days, c->kiosk_dir, id);
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

static int
revoke_kiosk(const struct config *c, struct ca *ca, const char *id)
{
    struct arena a;
    struct kiosk_rec r;
    int rc;

    arena_init(&a, 1u << 16);
    if (kiosk_rec_get(c->kiosk_dir, &a, id, &r) != RC_OK) {
        arena_clear(&a);
        fprintf(stderr, "authctl kiosk: no enrolled kiosk %s\n", id);
        return 1;
    }
    if (!r.revoked) {
        r.revoked = true;
        r.revoked_at = time(NULL);
        if (kiosk_rec_put(c->kiosk_dir, &r) != RC_OK) {
            arena_clear(&a);
            return fail("cannot write the record", id);
        }
    }
    rc = publish_crl(c, ca);
    if (rc == 0)
        printf("revoked kiosk %s (serial %s); CRL %s published\n", id, r.serial, c->kiosk_crl);
    arena_clear(&a);
    return rc;
}

static void
print_rec(const struct kiosk_rec *r, void *arg)
{
    char exp[32] = "-";
    time_t t = (time_t)r->not_after;
    struct tm tm;

    (void)arg;
    if (t && gmtime_r(&t, &tm))
        strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s\t%s\t%s%s\t%s\tclients=%s\tservices=%s\toperator=%s\n", r->id,
           r->revoked ? "revoked" : "active", exp, t && t < time(NULL) ? " (expired)" : "",
           r->location, r->clients, r->services, r->operator_name ? r->operator_name : "");
}

static int
cmd_kiosk(struct authctl *ctl, int argc, char **argv)
{
    const struct config *c;
    struct ca ca;
    struct arena a;
    int rc;

    if (argc < 2)
        return fail("usage", USAGE);
    if (!(c = ctl->config(ctl)))
        return 2;
    if (strcmp(argv[1], "list") == 0) {
        arena_init(&a, 1u << 20);
        printf("id\tstate\tnot_after\tlocation\tclients\tservices\toperator\n");
        each_record(c->kiosk_dir, &a, print_rec, NULL);
        arena_clear(&a);
        return 0;
    }
    if (strcmp(argv[1], "enroll") != 0 && strcmp(argv[1], "crl") != 0
        && !(strcmp(argv[1], "revoke") == 0 && argc == 3))
        return fail("usage", USAGE);
    if ((rc = ca_open(c, &ca)) != 0) {
        ca_close(&ca);
        return rc;
    }
    if (strcmp(argv[1], "enroll") == 0)
        rc = enroll(c, &ca, argc, argv);
    else if (strcmp(argv[1], "revoke") == 0)
        rc = revoke_kiosk(c, &ca, argv[2]);
    else if ((rc = publish_crl(c, &ca)) == 0)
        printf("CRL %s published\n", c->kiosk_crl);
    ca_close(&ca);
    return rc;
}

AUTHCTL_COMMAND(kiosk, USAGE, cmd_kiosk)
