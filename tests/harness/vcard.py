"""A private PC/SC stack for the kiosk agent's tests: our own pcscd (never the system one)
with Debian's virtual reader driver vpcd on free loopback ports, and the virtual ID card
(clients/kiosk/vicc_idcard.py, on Debian's vsmartcard-vpicc) that the test inserts and
takes out.

pcsc-lite 1.9.9's daemon always serves /run/pcscd/pcscd.comm (its clients honour
PCSCLITE_CSOCK_NAME, the daemon does not), so pcscd runs in a mount namespace of its own
(unshare -m, root) where a private directory is bind-mounted on /run: its socket lands in
that directory, which the clients then name with PCSCLITE_CSOCK_NAME (as root; otherwise in
a user namespace of our own, where the kernel allows unprivileged ones). Its reader
configuration is a directory of our own (pcscd -c) whose vpcd entry carries the port in
DEVICENAME and CHANNELID; vpcd opens two slots, on that port and the next, so both must be
free. Foreground (-f), stopped by PID."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from itest import ROOT, stop_pid

CARD = os.path.join(ROOT, "clients", "kiosk", "vicc_idcard.py")
VPCD = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"


def free_port_pair():
    """A port p with p and p + 1 free on every address (vpcd binds both, not loopback
    only)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p >= 65535:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("", p))
                b.bind(("", p + 1))
            return p
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports")


class Pcscd:
    """Our own pcscd with one vpcd reader; env is what a PC/SC client needs to reach it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="authd-pcscd-")
        self.port = None
        self.proc = None

    def start(self):
        self.port = free_port_pair()
        conf = os.path.join(self.dir, "reader.conf.d")
        run = os.path.join(self.dir, "run")
        os.makedirs(conf)
        os.makedirs(os.path.join(run, "pcscd"))
        with open(os.path.join(conf, "vpcd"), "w") as f:
            f.write(f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x{self.port:04X}\n'
                    f"LIBPATH      {VPCD}\nCHANNELID    0x{self.port:04X}\n")
        self.sock = os.path.join(run, "pcscd", "pcscd.comm")
        self.log = open(os.path.join(self.dir, "pcscd.log"), "ab")
        # unshare execs sh, which execs pcscd: the PID is pcscd's. Not root: a user
        # namespace of our own gives the mount (where the kernel allows them).
        userns = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
        self.proc = subprocess.Popen(
            ["unshare", *userns, "--mount", "--propagation", "private", "sh", "-c",
             'mount --bind "$1" /run && exec pcscd -f -c "$2"', "sh", run, conf],
            stdout=self.log, stderr=self.log)
        end = time.monotonic() + 10
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("pcscd did not start: " + self.log_text())
            time.sleep(0.05)
        return self

    def ready(self):
        """The socket exists and vpcd listens on its port."""
        if not os.path.exists(self.sock):
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    @property
    def env(self):
        return dict(os.environ, PCSCLITE_CSOCK_NAME=self.sock)

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "pcscd.log"), errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc:
            stop_pid(self.proc)
            self.proc = None
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


class VirtualCard:
    """The virtual ID card with the holder's data file, inserted into pcscd's vpcd reader
    while it runs (insert) and taken out when it stops (remove)."""

    def __init__(self, pcscd, holder_file):
        self.pcscd, self.holder = pcscd, holder_file
        self.proc = None

    def insert(self):
        self.proc = subprocess.Popen(["/usr/bin/python3", CARD, "--holder", self.holder,
                                      "--port", str(self.pcscd.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        line = self.proc.stdout.readline()
        if "card inserted" not in line:
            raise RuntimeError("virtual card: " + line + self.proc.stdout.read()[-2000:])
        return self

    def remove(self):
        if self.proc:
            stop_pid(self.proc)
            self.proc.stdout.close()
            self.proc = None
