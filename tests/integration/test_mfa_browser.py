"""TOTP enrolment and step-up in headless Chromium: the citizen signs in to demo-app, opens
/mfa/totp, and the QR code is read back from a screenshot by zbarimg (Debian zbar-tools): it
must be an otpauth:// URI whose secret gives codes (pyotp) that the page accepts; then an
aal2 request goes through the second-factor page with such a code and lands on the client.
Screenshots: build/test-artifacts/mfa-enrol.png, mfa-codes.png, mfa-stepup.png,
mfa-stepup-en.png. If Chromium or zbarimg cannot be installed the test FAILS."""
import base64
import hashlib
import os
import secrets
import subprocess
import sys
import time
from urllib.parse import urlencode

import pyotp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import ROOT, Authd, run, test  # noqa: E402
from browser import ARTIFACTS, Client, chromium  # noqa: E402

ZBARIMG = "/usr/bin/zbarimg"


def install_zbar():
    p = subprocess.run([os.path.join(ROOT, "scripts", "install-deps"), "zbar-tools"],
                       capture_output=True, text=True)
    return p.returncode == 0 and os.access(ZBARIMG, os.X_OK)


def decode_qr(path):
    p = subprocess.run([ZBARIMG, "--raw", "-q", path], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def request(a, cb_port, state, **extra):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = {"client_id": "demo-app", "response_type": "code", "scope": "openid profile",
         "redirect_uri": f"http://127.0.0.1:{cb_port}/callback", "state": state,
         "nonce": "n-" + state, "code_challenge": challenge, "code_challenge_method": "S256"}
    q.update(extra)
    return a.base + "/authorize?" + urlencode(q)


@test
def qr_from_a_screenshot_enrols_and_steps_up(t):
    t.require(install_zbar(), "zbar-tools could not be installed (scripts/install-deps)")
    with chromium(t) as (wd, cb_port):
        with Authd(population=500) as a:
            citizen = a.demo()["citizens"][0]
            Client.event.clear()
            wd.go(request(a, cb_port, "s1"))
            wd.type(wd.find("#id_number"), citizen["id_number"])
            wd.type(wd.find("#password"), citizen["password"])
            wd.click(wd.find("#login_submit"))
            u = wd.wait_url("/consent?authz=")
            if "/consent?authz=" in u:
                wd.click(wd.find('button[value="approve"]'))
            t.require(Client.event.wait(30), f"no password login: {wd.url()}")
            # the enrolment page: the QR code read back from the screenshot
            wd.go(a.base + "/mfa/totp")
            shot = os.path.join(ARTIFACTS, "mfa-enrol.png")
            wd.screenshot(shot)
            uri = decode_qr(shot)
            t.require(uri and uri.startswith("otpauth://totp/"), f"zbarimg read {uri!r}")
            t.check(citizen["id_number"] not in uri, "the full ID number in the QR code")
            t.check("%2A%2A%2A%2A%2A%2A%2A%2A" in uri or "********" in uri, uri)
            otp = pyotp.parse_uri(uri)
            t.eq(otp.issuer, "authd")
            t.eq(otp.secret, wd.cmd("GET", f"/element/{wd.find('#secret')}/text")
                 .replace(" ", ""), "the QR's secret is the one in text")
            wd.type(wd.find("#code"), otp.now())
            wd.click(wd.find("#mfa_confirm"))
            time.sleep(0.5)
            wd.screenshot(os.path.join(ARTIFACTS, "mfa-codes.png"))
            t.require("<ul class=\"codes\"" in wd.cmd("GET", "/source"),
                      "no recovery codes after a code from the QR's secret")
            # step-up: an aal2 request goes through the second-factor page
            Client.event.clear()
            wd.go(request(a, cb_port, "s2", acr_values="urn:authd:acr:ial3:aal2",
                          ui_locales="en"))
            t.require("authn=totp" in wd.url(), wd.url())
            wd.screenshot(os.path.join(ARTIFACTS, "mfa-stepup-en.png"))
            wd.go(wd.url().replace("lang=en", "") + "&lang=zh")
            t.check("二次验证" in wd.cmd("GET", "/source"), "the Chinese page")
            wd.type(wd.find("#code"), otp.at(time.time() + 30))
            wd.screenshot(os.path.join(ARTIFACTS, "mfa-stepup.png"))
            wd.click(wd.find("#mfa_submit"))
            t.require(Client.event.wait(30), f"the client was not reached: {wd.url()}")
            t.eq(Client.got.get("state"), "s2")
            t.check(Client.got.get("code", "").startswith("s1.c1."))  # a sealed grant


run()
