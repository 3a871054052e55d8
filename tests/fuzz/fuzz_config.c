/* libFuzzer target: the config file parser (conf/config.c over conf/ini.c). */
#include <stdint.h>
#include <stdio.h>

#include "conf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *c = NULL;
    struct config_error err;

    if (config_parse("fuzz.conf", (const char *)data, size, "/tmp", &c, &err) == RC_OK) {
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            config_print(c, f);
            fclose(f);
        }
        config_free(c);
    }
    return 0;
}
