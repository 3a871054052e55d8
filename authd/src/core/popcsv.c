/* Population CSV lines (see popcsv.h). */
#include "core/popcsv.h"

#include <string.h>

#define NFIELDS 6

enum { F_ID, F_NAME, F_SEX, F_BIRTH, F_REGION, F_STATUS };

/* Fields of one line, unquoted into buf. */
struct fields {
    struct span f[NFIELDS];
    uint8_t buf[POPCSV_MAX_LINE];
};

static const char *const status_names[] = {"normal", "deceased", "cancelled"};

const char *
pop_status_name(enum pop_status s)
{
    return (unsigned)s < 3 ? status_names[s] : "unknown";
}

/* Strips one "\n" or "\r\n"; checks the length cap and embedded NUL, CR and LF. */
static enum rc
strip(struct span *line, struct rc_info *ri)
{
    if (line->len > POPCSV_MAX_LINE)
        return rc_set(ri, RC_TOO_LARGE, "line", "too long");
    if (line->len && line->p[line->len - 1] == '\n')
        line->len--;
    if (line->len && line->p[line->len - 1] == '\r')
        line->len--;
    for (size_t i = 0; i < line->len; i++) {
        if (line->p[i] == 0 || line->p[i] == '\r' || line->p[i] == '\n')
            return rc_set(ri, RC_MALFORMED, "line", "control character");
    }
    return RC_OK;
}

/* Reads one quoted field starting after its opening quote at *i. */
static enum rc
quoted(struct span l, size_t *i, uint8_t *dst, size_t *n)
{
    while (*i < l.len) {
        uint8_t c = l.p[(*i)++];
        if (c != '"') {
            dst[(*n)++] = c;
            continue;
        }
        if (*i < l.len && l.p[*i] == '"') {
            dst[(*n)++] = '"';
            (*i)++;
            continue;
        }
        return *i == l.len || l.p[*i] == ',' ? RC_OK : RC_MALFORMED;
    }
    return RC_MALFORMED; /* no closing quote */
}

static enum rc
split(struct span l, struct fields *fs, struct rc_info *ri)
{
    size_t i = 0, used = 0;

    for (int k = 0; k < NFIELDS; k++) {
        size_t n = 0;
        uint8_t *dst = fs->buf + used;
        if (i < l.len && l.p[i] == '"') {
            i++;
            if (quoted(l, &i, dst, &n) != RC_OK)
                return rc_set(ri, RC_MALFORMED, "line", "bad quoting");
        } else {
            while (i < l.len && l.p[i] != ',') {
                if (l.p[i] == '"')
                    return rc_set(ri, RC_MALFORMED, "line", "quote inside a field");
                dst[n++] = l.p[i++];
            }
        }
        fs->f[k] = span_of(dst, n);
        used += n;
        if (k < NFIELDS - 1) {
            if (i >= l.len)
                return rc_set(ri, RC_MALFORMED, "line", "too few fields");
            i++; /* the comma */
        }
    }
    if (i != l.len)
        return rc_set(ri, RC_MALFORMED, "line", "too many fields");
    return RC_OK;
}

enum rc
popcsv_header(struct span line, struct rc_info *ri)
{
    enum rc rc;

    if ((rc = strip(&line, ri)) != RC_OK)
        return rc;
    if (line.len >= 3 && memcmp(line.p, "\xef\xbb\xbf", 3) == 0)
        line = span_of(line.p + 3, line.len - 3);
    if (!span_eq_str(line, POPCSV_HEADER))
        return rc_set(ri, RC_MALFORMED, "header", "must be " POPCSV_HEADER);
    return RC_OK;
}

/* Checks the optional sex, birth_date and region columns against the number. */
static enum rc
agree(const struct fields *fs, const struct idnum *id, struct rc_info *ri)
{
    char date[11];
    char region[7];
    struct span s = fs->f[F_SEX];

    if (s.len && !(s.len == 1 && s.p[0] == (uint8_t)id->sex))
        return rc_set(ri, RC_MALFORMED, "sex", "must be M or F as the ID number says");
    memcpy(date, id->text + 6, 4);
    date[4] = '-';
    memcpy(date + 5, id->text + 10, 2);
    date[7] = '-';
    memcpy(date + 8, id->text + 12, 2);
    date[10] = '\0';
    if (fs->f[F_BIRTH].len && !span_eq_str(fs->f[F_BIRTH], date))
        return rc_set(ri, RC_MALFORMED, "birth_date", "must be YYYY-MM-DD as the ID number says");
    memcpy(region, id->text, 6);
    region[6] = '\0';
    if (fs->f[F_REGION].len && !span_eq_str(fs->f[F_REGION], region))
        return rc_set(ri, RC_MALFORMED, "region", "must be the ID number's county code");
    return RC_OK;
}

enum rc
popcsv_row(struct span line, uint32_t today_ymd, struct pop_row *out, struct rc_info *ri)
{
    struct fields fs;
    struct idnum_info info = {.today_ymd = today_ymd};
    enum rc rc;
    int st;

    if ((rc = strip(&line, ri)) != RC_OK || (rc = split(line, &fs, ri)) != RC_OK)
        return rc;
    if (idnum_parse(fs.f[F_ID], &out->id, &info) != RC_OK)
        return rc_set(ri, RC_MALFORMED, "id_number", idnum_reason_message(info.reason));
    if ((rc = name_normalize(fs.f[F_NAME], &out->name, ri)) != RC_OK)
        return rc;
    if ((rc = agree(&fs, &out->id, ri)) != RC_OK)
        return rc;
    for (st = 0; st < 3; st++) {
        if (span_eq_str(fs.f[F_STATUS], status_names[st]))
            break;
    }
    if (st == 3)
        return rc_set(ri, RC_MALFORMED, "status", "must be normal, deceased or cancelled");
    out->status = (enum pop_status)st;
    return RC_OK;
}
