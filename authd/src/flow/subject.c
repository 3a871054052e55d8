#include "flow/subject.h"

#include <string.h>

#include "port/secrets.h"

enum rc
subject_for(struct app *app, const struct policy_client *c, const char *account_id,
            char out[SUBJECT_MAX])
{
    size_t n = account_id ? strlen(account_id) : 0;
    struct span parts[2];

    if (n == 0 || n >= SUBJECT_MAX)
        return RC_MALFORMED;
    if (c->subject_type == SUBJECT_PUBLIC) {
        memcpy(out, account_id, n + 1);
        return RC_OK;
    }
    parts[0] = span_str(c->sector ? c->sector : c->id);
    parts[1] = span_of(account_id, n);
    return secrets_hmac_hex(app->secrets, SECRET_SUBJECT, parts, 2, out);
}
