/* `authctl popbase serve`: the population service over HTTPS with mutual TLS. Not built
 * yet: this is the seam where the HTTP-backend work plugs in (see popbase_cmd.h). */
#include <stdio.h>

#include "authctl/popbase_cmd.h"

int
popbase_serve(struct authctl *ctl, int argc, char **argv)
{
    (void)ctl, (void)argc, (void)argv;
    fprintf(stderr, "authctl: popbase serve is not implemented yet\n");
    return 2;
}
