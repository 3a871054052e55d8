/* http/router: exact path matching, 404 and 405 (with Allow), HEAD served by GET routes, the
 * metrics listener kept apart, and the route index used for metrics. The routes are this
 * file's own (the unit test binary links none of http/route_*.c). */
#include <string.h>

#include "http/router.h"
#include "test.h"

static int calls;
static const char *last;

static void
h_get(struct http_req *r, struct http_resp *w)
{
    (void)r;
    calls++, last = "get";
    w->status = 200;
}

static void
h_post(struct http_req *r, struct http_resp *w)
{
    (void)r;
    calls++, last = "post";
    w->status = 201;
}

static void
h_both(struct http_req *r, struct http_resp *w)
{
    (void)r;
    calls++, last = "both";
    w->status = 202;
}

static void
h_metrics(struct http_req *r, struct http_resp *w)
{
    (void)r;
    calls++, last = "metrics";
    w->status = 203;
}

static void
routes(void)
{
    static int done;

    if (done++)
        return;
    router_register("t_get", "/t/get", HTTP_GET, h_get);
    router_register("t_post", "/t/post", HTTP_POST, h_post);
    router_register("t_both", "/t/both", HTTP_GET | HTTP_POST, h_both);
    router_register("t_metrics", "/t/metrics", HTTP_GET | ROUTE_METRICS, h_metrics);
}

struct call {
    struct http_req r;
    struct http_resp w;
    unsigned idx;
};

static void
dispatch(struct call *c, enum http_method m, const char *path, bool metrics_listener)
{
    memset(c, 0, sizeof(*c));
    arena_init(&c->r.arena, 0);
    c->r.method = m;
    c->r.path = span_str(path);
    c->r.metrics_listener = metrics_listener;
    c->idx = 12345;
    calls = 0, last = NULL;
    router_dispatch(&c->r, &c->w, &c->idx);
}

static const char *
header(const struct call *c, const char *name)
{
    for (size_t i = 0; i < c->w.nhdr; i++)
        if (strcmp(c->w.hdr[i].name, name) == 0)
            return c->w.hdr[i].value;
    return NULL;
}

static void
done(struct call *c)
{
    arena_clear(&c->r.arena);
}

TEST(router_dispatches_exact_paths_and_methods)
{
    struct call c;
    unsigned get_idx;

    routes();
    dispatch(&c, HTTP_GET, "/t/get", false);
    CHECK(calls == 1 && last && strcmp(last, "get") == 0);
    CHECK_INT(c.w.status, 200);
    CHECK(c.idx > 0);
    get_idx = c.idx;
    done(&c);
    dispatch(&c, HTTP_HEAD, "/t/get", false); /* a GET route answers HEAD */
    CHECK(calls == 1 && c.idx == get_idx);
    done(&c);
    dispatch(&c, HTTP_POST, "/t/post", false);
    CHECK(calls == 1 && c.w.status == 201 && c.idx != get_idx && c.idx > 0);
    done(&c);
    dispatch(&c, HTTP_POST, "/t/both", false);
    CHECK(calls == 1 && c.w.status == 202);
    done(&c);
}

TEST(router_refuses_other_methods_with_405_and_allow)
{
    static const struct {
        enum http_method m;
        const char *path, *allow;
    } cases[] = {
        {HTTP_POST, "/t/get", "GET, HEAD"},
        {HTTP_OPTIONS, "/t/get", "GET, HEAD"},
        {HTTP_GET, "/t/post", "POST"},
        {HTTP_HEAD, "/t/post", "POST"},
        {HTTP_OTHER, "/t/both", "GET, HEAD, POST"},
    };
    struct call c;

    routes();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dispatch(&c, cases[i].m, cases[i].path, false);
        CHECK_INT(calls, 0);
        CHECK_INT(c.w.status, 405);
        CHECK_STR(header(&c, "Allow"), cases[i].allow);
        CHECK(c.idx > 0); /* counted under the route */
        CHECK_SPAN(c.w.body,
                   "{\"error\":\"invalid_request\",\"error_description\":\"method not allowed\"}");
        done(&c);
    }
}

TEST(router_unknown_paths_are_404_unmatched)
{
    static const char *const paths[] = {"/t/get/", "/t/ge", "/T/get", "/t/get?x=1", "", "/"};
    struct call c;

    routes();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        dispatch(&c, HTTP_GET, paths[i], false);
        CHECK_INT(calls, 0);
        CHECK_INT(c.w.status, 404);
        CHECK_INT(c.idx, 0);
        CHECK(header(&c, "Allow") == NULL);
        CHECK_SPAN(c.w.body,
                   "{\"error\":\"not_found\",\"error_description\":\"no such endpoint\"}");
        done(&c);
    }
}

TEST(router_keeps_the_metrics_listener_apart)
{
    struct call c;

    routes();
    dispatch(&c, HTTP_GET, "/t/metrics", false); /* not on the public listener */
    CHECK(calls == 0 && c.w.status == 404 && c.idx == 0);
    done(&c);
    dispatch(&c, HTTP_GET, "/t/metrics", true);
    CHECK(calls == 1 && c.w.status == 203 && c.idx > 0);
    done(&c);
    dispatch(&c, HTTP_POST, "/t/metrics", true);
    CHECK_INT(c.w.status, 405);
    CHECK_STR(header(&c, "Allow"), "GET, HEAD");
    done(&c);
    dispatch(&c, HTTP_GET, "/t/get", true); /* and the metrics listener serves nothing else */
    CHECK(calls == 0 && c.w.status == 404 && c.idx == 0);
    done(&c);
}
