#include "conf/ini.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rc
ini_error(struct config_error *err, enum rc rc, const char *file, int line, const char *key,
          const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!err)
        return rc;
    n = snprintf(err->text, sizeof(err->text), "%s:%d: %s: ", file, line, key ? key : "-");
    if (n < 0 || (size_t)n >= sizeof(err->text))
        return rc;
    va_start(ap, fmt);
    vsnprintf(err->text + n, sizeof(err->text) - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = 0;
    return s;
}

static enum rc
one_line(const char *file, int lineno, char *line, ini_fn fn, void *ctx,
         struct config_error *err)
{
    char *s = trim(line), *eq, *key, *val;

    if (*s == 0 || *s == '#')
        return RC_OK;
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']')
            return ini_error(err, RC_MALFORMED, file, lineno, NULL, "section header without ']'");
        s[n - 1] = 0;
        return fn(ctx, file, lineno, NULL, trim(s + 1), err);
    }
    if (!(eq = strchr(s, '=')))
        return ini_error(err, RC_MALFORMED, file, lineno, NULL, "expected 'key = value'");
    *eq = 0;
    key = trim(s);
    val = trim(eq + 1);
    if (*key == 0)
        return ini_error(err, RC_MALFORMED, file, lineno, NULL, "empty key");
    for (const char *k = key; *k; k++) {
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_' || *k == '.'))
            return ini_error(err, RC_MALFORMED, file, lineno, NULL,
                             "key names are lower case letters, digits, '_' and '.'");
    }
    return fn(ctx, file, lineno, key, val, err);
}

enum rc
ini_parse(const char *file, const char *text, size_t len, ini_fn fn, void *ctx,
          struct config_error *err)
{
    char line[INI_MAX_LINE + 1];
    size_t i = 0;
    int lineno = 0;
    enum rc rc;

    if (len > INI_MAX_FILE)
        return ini_error(err, RC_TOO_LARGE, file, 0, NULL, "file larger than %d bytes",
                         INI_MAX_FILE);
    while (i < len) {
        size_t start = i, n;
        while (i < len && text[i] != '\n')
            i++;
        n = i - start;
        lineno++;
        if (i < len)
            i++; /* the newline */
        if (n > INI_MAX_LINE)
            return ini_error(err, RC_TOO_LARGE, file, lineno, NULL, "line longer than %d bytes",
                             INI_MAX_LINE);
        if (memchr(text + start, 0, n))
            return ini_error(err, RC_MALFORMED, file, lineno, NULL, "NUL byte in line");
        memcpy(line, text + start, n);
        line[n] = 0;
        if ((rc = one_line(file, lineno, line, fn, ctx, err)) != RC_OK)
            return rc;
    }
    return RC_OK;
}

enum rc
ini_parse_file(const char *path, ini_fn fn, void *ctx, struct config_error *err)
{
    FILE *f = fopen(path, "rb");
    char *text;
    size_t n;
    enum rc rc;

    if (!f)
        return ini_error(err, RC_NOT_FOUND, path, 0, NULL, "cannot open: %s", strerror(errno));
    text = malloc(INI_MAX_FILE + 1);
    if (!text) {
        fclose(f);
        return ini_error(err, RC_NOMEM, path, 0, NULL, "out of memory");
    }
    n = fread(text, 1, INI_MAX_FILE + 1, f);
    if (ferror(f)) {
        rc = ini_error(err, RC_INTERNAL, path, 0, NULL, "read error");
    } else {
        rc = ini_parse(path, text, n, fn, ctx, err);
    }
    fclose(f);
    free(text);
    return rc;
}
