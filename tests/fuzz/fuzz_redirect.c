/* libFuzzer target: redirect URI matching (authz_redirect_match, RFC 9700 §4.1.3,
 * RFC 8252 §7.3) against a fixed registered list; odd-length inputs allow any loopback
 * port. A match must be byte-for-byte, except for the loopback port. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/authz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const registered[] = {
    "https://rp.example/cb",
    "https://rp.example/cb?tenant=1",
    "http://127.0.0.1/cb",
    "http://[::1]:8000/cb",
    "com.example.app:/oauth2redirect",
    "https://xn--fiqs8s.example/%E5%9B%9E",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *m = NULL;
    bool any_port = size & 1;
    enum rc rc = authz_redirect_match(registered, sizeof(registered) / sizeof(registered[0]),
                                      any_port, span_of(data, size), &m);

    if (rc == RC_OK && !m)
        abort();
    /* without the loopback rule, a match is an exact copy of a registered value */
    if (rc == RC_OK && !any_port && (strlen(m) != size || memcmp(m, data, size) != 0))
        abort();
    if (rc == RC_OK && (memchr(data, '#', size) || memchr(data, 0, size)))
        abort();
    return 0;
}
