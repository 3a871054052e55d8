/* libFuzzer target: the kiosk agent's parser of the holder's data (clients/kiosk/card.c),
 * which reads what a card, a card-data file or a vendor SDK shim hands the agent. The
 * parser lives in the agent, not in libauthd, so its source is compiled in here. The first
 * byte chooses whether photo_b64url is read. Invariants (reader.h): 0 only with every
 * member non-empty and NUL-terminated within its buffer and, with the photo, 1..
 * CARD_PHOTO_MAX photo bytes; -1 with the card cleared and a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../clients/kiosk/card.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
member_ok(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    return n > 0 && n < cap;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct card c;
    char err[256] = "";
    int with_photo, rc;

    if (size < 1)
        return 0;
    with_photo = data[0] & 1;
    rc = card_parse((const char *)data + 1, size - 1, with_photo, &c, err, sizeof(err));
    if (rc == 0) {
        if (!member_ok(c.type, sizeof(c.type)) || !member_ok(c.id_number, sizeof(c.id_number))
            || !member_ok(c.name, sizeof(c.name)) || !member_ok(c.valid_from, sizeof(c.valid_from))
            || !member_ok(c.valid_until, sizeof(c.valid_until))
            || !member_ok(c.authority, sizeof(c.authority)))
            abort();
        if (with_photo && (!c.photo || c.photo_len == 0 || c.photo_len > CARD_PHOTO_MAX))
            abort();
        card_clear(&c);
        if (c.photo || c.photo_len || c.name[0])
            abort();
    } else {
        if (rc != -1 || c.photo || c.photo_len || c.name[0] || !err[0])
            abort();
    }
    return 0;
}
