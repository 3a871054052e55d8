/* The HTTP population base's pure parts: circuit breaker, URL check, request and answer
 * codecs, cache values, back-off (see popbase_http_int.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapt/popbase_http_int.h"
#include "util/num.h"

void
breaker_init(struct breaker *b, uint32_t threshold, uint32_t open_ms)
{
    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->mu, NULL);
    b->state = BREAKER_CLOSED;
    b->threshold = threshold ? threshold : 1;
    b->open_ms = open_ms;
}

void
breaker_clear(struct breaker *b)
{
    pthread_mutex_destroy(&b->mu);
}

bool
breaker_allow(struct breaker *b, int64_t now_ms)
{
    bool go = true;

    pthread_mutex_lock(&b->mu);
    if (b->state != BREAKER_CLOSED) {
        /* open: wait out open_ms, then this caller probes; half-open: one probe at a
         * time, unless the probe has been silent for open_ms (its caller gave up) */
        go = now_ms - b->since_ms >= (int64_t)b->open_ms;
        if (go) {
            b->state = BREAKER_HALF_OPEN;
            b->since_ms = now_ms;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return go;
}

void
breaker_success(struct breaker *b)
{
    pthread_mutex_lock(&b->mu);
    b->state = BREAKER_CLOSED;
    b->failures = 0;
    pthread_mutex_unlock(&b->mu);
}

void
breaker_failure(struct breaker *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->mu);
    if (b->state == BREAKER_HALF_OPEN) {
        b->state = BREAKER_OPEN; /* the probe failed: another open_ms */
        b->since_ms = now_ms;
    } else if (b->state == BREAKER_CLOSED && ++b->failures >= b->threshold) {
        b->state = BREAKER_OPEN;
        b->since_ms = now_ms;
        b->failures = 0;
        b->opens++;
    }
    pthread_mutex_unlock(&b->mu);
}

enum breaker_state
breaker_state(struct breaker *b)
{
    enum breaker_state s;

    pthread_mutex_lock(&b->mu);
    s = b->state;
    pthread_mutex_unlock(&b->mu);
    return s;
}

uint64_t
breaker_opens(struct breaker *b)
{
    uint64_t n;

    pthread_mutex_lock(&b->mu);
    n = b->opens;
    pthread_mutex_unlock(&b->mu);
    return n;
}

enum rc
pophttp_url_check(const char *url, struct rc_info *ri)
{
    size_t n = url ? strlen(url) : 0;
    const char *host;

    if (n > POPHTTP_MAX_URL)
        return rc_set(ri, RC_MALFORMED, "popbase", "URL too long");
    if (n >= 7 && strncmp(url, "http://", 7) == 0)
        return rc_set(ri, RC_UNSUPPORTED, "popbase",
                      "plain http:// is refused: the population service needs mutual TLS");
    if (n < 9 || strncmp(url, "https://", 8) != 0)
        return rc_set(ri, RC_MALFORMED, "popbase", "must be an https:// URL");
    host = url + 8;
    if (*host == '/' || *host == ':')
        return rc_set(ri, RC_MALFORMED, "popbase", "URL has no host");
    for (const char *c = host; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '?' || *c == '#' || *c == '@'
            || *c == '\\')
            return rc_set(ri, RC_MALFORMED, "popbase",
                          "URL must not hold a query, fragment, user or space");
    }
    return RC_OK;
}

enum rc
pophttp_request_body(struct span id18, struct span name, char **out)
{
    json_t *o = json_object();
    char *s = NULL;

    if (o && json_object_set_new(o, "id_number", json_stringn((const char *)id18.p, id18.len)) == 0
        && json_object_set_new(o, "name", json_stringn((const char *)name.p, name.len)) == 0)
        s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return RC_NOMEM;
    *out = s;
    return RC_OK;
}

static bool
parse_answer_name(const char *s, enum pop_answer *ans)
{
    for (int a = 0; a < POP_UNAVAILABLE; a++) {
        if (strcmp(s, pop_answer_name((enum pop_answer)a)) == 0) {
            *ans = (enum pop_answer)a;
            return true;
        }
    }
    return false; /* "unavailable" is not an answer the service may give */
}

/* birth_date "YYYYMMDD", sex "M"/"F", region six digits: all required on a match. */
static enum rc
parse_attrs(json_t *o, struct pop_attrs *at)
{
    const char *bd = json_string_value(json_object_get(o, "birth_date"));
    const char *sex = json_string_value(json_object_get(o, "sex"));
    const char *rg = json_string_value(json_object_get(o, "region"));
    uint64_t ymd, region;

    if (!bd || !sex || !rg || strlen(bd) != 8 || strlen(rg) != 6
        || num_parse_u64(span_str(bd), 18000101, 29991231, &ymd) != RC_OK
        || num_parse_u64(span_str(rg), 110000, 999999, &region) != RC_OK || ymd % 100 < 1
        || ymd % 100 > 31 || ymd / 100 % 100 < 1 || ymd / 100 % 100 > 12
        || (strcmp(sex, "M") != 0 && strcmp(sex, "F") != 0))
        return RC_MALFORMED;
    at->birth_ymd = (uint32_t)ymd;
    at->sex = sex[0];
    at->region = (uint32_t)region;
    return RC_OK;
}

enum rc
pophttp_parse_answer(struct span body, enum pop_answer *ans, struct pop_attrs *attrs)
{
    struct pop_attrs at = {0};
    enum pop_answer a = POP_UNAVAILABLE;
    json_t *o = NULL;
    const char *res;
    enum rc rc = RC_MALFORMED;

    if (body.len > POPHTTP_MAX_RESPONSE)
        return RC_MALFORMED;
    o = json_loadb((const char *)body.p, body.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o) || !(res = json_string_value(json_object_get(o, "result")))
        || !parse_answer_name(res, &a))
        goto out;
    if (a == POP_MATCH && parse_attrs(o, &at) != RC_OK)
        goto out;
    *ans = a;
    if (attrs && a == POP_MATCH)
        *attrs = at;
    rc = RC_OK;
out:
    json_decref(o);
    return rc;
}

size_t
pophttp_cache_encode(enum pop_answer ans, const struct pop_attrs *at, char out[POPHTTP_CACHE_VALUE])
{
    int n;

    if ((unsigned)ans >= POP_UNAVAILABLE)
        return 0;
    if (ans == POP_MATCH)
        n = snprintf(out, POPHTTP_CACHE_VALUE, "match %08u %c %06u", (unsigned)at->birth_ymd,
                     at->sex, (unsigned)at->region);
    else
        n = snprintf(out, POPHTTP_CACHE_VALUE, "%s", pop_answer_name(ans));
    return n > 0 && n < POPHTTP_CACHE_VALUE ? (size_t)n : 0;
}

enum rc
pophttp_cache_decode(struct span v, enum pop_answer *ans, struct pop_attrs *attrs)
{
    char s[POPHTTP_CACHE_VALUE], bd[9], sex[2], rg[7];
    enum pop_answer a;
    uint64_t ymd, region;

    if (v.len == 0 || v.len >= sizeof(s) || span_has_nul(v))
        return RC_MALFORMED;
    memcpy(s, v.p, v.len);
    s[v.len] = 0;
    if (strncmp(s, "match ", 6) != 0) {
        if (!parse_answer_name(s, &a) || a == POP_MATCH)
            return RC_MALFORMED;
        *ans = a;
        return RC_OK;
    }
    if (v.len != 23 || sscanf(s + 6, "%8[0-9] %1[MF] %6[0-9]", bd, sex, rg) != 3
        || num_parse_u64(span_str(bd), 18000101, 29991231, &ymd) != RC_OK
        || num_parse_u64(span_str(rg), 110000, 999999, &region) != RC_OK)
        return RC_MALFORMED;
    *ans = POP_MATCH;
    if (attrs)
        *attrs = (struct pop_attrs){(uint32_t)ymd, sex[0], (uint32_t)region};
    return RC_OK;
}

uint32_t
pophttp_backoff_ms(uint32_t n, uint32_t base_ms, uint32_t cap_ms, uint32_t r)
{
    uint32_t step = base_ms;

    for (uint32_t i = 1; i < n && step < cap_ms; i++)
        step *= 2;
    if (step > cap_ms)
        step = cap_ms;
    return step / 2 + r % (step - step / 2 + 1);
}
