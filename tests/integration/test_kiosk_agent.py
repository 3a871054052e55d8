"""The kiosk agent (build/authd-kiosk, clients/kiosk) end to end: it reads the virtual ID
card (clients/kiosk/vicc_idcard.py on Debian's vsmartcard-vpicc) through our own pcscd and
Debian's virtual reader vpcd (tests/harness/vcard.py), sees the card taken out, reads a
card-data file; and performs the QR hand-over (the device authorization grant) against a
live authd with the citizen's phone approving as a second HTTP client."""
import base64
import hashlib
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser, hidden  # noqa: E402
from kiosk_agent import Agent  # noqa: E402
from vcard import Pcscd, VirtualCard  # noqa: E402

TMP = tempfile.mkdtemp(prefix="authd-kiosk-test-")
PHOTO = os.urandom(3000)  # over 256 bytes: several READ BINARY answers
HOLDER = {"type": "resident_id", "id_number": "110101199003071234", "name": "欧阳娜娜",
          "valid_from": "2015-03-07", "valid_until": "long-term",
          "authority": "北京市公安局东城分局",
          "photo_b64url": base64.urlsafe_b64encode(PHOTO).rstrip(b"=").decode()}


def b64url_sha256(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def holder_file(fname, **changes):
    h = dict(HOLDER, **changes)
    path = os.path.join(TMP, fname)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(h, f, ensure_ascii=False)
    return path, h


def card_of(agent):
    m = agent.wait_for(r"^card (\{.*\})$")
    return json.loads(m.group(1)) if m else None


def expected_card(h):
    c = {k: h[k] for k in ("type", "id_number", "name", "valid_from", "valid_until",
                           "authority")}
    c["photo_sha256"] = b64url_sha256(PHOTO)
    return c


@test
def pcsc_reads_the_virtual_card_intact_and_sees_it_taken_out(t):
    path, h = holder_file("holder.json")
    with Pcscd() as p:
        ag = Agent(["--reader", "pcsc", "--dump-card", "--once"], env=p.env)
        t.require(ag.wait_for(r'Place your ID card on the reader \(PC/SC reader "Virtual PCD'),
                  ag.screen() + p.log_text())
        card = VirtualCard(p, path).insert()
        try:
            got = card_of(ag)
            t.eq(got, expected_card(h), ag.screen())
            t.eq(got["name"], "欧阳娜娜")
            masked = ag.wait_for(r"card read: (\S+) (\S+), valid 2015-03-07 to long-term")
            t.require(masked, ag.screen())
            t.eq(masked.group(1), "欧*", "the screen masks the name")
            t.eq(masked.group(2), "110101********1234", "and the ID number")
            t.check(ag.wait_for(r"card removed", timeout=1) is None, "not removed yet")
        finally:
            card.remove()
        t.check(ag.wait_for(r"^\[kiosk\] card removed$"), ag.screen())
        t.eq(ag.exit_code(), 0, ag.screen())


@test
def pcsc_reads_one_card_after_another(t):
    first, _ = holder_file("first.json")
    second, h2 = holder_file("second.json", name="张三", id_number="11010519491231002X",
                             valid_until="2035-03-07")
    with Pcscd() as p:
        ag = Agent(["--reader", "pcsc", "--dump-card"], env=p.env)
        try:
            t.require(ag.wait_for("Place your ID card"), ag.screen())
            c = VirtualCard(p, first).insert()
            t.require(card_of(ag), ag.screen())
            c.remove()
            t.require(ag.wait_for(r"^\[kiosk\] card removed$"), ag.screen())
            with ag.cv:
                ag.lines.clear()
            c = VirtualCard(p, second).insert()
            t.eq(card_of(ag), expected_card(h2), ag.screen())
            c.remove()
            t.check(ag.wait_for(r"^\[kiosk\] card removed$"), ag.screen())
            t.check(ag.proc.poll() is None, "without --once the agent waits for the next card")
        finally:
            ag.stop()


@test
def pcsc_without_a_card_gives_up_after_wait(t):
    with Pcscd() as p:
        ag = Agent(["--reader", "pcsc", "--dump-card", "--once", "--wait", "1"], env=p.env)
        t.eq(ag.exit_code(), 1, ag.screen())
        t.check("no card within 1 s" in ag.screen(), ag.screen())


@test
def pcsc_without_pcscd_is_a_clear_error(t):
    env = dict(os.environ, PCSCLITE_CSOCK_NAME=os.path.join(TMP, "no-such.comm"))
    ag = Agent(["--reader", "pcsc", "--dump-card", "--once"], env=env)
    t.eq(ag.exit_code(), 1, ag.screen())
    t.check("is pcscd running?" in ag.screen(), ag.screen())


@test
def file_reader_reads_the_card_data_file_and_removal_is_its_deletion(t):
    path, h = holder_file("file-card.json")
    ag = Agent(["--reader", "file:" + path, "--dump-card", "--once"])
    t.eq(card_of(ag), expected_card(h), ag.screen())
    time.sleep(0.5)
    t.check(ag.proc.poll() is None, "waits while the card is on the reader")
    os.unlink(path)
    t.check(ag.wait_for(r"^\[kiosk\] card removed$"), ag.screen())
    t.eq(ag.exit_code(), 0, ag.screen())


@test
def file_reader_refuses_card_data_with_a_member_missing(t):
    path, _ = holder_file("no-name.json", name="")
    ag = Agent(["--reader", "file:" + path, "--dump-card", "--once"])
    t.check(ag.wait_for(r"card not read: card data: name missing"), ag.screen())
    os.unlink(path)
    t.eq(ag.exit_code(), 1, ag.screen())


@test
def bad_command_lines_are_usage_errors(t):
    for args in ([], ["--reader", "pcsc"], ["--qr", "--issuer", "https://x"],
                 ["--reader", "pcsc", "--dump-card", "--face-score", "2"]):
        ag = Agent(args)
        t.eq(ag.exit_code(), 2, f"{args}: {ag.screen()}")
        t.check("usage: authd-kiosk" in ag.screen(), ag.screen())
    ag = Agent(["--reader", "nfc:x", "--dump-card"])
    t.eq(ag.exit_code(), 1)
    t.check("expected pcsc[:NAME], file:PATH or vendor:LIB.so" in ag.screen(), ag.screen())


# ---- the QR hand-over against a live authd ----

A = Authd(population=300, conf={"device_poll_interval_s": 1, "device_code_ttl_s": 600,
                                "rate_device_per_ip": 1000, "rate_device_per_code": 1000})
A.start()


def phone():
    """The citizen's phone: logged in to authd (SSO) through demo-app's login page."""
    b = Browser(A)
    b.code("demo-app", Browser.loopback(), "openid")
    return b.s


def decide(s, user_code, action):
    page = s.get(A.base + "/device", params={"user_code": user_code}, timeout=10)
    return s.post(A.base + "/device", data={"user_code": hidden(page.text, "user_code"),
                                            "csrf": hidden(page.text, "csrf"),
                                            "action": action}, timeout=10)


def qr_agent():
    return Agent(["--qr", "--issuer", A.base, "--client-id", "demo-kiosk", "--allow-http",
                  "--scope", "openid profile"])


def qr_block(screen):
    """The lines between the scan prompt and the code line."""
    lines = screen.split("\n")
    i = next(n for n, l in enumerate(lines) if "Scan with your phone" in l)
    j = next(n for n, l in enumerate(lines) if l.startswith("[kiosk] or open"))
    return "\n".join(lines[i + 1:j]) + "\n"


def user_code(t, ag):
    """The user code the kiosk screen shows."""
    m = ag.wait_for(r"user code: ([A-Z]{4}-[A-Z]{4})")
    t.require(m, ag.screen())
    return m.group(1)


@test
def qr_hand_over_approved_on_the_phone_logs_the_kiosk_in(t):
    ag = qr_agent()
    try:
        uc = user_code(t, ag)
        shown = ag.wait_for(r"or open (\S+) and enter the code")
        t.eq(shown.group(1), A.base + "/device")
        # the QR is authd's own rendering of verification_uri_complete
        uri = A.base + "/device?user_code=" + uc
        t.eq(qr_block(ag.screen()) + uri + "\n", A.authctl("device-qr", uri).stdout)
        time.sleep(1.5)  # the kiosk polls meanwhile: authorization_pending
        r = decide(phone(), uc, "approve")
        t.eq(r.status_code, 200, r.text[:300])
        got = ag.wait_for(r"logged in \(QR hand-over\): acr (\S+), amr (\S+), session (\S+)")
        t.require(got, ag.screen())
        t.check(got.group(1).startswith("urn:authd:acr:ial"), got.group(1))
        t.eq(got.group(2), "pwd", "the phone's password session, never raised")
        t.eq(ag.exit_code(), 0, ag.screen())
        t.check("slow_down" not in ag.screen(), "the agent honours the interval")
    finally:
        ag.stop()


@test
def qr_hand_over_denied_on_the_phone_is_said_on_the_screen(t):
    ag = qr_agent()
    try:
        r = decide(phone(), user_code(t, ag), "deny")
        t.eq(r.status_code, 200, r.text[:300])
        t.check(ag.wait_for(r"the citizen denied it on the phone"), ag.screen())
        t.eq(ag.exit_code(), 1, ag.screen())
    finally:
        ag.stop()


@test
def qr_hand_over_for_an_unknown_client_is_refused(t):
    ag = Agent(["--qr", "--issuer", A.base, "--client-id", "no-such-kiosk", "--allow-http"])
    t.eq(ag.exit_code(), 1, ag.screen())
    t.check(re.search(r"QR hand-over refused: HTTP 401 invalid_client", ag.screen()),
            ag.screen())


@test
def agent_refuses_plain_http_without_allow_http(t):
    ag = Agent(["--qr", "--issuer", A.base, "--client-id", "demo-kiosk"])
    t.eq(ag.exit_code(), 1, ag.screen())
    t.check("https, or http with --allow-http" in ag.screen(), ag.screen())


try:
    run()
finally:
    A.stop()
