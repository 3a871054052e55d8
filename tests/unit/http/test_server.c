#include <jansson.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/server.h"
#include "log/log.h"
#include "test.h"

/* libmicrohttpd's default panic handler prints to stderr and aborts; ours must leave one
 * JSON line with the library's file, line and reason, then end the process. */
TEST(server_panic_logs_one_json_line_then_aborts)
{
    int fds[2], status = 0;
    char out[1024] = {0};
    ssize_t n, got = 0;
    pid_t pid;
    json_t *j;

    REQUIRE(pipe(fds) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
        close(fds[0]);
        log_setup(LOG_INFO, fds[1]);
        server_panic(NULL, "daemon.c", 4940, "Failed to remove listen FD from epoll set.\n");
        _exit(0); /* not reached: the handler must not return */
    }
    close(fds[1]);
    while ((n = read(fds[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
        got += n;
    close(fds[0]);
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    REQUIRE(got > 0 && out[got - 1] == '\n');
    CHECK(memchr(out, '\n', (size_t)got) == out + got - 1); /* one line */
    j = json_loads(out, 0, NULL);
    REQUIRE(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "ev")), "http.panic");
    CHECK_STR(json_string_value(json_object_get(j, "lvl")), "error");
    CHECK_STR(json_string_value(json_object_get(j, "file")), "daemon.c");
    CHECK_INT(json_integer_value(json_object_get(j, "line")), 4940);
    CHECK_STR(json_string_value(json_object_get(j, "reason")),
              "Failed to remove listen FD from epoll set.");
    json_decref(j);
}
