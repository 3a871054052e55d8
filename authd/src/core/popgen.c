/* Synthetic population (see popgen.h). */
#include "core/popgen.h"

#include <string.h>

#include "core/region.h"

/* Ordered roughly by frequency; pick() favours the front. */
static const char *const surnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
    "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏",
    "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
    "石", "廖", "贾", "夏", "韦", "付", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹",
    "薛", "闫", "段", "雷", "侯", "龙", "史", "陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵",
    "万", "钱", "严", "覃", "武", "戴", "莫", "孔", "向", "汤"};
static const char *const compound_surnames[] = {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫"};
static const char *const male_chars[] = {
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华",
    "飞", "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "阳",
    "建", "国", "峰", "志", "文", "博", "晨", "轩", "泽", "睿", "哲", "宏", "家", "振", "永",
    "海", "东", "成", "子", "天", "嘉", "思", "一", "德", "荣", "新", "春", "金", "云", "立"};
static const char *const female_chars[] = {
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "英", "玲", "桂", "兰", "萍", "红",
    "玉", "婷", "雪", "琳", "慧", "莉", "倩", "晶", "欣", "怡", "佳", "颖", "梅", "燕", "丹",
    "洁", "璐", "琪", "瑶", "萱", "涵", "蕾", "薇", "月", "子", "思", "雨", "梦", "晓", "春",
    "文", "小", "美", "亚", "凤", "淑", "琴", "珍", "嘉", "诗", "欢", "妍", "悦", "一", "心"};
/* Minority (Uyghur) given names and fathers' names, joined with U+00B7. */
static const char *const minority_male[] = {"买买提", "艾力",     "阿不都拉", "吐尔逊", "阿迪力",
                                            "麦尔丹", "艾合买提", "热合曼",   "阿力木", "努尔兰"};
static const char *const minority_female[] = {"阿依古丽", "古丽娜尔",   "热依拉",   "帕提古丽",
                                              "迪丽拜尔", "古再丽努尔", "阿依努尔", "米热古丽"};
static const char *const minority_father[] = {"买买提", "艾力",        "阿不都拉", "吐尔逊",
                                              "热合曼", "依明",        "司马义",   "卡德尔",
                                              "玉素甫", "阿布都热依木"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DAY_1930 (-14610) /* days from 1970-01-01 to 1930-01-01 */
#define DAY_2009 14245    /* to 2009-01-01 */

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
popgen_next(struct popgen *g)
{
    uint64_t *s = g->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, n) (n small: the modulo bias is negligible for a synthetic population). */
static size_t
below(struct popgen *g, size_t n)
{
    return (size_t)((popgen_next(g) >> 11) % n);
}

/* Favours low indexes (roughly like real surname frequencies). */
static size_t
skewed(struct popgen *g, size_t n)
{
    double u = (double)(popgen_next(g) >> 11) / 9007199254740992.0;
    return (size_t)(u * u * (double)n);
}

enum rc
popgen_init(struct popgen *g, uint64_t seed, uint32_t province)
{
    uint64_t x = seed;

    for (int i = 0; i < 4; i++)
        g->s[i] = splitmix64(&x);
    return region_counties_of(province, &g->first, &g->ncounties);
}

static void
append(struct popgen_person *p, const char *s)
{
    size_t n = strlen(s);

    if (p->name_len + n > POPGEN_NAME_MAX)
        return; /* cannot happen with the lists above */
    memcpy(p->name + p->name_len, s, n);
    p->name_len += n;
    p->name[p->name_len] = '\0';
}

static void
make_name(struct popgen *g, struct popgen_person *p)
{
    int male = p->sex == 'M';
    const char *const *given = male ? male_chars : female_chars;
    size_t ngiven = male ? COUNT(male_chars) : COUNT(female_chars);
    uint64_t kind = below(g, 1000);

    p->name_len = 0;
    p->name[0] = '\0';
    if (kind < 20) { /* ~2% minority names */
        append(p, male ? minority_male[below(g, COUNT(minority_male))]
                       : minority_female[below(g, COUNT(minority_female))]);
        append(p, "·");
        append(p, minority_father[below(g, COUNT(minority_father))]);
        return;
    }
    if (kind < 25)
        append(p, compound_surnames[below(g, COUNT(compound_surnames))]);
    else
        append(p, surnames[skewed(g, COUNT(surnames))]);
    append(p, given[below(g, ngiven)]);
    if (kind >= 25 + 300) /* ~67% three characters, ~30% two */
        append(p, given[below(g, ngiven)]);
}

/* Writes n digits of v into d, most significant first. */
static void
put_digits(char *d, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        d[i] = (char)('0' + v % 10);
}

void
popgen_person(struct popgen *g, struct popgen_person *p)
{
    int64_t day = DAY_1930 + (int64_t)below(g, DAY_2009 - DAY_1930);
    uint32_t seq = 1 + (uint32_t)below(g, 999), st = (uint32_t)below(g, 1000);

    p->region = region_counties[g->first + below(g, g->ncounties)].code;
    p->birth_ymd = idnum_ymd_from_unix(day * 86400, 0);
    p->sex = below(g, 2) ? 'M' : 'F';
    if (p->sex == 'M' && seq % 2 == 0)
        seq--;
    else if (p->sex == 'F' && seq % 2 == 1)
        seq = seq == 999 ? 998 : seq + 1;
    put_digits(p->id, p->region, 6);
    put_digits(p->id + 6, p->birth_ymd, 8);
    put_digits(p->id + 14, seq, 3);
    p->id[17] = idnum_check_char(p->id);
    p->id[18] = '\0';
    p->status = st < 10 ? POP_STATUS_DECEASED : st < 15 ? POP_STATUS_CANCELLED : POP_STATUS_NORMAL;
    make_name(g, p);
}
