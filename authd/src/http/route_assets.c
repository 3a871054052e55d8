/* Static assets compiled into the daemon. */
#include "http/router.h"
#include "http/tmpl.h"

static void
route_css(struct http_req *r, struct http_resp *w)
{
    const struct tmpl_file *f = tmpl_file("authd.css");

    (void)r;
    w->status = 200;
    w->ctype = "text/css; charset=utf-8";
    w->body = span_of(f->text, f->len);
    http_add_header(w, "Cache-Control", "public, max-age=3600");
}

ROUTE(assets_css, "/assets/authd.css", HTTP_GET, route_css)
