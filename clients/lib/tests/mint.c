/* Test helper: signs tokens with a daemon's own key files, through port/keys.h, so the
 * client library can be tested against authd's real keys before /token exists.
 *
 *   mint-token KEYS_DIR sign CLAIMS_JSON [TYP]   compact JWS (typ default at+jwt, "-": none)
 *   mint-token KEYS_DIR jwks                     the published JWKS, as /jwks serves it
 *   mint-token KEYS_DIR kid                      the current ES256 kid
 *
 * Never installed: it reads private keys. */
#include <stdio.h>
#include <string.h>

#include "core/jose.h"
#include "port/keys.h"

static int
run(struct keys *k, int argc, char **argv, struct arena *a)
{
    struct jose_keyset *ks = NULL;
    struct span out = {0};
    struct rc_info ri = {0};
    const char *typ = "at+jwt";
    enum rc rc;

    if (strcmp(argv[2], "jwks") == 0) {
        rc = keys_published(k, a, &out);
    } else {
        if ((rc = keys_current(k, &ks)) != RC_OK)
            goto out;
        if (strcmp(argv[2], "kid") == 0) {
            out = span_str(jose_keyset_signing_kid(ks, JOSE_ES256));
        } else if (strcmp(argv[2], "sign") == 0 && argc >= 4) {
            if (argc > 4)
                typ = strcmp(argv[4], "-") == 0 ? NULL : argv[4];
            rc = jose_sign(ks, JOSE_ES256, typ, span_str(argv[3]), a, &out, &ri);
        } else {
            rc = RC_MALFORMED;
        }
    }
out:
    jose_keyset_release(ks);
    if (rc != RC_OK) {
        fprintf(stderr, "mint-token: %s %s\n", rc_name(rc), ri.msg ? ri.msg : "");
        return 1;
    }
    printf("%.*s\n", (int)out.len, (const char *)out.p);
    return 0;
}

int
main(int argc, char **argv)
{
    struct keys_error err;
    struct keys *k = NULL;
    struct arena a;
    int ret;

    if (argc < 3) {
        fprintf(stderr, "usage: mint-token KEYS_DIR sign CLAIMS [TYP] | jwks | kid\n");
        return 2;
    }
    if (keys_open(argv[1], &k, &err) != RC_OK) {
        fprintf(stderr, "%s\n", err.text);
        return 1;
    }
    arena_init(&a, 0);
    ret = run(k, argc, argv, &a);
    arena_clear(&a);
    keys_free(k);
    return ret;
}
