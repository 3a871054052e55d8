/* authctl idnum check NUMBER | idnum convert NUMBER15: the ID-number core from the
 * command line. check prints one JSON object and exits 0 if valid, 1 if not. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "authctl/authctl.h"
#include "core/idnum.h"
#include "core/region.h"

#define CHINA_UTC_OFFSET (8 * 3600)

static json_t *
region_json(uint32_t code)
{
    struct region_names n;
    char c[7];

    snprintf(c, sizeof(c), "%06u", (unsigned)code);
    (void)region_lookup(code, &n);
    return json_pack("{s:s, s:s?, s:s?, s:s?}", "code", c, "province", n.province, "city", n.city,
                     "county", n.county);
}

static json_t *
warnings_json(unsigned w)
{
    json_t *a = json_array();

    if (w & IDNUM_WARN_COUNTY_UNKNOWN)
        json_array_append_new(a, json_string("county_unknown"));
    if (w & IDNUM_WARN_BEFORE_1900)
        json_array_append_new(a, json_string("born_before_1900"));
    return a;
}

/* Prints the result of parsing as JSON; returns the exit code. */
static int
print_result(enum rc rc, const struct idnum *id, const struct idnum_info *info)
{
    json_t *o;
    char date[11];

    if (rc != RC_OK) {
        o = json_pack("{s:b, s:s, s:s}", "valid", 0, "reason", idnum_reason_name(info->reason),
                      "message", idnum_reason_message(info->reason));
    } else {
        snprintf(date, sizeof(date), "%.4s-%.2s-%.2s", id->text + 6, id->text + 10, id->text + 12);
        o = json_pack("{s:b, s:s, s:s, s:s, s:s#, s:o, s:o}", "valid", 1, "reason", "ok",
                      "id_number", id->text, "birth_date", date, "sex", &id->sex, (size_t)1,
                      "region", region_json(id->region), "warnings", warnings_json(info->warnings));
    }
    if (!o || json_dumpf(o, stdout, JSON_COMPACT) != 0) {
        json_decref(o);
        fprintf(stderr, "authctl: cannot print JSON\n");
        return 2;
    }
    printf("\n");
    json_decref(o);
    return rc == RC_OK ? 0 : 1;
}

static int
cmd_idnum(struct authctl *ctl, int argc, char **argv)
{
    struct idnum id;
    struct idnum_info info = {0};
    enum rc rc;

    (void)ctl;
    if (argc != 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "convert") != 0)) {
        fprintf(stderr, "usage: authctl idnum check NUMBER | idnum convert NUMBER15\n");
        return 2;
    }
    info.today_ymd = idnum_ymd_from_unix((int64_t)time(NULL), CHINA_UTC_OFFSET);
    if (strcmp(argv[1], "check") == 0) {
        rc = idnum_parse(span_str(argv[2]), &id, &info);
        return print_result(rc, &id, &info);
    }
    if ((rc = idnum_convert15(span_str(argv[2]), &id, &info)) != RC_OK) {
        fprintf(stderr, "authctl: idnum convert: %s: %s\n", idnum_reason_name(info.reason),
                info.ri.msg);
        return 1;
    }
    printf("%s\n", id.text);
    return 0;
}

AUTHCTL_COMMAND(idnum, "idnum check NUMBER | idnum convert NUMBER15", cmd_idnum)
