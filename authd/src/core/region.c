/* GB/T 2260 lookups over the compiled-in tables (see region.h). */
#include "core/region.h"

/* Index of the first entry whose code is >= code. */
static size_t
lower_bound(const struct region_entry *t, size_t n, uint32_t code)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct region_entry *
find(const struct region_entry *t, size_t n, uint32_t code)
{
    size_t i = lower_bound(t, n, code);
    return i < n && t[i].code == code ? &t[i] : NULL;
}

const char *
region_province_name(uint32_t code2)
{
    const struct region_entry *e = find(region_provinces, region_provinces_count, code2);
    return e ? e->name : NULL;
}

const char *
region_city_name(uint32_t code4)
{
    const struct region_entry *e = find(region_cities, region_cities_count, code4);
    return e ? e->name : NULL;
}

const char *
region_county_name(uint32_t code6)
{
    const struct region_entry *e = find(region_counties, region_counties_count, code6);
    return e ? e->name : NULL;
}

enum rc
region_lookup(uint32_t code6, struct region_names *out)
{
    out->province = region_province_name(code6 / 10000);
    out->city = region_city_name(code6 / 100);
    out->county = region_county_name(code6);
    return out->county ? RC_OK : RC_NOT_FOUND;
}

enum rc
region_counties_of(uint32_t code2, size_t *first, size_t *n)
{
    size_t a, b;

    if (code2 == 0) {
        *first = 0;
        *n = region_counties_count;
        return region_counties_count ? RC_OK : RC_NOT_FOUND;
    }
    if (code2 > 99)
        return RC_NOT_FOUND;
    a = lower_bound(region_counties, region_counties_count, code2 * 10000);
    b = lower_bound(region_counties, region_counties_count, (code2 + 1) * 10000);
    *first = a;
    *n = b - a;
    return b > a ? RC_OK : RC_NOT_FOUND;
}
