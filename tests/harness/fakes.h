/* Stand-ins for unit tests of flows, header-only (each test file gets its own copy):
 * a clock the test moves by setting fake_now, and a keys port over one fixed key set.
 *
 *     fake_now = 1740787200;
 *     app.clock = &fake_clock;
 *     struct fake_keys fk = FAKE_KEYS(ks);  app.keys = &fk.k;
 */
#ifndef AUTHD_TEST_FAKES_H
#define AUTHD_TEST_FAKES_H

#include "core/jose.h"
#include "port/clock.h"
#include "port/keys.h"

static int64_t fake_now;

static int64_t
fake_clock_now(const struct clock *c)
{
    (void)c;
    return fake_now;
}

static int64_t
fake_clock_mono(const struct clock *c)
{
    (void)c;
    return 0;
}

static const struct clock fake_clock = {fake_clock_now, fake_clock_mono, NULL};

/* A keys port whose current snapshot is always ks. */
struct fake_keys {
    struct keys k;
    struct jose_keyset *ks;
};

static enum rc
fake_keys_current(struct keys *k, struct jose_keyset **out)
{
    *out = jose_keyset_retain(((struct fake_keys *)k)->ks);
    return RC_OK;
}

static const struct keys_ops fake_keys_ops = {"test", fake_keys_current, NULL, NULL, NULL};

#endif
