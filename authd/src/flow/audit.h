/* The tamper-evident audit log (docs/audit.md): every release of an ID number, and later
 * every hotline lookup, consent answer, card login, staff action and admin command, is
 * appended to one hash chain in the store (core/auditlog.h: each record carries the hash
 * of the one before), durably (STORE_DURABLE) before the action completes; after every
 * record whose seq is a multiple of checkpoint_every (whichever node wrote it), and after a
 * node's first record once checkpoint_s seconds have passed since its last checkpoint, a
 * checkpoint record signs the chain so far with the audit key (ES256, a key of its own). Any number
 * of nodes append to the same chain: a record is written only if its seq is still free (an NX put,
 * atomic with the new head), so two nodes never fork it; a node that loses the race rereads the
 * head and tries again. `authctl audit export` writes the chain to a file, `authctl audit verify`
 * checks a file offline. */
#ifndef AUTHD_FLOW_AUDIT_H
#define AUTHD_FLOW_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "flow/app.h"
#include "util/rc.h"

struct arena;
struct audit;
struct auditlog_rec;
struct jose_keyset;
struct store;

struct audit_opts {
    uint32_t checkpoint_every; /* a checkpoint after each seq that is a multiple (0: 100) */
    uint32_t checkpoint_s;     /* at most this long between checkpoints while appending */
};

/* Loads the audit key (a private EC P-256 JWK) from key_path; with create, a missing file
 * is made (mode 0600). RC_OK: *out owned by the caller (audit_free). RC_NOT_FOUND (no
 * file and not create), RC_MALFORMED (not such a key), RC_INTERNAL (cannot write it). */
enum rc audit_open(const char *key_path, bool create, const struct audit_opts *o,
                   struct audit **out, struct rc_info *ri);
void audit_free(struct audit *au);
/* The key set holding the audit key (its public part verifies checkpoints). */
const struct jose_keyset *audit_keyset(const struct audit *au);

/* Appends record ev with nkv/2 (name, value) string fields to app's chain, durably, and a
 * checkpoint after it when one is due. No ID number or name goes in unmasked (callers
 * mask). app->audit NULL: nothing is written, RC_OK (unit tests without a log). RC_OK once
 * stored; RC_UNAVAILABLE (the store did not take it: the caller fails the action),
 * RC_MALFORMED / RC_TOO_LARGE (fields), RC_NOMEM. */
enum rc audit_append(struct app *app, const char *ev, const char *const *kv, size_t nkv);
/* The per-account index (docs/audit.md, What the citizen sees): a record with a non-empty
 * `acct` field is also indexed under that account, in the same atomic batch as the record
 * and the head, so the citizen's access log reads their records without scanning the chain.
 * The index keeps the last AUDIT_ACCT_KEEP records of an account (older ones stay in the
 * chain and its exports). */
#define AUDIT_ACCT_KEEP 1000
#define AUDIT_ACCT_PAGE 50 /* records in one audit_account_records page, at most */

/* Up to max (1..AUDIT_ACCT_PAGE) records of account acct with seq < before (0: from the
 * newest), newest first, into *out (in a); *older is where the next page starts (its
 * `before`: the last seq of this page), 0 when no older record is indexed. Only records whose
 * f.acct is acct are returned (an index entry that names another account's record, or one gone from
 * the store, is skipped). RC_OK (*n may be 0), RC_MALFORMED (acct empty, max out of range),
 * RC_UNAVAILABLE, RC_NOMEM. */
enum rc audit_account_records(struct store *s, struct arena *a, const char *acct, uint64_t before,
                              size_t max, struct auditlog_rec **out, size_t *n, uint64_t *older);

/* Appends a checkpoint now (authctl audit checkpoint, and a clean stop). */
enum rc audit_checkpoint(struct app *app);

/* Writes every record of the chain in s, in order, one per line, to out; *n records.
 * A record that is gone from the store is skipped (verify then reports it missing).
 * RC_OK, RC_NOT_FOUND (no chain yet: nothing written), RC_UNAVAILABLE, RC_INTERNAL (a write
 * to out failed). */
enum rc audit_export(struct store *s, FILE *out, uint64_t *n, struct rc_info *ri);

/* Indexes every record of the chain in s under its account again (a chain written before
 * the per-account index, or an index lost): idempotent, any time, with nodes appending.
 * *n: the records read. RC_OK, RC_NOT_FOUND (no chain yet), RC_UNAVAILABLE. */
enum rc audit_reindex(struct store *s, uint64_t *n, struct rc_info *ri);

#endif
