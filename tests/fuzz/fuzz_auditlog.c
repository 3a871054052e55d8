/* libFuzzer target: an exported audit log handed to `authctl audit verify` (any bytes: the
 * file is untrusted). Invariants: never crashes; RC_OK only when every line was counted,
 * RC_DENIED names a line within the input. No key: a checkpoint never verifies. */
#include <stdint.h>
#include <stdlib.h>

#include "core/auditlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct auditlog_report rep;
    enum rc rc = auditlog_verify(span_of(data, size), NULL, &rep);
    size_t lines = 0;

    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    lines += size && data[size - 1] != '\n';
    if (rc == RC_OK && rep.records != lines)
        abort();
    if (rc == RC_DENIED && (rep.bad_line == 0 || rep.bad_line > lines))
        abort();
    if (rc == RC_OK && rep.checkpoints)
        abort();
    return 0;
}
