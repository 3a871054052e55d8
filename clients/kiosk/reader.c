/* reader_open: picks the adapter a --reader spec names (reader.h). */
#include <stdio.h>
#include <string.h>

#include "reader.h"

int
reader_open(const char *spec, volatile sig_atomic_t *stop, struct reader **out, char *err, size_t n)
{
    int rc;

    *out = NULL;
    if (strcmp(spec, "pcsc") == 0)
        rc = reader_pcsc_open(NULL, out, err, n);
    else if (strncmp(spec, "pcsc:", 5) == 0)
        rc = reader_pcsc_open(spec + 5, out, err, n);
    else if (strncmp(spec, "file:", 5) == 0 && spec[5])
        rc = reader_file_open(spec + 5, out, err, n);
    else if (strncmp(spec, "vendor:", 7) == 0 && spec[7])
        rc = reader_vendor_open(spec + 7, out, err, n);
    else
        return snprintf(err, n, "--reader %s: expected pcsc[:NAME], file:PATH or vendor:LIB.so",
                        spec),
               READER_ERROR;
    if (rc == READER_OK)
        (*out)->stop = stop;
    return rc;
}
