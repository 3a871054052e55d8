/* The PC/SC adapter (reader.h): pcscd through libpcsclite. Reads the on-card layout of
 * docs/kiosk.md ("On-card layout"): SELECT the application by AID, SELECT EF.HOLDER (0101),
 * READ BINARY it to its end (the holder's JSON), the same for EF.PHOTO (0102). Waits for a
 * card and for its removal with SCardGetStatusChange, in slices of SLICE_MS so that a
 * signal stops the agent. The socket of pcscd is libpcsclite's: PCSCLITE_CSOCK_NAME in the
 * environment names another one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winscard.h>
#include <wintypes.h>

#include "reader.h"

#define SLICE_MS 500

/* The application identifier: F0 (proprietary, not registered) + "AUTHDID". */
static const BYTE AID[] = {0xF0, 0x41, 0x55, 0x54, 0x48, 0x44, 0x49, 0x44};
#define EF_HOLDER 0x0101
#define EF_PHOTO  0x0102

struct pcsc_reader {
    struct reader base;
    SCARDCONTEXT ctx;
    char name[256];
    DWORD state; /* the last event state seen */
};

static int
fail(char *err, size_t n, const char *what, LONG e)
{
    snprintf(err, n, "PC/SC: %s: %s (0x%lX)", what, pcsc_stringify_error(e), (unsigned long)e);
    return READER_ERROR;
}

/* Waits until the reader's state has any of the bits in want (or timeout). */
static int
wait_state(struct pcsc_reader *p, DWORD want, int timeout_ms, char *err, size_t n)
{
    SCARD_READERSTATE rs;
    int waited = 0;
    LONG e;

    for (;;) {
        memset(&rs, 0, sizeof(rs));
        rs.szReader = p->name;
        rs.dwCurrentState = p->state;
        e = SCardGetStatusChange(p->ctx, SLICE_MS, &rs, 1);
        if (e == SCARD_S_SUCCESS)
            p->state = rs.dwEventState & ~SCARD_STATE_CHANGED;
        else if (e != SCARD_E_TIMEOUT)
            return fail(err, n, "SCardGetStatusChange", e);
        if (p->state & want)
            return READER_OK;
        if (e == SCARD_E_TIMEOUT)
            waited += SLICE_MS;
        if (*p->base.stop || (timeout_ms >= 0 && waited >= timeout_ms))
            return READER_TIMEOUT;
    }
}

/* Sends one short APDU; *sw the status word, data (at most 256 bytes) into resp. */
static int
apdu(SCARDHANDLE h, DWORD proto, const BYTE *cmd, DWORD cmd_len, BYTE *resp, DWORD *resp_len,
     unsigned *sw, char *err, size_t n)
{
    BYTE r[258];
    DWORD rl = sizeof(r);
    LONG e = SCardTransmit(h, proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1, cmd,
                           cmd_len, NULL, r, &rl);

    if (e != SCARD_S_SUCCESS)
        return fail(err, n, "SCardTransmit", e);
    if (rl < 2)
        return snprintf(err, n, "card: answer without a status word"), READER_ERROR;
    *sw = (unsigned)r[rl - 2] << 8 | r[rl - 1];
    if (resp) {
        memcpy(resp, r, rl - 2);
        *resp_len = rl - 2;
    }
    return READER_OK;
}

static int
select_ef(SCARDHANDLE h, DWORD proto, unsigned fid, char *err, size_t n)
{
    BYTE cmd[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, (BYTE)(fid >> 8), (BYTE)fid};
    unsigned sw;

    if (apdu(h, proto, cmd, sizeof(cmd), NULL, NULL, &sw, err, n))
        return READER_ERROR;
    if (sw != 0x9000)
        return snprintf(err, n, "card: SELECT EF %04X: status %04X", fid, sw), READER_ERROR;
    return READER_OK;
}

/* READ BINARY of the selected EF from offset 0 until a short answer, 6282 (end of file
 * before Le) or 6B00 (offset past the end), into a malloc'd *out of at most max bytes. */
static int
read_ef(SCARDHANDLE h, DWORD proto, size_t max, unsigned char **out, size_t *len, char *err,
        size_t n)
{
    unsigned char *p = malloc(max);
    size_t have = 0;
    BYTE cmd[5], r[256];
    DWORD rl;
    unsigned sw;

    if (!p)
        return snprintf(err, n, "out of memory"), READER_ERROR;
    for (;;) {
        if (have > 0x7FFF) {
            snprintf(err, n, "card: file past the READ BINARY offset range");
            goto bad;
        }
        cmd[0] = 0x00, cmd[1] = 0xB0, cmd[2] = (BYTE)(have >> 8), cmd[3] = (BYTE)have;
        cmd[4] = 0x00; /* Le 256 */
        if (apdu(h, proto, cmd, sizeof(cmd), r, &rl, &sw, err, n))
            goto bad;
        if (sw == 0x6B00 && have > 0)
            break;
        if (sw != 0x9000 && sw != 0x6282) {
            snprintf(err, n, "card: READ BINARY at %zu: status %04X", have, sw);
            goto bad;
        }
        if (have + rl > max) {
            snprintf(err, n, "card: file over %zu bytes", max);
            goto bad;
        }
        memcpy(p + have, r, rl);
        have += rl;
        if (sw == 0x6282 || rl < 256)
            break;
    }
    *out = p, *len = have;
    return READER_OK;
bad:
    free(p);
    return READER_ERROR;
}

static int
read_layout(SCARDHANDLE h, DWORD proto, struct card *out, char *err, size_t n)
{
    BYTE sel[5 + sizeof(AID) + 1] = {0x00, 0xA4, 0x04, 0x00, sizeof(AID)};
    unsigned char *holder = NULL, *photo = NULL;
    size_t hl = 0, pl = 0;
    unsigned sw;
    int rc = READER_ERROR;

    memcpy(sel + 5, AID, sizeof(AID));
    sel[5 + sizeof(AID)] = 0x00;
    if (apdu(h, proto, sel, sizeof(sel), NULL, NULL, &sw, err, n))
        return READER_ERROR;
    if (sw != 0x9000)
        return snprintf(err, n, "card: not an ID card of our layout (SELECT AID: %04X)", sw),
               READER_ERROR;
    if (select_ef(h, proto, EF_HOLDER, err, n)
        || read_ef(h, proto, CARD_HOLDER_MAX, &holder, &hl, err, n)
        || select_ef(h, proto, EF_PHOTO, err, n)
        || read_ef(h, proto, CARD_PHOTO_MAX, &photo, &pl, err, n))
        goto out;
    if (card_parse((const char *)holder, hl, 0, out, err, n))
        goto out;
    if (pl == 0) {
        snprintf(err, n, "card: EF.PHOTO is empty");
        card_clear(out);
        goto out;
    }
    out->photo = photo, out->photo_len = pl;
    photo = NULL;
    rc = READER_OK;
out:
    free(holder);
    free(photo);
    return rc;
}

static int
pcsc_read(struct reader *r, int timeout_ms, struct card *out, char *err, size_t n)
{
    struct pcsc_reader *p = (struct pcsc_reader *)r;
    SCARDHANDLE h;
    DWORD proto;
    LONG e;
    int rc = wait_state(p, SCARD_STATE_PRESENT, timeout_ms, err, n);

    if (rc != READER_OK)
        return rc;
    e = SCardConnect(p->ctx, p->name, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h,
                     &proto);
    if (e != SCARD_S_SUCCESS)
        return fail(err, n, "SCardConnect", e);
    e = SCardBeginTransaction(h);
    if (e != SCARD_S_SUCCESS) {
        SCardDisconnect(h, SCARD_LEAVE_CARD);
        return fail(err, n, "SCardBeginTransaction", e);
    }
    rc = read_layout(h, proto, out, err, n);
    SCardEndTransaction(h, SCARD_LEAVE_CARD);
    SCardDisconnect(h, SCARD_LEAVE_CARD);
    return rc;
}

static int
pcsc_wait_removed(struct reader *r, int timeout_ms, char *err, size_t n)
{
    return wait_state((struct pcsc_reader *)r, SCARD_STATE_EMPTY, timeout_ms, err, n);
}

static void
pcsc_close(struct reader *r)
{
    struct pcsc_reader *p = (struct pcsc_reader *)r;

    SCardReleaseContext(p->ctx);
    free(p);
}

static const struct reader_ops pcsc_ops = {pcsc_read, pcsc_wait_removed, pcsc_close};

int
reader_pcsc_open(const char *name, struct reader **out, char *err, size_t n)
{
    struct pcsc_reader *p = calloc(1, sizeof(*p));
    char *list = NULL;
    DWORD len = SCARD_AUTOALLOCATE;
    LONG e;

    if (!p)
        return snprintf(err, n, "out of memory"), READER_ERROR;
    e = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
    if (e != SCARD_S_SUCCESS) {
        free(p);
        return fail(err, n, "SCardEstablishContext (is pcscd running?)", e);
    }
    if (name && *name) {
        if (strlen(name) >= sizeof(p->name)) {
            pcsc_close(&p->base);
            return snprintf(err, n, "PC/SC: reader name too long"), READER_ERROR;
        }
        snprintf(p->name, sizeof(p->name), "%s", name);
    } else {
        e = SCardListReaders(p->ctx, NULL, (LPSTR)&list, &len);
        if (e != SCARD_S_SUCCESS) {
            pcsc_close(&p->base);
            return fail(err, n, "SCardListReaders", e);
        }
        snprintf(p->name, sizeof(p->name), "%s", list); /* the first of the multi-string */
        SCardFreeMemory(p->ctx, list);
    }
    p->base.ops = &pcsc_ops;
    p->state = SCARD_STATE_UNAWARE;
    snprintf(p->base.label, sizeof(p->base.label), "PC/SC reader \"%.200s\"", p->name);
    *out = &p->base;
    return READER_OK;
}
