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
import hashlib
import http.server
import os
import secrets
import sys
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from browser import ARTIFACTS, chromium  # noqa: E402
from itest import Authd, free_port, run, test  # noqa: E402


class Client(http.server.BaseHTTPRequestHandler):
    """The relying party's loopback redirect endpoint (RFC 8252 §7.3)."""
    got = None
    event = threading.Event()

    def do_GET(self):
        if urlsplit(self.path).path == "/callback":
            Client.got = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            Client.event.set()
        body = b"<!DOCTYPE html><title>demo-app</title><h1>demo-app received the answer</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@test
def login_in_headless_chromium_lands_on_the_client(t):
    cb_port = free_port()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", cb_port), Client)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with chromium(t, "the login page must be tested in a browser") as wd, \
                Authd(population=1000) as a:
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
            t.eq(len(Client.got.get("code", "")), 43)
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
    finally:
        srv.shutdown()


run()
