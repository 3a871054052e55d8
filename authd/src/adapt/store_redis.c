/* placeholder until the Redis backend lands */
#include "port/store_impl.h"

enum rc
store_redis_open(const char *url, const struct store_opts *o, struct store **out,
                 struct rc_info *ri)
{
    (void)url, (void)o, (void)out;
    return rc_set(ri, RC_UNSUPPORTED, "store", "redis backend not built yet");
}
