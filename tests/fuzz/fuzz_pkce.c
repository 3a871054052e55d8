/* libFuzzer target: PKCE (core/pkce.c, RFC 7636 §4.1, §4.2, §4.6) and the authorization
 * endpoint's challenge check (core/authz.c). The input is split at the first newline:
 * code_challenge before it, code_verifier after it (no newline: both are the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/authz.h"
#include "core/pkce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    struct span ch = nl ? span_of(data, (size_t)(nl - data)) : span_of(data, size);
    struct span ver = nl ? span_of(nl + 1, size - ch.len - 1) : span_of(data, size);
    enum rc rc = pkce_verify(ch, ver);

    /* a verifier that matches must have the documented shape, and so must its challenge */
    if (rc == RC_OK
        && (ver.len < PKCE_VERIFIER_MIN || ver.len > PKCE_VERIFIER_MAX || !pkce_challenge_valid(ch)))
        abort();
    (void)pkce_challenge_valid(ver);
    return 0;
}
