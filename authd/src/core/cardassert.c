/* The card assertion's parser and checks (core/cardassert.h). */
#include "core/cardassert.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "core/jose.h"
#include "core/jsonget.h"
#include "core/name.h"

static enum rc
bad(struct rc_info *ri, const char *field, const char *msg)
{
    return rc_fail(ri, RC_MALFORMED, RC_WHY_CARD_ASSERTION, field, msg);
}

/* A string member of o, 1..max bytes, no NUL inside. NULL otherwise. */
static const char *
str_member(const json_t *o, const char *name, size_t max)
{
    const json_t *v = json_object_get(o, name);
    const char *s = json_string_value(v);

    if (!s || !*s || json_string_length(v) > max || strlen(s) != json_string_length(v))
        return NULL;
    return s;
}

enum rc
cardassert_header(struct arena *a, struct span jws, char x5t[CARD_HASH_LEN + 1], struct rc_info *ri)
{
    const uint8_t *dot = jws.len ? memchr(jws.p, '.', jws.len) : NULL;
    struct span h;
    json_t *o;
    const char *t;
    enum rc rc = RC_OK;

    if (!dot || jws.len > JOSE_MAX_COMPACT
        || jose_b64url_decode(span_of(jws.p, (size_t)(dot - jws.p)), a, &h) != RC_OK)
        return bad(ri, "assertion", "not a compact JWS");
    if (!(o = json_loadb((const char *)h.p, h.len, JSON_REJECT_DUPLICATES, NULL))
        || !json_is_object(o))
        rc = bad(ri, "assertion", "header is not a JSON object");
    else if (!jsonget_str_is(json_object_get(o, "alg"), "ES256"))
        rc = bad(ri, "assertion", "alg must be ES256");
    else if (!jsonget_str_is(json_object_get(o, "typ"), CARD_TYP))
        rc = bad(ri, "assertion", "typ must be " CARD_TYP);
    else if (!(t = str_member(o, "x5t#S256", CARD_HASH_LEN)) || strlen(t) != CARD_HASH_LEN
             || !span_is_b64url(span_str(t)))
        rc = bad(ri, "assertion", "x5t#S256 missing or not a SHA-256 thumbprint");
    else
        memcpy(x5t, t, CARD_HASH_LEN + 1);
    json_decref(o);
    return rc;
}

/* "YYYY-MM-DD", a calendar date, into YYYYMMDD. */
static bool
parse_date(const char *s, uint32_t *out)
{
    static const uint8_t mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = 0, m, d;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    for (int i = 0; i < 4; i++)
        y = y * 10 + (unsigned)(s[i] - '0');
    m = (unsigned)(s[5] - '0') * 10 + (unsigned)(s[6] - '0');
    d = (unsigned)(s[8] - '0') * 10 + (unsigned)(s[9] - '0');
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    *out = y * 10000 + m * 100 + d;
    return true;
}

static enum rc
parse_card(struct arena *a, const json_t *card, uint32_t today_ymd, struct card_assertion *out,
           struct rc_info *ri)
{
    struct idnum_info info = {.today_ymd = today_ymd};
    struct name_norm nn;
    const char *s;

    if (!json_is_object(card))
        return bad(ri, "card", "missing or not an object");
    if (!jsonget_str_is(json_object_get(card, "type"), "resident_id"))
        return bad(ri, "card.type", "must be resident_id");
    if (!(s = str_member(card, "id_number", 18))
        || idnum_parse(span_str(s), &out->id, &info) != RC_OK)
        return bad(ri, "card.id_number", "not a valid ID number");
    if (!(s = str_member(card, "name", NAME_MAX_INPUT))
        || name_normalize(span_str(s), &nn, NULL) != RC_OK
        || !(out->name = arena_strndup(a, (const char *)nn.p, nn.len)))
        return bad(ri, "card.name", "missing or not a name");
    if (!(s = str_member(card, "valid_from", 10)) || !parse_date(s, &out->valid_from))
        return bad(ri, "card.valid_from", "not a YYYY-MM-DD date");
    if (!(s = str_member(card, "valid_until", 10)))
        return bad(ri, "card.valid_until", "not a YYYY-MM-DD date or long-term");
    if (strcmp(s, "long-term") == 0) /* 长期: a card for life */
        out->valid_until = CARD_LONG_TERM;
    else if (!parse_date(s, &out->valid_until))
        return bad(ri, "card.valid_until", "not a YYYY-MM-DD date or long-term");
    if (out->valid_until < out->valid_from)
        return bad(ri, "card.valid_until", "before valid_from");
    if (!(s = str_member(card, "authority", CARD_AUTHORITY_MAX))
        || !(out->authority = arena_strndup(a, s, strlen(s))))
        return bad(ri, "card.authority", "missing or too long");
    if (!(s = str_member(card, "photo_sha256", CARD_HASH_LEN)) || strlen(s) != CARD_HASH_LEN
        || !span_is_b64url(span_str(s)))
        return bad(ri, "card.photo_sha256", "not a base64url SHA-256");
    memcpy(out->photo_sha256, s, CARD_HASH_LEN + 1);
    return RC_OK;
}

/* The members of the payload object o, in order. */
static enum rc
parse_object(struct arena *a, const json_t *o, uint32_t today_ymd, struct card_assertion *out,
             struct rc_info *ri)
{
    const json_t *v;
    const char *s;
    enum rc rc;

    if (!json_is_object(o))
        return bad(ri, "assertion", "payload is not an object");
    if (!(s = str_member(o, "iss", CARD_ISS_MAX)))
        return bad(ri, "iss", "missing or too long");
    memcpy(out->iss, s, strlen(s) + 1);
    if (!(s = str_member(o, "aud", 2048)) || !(out->aud = arena_strndup(a, s, strlen(s))))
        return bad(ri, "aud", "missing or not a string");
    if (!json_is_integer(json_object_get(o, "iat")) || !json_is_integer(json_object_get(o, "exp")))
        return bad(ri, "iat", "iat and exp must be integers");
    out->iat = json_integer_value(json_object_get(o, "iat"));
    out->exp = json_integer_value(json_object_get(o, "exp"));
    if (!(s = str_member(o, "nonce", CARD_NONCE_LEN)) || strlen(s) != CARD_NONCE_LEN
        || !span_is_b64url(span_str(s)))
        return bad(ri, "nonce", "missing or not a nonce of /kiosk/nonce");
    memcpy(out->nonce, s, CARD_NONCE_LEN + 1);
    if ((rc = parse_card(a, json_object_get(o, "card"), today_ymd, out, ri)) != RC_OK)
        return rc;
    if ((v = json_object_get(o, "face_score"))
        && (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0
            || json_number_value(v) > 1))
        return bad(ri, "face_score", "must be a number from 0 to 1");
    out->has_face = v != NULL;
    out->face_score = v ? json_number_value(v) : 0;
    return RC_OK;
}

enum rc
cardassert_parse(struct arena *a, struct span payload, uint32_t today_ymd,
                 struct card_assertion *out, struct rc_info *ri)
{
    json_t *o;
    enum rc rc;

    memset(out, 0, sizeof(*out));
    if (payload.len > JOSE_MAX_COMPACT
        || !(o = json_loadb((const char *)payload.p, payload.len, JSON_REJECT_DUPLICATES, NULL)))
        return bad(ri, "assertion", "payload is not JSON with unique members");
    rc = parse_object(a, o, today_ymd, out, ri);
    json_decref(o);
    return rc;
}

enum rc
cardassert_check(const struct card_assertion *c, const char *kiosk_id, const char *issuer,
                 int64_t now, uint32_t leeway, uint32_t today_ymd, struct rc_info *ri)
{
    if (strcmp(c->iss, kiosk_id) != 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_ASSERTION, "iss", "not the presenting kiosk");
    if (!c->aud || strcmp(c->aud, issuer) != 0)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_ASSERTION, "aud", "not this server's issuer");
    if (c->iat > now + (int64_t)leeway)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_ASSERTION, "iat", "in the future");
    if (c->exp <= now - (int64_t)leeway)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_ASSERTION, "exp", "expired");
    if (c->iat < 0 || c->exp < c->iat || c->exp - c->iat > CARD_MAX_LIFETIME)
        return rc_fail(ri, RC_DENIED, RC_WHY_CARD_ASSERTION, "exp", "lifetime over 300 s");
    if (today_ymd && today_ymd > c->valid_until)
        return rc_fail(ri, RC_EXPIRED, RC_WHY_CARD_EXPIRED, "card.valid_until",
                       "the ID card has expired");
    if (today_ymd && today_ymd < c->valid_from)
        return rc_fail(ri, RC_EXPIRED, RC_WHY_CARD_EXPIRED, "card.valid_from",
                       "the ID card is not valid yet");
    return RC_OK;
}
