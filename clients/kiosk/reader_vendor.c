/* The vendor SDK adapter (reader.h). A resident ID card's chip is read through the reader
 * vendor's secure access module (SAM) and SDK; its photo comes out in a licensed format
 * that the vendor's library decodes. The agent does not link any SDK: a small shim library,
 * written against the vendor's SDK, exports this table (C linkage), and the agent loads it
 * with dlopen (--reader vendor:/path/libkiosk-idr.so):
 *
 *   int  kiosk_idr_abi(void);                  must return 1 (this table's version)
 *   int  kiosk_idr_open(void);                 opens the reader (port, SAM); 0 on success
 *   int  kiosk_idr_present(void);              1 a card is on the reader, 0 none, < 0 error
 *   int  kiosk_idr_read(char *json, size_t *json_len, unsigned char *photo,
 *                       size_t *photo_len);    reads the card on the reader: the holder's
 *                                              JSON as EF.HOLDER (docs/kiosk.md) into json
 *                                              (capacity *json_len, CARD_HOLDER_MAX) and the
 *                                              chip photo bytes into photo (capacity
 *                                              *photo_len, CARD_PHOTO_MAX); sets both
 *                                              lengths; 0 on success
 *   void kiosk_idr_close(void);
 *
 * Presence is polled every 300 ms (SDKs rarely offer a wait). Not testable here: there is
 * no reader and no vendor SDK on this machine, so this adapter is compiled but never run by
 * the tests; the PC/SC adapter with the virtual card is what the tests exercise. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reader.h"

#define POLL_MS 300

struct vendor_reader {
    struct reader base;
    void *dl;
    int (*abi)(void);
    int (*open)(void);
    int (*present)(void);
    int (*read)(char *, size_t *, unsigned char *, size_t *);
    void (*close)(void);
};

static int
wait_presence(struct vendor_reader *v, int want, int timeout_ms, char *err, size_t n)
{
    struct timespec ts = {0, POLL_MS * 1000000L};
    int waited = 0, p;

    for (;;) {
        p = v->present();
        if (p < 0)
            return snprintf(err, n, "vendor SDK: presence check failed (%d)", p), READER_ERROR;
        if ((p > 0) == want)
            return READER_OK;
        if (*v->base.stop || (timeout_ms >= 0 && waited >= timeout_ms))
            return READER_TIMEOUT;
        nanosleep(&ts, NULL);
        waited += POLL_MS;
    }
}

static int
vendor_read(struct reader *r, int timeout_ms, struct card *out, char *err, size_t n)
{
    struct vendor_reader *v = (struct vendor_reader *)r;
    char *json = malloc(CARD_HOLDER_MAX);
    unsigned char *photo = malloc(CARD_PHOTO_MAX);
    size_t jl = CARD_HOLDER_MAX, pl = CARD_PHOTO_MAX;
    int rc = READER_ERROR, e;

    if (!json || !photo) {
        snprintf(err, n, "out of memory");
        goto out;
    }
    rc = wait_presence(v, 1, timeout_ms, err, n);
    if (rc != READER_OK)
        goto out;
    rc = READER_ERROR;
    e = v->read(json, &jl, photo, &pl);
    if (e != 0 || jl > CARD_HOLDER_MAX || pl == 0 || pl > CARD_PHOTO_MAX) {
        snprintf(err, n, "vendor SDK: read failed (%d)", e);
        goto out;
    }
    if (card_parse(json, jl, 0, out, err, n))
        goto out;
    out->photo = photo, out->photo_len = pl;
    photo = NULL;
    rc = READER_OK;
out:
    free(json);
    free(photo);
    return rc;
}

static int
vendor_wait_removed(struct reader *r, int timeout_ms, char *err, size_t n)
{
    return wait_presence((struct vendor_reader *)r, 0, timeout_ms, err, n);
}

static void
vendor_close(struct reader *r)
{
    struct vendor_reader *v = (struct vendor_reader *)r;

    if (v->close)
        v->close();
    if (v->dl)
        dlclose(v->dl);
    free(v);
}

static const struct reader_ops vendor_ops = {vendor_read, vendor_wait_removed, vendor_close};

int
reader_vendor_open(const char *lib, struct reader **out, char *err, size_t n)
{
    struct vendor_reader *v = calloc(1, sizeof(*v));

    if (!v)
        return snprintf(err, n, "out of memory"), READER_ERROR;
    v->base.ops = &vendor_ops;
    v->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!v->dl) {
        snprintf(err, n, "vendor: %s", dlerror());
        free(v);
        return READER_ERROR;
    }
    *(void **)&v->abi = dlsym(v->dl, "kiosk_idr_abi");
    *(void **)&v->open = dlsym(v->dl, "kiosk_idr_open");
    *(void **)&v->present = dlsym(v->dl, "kiosk_idr_present");
    *(void **)&v->read = dlsym(v->dl, "kiosk_idr_read");
    *(void **)&v->close = dlsym(v->dl, "kiosk_idr_close");
    if (!v->abi || !v->open || !v->present || !v->read || !v->close || v->abi() != 1) {
        snprintf(err, n, "vendor: %s does not export the kiosk_idr_* table of ABI 1", lib);
        v->close = NULL;
        vendor_close(&v->base);
        return READER_ERROR;
    }
    if (v->open() != 0) {
        snprintf(err, n, "vendor: kiosk_idr_open failed");
        v->close = NULL;
        vendor_close(&v->base);
        return READER_ERROR;
    }
    snprintf(v->base.label, sizeof(v->base.label), "vendor reader %.200s", lib);
    *out = &v->base;
    return READER_OK;
}
