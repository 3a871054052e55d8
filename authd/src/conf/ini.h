/* The one lexer for config and policy files: `key = value` lines, `# comments`, blank
 * lines, and `[section name]` headers. Values are trimmed; no quoting, no continuation. */
#ifndef AUTHD_CONF_INI_H
#define AUTHD_CONF_INI_H

#include <stddef.h>

#include "util/rc.h"

#define INI_MAX_FILE (1024 * 1024)
#define INI_MAX_LINE 4096

struct config_error {
    char text[512]; /* "file:line: key: reason" */
};

/* Called for each section header (key == NULL, value = the section text) and each
 * key = value line. Returns RC_OK to go on; anything else stops the parse, and the
 * callback must have filled err. */
typedef enum rc (*ini_fn)(void *ctx, const char *file, int line, const char *key,
                          const char *value, struct config_error *err);

/* Reads and lexes the file at path. RC_OK, or the first error in err (including the
 * callback's). */
enum rc ini_parse_file(const char *path, ini_fn fn, void *ctx, struct config_error *err);
/* The same over bytes in memory (for tests and fuzzing); file names the source. */
enum rc ini_parse(const char *file, const char *text, size_t len, ini_fn fn, void *ctx,
                  struct config_error *err);
/* Formats "file:line: key: reason" into err and returns rc. */
enum rc ini_error(struct config_error *err, enum rc rc, const char *file, int line,
                  const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
