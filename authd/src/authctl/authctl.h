/* authctl: the operator's tool. Each subcommand lives in its own file and registers itself
 * with AUTHCTL_COMMAND, so adding one touches no shared file:
 *
 *     static int cmd_idnum(struct authctl *ctl, int argc, char **argv);
 *     AUTHCTL_COMMAND(idnum, "idnum check NUMBER | idnum convert NUMBER15", cmd_idnum)
 *
 * argv[0] is the subcommand name ("idnum"). Return the process exit code. */
#ifndef AUTHD_AUTHCTL_H
#define AUTHD_AUTHCTL_H

#include <stdbool.h>

struct config;

struct authctl {
    const char *config_path; /* -c FILE, or NULL */
    /* Loads config_path on first use; NULL (after printing the reason to stderr) when
     * there is no -c or it does not load. Owned by authctl. */
    const struct config *(*config)(struct authctl *ctl);
};

typedef int (*authctl_fn)(struct authctl *ctl, int argc, char **argv);
void authctl_register(const char *name, const char *usage, authctl_fn fn);

#define AUTHCTL_COMMAND(name, usage, fn)                                                           \
    __attribute__((constructor)) static void authctl_reg_##name(void)                              \
    {                                                                                              \
        authctl_register(#name, usage, fn);                                                        \
    }

/* The value of option name given as "--name VALUE" in argv[2..], or NULL. */
const char *authctl_opt(int argc, char **argv, const char *name);
/* True if the flag name stands in argv[2..]. */
bool authctl_flag(int argc, char **argv, const char *name);

#endif
