"""The login page in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven over the W3C WebDriver HTTP protocol with plain requests. demo-app's /authorize with
a loopback redirect to a tiny HTTP server run here; the test types the ID number and the
password, submits, approves the consent page (a public client gets no code without an
interaction until the citizen approved it once: issue 13 #6), and must land on that server
with a code and the state. Screenshots go to build/test-artifacts/login.png (the filled
form), consent.png (the consent page in the browser's language), consent-zh.png and
consent-en.png (asked again with prompt=consent in each language) and login-done.png (the
client).
If Chromium cannot be installed the test FAILS: the login page must be tested in a browser."""
import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import sys
from urllib.parse import urlencode
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, free_port, run, test  # noqa: E402
from browser import ARTIFACTS, Client, chromium  # noqa: E402


@test
def login_in_headless_chromium_lands_on_the_client(t):
    with chromium(t) as (wd, cb_port):
        with Authd(population=1000) as a:
            citizen = a.demo()["citizens"][0]
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(
                hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            state = secrets.token_urlsafe(16)
            q = {"client_id": "demo-app", "response_type": "code", "scope": "openid profile",
                 "redirect_uri": f"http://127.0.0.1:{cb_port}/callback", "state": state,
                 "nonce": "n-browser", "code_challenge": challenge,
                 "code_challenge_method": "S256"}
            wd.go(a.base + "/authorize?" + urlencode(q))
            t.check("/login?authz=" in wd.url(), wd.url())
            t.check("登录" in wd.title() or "Sign in" in wd.title(), wd.title())
            wd.type(wd.find("#id_number"), citizen["id_number"])
            wd.type(wd.find("#password"), citizen["password"])
            wd.screenshot(os.path.join(ARTIFACTS, "login.png"))
            wd.click(wd.find("#login_submit"))
            u = wd.wait_url("/consent?authz=")
            t.require("/consent?authz=" in u, f"no consent page; browser at {u}")
            wd.screenshot(os.path.join(ARTIFACTS, "consent.png"))
            wd.click(wd.find('button[value="approve"]'))
            t.require(Client.event.wait(30), f"the client was not reached; browser at {wd.url()}")
            wd.screenshot(os.path.join(ARTIFACTS, "login-done.png"))
            t.eq(Client.got.get("state"), state)
            t.check(Client.got.get("code", "").startswith("s1.c1."))  # a sealed grant
            t.eq(Client.got.get("iss"), a.base)
            t.check(wd.url().startswith(f"http://127.0.0.1:{cb_port}/callback?code="), wd.url())
            t.check(os.path.getsize(os.path.join(ARTIFACTS, "login.png")) > 1000)
            # the approval is remembered: silent SSO now; prompt=consent shows the page again
            Client.event.clear()
            wd.go(a.base + "/authorize?" + urlencode(dict(q, state="s2", prompt="none")))
            t.require(Client.event.wait(30), f"no silent SSO after approval: {wd.url()}")
            t.eq(Client.got.get("state"), "s2")
            for lang, word in (("zh-CN", "同意"), ("en", "Allow")):
                Client.event.clear()
                wd.go(a.base + "/authorize?" + urlencode(dict(q, state="s-" + lang,
                                                              prompt="consent", ui_locales=lang)))
                t.require("/consent?authz=" in wd.url(), wd.url())
                t.check(word in wd.cmd("GET", "/source"), f"the {lang} consent page")
                wd.screenshot(os.path.join(ARTIFACTS, f"consent-{lang[:2]}.png"))
                wd.click(wd.find('button[value="approve"]'))
                t.require(Client.event.wait(30), f"the client was not reached: {wd.url()}")
                t.eq(Client.got.get("state"), "s-" + lang)


@test
def phone_verification_page_in_headless_chromium(t):
    """/mfa/phone (docs/mfa.md): sign in, have a code sent to the number on record (read
    from the dev sink), type it; screenshots of both states."""
    with chromium(t) as (wd, _), Authd(population=1000) as a:
        citizen = a.demo()["citizens"][1]
        q = {"client_id": "demo-app", "response_type": "code", "scope": "openid",
             "redirect_uri": f"http://127.0.0.1:{free_port()}/callback", "state": "s",
             "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
             "code_challenge_method": "S256"}
        wd.go(a.base + "/authorize?" + urlencode(q))
        wd.type(wd.find("#id_number"), citizen["id_number"])
        wd.type(wd.find("#password"), citizen["password"])
        wd.click(wd.find("#login_submit"))
        t.require("/consent?authz=" in wd.wait_url("/consent?authz="), wd.url())
        wd.go(a.base + "/mfa/phone?lang=zh")
        src = wd.cmd("GET", "/source")
        t.check(citizen["phone"][-4:] in src and 'id="phone-unverified"' in src, src[-500:])
        wd.screenshot(os.path.join(ARTIFACTS, "mfa-phone.png"))
        sink = os.path.join(a.state, "notices.jsonl")
        before = len(open(sink).readlines()) if os.path.exists(sink) else 0
        wd.click(wd.find("#send_code"))
        code = None
        for _ in range(100):
            lines = open(sink).readlines()[before:] if os.path.exists(sink) else []
            sms = [json.loads(l) for l in lines if json.loads(l)["to"] == citizen["phone"]]
            if sms:
                code = re.search(r"(\d{6})$", sms[-1]["text"]).group(1)
                break
            time.sleep(0.1)
        t.require(code, "no SMS in the dev sink")
        for _ in range(100):
            if 'id="phone-message"' in wd.cmd("GET", "/source"):
                break
            time.sleep(0.1)
        src = wd.cmd("GET", "/source")
        t.check("验证码已发送" in src or "A code was sent" in src, "the page says a code was sent")
        wd.screenshot(os.path.join(ARTIFACTS, "mfa-phone-sent.png"))
        wd.type(wd.find("#code"), code)
        wd.click(wd.find("#verify_submit"))
        for _ in range(100):
            if 'id="phone-verified"' in wd.cmd("GET", "/source"):
                break
            time.sleep(0.1)
        t.check('id="phone-verified"' in wd.cmd("GET", "/source"), "verified")
        wd.screenshot(os.path.join(ARTIFACTS, "mfa-phone-verified.png"))


run()
