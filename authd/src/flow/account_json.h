/* The JSON body of POST /api/register, parsed apart from the route so that it can be
 * fuzzed (tests/fuzz/fuzz_regjson.c):
 *   {"id_number": "...", "name": "...", "phone": "..." (optional), "password": "..."}
 * Members are strings; other members are ignored; duplicate names are refused. */
#ifndef AUTHD_FLOW_ACCOUNT_JSON_H
#define AUTHD_FLOW_ACCOUNT_JSON_H

#include "flow/account.h"

#define ACCOUNT_JSON_MAX 4096 /* bytes of a registration body */

/* Parses body into *out. RC_OK: the spans are NUL-terminated copies in a (the password
 * is wiped with the arena; jansson's copy is wiped before it is freed). RC_TOO_LARGE past
 * ACCOUNT_JSON_MAX; RC_MALFORMED for a body that is not one JSON object, has duplicate
 * names, or a required member missing, not a string or holding NUL (ri->field names it);
 * RC_NOMEM. */
enum rc account_json_parse(struct arena *a, struct span body, struct register_req *out,
                           struct rc_info *ri);

#endif
