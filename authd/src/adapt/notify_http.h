/* The notice gateway over HTTP(S): each notice is one POST of a JSON object
 * {"to","text","sender","ref","ts"} to the configured URL; any 2xx is accepted. One attempt
 * per notice with a total timeout, no redirects, no environment proxies. libcurl stays
 * inside this file. */
#ifndef AUTHD_ADAPT_NOTIFY_HTTP_H
#define AUTHD_ADAPT_NOTIFY_HTTP_H

#include <stdint.h>

#include "port/notify.h"

/* Prepares the gateway at url (http:// or https://); nothing is sent yet. timeout_ms 0:
 * 3000. RC_OK: *out owned by the caller (notify_free). RC_MALFORMED, RC_NOMEM,
 * RC_INTERNAL (libcurl could not start). */
enum rc notify_http_open(const char *url, uint32_t timeout_ms, struct notify **out,
                         struct rc_info *ri);

#endif
