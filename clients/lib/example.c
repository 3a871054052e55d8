/* Validates an access token with libauthd-client, as a relying module would:
 *
 *   example ISSUER AUDIENCE TOKEN [SCOPES [ACR]]
 *
 * prints the subject, client, scope and assurance of a valid token, or the reason it was
 * refused; exits 0 only for a valid token. Build against an installed library with
 *   cc example.c $(pkg-config --cflags --libs authd-client)            (shared)
 *   cc example.c $(pkg-config --static --cflags --libs authd-client)   (static) */
#include <stdio.h>
#include <string.h>

#include "authd_client.h"

int
main(int argc, char **argv)
{
    struct authd_client *c = NULL;
    struct authd_token_info info = {0};
    enum authd_status st;

    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s ISSUER AUDIENCE TOKEN [SCOPES [ACR]]\n", argv[0]);
        return 2;
    }
    const char *aud[] = {argv[2], NULL};
    struct authd_client_config cfg = {
        .issuer = argv[1],
        .audiences = aud,
        .leeway_s = 30,
        .allow_http = strncmp(argv[1], "http://127.0.0.1:", 17) == 0, /* a dev authd */
        .init_curl_global = 1, /* this program has no threads and no other libcurl user */
    };
    struct authd_validate_opts opts = {
        .scope = argc > 4 ? argv[4] : NULL,
        .acr = argc > 5 ? argv[5] : NULL,
    };

    if ((st = authd_client_new(&cfg, &c)) != AUTHD_OK) {
        fprintf(stderr, "config: %s\n", authd_status_name(st));
        goto out;
    }
    st = authd_client_validate(c, argv[3], strlen(argv[3]), &opts, &info);
    if (st == AUTHD_OK)
        printf("valid: sub=%s client_id=%s scope=%s acr=%s\n", info.sub, info.client_id,
               info.scope ? info.scope : "", info.acr ? info.acr : "");
    else
        printf("refused: %s\n", authd_status_name(st));
    authd_token_info_clear(&info);
out:
    authd_client_free(c);
    return st == AUTHD_OK ? 0 : 1;
}
