/* LD_PRELOAD for scripts/stop-stress --widen: makes the graceful-stop races of
 * libmicrohttpd 0.9.75 (issue 21, docs/operations.md) show in every stop instead of once
 * in hundreds, by delaying epoll_ctl(EPOLL_CTL_DEL) of a listening socket:
 *   STOP_STRESS_WIDEN=close    a worker thread's removal waits 50 ms and the main
 *                              thread's (MHD_quiesce_daemon) returns 5 ms late: a busy
 *                              worker removes the socket after quiesce returned, and
 *                              after it was closed if the caller closed it at once;
 *   STOP_STRESS_WIDEN=quiesce  the main thread's removal waits 5 ms: a busy worker
 *                              removes it first and MHD_quiesce_daemon gets ENOENT.
 * Test aid only; never part of authd. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int (*real_ctl)(int, int, int, struct epoll_event *);

static bool
listening(int fd)
{
    int v = 0;
    socklen_t l = sizeof(v);

    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    const char *mode = getenv("STOP_STRESS_WIDEN");
    bool main_thread, close_mode;
    int r, e;

    if (!real_ctl)
        real_ctl = (int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");
    if (!mode || op != EPOLL_CTL_DEL || !listening(fd))
        return real_ctl(epfd, op, fd, ev);
    main_thread = syscall(SYS_gettid) == getpid();
    close_mode = strcmp(mode, "close") == 0;
    if (close_mode && !main_thread)
        usleep(50000);
    if (!close_mode && main_thread)
        usleep(5000);
    r = real_ctl(epfd, op, fd, ev);
    e = errno;
    if (close_mode && main_thread)
        usleep(5000);
    errno = e;
    return r;
}
