"""The device grant's approval page in headless Chromium: the phone (the browser) logs in
through demo-app's login page, opens the kiosk's verification_uri_complete, must see the
client's name, the kiosk's location, the code and the scopes in Chinese, and approves; the
kiosk (requests) then gets tokens. Screenshots: build/test-artifacts/device-zh.png (the
approval page), device-en.png (the same in English), device-done.png (after approving).
If Chromium cannot be installed the test FAILS: the page must be tested in a browser."""
import base64
import hashlib
import os
import secrets
import sys
import time
from urllib.parse import urlencode

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from browser import ARTIFACTS, browser  # noqa: E402
from itest import Authd, free_port, run, test  # noqa: E402

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@test
def approval_page_in_headless_chromium_shows_who_asks_what(t):
    with browser(t) as wd:
        with Authd(population=200, conf={"device_poll_interval_s": 1}) as a:
            citizen = a.demo()["citizens"][0]
            v = secrets.token_urlsafe(48)
            c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=")
            q = {"client_id": "demo-app", "response_type": "code", "scope": "openid",
                 "redirect_uri": f"http://127.0.0.1:{free_port()}/callback", "state": "s",
                 "code_challenge": c.decode(), "code_challenge_method": "S256"}
            wd.go(a.base + "/authorize?" + urlencode(q))
            wd.type(wd.find("#id_number"), citizen["id_number"])
            wd.type(wd.find("#password"), citizen["password"])
            wd.click(wd.find("#login_submit"))
            if "/consent?authz=" in wd.wait_url("/c", 15):
                wd.click(wd.find('button[value="approve"]'))
                wd.wait_url("/callback", 15)
            # the kiosk
            j = a.post("/device_authorization",
                       data={"client_id": "demo-kiosk", "scope": "openid profile phone"}).json()
            # the QR link as the kiosk gave it, in Chinese (the phone's language: headless
            # Chromium does not send its --lang as Accept-Language)
            wd.go(j["verification_uri_complete"] + "&lang=zh")
            src = wd.cmd("GET", "/source")
            wd.screenshot(os.path.join(ARTIFACTS, "device-zh.png"))
            t.check("政务服务自助终端" in src, "the client's name")
            t.check("市民中心一楼大厅 3 号机" in src, "the kiosk's location")
            t.check(j["user_code"] in src, "the code")
            for scope_zh in ("姓名、出生日期、性别", "手机号码"):
                t.check(scope_zh in src, scope_zh)
            t.check("请拒绝" in src, "the relay warning")
            t.check("单因素" in src and "urn:authd:acr:" in src, "the level the kiosk gets")
            t.check("<script" not in src)
            wd.click(wd.find('a[lang="en"]'))
            time.sleep(0.5)
            src = wd.cmd("GET", "/source")
            t.check("Self-service kiosk" in src and "Name, date of birth, gender" in src)
            wd.screenshot(os.path.join(ARTIFACTS, "device-en.png"))
            wd.click(wd.find("#device-approve"))
            time.sleep(0.5)
            wd.screenshot(os.path.join(ARTIFACTS, "device-done.png"))
            t.check("device-done" in wd.cmd("GET", "/source"))
            time.sleep(1.2)
            r = a.post("/token", data={"grant_type": GRANT, "device_code": j["device_code"],
                                       "client_id": "demo-kiosk"})
            t.eq(r.status_code, 200, r.text)
            t.check("id_token" in r.json())


run()
