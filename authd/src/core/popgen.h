/* A deterministic synthetic population for demos, tests and benchmarks: valid ID numbers
 * (county codes from the GB/T 2260 table, birth dates 1930-2008, correct check digits) and
 * realistic names (common surnames and given-name characters, two- and three-character
 * names, about 2% minority names like 阿依古丽·买买提), about 1% deceased and 0.5%
 * cancelled. The same seed always gives the same people (xoshiro256** seeded through
 * splitmix64; never rand()). Numbers may repeat: callers that need unique numbers skip
 * repeats (authctl popbase gen does). */
#ifndef AUTHD_CORE_POPGEN_H
#define AUTHD_CORE_POPGEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/idnum.h"
#include "core/popcsv.h"
#include "util/rc.h"

#define POPGEN_NAME_MAX 48 /* bytes; every generated name is shorter */

struct popgen {
    uint64_t s[4];
    size_t first, ncounties; /* the slice of region_counties drawn from */
};

struct popgen_person {
    char id[IDNUM_LEN + 1]; /* NUL-terminated */
    char name[POPGEN_NAME_MAX + 1];
    size_t name_len;
    char sex;           /* 'M' or 'F' */
    uint32_t birth_ymd; /* 19300101 .. 20081231 */
    uint32_t region;    /* county code */
    enum pop_status status;
};

/* Seeds g; province 0 draws from every county, otherwise only from that province's.
 * RC_NOT_FOUND if the province has no county in the table. */
enum rc popgen_init(struct popgen *g, uint64_t seed, uint32_t province);
/* The next 64 pseudo-random bits. */
uint64_t popgen_next(struct popgen *g);
/* Makes the next person into *out. */
void popgen_person(struct popgen *g, struct popgen_person *out);

#endif
