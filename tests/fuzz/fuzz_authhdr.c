/* libFuzzer target: the Authorization header (Basic, RFC 7617 / RFC 6749 §2.3.1, through
 * client_auth_parse; Bearer, RFC 6750 §2.1, through bearer_parse) together with the client
 * authentication fields of a form body. The input is split at the first newline: the
 * header value before it (absent if there is no newline), the form body after it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bearer.h"
#include "flow/client_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : 0;
    struct span body = nl ? span_of(nl + 1, size - hlen - 1) : span_of(data, size);
    struct client_creds cr;
    struct span tok;
    struct arena a;
    struct form f;
    char *hdr = NULL;

    arena_init(&a, 1 << 20);
    if (nl && (hdr = arena_strndup(&a, (const char *)data, hlen)))
        (void)bearer_parse(span_of(data, hlen), &tok);
    if (form_parse(&a, body.p, body.len, &f, NULL) == RC_OK)
        (void)client_auth_parse(&a, hdr, &f, &cr, NULL);
    arena_clear(&a);
    return 0;
}
