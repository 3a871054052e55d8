/* GB 11643-1999 citizen ID numbers (see idnum.h). */
#include "core/idnum.h"

#include <string.h>

#include "core/region.h"

static const struct {
    const char *name, *msg;
} reasons[IDNUM__REASONS] = {
    [IDNUM_OK] = {"ok", "valid"},
    [IDNUM_LENGTH] = {"length", "must be 18 characters"},
    [IDNUM_CHARACTER] = {"character", "must be 17 digits and a digit or X"},
    [IDNUM_CHECK_DIGIT] = {"check_digit", "check digit does not match"},
    [IDNUM_DATE] = {"date", "birth date is not a valid past date"},
    [IDNUM_PROVINCE] = {"province", "unknown province code"},
};

const char *
idnum_reason_name(enum idnum_reason r)
{
    return (unsigned)r < IDNUM__REASONS ? reasons[r].name : "unknown";
}

const char *
idnum_reason_message(enum idnum_reason r)
{
    return (unsigned)r < IDNUM__REASONS ? reasons[r].msg : "unknown";
}

static enum rc
reject(struct idnum_info *info, enum idnum_reason r)
{
    if (info) {
        info->reason = r;
        info->warnings = 0;
        rc_set(&info->ri, RC_MALFORMED, "id_number", reasons[r].msg);
    }
    return RC_MALFORMED;
}

char
idnum_check_char(const char digits17[17])
{
    /* ISO 7064 MOD 11-2: weight of position i (from the left) is 2^(17-i) mod 11. */
    static const uint8_t w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    unsigned sum = 0, c;

    for (int i = 0; i < 17; i++)
        sum += (unsigned)(digits17[i] - '0') * w[i];
    c = (12 - sum % 11) % 11;
    return c == 10 ? 'X' : (char)('0' + c);
}

int
idnum_date_valid(uint32_t y, uint32_t m, uint32_t d)
{
    static const uint8_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    uint32_t max;

    if (y < 1 || m < 1 || m > 12 || d < 1)
        return 0;
    max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max;
}

static uint32_t
digits(const uint8_t *p, int n)
{
    uint32_t v = 0;

    for (int i = 0; i < n; i++)
        v = v * 10 + (uint32_t)(p[i] - '0');
    return v;
}

enum rc
idnum_parse(struct span in, struct idnum *out, struct idnum_info *info)
{
    uint32_t ymd, today = info ? info->today_ymd : 0;
    char text[IDNUM_LEN + 1];

    if (in.len != IDNUM_LEN)
        return reject(info, IDNUM_LENGTH);
    for (int i = 0; i < 17; i++) {
        if (in.p[i] < '0' || in.p[i] > '9')
            return reject(info, IDNUM_CHARACTER);
    }
    if (!((in.p[17] >= '0' && in.p[17] <= '9') || in.p[17] == 'X' || in.p[17] == 'x'))
        return reject(info, IDNUM_CHARACTER);
    if (!region_province_name(digits(in.p, 2)))
        return reject(info, IDNUM_PROVINCE);
    ymd = digits(in.p + 6, 8);
    if (!idnum_date_valid(ymd / 10000, ymd / 100 % 100, ymd % 100) || ymd < IDNUM_MIN_YMD
        || (today && ymd > today))
        return reject(info, IDNUM_DATE);
    memcpy(text, in.p, IDNUM_LEN);
    text[17] = text[17] == 'x' ? 'X' : text[17];
    text[IDNUM_LEN] = '\0';
    if (idnum_check_char(text) != text[17])
        return reject(info, IDNUM_CHECK_DIGIT);
    memcpy(out->text, text, sizeof(text));
    out->region = digits(in.p, 6);
    out->birth_ymd = ymd;
    out->seq = (uint16_t)digits(in.p + 14, 3);
    out->sex = out->seq % 2 ? 'M' : 'F';
    if (info) {
        info->reason = IDNUM_OK;
        info->warnings = (region_county_name(out->region) ? 0 : IDNUM_WARN_COUNTY_UNKNOWN)
                         | (ymd < IDNUM_WARN_YMD ? IDNUM_WARN_BEFORE_1900 : 0);
        info->ri = (struct rc_info){NULL, NULL};
    }
    return RC_OK;
}

enum rc
idnum_convert15(struct span in, struct idnum *out, struct idnum_info *info)
{
    char t[IDNUM_LEN];

    if (in.len != IDNUM15_LEN) {
        reject(info, IDNUM_LENGTH);
        if (info)
            info->ri.msg = "must be 15 digits";
        return RC_MALFORMED;
    }
    for (size_t i = 0; i < IDNUM15_LEN; i++) {
        if (in.p[i] < '0' || in.p[i] > '9')
            return reject(info, IDNUM_CHARACTER);
    }
    memcpy(t, in.p, 6);
    t[6] = '1';
    t[7] = '9';
    memcpy(t + 8, in.p + 6, 9);
    t[17] = idnum_check_char(t);
    return idnum_parse(span_of(t, sizeof(t)), out, info);
}

uint64_t
idnum_key(const struct idnum *id)
{
    uint64_t v = 0;

    for (int i = 0; i < 17; i++)
        v = v * 10 + (uint64_t)(id->text[i] - '0');
    return v;
}

uint32_t
idnum_ymd_from_unix(int64_t t, int32_t offset_s)
{
    /* Howard Hinnant's civil_from_days. */
    int64_t z = (t + offset_s) / 86400, era, doe, yoe, doy, mp, y;
    uint32_t m, d;

    if ((t + offset_s) % 86400 < 0)
        z--;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = (uint32_t)(doy - (153 * mp + 2) / 5 + 1);
    m = (uint32_t)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    return (uint32_t)y * 10000 + m * 100 + d;
}
