/* Masking for logs, audit and the hotline: ID numbers keep their first 6 and last 4
 * characters (110101********123X), names their first character followed by '*'. */
#ifndef AUTHD_CORE_MASK_H
#define AUTHD_CORE_MASK_H

#include <stddef.h>

#include "util/span.h"

#define MASK_IDNUM_SIZE 19 /* 18 characters + NUL */
#define MASK_NAME_SIZE  6  /* one UTF-8 character (<= 4 bytes) + '*' + NUL */
#define MASK_IP_SIZE    48 /* a masked IPv6 address + NUL */

/* Writes the masked form of an ID number into out (NUL-terminated). Input that is not 18
 * bytes of digits/X/x becomes "******************" cut to its length (at most 18), so a
 * malformed value never leaks either. Never fails. */
void mask_idnum(struct span id, char out[MASK_IDNUM_SIZE]);
/* Writes the first UTF-8 character of name followed by '*' into out (NUL-terminated);
 * "*" alone for an empty name or one that does not start with well-formed UTF-8 or with a
 * printable character. Never fails. */
void mask_name(struct span name, char out[MASK_NAME_SIZE]);

/* The hotline's form of a name (docs/hotline.md): its first and last UTF-8 characters with
 * one '*' between them ("张*三"); a name of two characters keeps its first ("张*"); anything
 * mask_name refuses becomes "*". Never fails. */
#define MASK_NAME_ENDS_SIZE 10 /* two UTF-8 characters + '*' + NUL */
void mask_name_ends(struct span name, char out[MASK_NAME_ENDS_SIZE]);

/* Writes a source address with its host part hidden into out (NUL-terminated): an IPv4
 * address keeps its first three octets ("203.0.113.*"), an IPv6 address its first three
 * groups ("2001:db8:1::*"; the /48 a site gets). Anything else, including an address past
 * 39 bytes, becomes "*". Never fails. */
void mask_ip(struct span ip, char out[MASK_IP_SIZE]);

#endif
