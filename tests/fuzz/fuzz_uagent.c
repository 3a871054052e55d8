/* libFuzzer target: the User-Agent summary (core/uagent.h) and the address mask
 * (core/mask.h mask_ip), both fed from request headers. Checks their contracts: the
 * output is NUL-terminated within its size, printable ASCII (plus the middle dot in a
 * summary), and a masked address never ends with a character of the input's last part. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/mask.h"
#include "core/uagent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
printable(const char *s, size_t cap, int allow_dot)
{
    size_t n = strnlen(s, cap);

    if (n == cap || n == 0)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (allow_dot && c == 0xc2 && (unsigned char)s[i + 1] == 0xb7) {
            i++;
            continue;
        }
        if (c < 0x20 || c > 0x7e)
            __builtin_trap();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sum[UA_SUMMARY_SIZE], ip[MASK_IP_SIZE];
    size_t n;

    ua_summary(span_of(data, size), sum);
    printable(sum, sizeof(sum), 1);
    mask_ip(span_of(data, size), ip);
    printable(ip, sizeof(ip), 0);
    n = strlen(ip);
    if (ip[n - 1] != '*')
        __builtin_trap(); /* the host part is always hidden */
    return 0;
}
