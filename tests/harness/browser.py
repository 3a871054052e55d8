"""Headless Chromium for the page tests: Debian's chromium + chromium-driver (and
fonts-noto-cjk, so screenshots show Chinese text), driven over the W3C WebDriver HTTP protocol
with plain requests. Three ways in, one driver underneath (_session):
    with chromium(t) as (wd, cb_port): ...   # plus the loopback redirect endpoint Client
    with browser(t) as wd: ...               # the browser alone; the test FAILS without it
    with Chromium() as wd: ...               # the browser alone; RuntimeError without it
"""
import base64
import contextlib
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from urllib.parse import parse_qs, urlsplit

from itest import BUILD, ROOT, free_port, stop_pid, wait_port

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
                        "chromium-driver", "fonts-noto-cjk"], capture_output=True, text=True)
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

    def script(self, js, *args):
        """Runs js in the page (W3C WebDriver §13.2.1): the tests' own tampering, never the
        page's (the pages have no JavaScript)."""
        return self.cmd("POST", "/execute/sync", {"script": js, "args": list(args)})


@contextlib.contextmanager
def _session():
    """chromedriver on a free loopback port and a browser session with a fresh profile:
    yields the started WebDriver (RuntimeError when chromedriver does not come up); stops
    everything by PID and removes the profile on the way out."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    port = free_port()
    profile = tempfile.mkdtemp(prefix="authd-chromium-")
    drv = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    wd = WebDriver(port)
    try:
        if not wait_port(port, 30, drv):
            raise RuntimeError("chromedriver did not start")
        wd.start(profile)
        yield wd
    finally:
        try:
            wd.quit()
        finally:
            stop_pid(drv)
            shutil.rmtree(profile, ignore_errors=True)


@contextlib.contextmanager
def browser(t, why="the page must be tested in a browser"):
    """Chromium installed (the test FAILS when it cannot be) and a session: yields the
    WebDriver."""
    ok, log = install_browser()
    t.require(ok, "Chromium could not be installed (scripts/install-deps chromium "
                  "chromium-driver); " + why + ":\n" + log)
    with _session() as wd:
        yield wd


@contextlib.contextmanager
def chromium(t):
    """browser(t) with the loopback redirect endpoint (Client) on a free port: yields
    (WebDriver, the callback port)."""
    cb_port = free_port()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", cb_port), Client)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with browser(t, "the pages must be tested in a browser") as wd:
            yield wd, cb_port
    finally:
        srv.shutdown()


class Chromium:
    """`with Chromium() as wd:` a started WebDriver (install_browser() first), or
    RuntimeError."""

    def __enter__(self):
        self.cm = _session()
        return self.cm.__enter__()

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc)
