/* libFuzzer target: the acr parts of an authorization request (core/authz.c, core/loa.c):
 * the OIDC `claims` parameter (OIDC Core §5.5), acr_values picking, prompt and max_age. */
#include <stdint.h>
#include <stdlib.h>

#include "core/authz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct span in = span_of(data, size), values;
    struct loa reach = {IAL3, AAL1}, got;
    bool essential = false;
    unsigned prompt = 0;
    int64_t max_age = 0;
    struct arena a;

    arena_init(&a, 1 << 20);
    if (authz_claims_acr(&a, in, &values, &essential, NULL) == RC_OK) {
        (void)authz_acr_pick(values, reach, &got);
        (void)authz_scopes_covered(values, SPAN("openid profile"));
    }
    (void)authz_acr_pick(in, reach, &got);
    (void)loa_pick(in, &got);
    (void)loa_parse(in, &got);
    if (authz_prompt_parse(in, &prompt, NULL) == RC_OK && (prompt & AUTHZ_PROMPT_NONE)
        && prompt != AUTHZ_PROMPT_NONE)
        abort(); /* OIDC Core §3.1.2.1: none stands alone */
    if (authz_max_age_parse(in, &max_age) == RC_OK
        && (max_age < 0 || max_age > (int64_t)AUTHZ_MAX_AGE_MAX))
        abort();
    arena_clear(&a);
    return 0;
}
