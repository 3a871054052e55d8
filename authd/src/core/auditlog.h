/* The audit log's records and their chain (docs/audit.md). A record is one line of JSON
 * with sorted keys and no spaces:
 *
 *     {"ev":"claims.id_number","f":{...},"hash":"...","node":"...","prev":"...","seq":7,"ts":...}
 *
 * `hash` is base64url(SHA-256(the record's canonical JSON without "hash")) and `prev` the
 * hash of record seq-1 (for seq 1: 43 'A's, the hash of nothing). A checkpoint is a record
 * whose ev is "audit.checkpoint" and whose f.jws is a compact JWS (typ
 * "audit-checkpoint+jwt", ES256, the audit key) over {"seq": S, "hash": H, "iat": T}: it
 * signs the chain up to record S. Pure: no store, no files. */
#ifndef AUTHD_CORE_AUDITLOG_H
#define AUTHD_CORE_AUDITLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/span.h"

struct jose_keyset;

#define AUDIT_HASH_LEN       43 /* base64url of 32 bytes */
#define AUDIT_MAX_LINE       4096
#define AUDIT_MAX_FIELDS     16
#define AUDIT_EV_CHECKPOINT  "audit.checkpoint"
#define AUDIT_CHECKPOINT_TYP "audit-checkpoint+jwt"

extern const char auditlog_genesis[AUDIT_HASH_LEN + 1];

/* One record to write. kv: nkv/2 name, value pairs of strings (f). */
struct auditlog_in {
    uint64_t seq;
    int64_t ts;
    const char *node, *ev, *prev;
    const char *const *kv;
    size_t nkv;
};

/* Builds the line of in (no newline) and its hash. RC_OK: *line in a, hash NUL-terminated.
 * RC_MALFORMED (a field name or value that is not UTF-8, an odd nkv, a prev that is not a
 * hash), RC_TOO_LARGE (past AUDIT_MAX_LINE or AUDIT_MAX_FIELDS), RC_NOMEM. */
enum rc auditlog_build(struct arena *a, const struct auditlog_in *in, struct span *line,
                       char hash[AUDIT_HASH_LEN + 1]);

/* One record read back (the citizen's access log reads its own records). Strings in the
 * arena. */
struct auditlog_rec {
    uint64_t seq;
    int64_t ts;
    const char *ev;
    size_t nf;                           /* fields: f[2 i] its name, f[2 i + 1] its value */
    const char *f[2 * AUDIT_MAX_FIELDS]; /* sorted by name, as written */
};

/* Reads a line auditlog_build wrote (no hash check: verify does that). RC_OK; RC_MALFORMED
 * (not such a record: not JSON, no integer seq >= 1 or ts, no ev, f not an object of strings,
 * more than AUDIT_MAX_FIELDS, a NUL), RC_NOMEM. */
enum rc auditlog_read(struct arena *a, struct span line, struct auditlog_rec *out);
/* The value of field name in r, or NULL. */
const char *auditlog_field(const struct auditlog_rec *r, const char *name);

/* What verifying an exported log found. */
struct auditlog_report {
    uint64_t records;       /* lines read and found intact */
    uint64_t checkpoints;   /* checkpoints whose signature and position verified */
    uint64_t signed_upto;   /* the highest seq a verified checkpoint covers */
    uint64_t unsigned_tail; /* records after the last checkpoint record */
    uint64_t bad_seq;       /* 0: the chain is intact; else the first bad record's seq
                               (or, for a line that does not parse, the seq expected there) */
    uint64_t bad_line;      /* its line number in the file, from 1 */
    char why[128];          /* what is wrong there, for the operator */
};

/* Verifies an exported log (lines as auditlog_build wrote them, in order) against pub,
 * the audit key's public part: every line parses, its hash is its content's, its seq is
 * the one expected (a gap: "missing"; lower: "out of order"), its prev is the hash before
 * it, every checkpoint's JWS verifies and names the hash of the record it covers. RC_OK:
 * intact (rep says how much is signed). RC_DENIED: rep->bad_* and why name the first
 * problem. RC_NOMEM. */
enum rc auditlog_verify(struct span text, const struct jose_keyset *pub,
                        struct auditlog_report *rep);

#endif
