#include "adapt/store_redis.h"
#include "test.h"

TEST(crc16_xmodem_known_vectors)
{
    CHECK_INT(rds_crc16((const uint8_t *)"123456789", 9), 0x31C3);
    CHECK_INT(rds_crc16((const uint8_t *)"", 0), 0);
    CHECK_INT(rds_crc16((const uint8_t *)"A", 1), 0x58E5);
}

TEST(key_slot_follows_hash_tags)
{
    CHECK_INT(rds_key_slot(SPAN("123456789")), 12739);
    CHECK_INT(rds_key_slot(SPAN("somekey")), 11058); /* the CLUSTER KEYSLOT manual page */
    CHECK_INT(rds_key_slot(SPAN("{user1000}.following")), 3443);
    CHECK_INT(rds_key_slot(SPAN("{user1000}.following")), rds_key_slot(SPAN("user1000")));
    CHECK_INT(rds_key_slot(SPAN("authd:sess:{ab12}:clients")), rds_key_slot(SPAN("ab12")));
    /* an empty tag does not count: the whole key is hashed */
    CHECK_INT(rds_key_slot(SPAN("foo{}{bar}")),
              rds_crc16((const uint8_t *)"foo{}{bar}", 10) & 16383);
    /* only the first { and the first } after it */
    CHECK_INT(rds_key_slot(SPAN("foo{{bar}}zap")), rds_key_slot(SPAN("{bar")));
    CHECK_INT(rds_key_slot(SPAN("foo{bar}{zap}")), rds_key_slot(SPAN("bar")));
    CHECK_INT(rds_key_slot(SPAN("{unclosed")), rds_crc16((const uint8_t *)"{unclosed", 9) & 16383);
}
