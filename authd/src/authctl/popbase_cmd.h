/* Shared by the `authctl popbase` subcommand files. popbase.c dispatches gen, compile,
 * check and bench itself, `serve` to popbase_serve() (popbase_serve.c) and `lookup` to
 * popbase_lookup() (popbase_lookup.c). */
#ifndef AUTHD_AUTHCTL_POPBASE_CMD_H
#define AUTHD_AUTHCTL_POPBASE_CMD_H

struct authctl;

/* `authctl popbase serve ...`: argv[0] is "serve". Returns the exit code. */
int popbase_serve(struct authctl *ctl, int argc, char **argv);
/* `authctl popbase lookup ...`: argv[0] is "lookup". Returns the exit code: 0 match,
 * 1 another answer, 2 unavailable or a usage error. */
int popbase_lookup(struct authctl *ctl, int argc, char **argv);

#endif
