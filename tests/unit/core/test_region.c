#include "core/region.h"
#include "test.h"

TEST(region_names_by_code)
{
    struct region_names n;

    CHECK_STR(region_province_name(11), "北京市");
    CHECK_STR(region_province_name(65), "新疆维吾尔自治区");
    CHECK(region_province_name(99) == NULL);
    CHECK_STR(region_city_name(4401), "广州市");
    CHECK_STR(region_county_name(110101), "东城区");
    CHECK_RC(region_lookup(110105, &n), RC_OK);
    CHECK_STR(n.province, "北京市");
    CHECK_STR(n.county, "朝阳区");
    CHECK_RC(region_lookup(440524, &n), RC_NOT_FOUND);
    CHECK_STR(n.province, "广东省");
    CHECK(n.county == NULL);
}

TEST(region_tables_are_sorted)
{
    for (size_t i = 1; i < region_counties_count; i++)
        CHECK(region_counties[i - 1].code < region_counties[i].code);
    for (size_t i = 1; i < region_cities_count; i++)
        CHECK(region_cities[i - 1].code < region_cities[i].code);
    for (size_t i = 1; i < region_provinces_count; i++)
        CHECK(region_provinces[i - 1].code < region_provinces[i].code);
}

TEST(region_counties_of_province)
{
    size_t first, n;

    CHECK_RC(region_counties_of(11, &first, &n), RC_OK);
    CHECK(n >= 16);
    for (size_t i = first; i < first + n; i++)
        CHECK_INT(region_counties[i].code / 10000, 11);
    CHECK_RC(region_counties_of(99, &first, &n), RC_NOT_FOUND);
    CHECK_RC(region_counties_of(0, &first, &n), RC_OK);
    CHECK_INT(n, region_counties_count);
}
