/* Device grant user codes: the alphabet, the normaliser, drawing and showing a code. */
#include "core/usercode.h"

#include <string.h>

static const char alphabet[] = USERCODE_ALPHABET;
#define NLETTERS (sizeof(alphabet) - 1)

_Static_assert(NLETTERS == 20, "RFC 8628 §6.1: 20 consonants");

static bool
in_alphabet(uint8_t c)
{
    return c && memchr(alphabet, c, NLETTERS) != NULL;
}

enum rc
usercode_normalise(struct span in, char out[USERCODE_LEN + 1])
{
    char tmp[USERCODE_LEN];
    size_t n = 0;

    if (in.len > USERCODE_INPUT_MAX)
        return RC_TOO_LARGE;
    for (size_t i = 0; i < in.len; i++) {
        uint8_t c = in.p[i];
        if (c == '-' || c == ' ' || c == '\t')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (uint8_t)(c - 'a' + 'A');
        if (!in_alphabet(c) || n == USERCODE_LEN)
            return RC_MALFORMED;
        tmp[n++] = (char)c;
    }
    if (n != USERCODE_LEN)
        return RC_MALFORMED;
    memcpy(out, tmp, USERCODE_LEN);
    out[USERCODE_LEN] = 0;
    return RC_OK;
}

bool
usercode_from_random(const uint8_t *rnd, size_t n, char out[USERCODE_LEN + 1])
{
    size_t k = 0;

    for (size_t i = 0; i < n && k < USERCODE_LEN; i++)
        if (rnd[i] < 240) /* 240 = 12 * 20: no letter more likely than another */
            out[k++] = alphabet[rnd[i] % NLETTERS];
    if (k < USERCODE_LEN)
        return false;
    out[USERCODE_LEN] = 0;
    return true;
}

void
usercode_format(const char code[USERCODE_LEN + 1], char out[USERCODE_SHOWN_LEN + 1])
{
    memcpy(out, code, 4);
    out[4] = '-';
    memcpy(out + 5, code + 4, 4);
    out[USERCODE_SHOWN_LEN] = 0;
}
