"""certs/dev-pki: idempotent, EC P-256, private keys 0600, chains to the dev trust anchor,
and the population-service certificates complete a mutual-TLS handshake (Python ssl)."""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from itest import ROOT, run, test

SCRIPT = os.path.join(ROOT, "certs", "dev-pki")
LEAVES = ("server", "popbase-client", "popbase-server")


def pki(state):
    p = subprocess.run([SCRIPT, state], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return os.path.join(state, "pki")


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


@test
def dev_pki_is_idempotent_and_private(t):
    with tempfile.TemporaryDirectory() as d:
        p = pki(d)
        before = {n: open(os.path.join(p, n)).read() for n in os.listdir(p)}
        pki(d)
        after = {n: open(os.path.join(p, n)).read() for n in os.listdir(p)}
        t.eq(after, before, "second run changed files")
        for n in os.listdir(p):
            if n.endswith(".key"):
                t.eq(os.stat(os.path.join(p, n)).st_mode & 0o777, 0o600, n)
                t.check("prime256v1" in openssl("pkey", "-in", os.path.join(p, n), "-noout",
                                                "-text"), f"{n} not P-256")
        for leaf in LEAVES:
            out = openssl("verify", "-CAfile", os.path.join(p, "root-ca.crt"), "-untrusted",
                          os.path.join(p, "province-ca.crt"), os.path.join(p, leaf + ".crt"))
            t.check(out.strip().endswith("OK"), out)
        san = openssl("x509", "-in", os.path.join(p, "server.crt"), "-noout", "-ext",
                      "subjectAltName")
        t.check("DNS:localhost" in san and "127.0.0.1" in san, san)


@test
def dev_pki_makes_a_kiosk_ca_under_the_province_ca(t):
    with tempfile.TemporaryDirectory() as d:
        p = pki(d)
        out = openssl("verify", "-CAfile", os.path.join(p, "root-ca.crt"), "-untrusted",
                      os.path.join(p, "province-ca.crt"), os.path.join(p, "kiosk-ca.crt"))
        t.check(out.strip().endswith("OK"), out)
        bc = openssl("x509", "-in", os.path.join(p, "kiosk-ca.crt"), "-noout", "-ext",
                     "basicConstraints")
        t.check("CA:TRUE" in bc and "pathlen:0" in bc, bc)
        t.check("pathlen:1" in openssl("x509", "-in", os.path.join(p, "province-ca.crt"),
                                       "-noout", "-ext", "basicConstraints"), "province pathlen")
        chain = open(os.path.join(p, "kiosk-ca-chain.crt")).read()
        t.eq(chain, open(os.path.join(p, "kiosk-ca.crt")).read()
             + open(os.path.join(p, "province-ca.crt")).read())
        # an older state whose province CA had pathlen 0 gets a new chain
        subprocess.run(["openssl", "req", "-x509", "-key", os.path.join(p, "province-ca.key"),
                        "-subj", "/CN=old province", "-days", "30", "-out",
                        os.path.join(p, "province-ca.crt"), "-addext",
                        "basicConstraints=critical,CA:TRUE,pathlen:0"], check=True,
                       capture_output=True)
        pki(d)
        out = openssl("verify", "-CAfile", os.path.join(p, "root-ca.crt"), "-untrusted",
                      os.path.join(p, "province-ca.crt"), os.path.join(p, "kiosk-ca.crt"))
        t.check(out.strip().endswith("OK"), out)


@test
def dev_pki_reissues_a_missing_leaf_only(t):
    with tempfile.TemporaryDirectory() as d:
        p = pki(d)
        root = open(os.path.join(p, "root-ca.crt")).read()
        os.unlink(os.path.join(p, "server.crt"))
        pki(d)
        t.eq(open(os.path.join(p, "root-ca.crt")).read(), root)
        t.check(os.path.exists(os.path.join(p, "server.crt")), "server.crt not re-issued")


@test
def popbase_certificates_do_mutual_tls(t):
    with tempfile.TemporaryDirectory() as d:
        p = pki(d)
        f = lambda n: os.path.join(p, n)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(f("popbase-server.crt"), f("popbase-server.key"))
        sctx.load_verify_locations(f("ca-bundle.crt"))
        sctx.verify_mode = ssl.CERT_REQUIRED
        cctx = ssl.create_default_context(cafile=f("ca-bundle.crt"))
        cctx.load_cert_chain(f("popbase-client.crt"), f("popbase-client.key"))
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        port = lsock.getsockname()[1]
        seen = {}

        def serve():
            conn, _ = lsock.accept()
            with sctx.wrap_socket(conn, server_side=True) as s:
                seen["peer"] = s.getpeercert()
                s.sendall(b"ok")

        th = threading.Thread(target=serve)
        th.start()
        # the chain sent by the server is only its leaf: the bundle holds the province CA
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with cctx.wrap_socket(raw, server_hostname="localhost") as c:
                t.eq(c.recv(2), b"ok")
        th.join(5)
        lsock.close()
        subject = dict(x[0] for x in seen.get("peer", {}).get("subject", ()))
        t.eq(subject.get("commonName"), "authd population-service client")


run()
