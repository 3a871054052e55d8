"""Headless Chromium for the page tests: Debian's chromium + chromium-driver, driven over
the W3C WebDriver HTTP protocol with plain requests (test_login_browser.py,
test_device_browser.py). Screenshots go to ARTIFACTS (build/test-artifacts)."""
import base64
import contextlib
import os
import shutil
import subprocess
import tempfile

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
                        "chromium-driver", "fonts-wqy-microhei"], capture_output=True, text=True)
    ok = p.returncode == 0 and os.access(CHROMEDRIVER, os.X_OK) and os.access(CHROMIUM, os.X_OK)
    return ok, (p.stdout + p.stderr)[-2000:]


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
def chromium(t, why="the page must be tested in a browser"):
    """Chromium installed (the test FAILS when it cannot be), chromedriver on a free port and
    a browser session with a fresh profile: yields the WebDriver, then stops them all."""
    ok, log = install_browser()
    t.require(ok, "Chromium could not be installed (scripts/install-deps chromium "
                  "chromium-driver); " + why + ":\n" + log)
    os.makedirs(ARTIFACTS, exist_ok=True)
    port = free_port()
    profile = tempfile.mkdtemp(prefix="authd-chromium-")
    drv = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    wd = WebDriver(port)
    try:
        t.require(wait_port(port, 30, drv), "chromedriver did not start")
        wd.start(profile)
        yield wd
    finally:
        wd.quit()
        stop_pid(drv)
        shutil.rmtree(profile, ignore_errors=True)
