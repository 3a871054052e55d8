/* The discovery document (http/route_discovery.c) for other routes: the federation entity
 * configuration carries it as its openid_provider metadata (flow/fed.h). */
#ifndef AUTHD_HTTP_DISCOVERY_H
#define AUTHD_HTTP_DISCOVERY_H

#include "http/http.h"

/* The current discovery JSON, copied into r's arena. RC_UNAVAILABLE (no policy or keys),
 * RC_NOMEM. */
enum rc discovery_json(struct http_req *r, struct span *out);

#endif
