/* Levels of assurance, on two axes (docs/architecture.md, Assurance; docs/oidc-login.md):
 *   identity (IAL): ial2 self-asserted, ial3 population-base match, ial4 real person
 *                   (chip read or face match), ial5 in person / qualified certificate;
 *   authentication (AAL): aal1 one factor, aal2 two factors, aal3 hardware-bound.
 * An `acr` value names both: urn:authd:acr:ial3:aal1. One acr satisfies another when both
 * of its levels are at least as high. */
#ifndef AUTHD_CORE_LOA_H
#define AUTHD_CORE_LOA_H

#include <stdbool.h>

#include "util/span.h"

#define LOA_ACR_PREFIX "urn:authd:acr:"
#define LOA_ACR_MAX    32

enum ial { IAL_NONE = 0, IAL2 = 2, IAL3 = 3, IAL4 = 4, IAL5 = 5 };
enum aal { AAL_NONE = 0, AAL1 = 1, AAL2 = 2, AAL3 = 3 };

struct loa {
    enum ial ial;
    enum aal aal;
};

/* Parses "urn:authd:acr:ialN:aalM". RC_MALFORMED for anything else. */
enum rc loa_parse(struct span acr, struct loa *out);
/* Writes the acr URI for l into out (at least LOA_ACR_MAX bytes). */
void loa_format(struct loa l, char *out);
/* True when have meets want on both axes. */
bool loa_satisfies(struct loa have, struct loa want);
/* The highest of a and b on each axis. */
struct loa loa_max(struct loa a, struct loa b);
/* Parses a space-separated acr_values list (OIDC Core §3.1.2.1) and returns the lowest
 * level that satisfies the request: the first value we understand (values are in order of
 * preference). RC_NOT_FOUND if none is ours. */
enum rc loa_pick(struct span acr_values, struct loa *out);

#endif
