/* The holder's JSON, the one parser for the card-data file, EF.HOLDER and the vendor shim
 * (jansson; the photo's strict base64url by core/jose, never cjose's decoder, which asserts
 * on some malformed input: found by tests/fuzz/fuzz_cardholder.c). */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jose.h"
#include "core/jsonget.h"
#include "reader.h"
#include "util/arena.h"

static int
field(struct arena *a, json_t *o, const char *name, char *dst, size_t cap, char *err, size_t n)
{
    const char *v = jsonget_str(a, o, name);

    if (!v || !*v)
        return snprintf(err, n, "card data: %s missing or not a string", name), -1;
    if (strlen(v) >= cap)
        return snprintf(err, n, "card data: %s longer than %zu bytes", name, cap - 1), -1;
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int
card_parse(const char *json, size_t len, int with_photo, struct card *out, char *err, size_t n)
{
    json_error_t je;
    json_t *o = NULL;
    struct arena a;
    const char *photo;
    struct span raw;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    arena_init(&a, 2 * CARD_HOLDER_MAX + 4 * CARD_PHOTO_MAX);
    if (len > CARD_HOLDER_MAX + 2 * CARD_PHOTO_MAX) {
        snprintf(err, n, "card data: %zu bytes, too large", len);
        goto out;
    }
    o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        snprintf(err, n, "card data: not a JSON object (%s)", o ? "" : je.text);
        goto out;
    }
    if (field(&a, o, "type", out->type, sizeof(out->type), err, n)
        || field(&a, o, "id_number", out->id_number, sizeof(out->id_number), err, n)
        || field(&a, o, "name", out->name, sizeof(out->name), err, n)
        || field(&a, o, "valid_from", out->valid_from, sizeof(out->valid_from), err, n)
        || field(&a, o, "valid_until", out->valid_until, sizeof(out->valid_until), err, n)
        || field(&a, o, "authority", out->authority, sizeof(out->authority), err, n))
        goto out;
    if (with_photo) {
        photo = jsonget_str(&a, o, "photo_b64url");
        if (!photo || jose_b64url_decode(span_str(photo), &a, &raw) != RC_OK) {
            snprintf(err, n, "card data: photo_b64url missing or not base64url");
            goto out;
        }
        if (raw.len == 0 || raw.len > CARD_PHOTO_MAX) {
            snprintf(err, n, "card data: photo of %zu bytes (1..%d)", raw.len, CARD_PHOTO_MAX);
            goto out;
        }
        if (!(out->photo = malloc(raw.len))) {
            snprintf(err, n, "out of memory");
            goto out;
        }
        memcpy(out->photo, raw.p, raw.len);
        out->photo_len = raw.len;
    }
    rc = 0;
out:
    json_decref(o);
    arena_clear(&a);
    if (rc)
        card_clear(out);
    return rc;
}

void
card_clear(struct card *c)
{
    if (c->photo) {
        OPENSSL_cleanse(c->photo, c->photo_len);
        free(c->photo);
    }
    OPENSSL_cleanse(c, sizeof(*c));
    c->photo = NULL;
    c->photo_len = 0;
}
