/* A User-Agent header summarized for a person: "Chrome 120 · Windows", "WeChat · iOS".
 * The account page lists a citizen's sessions by device (docs/mfa.md, The account page);
 * the session record keeps only this summary, never the raw header. The summary is built
 * from fixed names and at most UA_VERSION_DIGITS digits of a major version, so nothing of
 * the header's bytes but those digits reaches it (it is still escaped where shown). */
#ifndef AUTHD_CORE_UAGENT_H
#define AUTHD_CORE_UAGENT_H

#include "util/span.h"

#define UA_HEADER_MAX     1024 /* bytes of the header looked at; the rest is ignored */
#define UA_VERSION_DIGITS 4
#define UA_SUMMARY_SIZE   48 /* the longest summary and its NUL */

/* Writes the summary of ua (may be empty) into out, NUL-terminated, printable ASCII plus
 * the UTF-8 middle dot; "?" when neither a browser nor a system is recognized. Never
 * fails; reads at most UA_HEADER_MAX bytes. */
void ua_summary(struct span ua, char out[UA_SUMMARY_SIZE]);

#endif
