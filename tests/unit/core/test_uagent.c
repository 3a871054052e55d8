/* core/uagent: User-Agent summaries. */
#include <string.h>

#include "core/uagent.h"
#include "test.h"

static const char *
sum(const char *ua)
{
    static char out[UA_SUMMARY_SIZE];

    ua_summary(span_str(ua), out);
    return out;
}

TEST(uagent_summarizes_browsers_and_systems)
{
    CHECK_STR(sum("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/120.0.0.0 Safari/537.36"),
              "Chrome 120 \xc2\xb7 Windows");
    CHECK_STR(sum("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                  "Mobile/15E148 MicroMessenger/8.0.40"),
              "WeChat \xc2\xb7 iOS");
    CHECK_STR(sum("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
                  "like Gecko) Version/17.1 Safari/605.1.15"),
              "Safari 17 \xc2\xb7 macOS");
    CHECK_STR(sum("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36 Edg/120.0"),
              "Edge 120 \xc2\xb7 Linux");
    CHECK_STR(sum("python-requests/2.31"), "?");
    CHECK_STR(sum(""), "?");
    CHECK_STR(sum("Chrome/123456789"), "Chrome 1234"); /* at most 4 digits */
    CHECK_STR(sum("<script>Chrome/</script>"), "Chrome"); /* nothing of the header but digits */
}
