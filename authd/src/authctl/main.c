/* authctl [-c CONFIG] COMMAND ARGS...: dispatches to the registered subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authctl/authctl.h"
#include "conf/config.h"

#define MAX_COMMANDS 32

static struct {
    const char *name, *usage;
    authctl_fn fn;
} commands[MAX_COMMANDS];
static int ncommands;

void
authctl_register(const char *name, const char *usage, authctl_fn fn)
{
    if (ncommands == MAX_COMMANDS)
        abort(); /* programmer error: raise MAX_COMMANDS */
    commands[ncommands].name = name;
    commands[ncommands].usage = usage;
    commands[ncommands].fn = fn;
    ncommands++;
}

const char *
authctl_opt(int argc, char **argv, const char *name)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

bool
authctl_flag(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static struct config *loaded;

static const struct config *
load_config(struct authctl *ctl)
{
    struct config_error err = {0};

    if (loaded)
        return loaded;
    if (!ctl->config_path) {
        fprintf(stderr, "authctl: this command needs -c CONFIG\n");
        return NULL;
    }
    if (config_load(ctl->config_path, &loaded, &err) != RC_OK) {
        fprintf(stderr, "%s\n", err.text);
        return NULL;
    }
    return loaded;
}

static int
usage(FILE *f)
{
    fprintf(f, "usage: authctl [-c CONFIG] COMMAND ...\n       authctl --version\ncommands:\n");
    for (int i = 0; i < ncommands; i++)
        fprintf(f, "  %s\n", commands[i].usage);
    return f == stderr ? 2 : 0;
}

int
main(int argc, char **argv)
{
    struct authctl ctl = {NULL, load_config};
    int i = 1, rc;

    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--version") == 0) {
            printf("authctl %s\n", AUTHD_VERSION);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return usage(stdout);
        } else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            ctl.config_path = argv[i + 1];
            i += 2;
        } else {
            return usage(stderr);
        }
    }
    if (i >= argc)
        return usage(stderr);
    for (int c = 0; c < ncommands; c++) {
        if (strcmp(commands[c].name, argv[i]) == 0) {
            rc = commands[c].fn(&ctl, argc - i, argv + i);
            config_free(loaded);
            return rc;
        }
    }
    fprintf(stderr, "authctl: unknown command '%s'\n", argv[i]);
    return usage(stderr);
}
