/* authctl device-qr URI: a device grant's verification_uri_complete (RFC 8628 §3.3.1) as a
 * QR code in the terminal (UTF-8 half blocks, core/qr.h qr_utf8): what a kiosk shows for
 * the citizen's phone to scan. Exit 0; 2 for a usage error, 1 for a URI that cannot be
 * drawn (empty, a NUL, over QR_TEXT_MAX bytes). */
#include <stdio.h>
#include <string.h>

#include "authctl/authctl.h"
#include "core/qr.h"

static int
cmd_device_qr(struct authctl *ctl, int argc, char **argv)
{
    struct buf b;
    enum rc rc;

    (void)ctl;
    if (argc != 2) {
        fprintf(stderr, "usage: authctl device-qr URI\n");
        return 2;
    }
    buf_init(&b, 1u << 20);
    if ((rc = qr_utf8(&b, span_str(argv[1]))) != RC_OK) {
        fprintf(stderr, "authctl device-qr: %s\n", rc_name(rc));
        buf_clear(&b);
        return 1;
    }
    fwrite(b.p, 1, b.len, stdout);
    printf("%s\n", argv[1]);
    buf_clear(&b);
    return 0;
}

/* AUTHCTL_COMMAND names a command after its identifier; this one has a dash */
__attribute__((constructor)) static void
authctl_reg_device_qr(void)
{
    authctl_register("device-qr", "device-qr URI  (a verification_uri_complete as a terminal QR)",
                     cmd_device_qr);
}
