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
import http.server
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import BUILD, ROOT, Authd, free_port, run, stop_pid, test, wait_port  # noqa: E402

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.path.join(BUILD, "test-artifacts")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # W3C WebDriver §12: the element key
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=900,1000", "--lang=zh-CN"]


def install_browser():
    """scripts/install-deps is idempotent: nothing happens when both are installed."""
    p = subprocess.run([os.path.join(ROOT, "scripts", "install-deps"), "chromium",
                        "chromium-driver", "fonts-wqy-microhei"], capture_output=True, text=True)
    ok = p.returncode == 0 and os.access(CHROMEDRIVER, os.X_OK) and os.access(CHROMIUM, os.X_OK)
    return ok, (p.stdout + p.stderr)[-2000:]


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


class WebDriver:
    """The few W3C WebDriver commands the test needs, over HTTP."""

    def __init__(self, port):
        import requests
        self.http = requests.Session()
        self.http.trust_env = False
        self.base = f"http://127.0.0.1:{port}"
        self.sid = None

    def cmd(self, method, path, body=None):
        url = self.base + (f"/session/{self.sid}" if self.sid else "/session") + path
        r = self.http.request(method, url, json=body, timeout=60)
        v = r.json().get("value")
        if r.status_code != 200:
            raise RuntimeError(f"webdriver {method} {path}: {r.status_code} {v}")
        return v

    def start(self, profile):
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM,
                                   "args": FLAGS + [f"--user-data-dir={profile}"]}}}}
        self.sid = self.cmd("POST", "", caps)["sessionId"]

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def type(self, el, text):
        self.cmd("POST", f"/element/{el}/value", {"text": text})

    def click(self, el):
        self.cmd("POST", f"/element/{el}/click", {})

    def url(self):
        return self.cmd("GET", "/url")

    def wait_url(self, part, timeout=30.0):
        """The URL once it contains part (a click's navigation is asynchronous), or the last."""
        import time
        end = time.monotonic() + timeout
        while part not in (u := self.url()) and time.monotonic() < end:
            time.sleep(0.1)
        return u

    def title(self):
        return self.cmd("GET", "/title")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))

    def quit(self):
        if self.sid:
            try:
                self.cmd("DELETE", "")
            finally:
                self.sid = None


@contextlib.contextmanager
def chromium(t):
    """A WebDriver session on a fresh headless Chromium profile (installed if missing)."""
    ok, why = install_browser()
    t.require(ok, "Chromium could not be installed (scripts/install-deps chromium "
                  "chromium-driver); the login page must be tested in a browser:\n" + why)
    os.makedirs(ARTIFACTS, exist_ok=True)
    wd_port = free_port()
    profile = tempfile.mkdtemp(prefix="authd-chromium-")
    drv = subprocess.Popen([CHROMEDRIVER, f"--port={wd_port}"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    wd = WebDriver(wd_port)
    try:
        t.require(wait_port(wd_port, 30, drv), "chromedriver did not start")
        wd.start(profile)
        yield wd
    finally:
        wd.quit()
        stop_pid(drv)
        shutil.rmtree(profile, ignore_errors=True)


@test
def login_in_headless_chromium_lands_on_the_client(t):
    cb_port = free_port()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", cb_port), Client)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with chromium(t) as wd, Authd(population=1000) as a:
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


@test
def phone_verification_page_in_headless_chromium(t):
    """/mfa/phone (docs/mfa.md): sign in, have a code sent to the number on record (read
    from the dev sink), type it; screenshots of both states."""
    with chromium(t) as wd, Authd(population=1000) as a:
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
