/* The development notice sink: one JSON line per notice appended to a file (mode 0600):
 * {"ts":..,"to":"13800000001","text":"..","sender":"workflow-service","ref":".."}.
 * It stands for the SMS gateway, so it holds what the gateway would receive. */
#ifndef AUTHD_ADAPT_NOTIFY_FILE_H
#define AUTHD_ADAPT_NOTIFY_FILE_H

#include "port/notify.h"

/* Opens path for appending (created if missing). RC_OK: *out owned by the caller
 * (notify_free). RC_NOT_FOUND (cannot open), RC_NOMEM. */
enum rc notify_file_open(const char *path, struct notify **out, struct rc_info *ri);

#endif
