/* The notice gateway over HTTP(S): each notice is one POST of a JSON object
 * {"to","text","sender","ref","ts"} to the configured URL; any 2xx is accepted. One attempt
 * per notice with a total timeout, no redirects, no environment proxies, through an
 * outbound client (port/outbound.h). */
#ifndef AUTHD_ADAPT_NOTIFY_HTTP_H
#define AUTHD_ADAPT_NOTIFY_HTTP_H

#include <stdint.h>

#include "port/notify.h"
#include "port/outbound.h"

/* The outbound client settings for a gateway answering within timeout_ms (0: 3000). */
void notify_http_outbound_opts(uint32_t timeout_ms, struct outbound_opts *out);

/* Prepares the gateway at url (http:// or https://), called through ob, which it takes
 * (freed with the gateway, or here on failure); nothing is sent yet. RC_OK: *out owned by
 * the caller (notify_free). RC_MALFORMED, RC_NOMEM, RC_INTERNAL (no client). */
enum rc notify_http_open(const char *url, struct outbound *ob, struct notify **out,
                         struct rc_info *ri);

#endif
