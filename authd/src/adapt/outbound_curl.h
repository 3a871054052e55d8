/* The outbound port over libcurl (see port/outbound.h). libcurl stays inside
 * adapt/outbound_curl.c: the only file of authd that calls it. */
#ifndef AUTHD_ADAPT_OUTBOUND_CURL_H
#define AUTHD_ADAPT_OUTBOUND_CURL_H

#include "port/outbound.h"

/* Opens a client with settings o (copied; NULL: the defaults). Initializes libcurl once per
 * process. Nothing is sent yet. RC_OK: *out owned by the caller (outbound_free). RC_NOMEM,
 * RC_INTERNAL (libcurl could not start); ri says which. */
enum rc outbound_curl_open(const struct outbound_opts *o, struct outbound **out,
                           struct rc_info *ri);

#endif
