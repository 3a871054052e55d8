/* Shared by the `authctl popbase` subcommand files. popbase.c dispatches gen, compile,
 * lookup, check and bench itself and hands `serve` to popbase_serve() in popbase_serve.c,
 * which the HTTP-backend work replaces. */
#ifndef AUTHD_AUTHCTL_POPBASE_CMD_H
#define AUTHD_AUTHCTL_POPBASE_CMD_H

struct authctl;

/* `authctl popbase serve ...`: argv[0] is "serve". Returns the exit code. */
int popbase_serve(struct authctl *ctl, int argc, char **argv);

#endif
