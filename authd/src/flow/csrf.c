#include "flow/csrf.h"

#include <openssl/crypto.h>

#include "port/secrets.h"

enum rc
csrf_make(const struct app *app, const char *form, const struct span *bound, size_t n,
          char out[CSRF_LEN + 1])
{
    struct span parts[1 + CSRF_BOUND];

    if (!form || !*form || n == 0 || n > CSRF_BOUND)
        return RC_MALFORMED;
    parts[0] = span_str(form);
    for (size_t i = 0; i < n; i++) {
        if (!bound[i].len)
            return RC_MALFORMED;
        parts[1 + i] = bound[i];
    }
    return secrets_hmac_hex(app->secrets, SECRET_CSRF, parts, 1 + n, out);
}

bool
csrf_check(const struct app *app, const char *form, const struct span *bound, size_t n,
           struct span got)
{
    char want[CSRF_LEN + 1];
    bool ok;

    if (got.len != CSRF_LEN || csrf_make(app, form, bound, n, want) != RC_OK)
        return false;
    ok = CRYPTO_memcmp(want, got.p, CSRF_LEN) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return ok;
}
