/* Pages from templates embedded at build time (authd/templates, scripts/embed-templates).
 * Syntax:
 *   {{name}}           the variable, HTML-escaped (core/html)
 *   {{{name}}}         the variable as is: only for fragments the code built with escaping
 *   {{t:key}}          the string `key` of strings.tsv in the page's language
 *   {{?name}}..{{/name}}  the block only when the variable is set and not empty
 *   {{!name}}..{{/name}}  the block only when it is not
 *   {{>file.html}}     another template, same variables
 * Unknown variables render as nothing; unknown strings as their key. */
#ifndef AUTHD_HTTP_TMPL_H
#define AUTHD_HTTP_TMPL_H

#include <stddef.h>

#include "util/span.h"

enum lang { LANG_ZH = 0, LANG_EN = 1 };

struct tmpl_file {
    const char *name;
    const char *text;
    size_t len;
};
struct tmpl_string {
    const char *key;
    const char *text[2]; /* by enum lang */
};
extern const struct tmpl_file tmpl_files[];
extern const struct tmpl_string tmpl_strings[];

struct tmpl_var {
    const char *name;
    struct span value;
};

/* Renders template `name` into out. RC_NOT_FOUND for an unknown template, RC_MALFORMED for
 * a template error (unclosed tag or block, include depth over 4), or the buf's error. */
enum rc tmpl_render(struct buf *out, const char *name, enum lang lang,
                    const struct tmpl_var *vars, size_t nvars);
/* The template's text (for static assets), or NULL. */
const struct tmpl_file *tmpl_file(const char *name);
/* The translated string, or key itself. */
const char *tmpl_t(enum lang lang, const char *key);
/* Picks the page language: the first of ui_locales (OIDC Core §3.1.2.1, space-separated
 * BCP 47 tags) we support, else the best of Accept-Language (RFC 9110 §12.5.4, q-values),
 * else Chinese. Either may be empty/NULL. */
enum lang tmpl_lang(struct span ui_locales, const char *accept_language);

#endif
