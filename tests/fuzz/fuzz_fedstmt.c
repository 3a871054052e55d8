/* libFuzzer target: OpenID Federation entity statement claims (core/fedstmt.c
 * fedstmt_parse, as either kind, at a fixed clock 1800000000) and the metadata policy
 * language (core/fedpolicy.c): a statement that parses has its metadata_policy merged into
 * an empty policy and applied to its own metadata, its constraints checked; the input is
 * also merged as a bare policy. Invariants beyond not crashing: a parsed statement has iss,
 * sub and a jwks object, iss = sub exactly for a configuration; a merge that succeeds
 * leaves a policy fedpolicy_check accepts, and merging the same policy again succeeds and
 * changes nothing (every combination rule is idempotent). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fedpolicy.h"
#include "core/fedstmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000

static void
policy_invariants(const json_t *p, json_t *metadata)
{
    json_t *acc = json_object(), *once;

    if (fedpolicy_merge(acc, p, NULL) == RC_OK) {
        if (fedpolicy_check(acc, NULL) != RC_OK)
            abort();
        once = json_deep_copy(acc);
        if (fedpolicy_merge(acc, p, NULL) != RC_OK || !json_equal(once, acc))
            abort();
        json_decref(once);
        if (metadata)
            (void)fedpolicy_apply(acc, metadata, NULL);
    }
    json_decref(acc);
}

static void
statement(const uint8_t *data, size_t size, enum fedstmt_kind kind)
{
    struct fedstmt st = {0};
    const char *ids[1];
    json_t *md;

    if (fedstmt_parse(span_of(data, size), kind, NOW, &st, NULL) != RC_OK)
        return;
    if (!st.iss || !st.sub || !json_is_object(st.jwks))
        abort();
    if ((strcmp(st.iss, st.sub) == 0) != (kind == FEDSTMT_CONFIGURATION))
        abort();
    md = st.metadata ? json_deep_copy(st.metadata) : json_object();
    ids[0] = st.sub;
    (void)fedpolicy_constraints(st.constraints, 0, ids, 1, md, NULL);
    if (st.metadata_policy)
        policy_invariants(st.metadata_policy, md);
    json_decref(md);
    fedstmt_clear(&st);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *p;

    statement(data, size, FEDSTMT_CONFIGURATION);
    statement(data, size, FEDSTMT_SUBORDINATE);
    if (size <= JOSE_MAX_COMPACT
        && (p = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL))) {
        if (json_is_object(p))
            policy_invariants(p, NULL);
        json_decref(p);
    }
    return 0;
}
