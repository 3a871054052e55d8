/* authctl -c CONFIG client add|list|show|remove|rotate-secret: clients in the policy
 * directory. `add` writes POLICY_DIR/client-ID.conf; every change is validated by loading
 * the whole policy directory with the new file in place (in a scratch directory of
 * symlinks) before the file is renamed into place, so a running authd never sees a
 * half-written or invalid file; it picks the change up on SIGHUP. Client secrets are 256
 * random bits, printed once, stored as sha256:<hex>. Only files written by authctl
 * (client-ID.conf) are removed or rewritten; clients defined elsewhere are edited by hand. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authctl/authctl.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "core/jose.h"
#include "flow/client_auth.h"

#define CLIENT_FILE_MAX 65536

struct add_opts {
    const char *id, *name, *grants, *redirects, *post_logout, *scopes, *auth, *sector;
    const char *subject, *backchannel, *frontchannel, *jwks_file, *min_acr, *id_token_alg;
    const char *access_token_alg;
    bool public_, first_party, id_number_allowed;
};

/* Prints "authctl client: " and the message; returns 1 (the exit code). */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
    va_list ap;

    fputs("authctl client: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    return 1;
}

/* Values go into an INI file: no control characters (a newline would start a new key or
 * section), no leading '[' or '#', at most 4096 bytes. */
static bool
value_ok(const char *v)
{
    if (!v || !*v || strlen(v) > 4096 || v[0] == '[' || v[0] == '#' || v[0] == ';')
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* A new secret (base64url of 32 random bytes) and its policy form sha256:<hex>. */
static int
new_secret(char secret[44], char hash[7 + 65])
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t raw[33] = {0}, md[32];
    unsigned n = 0, o = 0;

    if (RAND_bytes(raw, 32) != 1)
        return -1;
    for (unsigned i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        for (int k = 18; k >= 0 && o < 43; k -= 6)
            secret[o++] = al[v >> k & 63];
    }
    secret[43] = 0;
    OPENSSL_cleanse(raw, sizeof(raw));
    if (EVP_Digest(secret, 43, md, &n, EVP_sha256(), NULL) != 1)
        return -1;
    memcpy(hash, "sha256:", 7);
    for (int i = 0; i < 32; i++)
        sprintf(hash + 7 + 2 * i, "%02x", md[i]);
    return 0;
}

static int
print_secret(const char *id, const char *secret)
{
    json_t *o = json_pack("{s:s, s:s*}", "client_id", id, "client_secret", secret);
    int rc = o && json_dumpf(o, stdout, JSON_INDENT(2)) == 0 ? 0 : 1;

    printf("\n");
    json_decref(o);
    return rc;
}

static int
write_all(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t n = strlen(text);

    if (fd < 0)
        return -1;
    if (write(fd, text, n) != (ssize_t)n || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        return -1;
    }
    return close(fd);
}

/* Symlinks every *.conf of dir except skip into scratch. */
static int
link_others(const char *dir, const char *scratch, const char *skip)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char from[4096], to[4096];
    int rc = 0;

    if (!d)
        return -1;
    while (rc == 0 && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".conf") != 0
            || strcmp(e->d_name, skip) == 0)
            continue;
        if ((size_t)snprintf(from, sizeof(from), "%s/%s", dir, e->d_name) >= sizeof(from)
            || (size_t)snprintf(to, sizeof(to), "%s/%s", scratch, e->d_name) >= sizeof(to)
            || symlink(from, to) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

static void
remove_scratch(const char *scratch)
{
    DIR *d = opendir(scratch);
    struct dirent *e;
    char p[4096];

    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.'
            && (size_t)snprintf(p, sizeof(p), "%s/%s", scratch, e->d_name) < sizeof(p))
            unlink(p);
    if (d)
        closedir(d);
    rmdir(scratch);
}

/* Validates the policy directory with file `name` holding text, then renames it into
 * place (atomically: a reload sees the old file or the new one). */
static int
install_file(const char *dir, const char *name, const char *text)
{
    char scratch[4096], src[4096], dst[4096];
    struct config_error err = {0};
    struct policy *p = NULL;
    int rc = 1;

    if ((size_t)snprintf(scratch, sizeof(scratch), "%s/.authctl-XXXXXX", dir) >= sizeof(scratch)
        || !mkdtemp(scratch))
        return fail("cannot create a scratch directory in %s", dir);
    if ((size_t)snprintf(src, sizeof(src), "%s/%s", scratch, name) >= sizeof(src)
        || (size_t)snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= sizeof(dst)
        || link_others(dir, scratch, name) != 0 || write_all(src, text) != 0) {
        fail("cannot write into %s", scratch);
        goto out;
    }
    if (policy_load(scratch, &p, &err) != RC_OK) {
        size_t n = strlen(scratch);
        /* name the file as it will be, not the scratch copy */
        fprintf(stderr, "authctl client: the policy would not load, nothing changed:\n  %s%s\n",
                strncmp(err.text, scratch, n) == 0 ? dir : "",
                strncmp(err.text, scratch, n) == 0 ? err.text + n : err.text);
        goto out;
    }
    if (rename(src, dst) != 0) {
        fail("cannot rename into %s", dst);
        goto out;
    }
    rc = 0;
out:
    policy_release(p);
    remove_scratch(scratch);
    return rc;
}

static int
load_policy(const struct config *cfg, struct policy **p)
{
    struct config_error err = {0};

    if (policy_load(cfg->policy_dir, p, &err) != RC_OK) {
        fprintf(stderr, "authctl client: %s\n", err.text);
        return 1;
    }
    return 0;
}

/* ---- add ------------------------------------------------------------------------------ */

static int
parse_add(int argc, char **argv, struct add_opts *o)
{
    static const char *const keys[] = {"--id",
                                       "--name",
                                       "--grant-types",
                                       "--redirect-uris",
                                       "--post-logout-redirect-uris",
                                       "--scopes",
                                       "--auth-method",
                                       "--sector",
                                       "--subject-type",
                                       "--backchannel-logout-uri",
                                       "--frontchannel-logout-uri",
                                       "--jwks-file",
                                       "--min-acr",
                                       "--id-token-alg",
                                       "--access-token-alg"};
    const char **slots[] = {
        &o->id,           &o->name,      &o->grants,  &o->redirects,    &o->post_logout,
        &o->scopes,       &o->auth,      &o->sector,  &o->subject,      &o->backchannel,
        &o->frontchannel, &o->jwks_file, &o->min_acr, &o->id_token_alg, &o->access_token_alg};
    int i, k;

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--public") == 0) {
            o->public_ = true;
            continue;
        }
        if (strcmp(argv[i], "--first-party") == 0) {
            o->first_party = true;
            continue;
        }
        if (strcmp(argv[i], "--id-number-allowed") == 0) {
            o->id_number_allowed = true;
            continue;
        }
        for (k = 0; k < (int)(sizeof(keys) / sizeof(keys[0])); k++)
            if (strcmp(argv[i], keys[k]) == 0 && i + 1 < argc)
                break;
        if (k == (int)(sizeof(keys) / sizeof(keys[0])))
            return fail("unknown or incomplete option %s", argv[i]);
        if (!value_ok(argv[i + 1]))
            return fail("%s: empty, too long, or holds control characters", argv[i]);
        *slots[k] = argv[++i];
    }
    if (!o->id || !policy_id_valid(o->id))
        return fail("--id is required: letters, digits, '-', '_', '.', at most 64");
    return 0;
}

/* The client's JWKS file as one compact line, checked to hold usable keys. */
static char *
read_jwks(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    struct jose_keyset *ks = NULL;
    struct rc_info ri = {0};

    json_decref(j);
    if (!s) {
        fail("%s: not a JSON file", path);
        return NULL;
    }
    if (jose_keyset_parse_jwks(span_str(s), &ks, &ri) != RC_OK || jose_keyset_count(ks) == 0) {
        fprintf(stderr, "authctl client: %s: not a usable JWKS (%s)\n", path,
                ri.msg ? ri.msg : "no signing keys");
        jose_keyset_release(ks);
        free(s);
        return NULL;
    }
    jose_keyset_release(ks);
    return s;
}

static void
line(struct buf *b, const char *k, const char *v)
{
    if (v)
        buf_printf(b, "%s = %s\n", k, v);
}

/* The [client] section for o; secret_hash and jwks already decided. */
static void
client_text(struct buf *b, const struct add_opts *o, const char *hash, const char *jwks)
{
    buf_printf(b,
               "# Written by `authctl client add`; `authctl client rotate-secret|remove %s`"
               " manage it.\n[client %s]\n",
               o->id, o->id);
    line(b, "name", o->name);
    line(b, "type", o->public_ ? "public" : "confidential");
    line(b, "auth_method", o->auth);
    line(b, "secret_hash", hash);
    line(b, "jwks", jwks);
    line(b, "redirect_uris", o->redirects);
    line(b, "post_logout_redirect_uris", o->post_logout);
    line(b, "backchannel_logout_uri", o->backchannel);
    line(b, "frontchannel_logout_uri", o->frontchannel);
    line(b, "grant_types", o->grants);
    line(b, "scopes", o->scopes);
    line(b, "first_party", o->first_party ? "true" : NULL);
    line(b, "id_number_allowed", o->id_number_allowed ? "true" : NULL);
    line(b, "subject_type", o->subject);
    line(b, "sector", o->sector);
    line(b, "min_acr", o->min_acr);
    line(b, "id_token_signed_response_alg", o->id_token_alg);
    line(b, "access_token_signed_response_alg", o->access_token_alg);
}

/* True if name is absent or an algorithm authd signs with. */
static bool
signing_alg_ok(const char *name)
{
    const struct jose_alg_info *ai = name ? jose_alg_info(jose_alg_parse(span_str(name))) : NULL;

    return !name || (ai && ai->signs);
}

static int
cmd_add(const struct config *cfg, int argc, char **argv)
{
    struct add_opts o = {0};
    struct policy *p = NULL;
    char secret[44] = "", hash[7 + 65] = "", name[128], *jwks = NULL;
    bool wants_secret;
    struct buf b;
    int rc = 1;

    if (parse_add(argc, argv, &o) != 0)
        return 2;
    if (!o.auth)
        o.auth = o.public_ ? "none" : "client_secret_basic";
    if (!o.grants)
        o.grants = "authorization_code";
    if (!o.scopes)
        o.scopes = "openid";
    wants_secret =
        strcmp(o.auth, "client_secret_basic") == 0 || strcmp(o.auth, "client_secret_post") == 0;
    if (strcmp(o.auth, "private_key_jwt") == 0 && !o.jwks_file)
        return fail("private_key_jwt needs --jwks-file");
    if (!signing_alg_ok(o.id_token_alg))
        return fail("--id-token-alg: %s is not an algorithm authd signs with", o.id_token_alg);
    if (!signing_alg_ok(o.access_token_alg))
        return fail("--access-token-alg: %s is not an algorithm authd signs with",
                    o.access_token_alg);
    if (load_policy(cfg, &p) != 0)
        return 1;
    buf_init(&b, CLIENT_FILE_MAX);
    if (policy_client(p, span_str(o.id))) {
        fail("client %s exists already", o.id);
        goto out;
    }
    if ((o.jwks_file && !(jwks = read_jwks(o.jwks_file)))
        || (wants_secret && new_secret(secret, hash) != 0))
        goto out;
    client_text(&b, &o, wants_secret ? hash : NULL, jwks);
    snprintf(name, sizeof(name), "client-%s.conf", o.id);
    if (b.len == 0 || install_file(cfg->policy_dir, name, (const char *)b.p) != 0)
        goto out;
    rc = print_secret(o.id, wants_secret ? secret : NULL);
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    free(jwks);
    buf_clear(&b);
    policy_release(p);
    return rc;
}

/* ---- list / show ------------------------------------------------------------------------- */

static json_t *
strlist_json(const struct strlist *l)
{
    json_t *a = json_array();

    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

static json_t *
grants_json(unsigned g)
{
    json_t *a = json_array();

    for (size_t i = 0; policy_grant_at(i); i++)
        if (g & policy_grant_at(i)->bit)
            json_array_append_new(a, json_string(policy_grant_at(i)->name));
    return a;
}

static json_t *
client_json(const struct policy_client *c, bool full)
{
    json_t *o =
        json_pack("{s:s, s:s*, s:s, s:s, s:o, s:o, s:b}", "client_id", c->id, "name", c->name,
                  "type", c->type == CLIENT_PUBLIC ? "public" : "confidential", "auth_method",
                  client_auth_name(c->auth), "grant_types", grants_json(c->grants), "scopes",
                  strlist_json(&c->scopes), "first_party", c->first_party);

    if (!o || !full)
        return o;
    json_object_set_new(o, "redirect_uris", strlist_json(&c->redirect_uris));
    json_object_set_new(o, "post_logout_redirect_uris",
                        strlist_json(&c->post_logout_redirect_uris));
    if (c->backchannel_logout_uri)
        json_object_set_new(o, "backchannel_logout_uri", json_string(c->backchannel_logout_uri));
    json_object_set_new(o, "subject_type",
                        json_string(c->subject_type == SUBJECT_PUBLIC ? "public" : "pairwise"));
    json_object_set_new(o, "sector", json_string(c->sector ? c->sector : c->id));
    json_object_set_new(o, "has_secret", json_boolean(c->has_secret));
    json_object_set_new(o, "has_jwks", json_boolean(c->jwks != NULL));
    json_object_set_new(o, "pkce_required", json_boolean(c->pkce_required));
    json_object_set_new(o, "id_number_allowed", json_boolean(c->id_number_allowed));
    json_object_set_new(o, "strict_scopes", json_boolean(c->strict_scopes));
    return o;
}

static int
print_json(json_t *j)
{
    int rc = j && json_dumpf(j, stdout, JSON_INDENT(2)) == 0 ? 0 : 1;

    printf("\n");
    json_decref(j);
    return rc;
}

static int
cmd_list_show(const struct config *cfg, const char *id)
{
    struct policy *p = NULL;
    const struct policy_client *c;
    json_t *a;
    int rc;

    if (load_policy(cfg, &p) != 0)
        return 1;
    if (id) {
        c = policy_client(p, span_str(id));
        rc = c ? print_json(client_json(c, true)) : fail("no client %s", id);
    } else {
        a = json_array();
        for (size_t i = 0; i < p->nclients; i++)
            json_array_append_new(a, client_json(&p->clients[i], false));
        rc = print_json(a);
    }
    policy_release(p);
    return rc;
}

/* ---- remove / rotate-secret -------------------------------------------------------------- */

/* The path of an authctl-written client file, if it exists. */
static int
own_file(const struct config *cfg, const char *id, char *path, size_t n)
{
    struct stat st;

    if (!policy_id_valid(id))
        return fail("bad client id %s", id);
    if ((size_t)snprintf(path, n, "%s/client-%s.conf", cfg->policy_dir, id) >= n)
        return fail("path too long");
    if (stat(path, &st) != 0)
        return fail("%s was not written by authctl client add (or does not exist); edit the "
                    "policy by hand",
                    id);
    return 0;
}

static int
cmd_remove(const struct config *cfg, const char *id)
{
    char path[4096];

    if (own_file(cfg, id, path, sizeof(path)) != 0)
        return 1;
    if (unlink(path) != 0)
        return fail("cannot remove %s", path);
    return print_json(json_pack("{s:s}", "removed", id));
}

static char *
read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *t = f ? calloc(1, CLIENT_FILE_MAX + 1) : NULL;
    size_t n = t ? fread(t, 1, CLIENT_FILE_MAX + 1, f) : 0;

    if (f)
        fclose(f);
    if (t && n > CLIENT_FILE_MAX) {
        free(t);
        t = NULL;
    }
    return t;
}

/* The file's text with its secret_hash line replaced. */
static int
replace_hash(const char *text, const char *hash, struct buf *out)
{
    const char *s = text;
    int found = 0;

    while (*s) {
        size_t n = strcspn(s, "\n");
        if (strncmp(s, "secret_hash", 11) == 0 && !found) {
            buf_printf(out, "secret_hash = %s\n", hash);
            found = 1;
        } else {
            buf_append(out, s, n);
            buf_append_str(out, "\n");
        }
        s += n + (s[n] == '\n');
    }
    return found ? 0 : -1;
}

static int
cmd_rotate(const struct config *cfg, const char *id)
{
    char path[4096], name[128], secret[44] = "", hash[7 + 65];
    char *text = NULL;
    struct buf b;
    int rc = 1;

    if (own_file(cfg, id, path, sizeof(path)) != 0)
        return 1;
    buf_init(&b, CLIENT_FILE_MAX);
    if (!(text = read_text(path)) || new_secret(secret, hash) != 0) {
        fail("cannot read %s", path);
        goto out;
    }
    if (replace_hash(text, hash, &b) != 0) {
        fail("client %s has no client secret (auth_method without one)", id);
        goto out;
    }
    snprintf(name, sizeof(name), "client-%s.conf", id);
    if (install_file(cfg->policy_dir, name, (const char *)b.p) == 0)
        rc = print_secret(id, secret);
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    free(text);
    buf_clear(&b);
    return rc;
}

static int
cmd_client(struct authctl *ctl, int argc, char **argv)
{
    const struct config *cfg;
    const char *sub = argc > 1 ? argv[1] : "";

    if (!(cfg = ctl->config(ctl)))
        return 1;
    if (strcmp(sub, "add") == 0)
        return cmd_add(cfg, argc, argv);
    if (strcmp(sub, "list") == 0 && argc == 2)
        return cmd_list_show(cfg, NULL);
    if (strcmp(sub, "show") == 0 && argc == 3)
        return cmd_list_show(cfg, argv[2]);
    if (strcmp(sub, "remove") == 0 && argc == 3)
        return cmd_remove(cfg, argv[2]);
    if (strcmp(sub, "rotate-secret") == 0 && argc == 3)
        return cmd_rotate(cfg, argv[2]);
    fprintf(stderr,
            "usage: authctl -c CONFIG client add --id ID [--public] [--first-party]\n"
            "           [--grant-types authorization_code,refresh_token,client_credentials]\n"
            "           [--redirect-uris URI[,URI...]] [--post-logout-redirect-uris URI,...]\n"
            "           [--scopes openid,profile,...] [--auth-method client_secret_basic|\n"
            "           client_secret_post|private_key_jwt|none] [--jwks-file FILE]\n"
            "           [--name NAME] [--subject-type pairwise|public] [--sector S]\n"
            "           [--backchannel-logout-uri URI] [--frontchannel-logout-uri URI]\n"
            "           [--id-number-allowed] [--min-acr ACR] [--id-token-alg "
            "ES256|RS256|PS256|SM2SM3]\n"
            "           [--access-token-alg ES256|RS256|PS256|SM2SM3]\n"
            "       authctl -c CONFIG client list | show ID | remove ID | rotate-secret ID\n");
    return 2;
}

AUTHCTL_COMMAND(client,
                "client add --id ID [--grant-types ...] [--redirect-uris ...] [--public] "
                "[--first-party] [--scopes ...] [--auth-method ...] | client list | client show "
                "ID | client remove ID | client rotate-secret ID",
                cmd_client)
