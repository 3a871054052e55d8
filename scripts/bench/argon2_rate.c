/* argon2id hashes per second at authd's password parameters (m = 19456 KiB, t = 2, p = 1),
 * the floor under every password login. Used by scripts/bench/run:
 *   argon2_rate [--threads N] [--seconds S] [--m KIB] [--t T] [--p P]
 * Prints one JSON object: {"threads":N,"hashes":H,"seconds":S,"rate":R}. Each thread hashes
 * its own password with its own memory, as N concurrent logins would. Exit 1 on any error. */
#include <argon2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct job {
    uint32_t m_kib, t, p;
    double seconds;
    long hashes;
    int failed;
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
    struct job *j = arg;
    static const char pw[] = "Demo-pass-2026";
    uint8_t salt[16], out[32];
    double end = now_s() + j->seconds;

    memset(salt, 0x5a, sizeof(salt));
    while (now_s() < end) {
        if (argon2id_hash_raw(j->t, j->m_kib, j->p, pw, sizeof(pw) - 1, salt, sizeof(salt), out,
                              sizeof(out))
            != ARGON2_OK) {
            j->failed = 1;
            break;
        }
        j->hashes++;
        salt[0]++;
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    int threads = 1;
    struct job proto = {.m_kib = 19456, .t = 2, .p = 1, .seconds = 3};

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            proto.seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--m"))
            proto.m_kib = (uint32_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--t"))
            proto.t = (uint32_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--p"))
            proto.p = (uint32_t)atol(argv[i + 1]);
    }
    if (threads < 1 || threads > 256 || proto.seconds <= 0) {
        fprintf(stderr, "argon2_rate: bad arguments\n");
        return 1;
    }
    struct job *jobs = calloc((size_t)threads, sizeof(*jobs));
    pthread_t *tid = calloc((size_t)threads, sizeof(*tid));
    if (!jobs || !tid)
        return 1;
    double start = now_s();
    for (int i = 0; i < threads; i++) {
        jobs[i] = proto;
        if (pthread_create(&tid[i], NULL, worker, &jobs[i]) != 0)
            return 1;
    }
    long total = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += jobs[i].hashes;
        failed |= jobs[i].failed;
    }
    double el = now_s() - start;
    if (failed) {
        fprintf(stderr, "argon2_rate: argon2id_hash_raw failed\n");
        return 1;
    }
    printf("{\"threads\":%d,\"m_kib\":%u,\"t\":%u,\"p\":%u,\"hashes\":%ld,\"seconds\":%.3f,"
           "\"rate\":%.2f}\n",
           threads, proto.m_kib, proto.t, proto.p, total, el, total / el);
    free(jobs);
    free(tid);
    return 0;
}
