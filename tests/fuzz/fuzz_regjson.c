/* libFuzzer target: the JSON body of POST /api/register (flow/account_json.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/account_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct register_req req;
    struct arena a;

    arena_init(&a, 1 << 20);
    if (account_json_parse(&a, span_of(data, size), &req, NULL) == RC_OK
        && (!req.id_number.p || !req.password.p || memchr(req.password.p, 0, req.password.len)))
        abort();
    arena_clear(&a);
    return 0;
}
