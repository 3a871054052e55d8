/* Development notice sink (see notify_file.h). */
#include "adapt/notify_file.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct notify_file {
    struct notify base;
    int fd;
    pthread_mutex_t mu;
};

/* The notice as one JSON line (caller frees). */
static char *
notice_line(const struct notice *m)
{
    json_t *o = json_pack("{s:I, s:s%, s:s%, s:s%, s:s%}", "ts", (json_int_t)m->ts, "to",
                          (const char *)m->to.p, m->to.len, "text", (const char *)m->text.p,
                          m->text.len, "sender", (const char *)m->sender.p, m->sender.len, "ref",
                          m->ref.p ? (const char *)m->ref.p : "", m->ref.len);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    char *line = NULL;
    size_t n;

    json_decref(o);
    if (s && (line = malloc((n = strlen(s)) + 2))) {
        memcpy(line, s, n);
        memcpy(line + n, "\n", 2);
    }
    free(s);
    return line;
}

static enum rc
file_send(struct notify *n, const struct notice *m)
{
    struct notify_file *f = (struct notify_file *)n;
    char *line = notice_line(m);
    enum rc rc = RC_UNAVAILABLE;
    size_t len, off = 0;

    if (!line)
        return RC_NOMEM;
    len = strlen(line);
    pthread_mutex_lock(&f->mu);
    while (off < len) {
        ssize_t w = write(f->fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    pthread_mutex_unlock(&f->mu);
    if (off == len)
        rc = RC_OK;
    free(line);
    return rc;
}

static void
file_free(struct notify *n)
{
    struct notify_file *f = (struct notify_file *)n;

    close(f->fd);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static const struct notify_ops file_ops = {"file", file_send, file_free};

enum rc
notify_file_open(const char *path, struct notify **out, struct rc_info *ri)
{
    struct notify_file *f = calloc(1, sizeof(*f));

    if (!f)
        return RC_NOMEM;
    f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        free(f);
        return rc_set(ri, RC_NOT_FOUND, "notify", "cannot open the file for appending");
    }
    f->base.ops = &file_ops;
    pthread_mutex_init(&f->mu, NULL);
    *out = &f->base;
    return RC_OK;
}
