/* The file population base: a compiled, memory-mapped, read-only index of a population
 * snapshot (docs/population.md has the format). It holds, per person, the first 17 digits
 * of the ID number packed into 57 bits with the status, and the first 8 bytes of
 * HMAC-SHA-256(name key, 0x01 || normalized name): no plaintext names. Birth date, sex and
 * region come from the number itself.
 *
 * Layout (little-endian): a 128-byte header, count 16-byte records sorted by number, then
 * one 8-byte fence (the number of record i*POPIDX_FENCE) per POPIDX_FENCE records, so a
 * lookup binary-searches the small fence array (cache resident) and then one block. */
#ifndef AUTHD_ADAPT_POPBASE_FILE_H
#define AUTHD_ADAPT_POPBASE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port/popbase.h"
#include "util/rc.h"

#define POPIDX_MAGIC       "AUTHDPOP"
#define POPIDX_VERSION     1
#define POPIDX_HEADER_SIZE 128
#define POPIDX_RECORD_SIZE 16
#define POPIDX_FENCE       64
#define POPIDX_HASH_LEN    8
#define POPIDX_KEY_LEN     32
#define POPIDX_FP_LEN      16
#define POPIDX_MAX_RECORDS 2000000000ull

/* Creates a new random name key (POPIDX_KEY_LEN bytes from RAND_bytes) at path with mode
 * 0600, failing with RC_CONFLICT if the file exists. RC_UNAVAILABLE on I/O or RNG
 * failure. */
enum rc popbase_file_key_create(const char *path, struct rc_info *ri);

/* Opens the index at path with the name key at key_path. RC_OK: *out owned by the caller
 * (popbase_free). RC_NOT_FOUND: no such file; RC_MALFORMED: not an index, another version,
 * truncated or its header corrupted; RC_DENIED: compiled with another name key;
 * RC_UNAVAILABLE: I/O error. The file is mapped, not read: opening costs the same for any
 * size. */
enum rc popbase_file_open(const char *path, const char *key_path, struct popbase **out,
                          struct rc_info *ri);

/* Reads every record and checks the data checksum, the order and the fences. RC_OK or
 * RC_MALFORMED. Costs a full read of the file (for `authctl popbase check`). */
enum rc popbase_file_check(struct popbase *p, struct rc_info *ri);

/* Number of records, and the 17-digit number of record i (for benchmarks and tests). */
uint64_t popbase_file_count(const struct popbase *p);
uint64_t popbase_file_number_at(const struct popbase *p, uint64_t i);

/* Compiling a CSV (core/popcsv format) into an index. */
struct popbase_compile_opts {
    bool skip_bad;      /* drop bad lines and later duplicates instead of failing */
    uint32_t today_ymd; /* for the birth-date check */
    /* Called now and then with the bytes read so far (may be NULL). */
    void (*progress)(void *arg, uint64_t done, uint64_t total);
    /* Called for each bad line or duplicate number (may be NULL); never given a value
     * from the line. For a duplicate, first_line is the line it repeats, else 0. */
    void (*report)(void *arg, uint64_t line, uint64_t first_line, const char *field,
                   const char *msg);
    void *arg;
};

struct popbase_compile_stats {
    uint64_t lines;      /* record lines read (the header not counted) */
    uint64_t records;    /* records written */
    uint64_t bad;        /* lines that did not parse */
    uint64_t duplicates; /* lines repeating an earlier number */
};

/* Reads csv_path, writes the index to idx_path (through a temporary file renamed into
 * place, mode 0640) keyed with the name key at key_path. RC_OK: written. RC_MALFORMED:
 * bad lines or duplicates without skip_bad (nothing written; each one reported);
 * RC_NOT_FOUND: no CSV or key file; RC_UNAVAILABLE: I/O error; RC_NOMEM. st is filled on
 * every return. */
enum rc popbase_file_compile(const char *csv_path, const char *idx_path, const char *key_path,
                             const struct popbase_compile_opts *o, struct popbase_compile_stats *st,
                             struct rc_info *ri);

#endif
