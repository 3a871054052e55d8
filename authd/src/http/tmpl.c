#include "http/tmpl.h"

#include <string.h>

#include "core/html.h"

#define TMPL_MAX_DEPTH 4

const struct tmpl_file *
tmpl_file(const char *name)
{
    for (const struct tmpl_file *f = tmpl_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

const char *
tmpl_t(enum lang lang, const char *key)
{
    for (const struct tmpl_string *s = tmpl_strings; s->key; s++)
        if (strcmp(s->key, key) == 0)
            return s->text[lang == LANG_EN ? 1 : 0];
    return key;
}

static const struct span *
var(const struct tmpl_var *vars, size_t n, struct span name)
{
    for (size_t i = 0; i < n; i++)
        if (span_eq_str(name, vars[i].name))
            return &vars[i].value;
    return NULL;
}

struct rctx {
    struct buf *out;
    enum lang lang;
    const struct tmpl_var *vars;
    size_t nvars;
    int depth;
};

static enum rc render(struct rctx *c, const char *t, size_t len);

/* Finds the matching {{/name}} for a block opened at t[0..len); returns its offset or -1. */
static long
block_end(const char *t, size_t len, struct span name)
{
    int nest = 0;

    for (size_t i = 0; i + 4 < len; i++) {
        if (t[i] != '{' || t[i + 1] != '{')
            continue;
        if ((t[i + 2] == '?' || t[i + 2] == '!') && len - i - 3 > name.len
            && memcmp(t + i + 3, name.p, name.len) == 0 && t[i + 3 + name.len] == '}')
            nest++;
        if (t[i + 2] == '/' && len - i - 3 > name.len && memcmp(t + i + 3, name.p, name.len) == 0
            && t[i + 3 + name.len] == '}') {
            if (nest-- == 0)
                return (long)i;
        }
    }
    return -1;
}

/* Handles the tag whose inside is tag (between the braces); *skip = bytes consumed after
 * the tag's end (for blocks). */
static enum rc
tag(struct rctx *c, struct span tg, bool raw, const char *rest, size_t restlen, size_t *skip)
{
    const struct span *v;
    enum rc rc;

    *skip = 0;
    if (raw) {
        v = var(c->vars, c->nvars, tg);
        return v ? buf_append_span(c->out, *v) : RC_OK;
    }
    if (tg.len > 2 && memcmp(tg.p, "t:", 2) == 0) {
        char key[64];
        if (tg.len - 2 >= sizeof(key))
            return RC_MALFORMED;
        memcpy(key, tg.p + 2, tg.len - 2);
        key[tg.len - 2] = 0;
        return buf_append_str(c->out, tmpl_t(c->lang, key));
    }
    if (tg.len > 1 && (tg.p[0] == '?' || tg.p[0] == '!')) {
        struct span name = span_of(tg.p + 1, tg.len - 1);
        long end = block_end(rest, restlen, name);
        bool set;
        if (end < 0)
            return RC_MALFORMED;
        v = var(c->vars, c->nvars, name);
        set = v && v->len;
        rc = (set == (tg.p[0] == '?')) ? render(c, rest, (size_t)end) : RC_OK;
        *skip = (size_t)end + 3 + name.len + 2; /* the block and its {{/name}} */
        return rc;
    }
    if (tg.len > 1 && tg.p[0] == '>') {
        char fname[64];
        const struct tmpl_file *f;
        if (tg.len - 1 >= sizeof(fname) || c->depth >= TMPL_MAX_DEPTH)
            return RC_MALFORMED;
        memcpy(fname, tg.p + 1, tg.len - 1);
        fname[tg.len - 1] = 0;
        if (!(f = tmpl_file(fname)))
            return RC_NOT_FOUND;
        c->depth++;
        rc = render(c, f->text, f->len);
        c->depth--;
        return rc;
    }
    if (tg.len && tg.p[0] == '/')
        return RC_MALFORMED; /* a close without its open */
    v = var(c->vars, c->nvars, tg);
    return v ? html_escape(c->out, *v) : RC_OK;
}

static enum rc
render(struct rctx *c, const char *t, size_t len)
{
    size_t i = 0;
    enum rc rc = RC_OK;

    while (i < len && rc == RC_OK) {
        const char *open = memmem(t + i, len - i, "{{", 2), *close;
        bool raw;
        size_t skip, after;
        if (!open)
            return buf_append(c->out, t + i, len - i);
        if ((rc = buf_append(c->out, t + i, (size_t)(open - (t + i)))) != RC_OK)
            return rc;
        raw = (size_t)(open - t) + 2 < len && open[2] == '{';
        if (!(close = memmem(open, len - (size_t)(open - t), raw ? "}}}" : "}}", raw ? 3 : 2)))
            return RC_MALFORMED;
        after = (size_t)(close - t) + (raw ? 3 : 2);
        rc = tag(c, span_of(open + (raw ? 3 : 2), (size_t)(close - open) - (raw ? 3 : 2)), raw,
                 t + after, len - after, &skip);
        i = after + skip;
    }
    return rc;
}

enum rc
tmpl_render(struct buf *out, const char *name, enum lang lang, const struct tmpl_var *vars,
            size_t nvars)
{
    const struct tmpl_file *f = tmpl_file(name);
    struct rctx c = {out, lang, vars, nvars, 0};

    return f ? render(&c, f->text, f->len) : RC_NOT_FOUND;
}

static int
lang_of(const char *p, size_t n)
{
    if (n >= 2 && (p[0] | 0x20) == 'z' && (p[1] | 0x20) == 'h' && (n == 2 || p[2] == '-'))
        return LANG_ZH;
    if (n >= 2 && (p[0] | 0x20) == 'e' && (p[1] | 0x20) == 'n' && (n == 2 || p[2] == '-'))
        return LANG_EN;
    return -1;
}

enum lang
tmpl_lang(struct span ui, const char *al)
{
    int best = -1, q, bestq = -1;

    struct span w;

    for (size_t i = 0; span_next_word(ui, &i, &w);)
        if ((best = lang_of((const char *)w.p, w.len)) >= 0)
            return (enum lang)best;
    /* Accept-Language: tag[;q=0.x], ... — the highest q wins, the first among equals */
    for (const char *p = al; p && *p;) {
        size_t n;
        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, ";, ");
        int l = lang_of(p, n);
        const char *e = p + strcspn(p, ",");
        const char *qs = memmem(p, (size_t)(e - p), "q=", 2);
        q = 1000;
        if (qs) {
            q = qs[2] == '1' ? 1000 : 0;
            if (qs[2] == '0' && qs[3] == '.')
                for (int k = 0, m = 100; k < 3 && qs[4 + k] >= '0' && qs[4 + k] <= '9'; k++, m /= 10)
                    q += (qs[4 + k] - '0') * m;
        }
        if (l >= 0 && q > bestq && q > 0)
            best = l, bestq = q;
        p = e;
    }
    return best >= 0 ? (enum lang)best : LANG_ZH;
}
