#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "http/acceptor.h"
#include "test.h"

/* The address check moved from libmicrohttpd to us: a port already taken is still named. */
TEST(acceptor_open_says_address_in_use)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    struct rc_info ri = {0};
    struct acceptor *a = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    REQUIRE(fd >= 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    REQUIRE(listen(fd, 1) == 0);
    REQUIRE(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    CHECK_RC(acceptor_open((struct sockaddr *)&sa, sizeof(sa), &a, &ri), RC_UNAVAILABLE);
    CHECK(a == NULL);
    CHECK_STR(ri.msg, "address already in use");
    close(fd);
    /* free now: the same address opens, and stop + free without a thread are fine */
    CHECK_RC(acceptor_open((struct sockaddr *)&sa, sizeof(sa), &a, &ri), RC_OK);
    acceptor_stop(a);
    acceptor_stop(a);
    acceptor_free(a);
}
