/* The kiosk agent's reader port: one way to wait for an ID card, read what the holder's
 * chip says and notice when the card is taken away, whatever the hardware. Adapters:
 *
 *   pcsc[:READER]   PC/SC through pcscd (reader_pcsc.c): the on-card layout of
 *                   docs/kiosk.md ("The kiosk agent", "On-card layout"), SELECT by AID and
 *                   READ BINARY of EF.HOLDER (JSON) and EF.PHOTO; removal through
 *                   SCardGetStatusChange. READER: a reader name (default: the first).
 *   file:PATH       a card-data file for demos (reader_file.c): the holder's JSON; the card
 *                   is "on the reader" while the file exists, taken away when it is deleted.
 *   vendor:LIB.so   a vendor ID-card-reader SDK, through a shim library loaded with dlopen
 *                   that exports the function table of reader_vendor.c (not testable here:
 *                   no reader and no vendor SDK on this machine).
 *
 * Every function returns READER_OK, READER_TIMEOUT (nothing happened within timeout_ms;
 * < 0 waits forever, in slices that notice *stop) or READER_ERROR with a message in err. */
#ifndef AUTHD_KIOSK_READER_H
#define AUTHD_KIOSK_READER_H

#include <signal.h>
#include <stddef.h>

#define CARD_TEXT_MAX   128         /* bytes of a name or an authority (UTF-8) */
#define CARD_HOLDER_MAX 4096        /* bytes of the holder's JSON (EF.HOLDER, the file) */
#define CARD_PHOTO_MAX  (32 * 1024) /* bytes of the chip photo (EF.PHOTO) */

enum { READER_OK = 0, READER_TIMEOUT = 1, READER_ERROR = -1 };

/* What the chip says of its holder. photo is malloc'd; card_clear wipes everything. */
struct card {
    char type[32];            /* "resident_id" */
    char id_number[24];       /* 18 characters */
    char name[CARD_TEXT_MAX]; /* UTF-8: "张三" */
    char valid_from[16];      /* YYYY-MM-DD */
    char valid_until[16];     /* YYYY-MM-DD or "long-term" (长期) */
    char authority[CARD_TEXT_MAX];
    unsigned char *photo;
    size_t photo_len;
};

/* Parses the holder's JSON (the layout of EF.HOLDER and of a card-data file: members type,
 * id_number, name, valid_from, valid_until, authority, strings; with_photo: also
 * photo_b64url, the photo bytes in base64url without padding). 0, or -1 with err set. */
int card_parse(const char *json, size_t len, int with_photo, struct card *out, char *err,
               size_t errlen);
void card_clear(struct card *c);

struct reader;
struct reader_ops {
    int (*read_card)(struct reader *r, int timeout_ms, struct card *out, char *err, size_t n);
    int (*wait_removed)(struct reader *r, int timeout_ms, char *err, size_t n);
    void (*close)(struct reader *r);
};
struct reader {
    const struct reader_ops *ops;
    char label[256];             /* what the screen names: the reader, the file */
    volatile sig_atomic_t *stop; /* set by a signal: waits return READER_TIMEOUT */
};

/* Opens the adapter spec names ("pcsc", "pcsc:NAME", "file:PATH", "vendor:LIB.so"). */
int reader_open(const char *spec, volatile sig_atomic_t *stop, struct reader **out, char *err,
                size_t n);

int reader_pcsc_open(const char *name, struct reader **out, char *err, size_t n);
int reader_file_open(const char *path, struct reader **out, char *err, size_t n);
int reader_vendor_open(const char *lib, struct reader **out, char *err, size_t n);

#endif
