/* Citizen ID numbers, GB 11643-1999: 6-digit GB/T 2260 county code, 8-digit birth date
 * (YYYYMMDD), 3-digit sequence code (odd for men, even for women) and an ISO 7064
 * MOD 11-2 check character ('0'-'9' or 'X'). Pure: no clock (today is passed in). */
#ifndef AUTHD_CORE_IDNUM_H
#define AUTHD_CORE_IDNUM_H

#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

#define IDNUM_LEN   18
#define IDNUM15_LEN 15
/* Earliest accepted birth date. GB 11643's own example 440524188001010014 is born in
 * 1880, so numbers born before 1900 are accepted with IDNUM_WARN_BEFORE_1900. */
#define IDNUM_MIN_YMD  18000101u
#define IDNUM_WARN_YMD 19000101u

/* A parsed, normalized number. */
struct idnum {
    char text[IDNUM_LEN + 1]; /* 17 digits + check char, 'X' upper case; NUL-terminated */
    uint32_t region;          /* county code, 110105 */
    uint32_t birth_ymd;       /* 19491231 */
    uint16_t seq;             /* sequence code, 0-999 */
    char sex;                 /* 'M' (odd sequence code) or 'F' */
};

/* Why a number was rejected; each has a name and a static message. */
enum idnum_reason {
    IDNUM_OK = 0,
    IDNUM_LENGTH,      /* not 18 characters (15 for idnum_convert15) */
    IDNUM_CHARACTER,   /* a non-digit among the first 17, or a check char not 0-9/X/x */
    IDNUM_CHECK_DIGIT, /* ISO 7064 MOD 11-2 check character wrong */
    IDNUM_DATE,        /* birth date not a calendar date, before 1800, or after today */
    IDNUM_PROVINCE,    /* first two digits not a GB/T 2260 province-level code */
    IDNUM__REASONS
};

/* Warnings: the number is accepted, but an operator may want to know. */
#define IDNUM_WARN_COUNTY_UNKNOWN 0x1u /* county code not in the current GB/T 2260 table */
#define IDNUM_WARN_BEFORE_1900    0x2u /* born before 1900-01-01 */

struct idnum_info {
    uint32_t today_ymd;       /* in: today (YYYYMMDD, China time) from the clock port;
                                 0 skips the not-in-the-future check */
    enum idnum_reason reason; /* out: IDNUM_OK or why it was rejected */
    unsigned warnings;        /* out: IDNUM_WARN_* on success */
    struct rc_info ri;        /* out: field "id_number" and the reason's message */
};

/* Parses and validates an 18-character number (checks, in order: length, characters,
 * province, date, check digit). RC_OK: *out filled ('x' normalized to 'X') and
 * info->warnings set. RC_MALFORMED: info->reason and info->ri say why, *out untouched.
 * info may be NULL (then the date is not checked against today). */
enum rc idnum_parse(struct span in, struct idnum *out, struct idnum_info *info);

/* Converts a 15-digit legacy number (6 county, YYMMDD, 3 sequence; all born 19YY) into its
 * 18-digit form and parses that. Same results as idnum_parse; IDNUM_LENGTH if not 15. */
enum rc idnum_convert15(struct span in, struct idnum *out, struct idnum_info *info);

/* The check character ('0'-'9' or 'X') for 17 ASCII digits. */
char idnum_check_char(const char digits17[17]);

/* "ok", "length", "character", "check_digit", "date", "province". */
const char *idnum_reason_name(enum idnum_reason r);
/* A static English sentence for the reason. */
const char *idnum_reason_message(enum idnum_reason r);

/* The first 17 digits as an integer (< 10^17): a compact key for indexes. */
uint64_t idnum_key(const struct idnum *id);

/* True if y-m-d is a real Gregorian calendar date. */
int idnum_date_valid(uint32_t y, uint32_t m, uint32_t d);

/* The calendar date (YYYYMMDD) at unix time t shifted by offset_s seconds (China: 8 h). */
uint32_t idnum_ymd_from_unix(int64_t t, int32_t offset_s);

#endif
