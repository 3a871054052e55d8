/* The card-data file adapter (reader.h), for demos: the holder's JSON with photo_b64url.
 * The card is on the reader while the file exists and is taken away when it is deleted
 * (polled every 200 ms). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "reader.h"

#define POLL_MS 200

struct file_reader {
    struct reader base;
    char path[1024];
};

static void
nap(void)
{
    struct timespec ts = {0, POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
}

static int
present(const struct file_reader *f)
{
    struct stat st;
    return stat(f->path, &st) == 0;
}

static int
file_read(struct reader *r, int timeout_ms, struct card *out, char *err, size_t n)
{
    struct file_reader *f = (struct file_reader *)r;
    char *buf = NULL;
    size_t len;
    FILE *fp;
    int waited = 0, rc;

    while (!present(f)) {
        if (*r->stop || (timeout_ms >= 0 && waited >= timeout_ms))
            return READER_TIMEOUT;
        nap();
        waited += POLL_MS;
    }
    fp = fopen(f->path, "rb");
    if (!fp)
        return snprintf(err, n, "%s: %s", f->path, strerror(errno)), READER_ERROR;
    buf = malloc(CARD_HOLDER_MAX + 2 * CARD_PHOTO_MAX + 1);
    len = buf ? fread(buf, 1, CARD_HOLDER_MAX + 2 * CARD_PHOTO_MAX + 1, fp) : 0;
    fclose(fp);
    if (!buf)
        return snprintf(err, n, "out of memory"), READER_ERROR;
    rc = card_parse(buf, len, 1, out, err, n) ? READER_ERROR : READER_OK;
    free(buf);
    return rc;
}

static int
file_wait_removed(struct reader *r, int timeout_ms, char *err, size_t n)
{
    struct file_reader *f = (struct file_reader *)r;
    int waited = 0;

    (void)err, (void)n;
    while (present(f)) {
        if (*r->stop || (timeout_ms >= 0 && waited >= timeout_ms))
            return READER_TIMEOUT;
        nap();
        waited += POLL_MS;
    }
    return READER_OK;
}

static void
file_close(struct reader *r)
{
    free(r);
}

static const struct reader_ops file_ops = {file_read, file_wait_removed, file_close};

int
reader_file_open(const char *path, struct reader **out, char *err, size_t n)
{
    struct file_reader *f;

    if (strlen(path) >= sizeof(f->path))
        return snprintf(err, n, "file: path too long"), READER_ERROR;
    f = calloc(1, sizeof(*f));
    if (!f)
        return snprintf(err, n, "out of memory"), READER_ERROR;
    f->base.ops = &file_ops;
    snprintf(f->path, sizeof(f->path), "%s", path);
    snprintf(f->base.label, sizeof(f->base.label), "card-data file %.200s", path);
    *out = &f->base;
    return READER_OK;
}
