/* Re-sealing every sealed record under the current data key: the walk that follows
 * `authctl keys rotate-data` (docs/keys.md, "Personal data keys"). Without it a record is
 * re-sealed only when its citizen next logs in (flow/account.h, account_reseal), so the
 * records of citizens who never come back would need the old key forever.
 *
 * What it re-seals: the personal fields of every account record (authd:acct:{ACCT}:
 * atrest_account_fields) and the seed of every TOTP record (authd:totp:{ACCT}, field seed),
 * sealed under an older key id or (account fields of an old version) in plaintext. Not
 * re-sealed: a TOTP enrolment not yet confirmed (authd:totp:{ACCT}:new), which expires within
 * TOTP_ENROL_TTL_S of the rotation.
 *
 * How it runs beside the live daemon, without downtime: it walks the keys with store_scan, a
 * page at a time, and rewrites a record with store_rec_cas against the values it read: a
 * login or a phone verification that writes the record in between wins, the walk reads the
 * record again (REWRAP_TRIES times) and finds it current or re-seals what it now holds.
 * Nothing a flow writes is lost; a record the walk cannot open (another master key, changed
 * bytes) is counted as failed, logged with its account id (a keyed hash) and left as it is.
 *
 * Progress: the state below is saved in the store after every page (authd:datakey:{walk}),
 * so a walk that is interrupted (Ctrl-C, a crash, a Redis failover) goes on from the last
 * saved cursor when started again (store_scan's cursor is valid across processes); a walk
 * for another key id (a rotation since) starts from the beginning. Pacing is the caller's:
 * rewrap_step does one page, authctl sleeps between pages to hold the rate it was given.
 *
 * Store key (docs/storage.md): authd:datakey:{walk}, a record: kid, cursor, keys, records,
 * resealed, current, retried, failed, started, updated (unix s), done ("1"); no TTL, a few
 * hundred bytes; written by authctl only. */
#ifndef AUTHD_FLOW_REWRAP_H
#define AUTHD_FLOW_REWRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/app.h"
#include "flow/atrest.h"

#define REWRAP_TRIES 5 /* reads of one record whose compare-and-swap lost to a live write */

struct rewrap_state {
    char kid[ATREST_KID_MAX]; /* the key id the walk moves records to */
    uint64_t cursor;          /* store_scan's, where the next page starts */
    uint64_t keys;            /* keys the scan answered (every kind) */
    uint64_t records;         /* account and TOTP records looked at */
    uint64_t resealed;        /* records rewritten under kid */
    uint64_t current;         /* records found under kid already (or empty) */
    uint64_t retried;         /* compare-and-swaps lost to a live write, then tried again */
    uint64_t failed;          /* records left as they were (do not open, or kept changing) */
    int64_t started, updated; /* unix s */
    bool done;                /* the scan came back to its start */
};

/* The saved state. RC_OK; RC_NOT_FOUND (no walk ever); RC_UNAVAILABLE; RC_INTERNAL (the
 * saved record is not a state). */
enum rc rewrap_load(struct app *app, struct arena *a, struct rewrap_state *st);

/* A fresh state for the current key id (not saved): for a check. RC_OK, RC_UNAVAILABLE,
 * RC_INTERNAL. */
enum rc rewrap_fresh(struct app *app, struct arena *a, struct rewrap_state *st);

/* The state to go on with: the saved one when it is for the current key id, else a fresh
 * one for it (saved). *resumed says which. RC_OK, RC_UNAVAILABLE, RC_INTERNAL. */
enum rc rewrap_begin(struct app *app, struct arena *a, struct rewrap_state *st, bool *resumed);

/* One page: scans up to count keys from st->cursor, re-seals the sealed records among them
 * (check: only counts the ones not under st->kid, writes nothing), saves st (not when check).
 * A rotation since rewrap_begin restarts the walk for the new key id. *seen (may be NULL):
 * records looked at on this page. RC_OK (st->done when the walk is over); RC_UNAVAILABLE
 * (the store failed: st is as last saved; call again to go on); RC_NOMEM. */
enum rc rewrap_step(struct app *app, struct arena *a, struct rewrap_state *st, uint32_t count,
                    bool check, uint32_t *seen);

#endif
