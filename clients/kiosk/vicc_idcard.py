#!/usr/bin/python3
"""A virtual ID card for the kiosk agent's tests and demos: an ISO 7816-4 card served by
Debian's virtual smart card (vsmartcard-vpicc's virtualsmartcard module) to the virtual
reader vpcd in pcscd, holding one holder's data in the on-card layout of docs/kiosk.md
("On-card layout"):

  application  AID F0 41 55 54 48 44 49 44 (F0 + "AUTHDID"), SELECT by DF name
               (00 A4 04 00 08 <AID>)
  EF.HOLDER    file 0101: the holder's data, UTF-8 JSON {"type", "id_number", "name",
               "valid_from", "valid_until", "authority"} (SELECT 00 A4 02 0C 02 01 01)
  EF.PHOTO     file 0102: the chip photo's bytes
  READ BINARY  00 B0 <offset, 15 bits> <Le>: up to Le bytes (00: 256) from offset;
               9000, 6282 when the file ends before Le, 6B00 at or past its end

Status words: 6A82 unknown application or file, 6985 a file selected before the
application, 6986 READ BINARY with no file selected, 6A81 a short file identifier in P1
(not supported), 6700 a malformed APDU, 6D00 an unknown instruction, 6E00 a class other
than 00.

The holder's data file is the card-data file the agent's file: adapter reads: that JSON
plus "photo_b64url" (the photo in base64url, no padding).

A real resident ID card is not like this: its chip is read only through the reader
vendor's secure access module (SAM), which authenticates to the chip and decrypts what it
says, and its photo comes out in a licensed format the vendor's library decodes. That is
why the agent has a vendor-SDK adapter; this card exercises the PC/SC path of the agent
(pcscd, a reader, card insertion and removal) with data in our own layout.

Usage: clients/kiosk/vicc_idcard.py --holder FILE --port PORT [--host 127.0.0.1] [-v]
Connects to vpcd's port (the card is inserted); exit (SIGTERM) takes it out.
"""
import argparse
import base64
import importlib
import importlib.abc
import importlib.util
import json
import logging
import signal
import sys

# Debian 12's python3-virtualsmartcard installs its package one directory deeper than
# sys.path reaches, and imports PyCrypto's "Crypto", which Debian ships as pycryptodome's
# "Cryptodome" (python3-pycryptodome). Both are the installed packages, used as they are.
sys.path.append("/usr/lib/python3/site-packages/virtualsmartcard")


class _CryptoAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of Crypto.X give Cryptodome.X (the same library under Debian's name)."""

    def find_spec(self, name, path, target=None):
        if name == "Crypto" or name.startswith("Crypto."):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("Cryptodome" + spec.name[len("Crypto"):])

    def exec_module(self, module):
        pass


try:
    import Crypto  # noqa: F401
except ImportError:
    sys.meta_path.insert(0, _CryptoAlias())

from virtualsmartcard.VirtualSmartcard import Iso7816OS, SmartcardOS, VirtualICC  # noqa: E402

AID = bytes.fromhex("F041555448444944")
EF_HOLDER, EF_PHOTO = 0x0101, 0x0102
HOLDER_FIELDS = ("type", "id_number", "name", "valid_from", "valid_until", "authority")
MAX_OFFSET = 0x7FFF


def sw(word, data=b""):
    return bytes(data) + bytes([word >> 8, word & 0xFF])


class IdCardOS(SmartcardOS):
    """The card's operating system: SELECT and READ BINARY over two transparent files."""

    def __init__(self, holder, photo):
        self.files = {EF_HOLDER: holder, EF_PHOTO: photo}
        for fid, data in self.files.items():
            if len(data) > MAX_OFFSET:
                raise ValueError(f"file {fid:04X}: {len(data)} bytes, over {MAX_OFFSET}")
        self.atr = Iso7816OS.makeATR(T=1, directConvention=True, TA1=0x13,
                                     histChars=b"\x80\x31\x80\x65")
        self.reset()

    def getATR(self):
        return self.atr

    def reset(self):
        self.app, self.ef = False, None

    def powerUp(self):
        self.reset()

    def powerDown(self):
        self.reset()

    def execute(self, msg):
        if len(msg) < 4:
            return sw(0x6700)
        cla, ins, p1, p2 = msg[0], msg[1], msg[2], msg[3]
        body = msg[4:]
        lc, data, le = 0, b"", None
        if len(body) == 1:
            le = body[0] or 256
        elif len(body) > 1:
            lc = body[0]
            if lc == 0 or len(body) < 1 + lc or len(body) > 2 + lc:
                return sw(0x6700)
            data = body[1:1 + lc]
            if len(body) == 2 + lc:
                le = body[-1] or 256
        if cla != 0x00:
            return sw(0x6E00)
        if ins == 0xA4:
            return self.select(p1, data)
        if ins == 0xB0:
            return self.read_binary(p1, p2, le)
        return sw(0x6D00)

    def select(self, p1, data):
        if p1 == 0x04:
            if data != AID:
                return sw(0x6A82)
            self.app, self.ef = True, None
            return sw(0x9000)
        if p1 in (0x00, 0x02) and len(data) == 2:
            if not self.app:
                return sw(0x6985)
            fid = data[0] << 8 | data[1]
            if fid not in self.files:
                return sw(0x6A82)
            self.ef = fid
            return sw(0x9000)
        return sw(0x6A82)

    def read_binary(self, p1, p2, le):
        if p1 & 0x80:
            return sw(0x6A81)
        if self.ef is None:
            return sw(0x6986)
        f = self.files[self.ef]
        off = p1 << 8 | p2
        if off >= len(f):
            return sw(0x6B00)
        want = le or 256
        chunk = f[off:off + want]
        return sw(0x9000 if len(chunk) == want else 0x6282, chunk)


def load_holder(path):
    """(EF.HOLDER bytes, EF.PHOTO bytes) from a holder's data file."""
    with open(path, encoding="utf-8") as f:
        h = json.load(f)
    missing = [k for k in HOLDER_FIELDS if not isinstance(h.get(k), str) or not h[k]]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    p = h["photo_b64url"]
    photo = base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))
    holder = json.dumps({k: h[k] for k in HOLDER_FIELDS}, ensure_ascii=False,
                        separators=(",", ":")).encode("utf-8")
    return holder, photo


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--holder", required=True, help="the holder's data file (JSON)")
    ap.add_argument("--port", type=int, required=True, help="vpcd's port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    holder, photo = load_holder(a.holder)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    vicc = VirtualICC(None, "iso7816", a.host, a.port,
                      logginglevel=logging.INFO if a.verbose else logging.CRITICAL)
    vicc.os = IdCardOS(holder, photo)
    print(f"vicc_idcard: card inserted in vpcd at {a.host}:{a.port}", flush=True)
    vicc.run()


if __name__ == "__main__":
    main()
