/* libFuzzer target: an exported audit log handed to `authctl audit verify` (any bytes: the
 * file is untrusted). Invariants: never crashes; RC_OK only when every line was counted,
 * RC_DENIED names a line within the input. No key: a checkpoint never verifies. The input
 * read as one record (auditlog_read, the citizen's access log) never crashes either, and
 * what it reads is a record: seq >= 1, an event name, at most AUDIT_MAX_FIELDS fields sorted
 * by name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

    struct arena a;
    struct auditlog_rec r;
    arena_init(&a, 0);
    if (auditlog_read(&a, span_of(data, size), &r) == RC_OK) {
        if (r.seq < 1 || !r.ev || r.nf > AUDIT_MAX_FIELDS)
            abort();
        for (size_t i = 1; i < r.nf; i++) /* sorted by name, each name once */
            if (strcmp(r.f[2 * (i - 1)], r.f[2 * i]) >= 0)
                abort();
    }
    arena_clear(&a);
    return 0;
}
