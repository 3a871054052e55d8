/* The card assertion of the kiosk card login (docs/kiosk.md "The assertion"): a compact
 * JWS, header {"alg":"ES256","typ":"card-assertion+jwt","x5t#S256":...}, signed by the
 * kiosk's device key, whose payload is
 *
 *     {"iss": KIOSK_ID, "aud": ISSUER, "iat": N, "exp": N, "nonce": NONCE,
 *      "card": {"type": "resident_id", "id_number": "...", "name": "...",
 *               "valid_from": "YYYY-MM-DD", "valid_until": "YYYY-MM-DD" | "long-term",
 *               "authority": "...", "photo_sha256": B64URL},
 *      "face_score": 0..1 (optional)}
 *
 * Pure: parsing and the checks that need nothing but the text, the kiosk id, the issuer
 * and the time. The signature is flow/card.c's (with core/jose, against the presenting
 * certificate's key). Every function here is fuzzed (tests/fuzz/fuzz_cardassert.c). */
#ifndef AUTHD_CORE_CARDASSERT_H
#define AUTHD_CORE_CARDASSERT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/idnum.h"
#include "util/arena.h"
#include "util/rc.h"
#include "util/span.h"

#define CARD_TYP           "card-assertion+jwt"
#define CARD_NONCE_LEN     22  /* base64url of 128 bits */
#define CARD_HASH_LEN      43  /* base64url of a SHA-256 */
#define CARD_MAX_LIFETIME  300 /* exp - iat at most (seconds) */
#define CARD_AUTHORITY_MAX 256 /* bytes of the issuing authority */
#define CARD_ISS_MAX       64
#define CARD_LONG_TERM     99991231u /* valid_until "long-term" (长期) */

struct card_assertion {
    char iss[CARD_ISS_MAX + 1];
    const char *aud; /* a string aud, in the arena */
    int64_t iat, exp;
    char nonce[CARD_NONCE_LEN + 1];
    struct idnum id;      /* the parsed, checked number */
    const char *name;     /* NFC-normalized (core/name), NUL-terminated, in the arena */
    uint32_t valid_from;  /* YYYYMMDD */
    uint32_t valid_until; /* YYYYMMDD, or CARD_LONG_TERM */
    const char *authority;
    char photo_sha256[CARD_HASH_LEN + 1];
    bool has_face;
    double face_score; /* 0..1 when has_face */
};

/* The x5t#S256 of a card assertion's protected header, which must also say alg ES256 and
 * typ card-assertion+jwt. RC_OK: x5t (NUL-terminated). RC_MALFORMED otherwise (ri says
 * what, field "assertion"). */
enum rc cardassert_header(struct arena *a, struct span jws, char x5t[CARD_HASH_LEN + 1],
                          struct rc_info *ri);

/* Parses a payload (JSON bytes). today_ymd (China time) bounds the ID number's birth date
 * (0: not checked). RC_OK: *out (strings in a). RC_MALFORMED with ri (field names the
 * member) for anything missing, of the wrong type, too long, or not well formed (a bad ID
 * number, a date that is not a calendar date, a score outside 0..1, unknown card type). */
enum rc cardassert_parse(struct arena *a, struct span payload, uint32_t today_ymd,
                         struct card_assertion *out, struct rc_info *ri);

/* Checks a parsed assertion: iss = kiosk_id, aud = issuer, iat not in the future and exp not past
 * (with leeway), exp - iat at most CARD_MAX_LIFETIME. RC_DENIED with RC_WHY_CARD_ASSERTION. Then
 * the card's dates against today_ymd: RC_EXPIRED with RC_WHY_CARD_EXPIRED (past valid_until, or
 * before valid_from). */
enum rc cardassert_check(const struct card_assertion *c, const char *kiosk_id, const char *issuer,
                         int64_t now, uint32_t leeway, uint32_t today_ymd, struct rc_info *ri);

#endif
