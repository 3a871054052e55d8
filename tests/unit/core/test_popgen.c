/* core/popgen: the generator is xoshiro256** seeded through splitmix64 (pinned against the
 * reference values, so a seed keeps naming the same people across versions), and every
 * person it makes is a valid, self-consistent citizen in the documented proportions.
 * Same seed, same people, and the province filter: test_idnum.c
 * (popgen_is_deterministic_and_respects_province). */
#include <stdio.h>
#include <string.h>

#include "core/idnum.h"
#include "core/name.h"
#include "core/popgen.h"
#include "test.h"

#define N 20000

TEST(popgen_next_is_xoshiro256starstar_seeded_by_splitmix64)
{
    struct popgen g;

    REQUIRE(popgen_init(&g, 0, 0) == RC_OK);
    CHECK(popgen_next(&g) == 0x99ec5f36cb75f2b4ull);
    CHECK(popgen_next(&g) == 0xbf6e1f784956452aull);
    CHECK(popgen_next(&g) == 0x1a5f849d4933e6e0ull);
    REQUIRE(popgen_init(&g, 42, 0) == RC_OK);
    CHECK(popgen_next(&g) == 0x15780b2e0c2ec716ull);
    CHECK(popgen_next(&g) == 0x6104d9866d113a7eull);
}

/* One person: a number idnum_parse accepts, agreeing with every other field. */
static void
check_person(const struct popgen_person *p)
{
    struct idnum id;
    struct name_norm nn;
    char ymd[9];

    CHECK_INT(strlen(p->id), IDNUM_LEN);
    REQUIRE(idnum_parse(span_str(p->id), &id, NULL) == RC_OK);
    CHECK_INT(id.region, p->region);
    CHECK_INT(id.birth_ymd, p->birth_ymd);
    CHECK_INT(id.sex, p->sex);
    CHECK(id.seq >= 1 && id.seq <= 999);
    CHECK(p->birth_ymd >= 19300101 && p->birth_ymd <= 20081231);
    snprintf(ymd, sizeof(ymd), "%08u", (unsigned)p->birth_ymd);
    CHECK(memcmp(p->id + 6, ymd, 8) == 0);
    CHECK_INT(p->name_len, strlen(p->name));
    CHECK(p->name_len >= 6 && p->name_len < POPGEN_NAME_MAX); /* two CJK characters or more */
    CHECK_RC(name_normalize(span_of(p->name, p->name_len), &nn, NULL), RC_OK);
    CHECK(nn.len == p->name_len && memcmp(nn.p, p->name, nn.len) == 0); /* already normal */
}

TEST(popgen_people_are_valid_and_in_proportion)
{
    struct popgen g;
    struct popgen_person p;
    int dead = 0, cancelled = 0, minority = 0, male = 0, three = 0;

    REQUIRE(popgen_init(&g, 20250301, 0) == RC_OK);
    for (int i = 0; i < N && !test_failed(); i++) {
        popgen_person(&g, &p);
        check_person(&p);
        dead += p.status == POP_STATUS_DECEASED;
        cancelled += p.status == POP_STATUS_CANCELLED;
        minority += strstr(p.name, "·") != NULL;
        male += p.sex == 'M';
        three += strstr(p.name, "·") == NULL && p.name_len == 9;
    }
    /* about 1 %, 0.5 %, 2 %, half, and roughly two thirds of the Han names */
    CHECK(dead > N / 200 && dead < N * 15 / 1000);
    CHECK(cancelled > N / 500 && cancelled < N / 100);
    CHECK(minority > N / 100 && minority < N * 3 / 100);
    CHECK(male > N * 45 / 100 && male < N * 55 / 100);
    CHECK(three > N * 55 / 100 && three < N * 80 / 100);
}
