/* libFuzzer target: the kiosk card assertion (core/cardassert.c): the payload parser, the
 * claim and card-date checks, and the header reader, on the same bytes. The invariants the
 * header promises: RC_OK or RC_MALFORMED from the parser; on RC_OK an 18-character checked
 * number, a name of 1..64 bytes, valid_from <= valid_until, a 22-character base64url nonce,
 * a face score within 0..1, a 43-character photo hash; the checks answer RC_OK, RC_DENIED
 * or RC_EXPIRED; the header reader RC_OK (a 43-character thumbprint) or RC_MALFORMED. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cardassert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct card_assertion ca;
    char x5t[CARD_HASH_LEN + 1];
    enum rc rc;

    arena_init(&a, 1u << 20);
    rc = cardassert_parse(&a, span_of(data, size), 20251205u, &ca, NULL);
    if (rc != RC_OK && rc != RC_MALFORMED)
        abort();
    if (rc == RC_OK) {
        if (strlen(ca.id.text) != 18 || !ca.name || !*ca.name || strlen(ca.name) > 64
            || ca.valid_from > ca.valid_until || strlen(ca.nonce) != CARD_NONCE_LEN
            || strlen(ca.photo_sha256) != CARD_HASH_LEN || !ca.aud || !ca.authority
            || (ca.has_face && !(ca.face_score >= 0 && ca.face_score <= 1)))
            abort();
        rc = cardassert_check(&ca, "kiosk-17", "https://id.example", 1764900000, 30, 20251205u,
                              NULL);
        if (rc != RC_OK && rc != RC_DENIED && rc != RC_EXPIRED)
            abort();
    }
    rc = cardassert_header(&a, span_of(data, size), x5t, NULL);
    if (rc != RC_OK && rc != RC_MALFORMED)
        abort();
    if (rc == RC_OK && strlen(x5t) != CARD_HASH_LEN)
        abort();
    arena_clear(&a);
    return 0;
}
