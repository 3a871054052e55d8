#include "core/loa.h"

#include <stdio.h>
#include <string.h>

enum rc
loa_parse(struct span acr, struct loa *out)
{
    const size_t pl = sizeof(LOA_ACR_PREFIX) - 1;
    const uint8_t *p;

    /* "urn:authd:acr:" "ial" D ":" "aal" D */
    if (acr.len != pl + 9 || memcmp(acr.p, LOA_ACR_PREFIX, pl) != 0)
        return RC_MALFORMED;
    p = acr.p + pl;
    if (memcmp(p, "ial", 3) != 0 || p[4] != ':' || memcmp(p + 5, "aal", 3) != 0)
        return RC_MALFORMED;
    if (p[3] < '2' || p[3] > '5' || p[8] < '1' || p[8] > '3')
        return RC_MALFORMED;
    out->ial = (enum ial)(p[3] - '0');
    out->aal = (enum aal)(p[8] - '0');
    return RC_OK;
}

void
loa_format(struct loa l, char *out)
{
    snprintf(out, LOA_ACR_MAX, LOA_ACR_PREFIX "ial%d:aal%d", (int)l.ial, (int)l.aal);
}

bool
loa_satisfies(struct loa have, struct loa want)
{
    return have.ial >= want.ial && have.aal >= want.aal;
}

struct loa
loa_max(struct loa a, struct loa b)
{
    return (struct loa){a.ial > b.ial ? a.ial : b.ial, a.aal > b.aal ? a.aal : b.aal};
}

enum rc
loa_pick(struct span v, struct loa *out)
{
    size_t i = 0;
    struct span w;

    while (span_next_word(v, &i, &w))
        if (loa_parse(w, out) == RC_OK)
            return RC_OK;
    return RC_NOT_FOUND;
}
