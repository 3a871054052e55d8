/* Strict UTF-8 decoding (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. */
#ifndef AUTHD_UTIL_UTF8_H
#define AUTHD_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point starting at p[0] (n > 0 bytes available). Returns its length in
 * bytes (1-4) and sets *cp, or 0 if the bytes there are not well-formed UTF-8. */
size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp);
/* Encodes cp (a valid scalar value) into out[0..3]; returns the length, 0 if cp is not a
 * scalar value. */
size_t utf8_put(uint32_t cp, uint8_t out[4]);
/* 1 if the n bytes at p are well-formed UTF-8, 0 otherwise. */
int utf8_valid(const uint8_t *p, size_t n);

#endif
