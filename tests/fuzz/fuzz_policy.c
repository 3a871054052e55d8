/* libFuzzer target: the policy parser (conf/policy.c). */
#include <stdint.h>

#include "conf/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policy *p = NULL;
    struct config_error err;

    if (policy_parse("fuzz.conf", (const char *)data, size, &p, &err) == RC_OK) {
        for (size_t i = 0; i < p->nclients; i++)
            (void)policy_client(p, span_str(p->clients[i].id));
        policy_release(p);
    }
    return 0;
}
