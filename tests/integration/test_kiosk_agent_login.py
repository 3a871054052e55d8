"""The kiosk agent's card login end to end: build/authd-kiosk reads the virtual ID card
(clients/kiosk/vicc_idcard.py) through our own pcscd and vpcd, signs the card assertion
with the device key `authctl kiosk enroll` issued, logs the holder in at a live authd over
mutual TLS (kiosk_listen, found through discovery's mtls_endpoint_aliases; certificates
from certs/dev-pki), opens the session in the "kiosk screen's browser", and logs out when
the card is taken out (the SSO session ends, a back-channel logout is sent). Refusals are
shown with authd's reason."""
import base64
import json
import os
import shutil
import stat
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, free_port, run, test  # noqa: E402
from rpkit import BCReceiver  # noqa: E402
from vcard import Pcscd, VirtualCard  # noqa: E402

from kiosk_agent import Agent  # noqa: E402

RCV = BCReceiver().start()
KPORT = free_port()
A = Authd(population=300)
PKI = os.path.join(A.state, "pki")
ISS = f"https://127.0.0.1:{A.port}"
A.conf_extra = {"tls_cert": f"{PKI}/server-chain.crt", "tls_key": f"{PKI}/server.key",
                "issuer": ISS, "kiosk_listen": f"127.0.0.1:{KPORT}"}
A.setup()
with open(os.path.join(A.state, "policy", "kiosk-agent.conf"), "w") as f:
    f.write(f"""
[client kiosk-agent]
name = 政务服务自助终端 Self-service kiosk
type = confidential
auth_method = tls_client_auth
grant_types = refresh_token
scopes = openid profile
backchannel_logout_uri = {RCV.uri}
location = 市民中心一楼大厅 3 号机
""")
A.authctl("kiosk", "enroll", "--id", "kiosk-31", "--location", "市民中心一楼大厅 3 号机",
          "--services", "profile", "--client", "kiosk-agent", "--operator", "ops1")
A.start()
CA = os.path.join(PKI, "ca-bundle.crt")
CERT = os.path.join(A.state, "kiosks", "kiosk-31.crt")
KEY = os.path.join(A.state, "kiosks", "kiosk-31.key")
CIT = A.demo()["citizens"]
TMP = tempfile.mkdtemp(prefix="authd-kiosk-login-")
PHOTO = os.urandom(1200)


def holder_file(fname, citizen, **changes):
    h = {"type": "resident_id", "id_number": citizen["id_number"], "name": citizen["name"],
         "valid_from": "2015-03-07", "valid_until": "long-term",
         "authority": "北京市公安局东城分局",
         "photo_b64url": base64.urlsafe_b64encode(PHOTO).rstrip(b"=").decode()}
    h.update(changes)
    path = os.path.join(TMP, fname)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(h, f, ensure_ascii=False)
    return path


def browser():
    """A "kiosk screen browser" for --browser: a script writing the URI it is given to a
    file the test reads (and opens with requests, as the screen's browser would)."""
    out = os.path.join(TMP, "opened.txt")
    prog = os.path.join(TMP, "kiosk-browser")
    with open(prog, "w") as f:
        f.write(f'#!/bin/sh\nprintf "%s" "$1" > "{out}.tmp" && mv "{out}.tmp" "{out}"\n')
    os.chmod(prog, stat.S_IRWXU)
    if os.path.exists(out):
        os.unlink(out)
    return prog, out


def agent(reader, *extra, env=None):
    return Agent(["--reader", reader, "--issuer", ISS, "--client-id", "kiosk-agent",
                  "--cert", CERT, "--key", KEY, "--ca", CA, *extra], env=env)


def account_status(s):
    import requests
    r = s.get(ISS + "/account", allow_redirects=False, timeout=10)
    return r.status_code, r.headers.get("Location", "")


@test
def card_on_the_reader_logs_in_and_taking_it_out_logs_out(t):
    import requests
    prog, opened = browser()
    path = holder_file("citizen0.json", CIT[0])
    with Pcscd() as p:
        ag = agent("pcsc", "--once", "--face-score", "0.93", "--browser", prog, env=p.env)
        t.require(ag.wait_for("Place your ID card"), ag.screen())
        card = VirtualCard(p, path).insert()
        try:
            m = ag.wait_for(r"logged in \(ID card\): acr (\S+), amr (\S+), session (\S+)")
            t.require(m, ag.screen() + "\n" + A.log_tail())
            t.eq(m.group(1), "urn:authd:acr:ial4:aal3")
            t.eq(m.group(2), "hwk,face")
            t.check(CIT[0]["name"] not in ag.screen(), "the screen masks the name")
            t.check(CIT[0]["id_number"] not in ag.screen(), "and the ID number")
            t.require(ag.wait_for(r"browser session: opened in"), ag.screen())
            end = time.time() + 5
            while not os.path.exists(opened) and time.time() < end:
                time.sleep(0.05)
            uri = open(opened).read()
            t.check(uri.startswith(ISS + "/kiosk/session?"), uri)
            s = requests.Session()
            s.trust_env = False
            s.verify = CA
            r = s.get(uri, allow_redirects=False, timeout=10)
            t.eq(r.status_code, 303, r.text[:200])
            t.eq(account_status(s)[0], 200, "the kiosk screen's browser is logged in")
            n = len(RCV.tokens)
        finally:
            card.remove()
        t.require(ag.wait_for(r"^\[kiosk\] card removed: logged out$"), ag.screen())
        t.eq(ag.exit_code(), 0, ag.screen())
        st, loc = account_status(s)
        t.check(st != 200, f"the SSO session ended with the card: {st} {loc}")
        end = time.time() + 10
        while len(RCV.tokens) == n and time.time() < end:
            time.sleep(0.1)
        t.check(len(RCV.tokens) > n, "a back-channel logout reached the kiosk's client")


@test
def without_a_face_score_the_level_is_ial3(t):
    path = holder_file("citizen1.json", CIT[1])
    ag = agent("file:" + path, "--once")
    m = ag.wait_for(r"logged in \(ID card\): acr (\S+), amr (\S+),")
    t.require(m, ag.screen())
    t.eq((m.group(1), m.group(2)), ("urn:authd:acr:ial3:aal3", "hwk"))
    os.unlink(path)
    t.check(ag.wait_for(r"card removed: logged out"), ag.screen())
    t.eq(ag.exit_code(), 0, ag.screen())


@test
def stopping_the_agent_with_a_card_on_the_reader_ends_the_session(t):
    import signal
    path = holder_file("stopping.json", CIT[4])
    ag = agent("file:" + path)
    t.require(ag.wait_for(r"logged in \(ID card\)"), ag.screen())
    ag.proc.send_signal(signal.SIGTERM)
    t.check(ag.wait_for(r"^\[kiosk\] agent stopping: logged out$"), ag.screen())
    t.eq(ag.exit_code(), 0, ag.screen())
    os.unlink(path)


@test
def a_card_whose_name_does_not_match_the_population_base_is_refused_with_the_reason(t):
    path = holder_file("mismatch.json", CIT[2], name="王小二")
    ag = agent("file:" + path, "--once")
    m = ag.wait_for(r"login refused: HTTP (\d+) (\S+): (.*)$")
    t.require(m, ag.screen())
    t.eq((m.group(1), m.group(2)), ("400", "invalid_grant"))
    os.unlink(path)
    t.eq(ag.exit_code(), 1, ag.screen())
    t.check("logged out" not in ag.screen())


@test
def an_expired_card_is_refused(t):
    path = holder_file("expired.json", CIT[3], valid_from="2005-01-01",
                       valid_until="2015-01-01")
    ag = agent("file:" + path, "--once")
    m = ag.wait_for(r"login refused: HTTP 400 invalid_grant: (.*)$")
    t.require(m, ag.screen())
    os.unlink(path)
    t.eq(ag.exit_code(), 1, ag.screen())


@test
def a_key_that_is_not_the_certificates_is_refused(t):
    other = os.path.join(TMP, "other.key")
    import subprocess
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    other], check=True)
    path = holder_file("citizen4.json", CIT[4])
    ag = Agent(["--reader", "file:" + path, "--issuer", ISS, "--client-id", "kiosk-agent",
                "--cert", CERT, "--key", other, "--ca", CA, "--once"])
    t.eq(ag.exit_code(), 1, ag.screen())
    t.check("other.key is not the key of the certificate" in ag.screen(), ag.screen())
    os.unlink(path)


@test
def a_revoked_kiosk_is_refused_with_the_reason(t):
    A.authctl("kiosk", "enroll", "--id", "kiosk-32", "--location", "市民中心二楼",
              "--services", "profile", "--client", "kiosk-agent")
    A.authctl("kiosk", "revoke", "kiosk-32")
    time.sleep(1)  # authd reloads the CRL when the file changes
    path = holder_file("revoked.json", CIT[0])
    kd = os.path.join(A.state, "kiosks")
    ag = Agent(["--reader", "file:" + path, "--issuer", ISS, "--client-id", "kiosk-agent",
                "--cert", os.path.join(kd, "kiosk-32.crt"),
                "--key", os.path.join(kd, "kiosk-32.key"), "--ca", CA, "--once"])
    m = ag.wait_for(r"login refused: nonce: HTTP 401 invalid_client: (.*)$")
    t.require(m, ag.screen())
    t.check("revoked" in m.group(1), m.group(1))
    os.unlink(path)
    t.eq(ag.exit_code(), 1, ag.screen())


try:
    run()
finally:
    A.stop()
    RCV.stop()
    shutil.rmtree(TMP, ignore_errors=True)
    shutil.rmtree(A.state, ignore_errors=True)
