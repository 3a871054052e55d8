/* Helpers of the keys port shared by every backend. */
#include "port/keys.h"

#include "core/jose.h"

enum rc
keys_published(struct keys *k, struct arena *a, struct span *jwks)
{
    struct jose_keyset *ks = NULL;
    struct span s;
    char *d;
    enum rc rc;

    if ((rc = keys_current(k, &ks)) != RC_OK)
        return rc;
    s = jose_keyset_jwks(ks);
    d = arena_strndup(a, s.p, s.len);
    jose_keyset_release(ks);
    if (!d)
        return RC_NOMEM;
    *jwks = span_of(d, s.len);
    return RC_OK;
}
