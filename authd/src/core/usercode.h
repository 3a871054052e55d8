/* Device grant user codes (RFC 8628 §6.1): 8 characters from an alphabet of 20 consonants
 * (no vowels, so no words; no digits, so no 0/O or 1/I to confuse), shown as four letters,
 * a hyphen, four letters (e.g. WDJB-MJHT).
 * 20^8 is about 2^34.6 codes: guessing is held back by the short lifetime of a code and the
 * rate limits of the verification page (flow/device.h), as RFC 8628 §5.1 asks.
 *
 * What a citizen types is normalised before the lookup: ASCII letters of either case,
 * dashes and spaces (ASCII space, tab) anywhere are accepted and dropped; anything else,
 * or a count of letters other than 8, is refused. Pure: no I/O, no allocation. */
#ifndef AUTHD_CORE_USERCODE_H
#define AUTHD_CORE_USERCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/rc.h"
#include "util/span.h"

#define USERCODE_ALPHABET  "BCDFGHJKLMNPQRSTVWXZ"
#define USERCODE_LEN       8  /* characters of a code */
#define USERCODE_SHOWN_LEN 9  /* 4 letters, "-", 4 letters: WDJB-MJHT */
#define USERCODE_INPUT_MAX 64 /* longer input is refused before it is looked at */

/* Normalises typed input into out (USERCODE_LEN upper-case letters of the alphabet and a
 * NUL). RC_OK; RC_TOO_LARGE (over USERCODE_INPUT_MAX bytes), RC_MALFORMED (a character
 * outside the alphabet, dashes and spaces; fewer or more than USERCODE_LEN letters). out is
 * written only on RC_OK. */
enum rc usercode_normalise(struct span in, char out[USERCODE_LEN + 1]);

/* Draws a code from random bytes rnd[0..n) by rejection (a byte >= 240 is skipped, so
 * every letter is equally likely). true: out holds the code and a NUL; false: the bytes ran
 * out first (pass more: 16 bytes fail with probability below 10^-6). */
bool usercode_from_random(const uint8_t *rnd, size_t n, char out[USERCODE_LEN + 1]);

/* The code as shown (WDJB-MJHT: a hyphen after the fourth letter) and a NUL. code must be
 * a normalised code. */
void usercode_format(const char code[USERCODE_LEN + 1], char out[USERCODE_SHOWN_LEN + 1]);

#endif
