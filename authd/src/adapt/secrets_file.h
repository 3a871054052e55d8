/* The secrets port over the master-key file STATE/master.key (32 random bytes, mode 0600). */
#ifndef AUTHD_ADAPT_SECRETS_FILE_H
#define AUTHD_ADAPT_SECRETS_FILE_H

#include <stdbool.h>

#include "port/secrets.h"

/* Reads path (with create, making it with 32 random bytes, mode 0600, if absent) and
 * derives the keys. RC_OK: *out owned by the caller (secrets_free). RC_NOT_FOUND (absent
 * and not created, or unreadable), RC_DENIED (file readable by group/other), RC_MALFORMED
 * (not exactly 32 bytes), RC_NOMEM, RC_INTERNAL; ri says which. */
enum rc secrets_file_open(const char *path, bool create, struct secrets **out, struct rc_info *ri);
/* The same with the HMAC digest named (OpenSSL's name: "SHA256", the default above, or "SM3"
 * for HMAC-SM3, GB/T 32905; both give 32 bytes). Every keyed hash, and the per-purpose keys
 * themselves, change with it: it is chosen once per deployment (docs/crypto.md).
 * RC_UNSUPPORTED for another digest; otherwise as secrets_file_open. */
enum rc secrets_file_open_digest(const char *path, bool create, const char *digest,
                                 struct secrets **out, struct rc_info *ri);

#endif
