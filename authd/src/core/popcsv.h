/* The population CSV format (docs/population.md): one header line
 *     id_number,name,sex,birth_date,region,status
 * then one record per line: an 18-character ID number, the name (UTF-8), sex M or F,
 * birth date YYYY-MM-DD, the 6-digit county code, and normal | deceased | cancelled.
 * Fields may be quoted ("..." with "" for a quote); sex, birth_date and region may be
 * empty, and when present must agree with the ID number. Lines end in \n or \r\n.
 * Pure: the caller splits the input into lines and passes today's date. */
#ifndef AUTHD_CORE_POPCSV_H
#define AUTHD_CORE_POPCSV_H

#include <stdint.h>

#include "core/idnum.h"
#include "core/name.h"
#include "util/rc.h"
#include "util/span.h"

#define POPCSV_MAX_LINE 512 /* bytes, including the line terminator */
#define POPCSV_HEADER   "id_number,name,sex,birth_date,region,status"

enum pop_status {
    POP_STATUS_NORMAL = 0,
    POP_STATUS_DECEASED = 1,
    POP_STATUS_CANCELLED = 2,
};

/* One parsed record. */
struct pop_row {
    struct idnum id;
    struct name_norm name; /* normalized by core/name */
    enum pop_status status;
};

/* Checks the header line (a UTF-8 byte order mark before it is allowed). RC_OK, or
 * RC_MALFORMED / RC_TOO_LARGE with ri saying why. */
enum rc popcsv_header(struct span line, struct rc_info *ri);

/* Parses one record line (with or without its terminator). RC_OK: *out filled.
 * RC_TOO_LARGE: over POPCSV_MAX_LINE or the name too long; RC_MALFORMED otherwise; ri
 * names the field and the reason (never the value). today_ymd: see idnum_info. */
enum rc popcsv_row(struct span line, uint32_t today_ymd, struct pop_row *out, struct rc_info *ri);

/* "normal", "deceased", "cancelled". */
const char *pop_status_name(enum pop_status s);

#endif
