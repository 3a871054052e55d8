/* User-Agent summaries (see uagent.h). */
#include "core/uagent.h"

#include <stdio.h>
#include <string.h>

struct mark {
    const char *token; /* looked for in the header */
    const char *name;  /* what the page says */
    bool version;      /* a "/major" follows token */
};

/* First match wins: the embedded browsers and the Chromium forks before Chrome, Chrome
 * before Safari (Chrome's header names Safari too). */
static const struct mark browsers[] = {
    {"MicroMessenger/", "WeChat", false}, {"AlipayClient/", "Alipay", false},
    {"Edg/", "Edge", true},               {"OPR/", "Opera", true},
    {"Firefox/", "Firefox", true},        {"Chrome/", "Chrome", true},
    {"CriOS/", "Chrome", true},           {"Version/", "Safari", true},
    {"curl/", "curl", true},
};

static const struct mark systems[] = {
    {"HarmonyOS", "HarmonyOS", false}, {"Android", "Android", false},
    {"iPhone", "iOS", false},          {"iPad", "iPadOS", false},
    {"Windows", "Windows", false},     {"Mac OS X", "macOS", false},
    {"CrOS", "ChromeOS", false},       {"Linux", "Linux", false},
};

/* Position just past the first occurrence of tok in h[0..n), or 0 when absent. */
static size_t
find(const char *h, size_t n, const char *tok)
{
    size_t k = strlen(tok);

    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(h + i, tok, k) == 0)
            return i + k;
    return 0;
}

static const struct mark *
first(const char *h, size_t n, const struct mark *m, size_t nm, size_t *at)
{
    for (size_t i = 0; i < nm; i++)
        if ((*at = find(h, n, m[i].token)) != 0)
            return &m[i];
    return NULL;
}

void
ua_summary(struct span ua, char out[UA_SUMMARY_SIZE])
{
    const char *h = (const char *)ua.p;
    size_t n = ua.len < UA_HEADER_MAX ? ua.len : UA_HEADER_MAX, at = 0, d = 0;
    const struct mark *b = h ? first(h, n, browsers, sizeof(browsers) / sizeof(*browsers), &at)
                             : NULL;
    const struct mark *s = NULL;
    char ver[UA_VERSION_DIGITS + 2] = "";
    size_t sat;

    if (b && b->version) {
        ver[0] = ' ';
        while (d < UA_VERSION_DIGITS && at + d < n && h[at + d] >= '0' && h[at + d] <= '9')
            ver[1 + d] = h[at + d], d++;
        ver[d ? 1 + d : 0] = 0;
    }
    if (h)
        s = first(h, n, systems, sizeof(systems) / sizeof(*systems), &sat);
    if (b && s)
        snprintf(out, UA_SUMMARY_SIZE, "%s%s \xc2\xb7 %s", b->name, ver, s->name);
    else if (b || s)
        snprintf(out, UA_SUMMARY_SIZE, "%s%s", b ? b->name : s->name, b ? ver : "");
    else
        snprintf(out, UA_SUMMARY_SIZE, "?");
}
