"""The device authorization grant (RFC 8628) end to end: the kiosk (demo-kiosk, a public
client) asks /device_authorization and polls /token; the citizen's phone is a second HTTP
client (a requests session) that logs in through the portal's login page and approves or
denies on /device. Also an independent RFC 8628 client, oauth4webapi (tests/interop/device,
installed with npm ci), as the kiosk."""
import base64
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import parse_qs, urljoin, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import ROOT, Authd, Redis, free_port, run, test  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
KIOSK = "demo-kiosk"
INTERVAL = 1
A = Authd(population=300, conf={"device_poll_interval_s": INTERVAL, "device_code_ttl_s": 600,
                                "rate_device_per_ip": 1000, "rate_device_per_code": 1000})
A.start()
DEMO = A.demo()
CITIZENS = DEMO["citizens"]
UC = re.compile(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    return html.unescape(m.group(1)) if m else None


def phone(citizen=0, authd=None):
    """A phone: a requests session logged in (SSO) through demo-app's /authorize and the
    login page. Returns (session, the app's ID token claims)."""
    a = authd or A
    s = a.session()
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    cb = f"http://127.0.0.1:{free_port()}/callback"
    p = {"client_id": "demo-app", "response_type": "code", "scope": "openid", "state": "st",
         "nonce": "n", "redirect_uri": cb, "code_challenge": c, "code_challenge_method": "S256"}
    r = s.get(a.base + "/authorize", params=p, allow_redirects=False, timeout=10)
    loc = r.headers["Location"]
    page = s.get(urljoin(a.base, loc), timeout=10)
    cz = a.demo()["citizens"][citizen % len(a.demo()["citizens"])]
    r = s.post(a.base + "/login", data={"authz": hidden(page.text, "authz"),
                                        "csrf": hidden(page.text, "csrf"),
                                        "id_number": cz["id_number"],
                                        "password": cz["password"]},
               allow_redirects=False, timeout=10)
    loc = r.headers["Location"]
    if loc.startswith("/consent"):
        page = s.get(urljoin(a.base, loc), timeout=10)
        r = s.post(a.base + "/consent", data={"authz": hidden(page.text, "authz"),
                                              "csrf": hidden(page.text, "csrf"),
                                              "action": "approve"},
                   allow_redirects=False, timeout=10)
        loc = r.headers["Location"]
    assert loc.startswith(cb), loc
    code = parse_qs(urlsplit(loc).query)["code"][0]
    r = s.post(a.base + "/token", data={"grant_type": "authorization_code", "code": code,
                                        "redirect_uri": cb, "client_id": "demo-app",
                                        "code_verifier": v}, timeout=10)
    s.id_token = r.json()["id_token"]  # for /end_session
    return s, claims(r.json()["id_token"], a)


def claims(token, a=None):
    keys = jwk.JWKSet.from_json((a or A).get("/jwks").text)
    return json.loads(jwt.JWT(jwt=token, key=keys).claims)


def start(scope="openid profile", client=KIOSK, a=None):
    return (a or A).post("/device_authorization", data={"client_id": client, "scope": scope})


def poll(dc, client=KIOSK, a=None):
    return (a or A).post("/token", data={"grant_type": GRANT, "device_code": dc,
                                         "client_id": client})


def decide(s, user_code, action="approve", a=None):
    a = a or A
    page = s.get(a.base + "/device", params={"user_code": user_code}, timeout=10)
    return page, s.post(a.base + "/device", data={"user_code": hidden(page.text, "user_code"),
                                                  "csrf": hidden(page.text, "csrf"),
                                                  "action": action}, timeout=10)


@test
def discovery_names_the_endpoint_and_the_grant(t):
    d = A.get("/.well-known/openid-configuration").json()
    t.eq(d.get("device_authorization_endpoint"), A.base + "/device_authorization")
    t.check(GRANT in d["grant_types_supported"])


@test
def device_authorization_answers_rfc8628_fields(t):
    r = start()
    t.eq(r.status_code, 200, r.text)
    t.eq(r.headers.get("Cache-Control"), "no-store")
    j = r.json()
    t.check(UC.match(j["user_code"]), j["user_code"])
    t.eq(len(j["device_code"]), 43)
    t.eq(j["verification_uri"], A.base + "/device")
    t.eq(j["verification_uri_complete"], A.base + "/device?user_code=" + j["user_code"])
    t.eq(j["expires_in"], 600)
    t.eq(j["interval"], INTERVAL)
    t.check(j["device_code"] not in A.log_tail(50), "the device code is never logged")


@test
def device_authorization_refusals(t):
    r = start(client="demo-app")  # public, not allowed the grant
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "unauthorized_client")
    r = start(client="no-such-client")
    t.eq(r.status_code, 401)
    t.eq(r.json()["error"], "invalid_client")
    r = start(scope="workflow.officer")  # not registered for the kiosk
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "invalid_scope")
    r = A.get("/device_authorization")
    t.check(r.status_code in (405, 400), r.status_code)


@test
def approve_gives_tokens_at_the_phone_sessions_levels_once(t):
    s, app_claims = phone(0)
    j = start("openid profile").json()
    r = poll(j["device_code"])
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "authorization_pending")
    page, r = decide(s, j["user_code"])
    t.eq(page.status_code, 200)
    t.check("Self-service kiosk" in page.text, "client name shown")
    t.check("kiosk 3" in page.text, "location shown")
    t.check(j["user_code"] in page.text, "code shown")
    t.check("<script" not in page.text)
    t.eq(r.status_code, 200, r.text[:300])
    t.check('id="device-done"' in r.text)
    time.sleep(INTERVAL + 0.2)
    r = poll(j["device_code"])
    t.eq(r.status_code, 200, r.text)
    tok = r.json()
    t.eq(tok["token_type"], "Bearer")
    t.check("refresh_token" in tok, "the kiosk is allowed refresh tokens")
    idt = claims(tok["id_token"])
    t.eq(idt["aud"], KIOSK)
    # the phone's session: same levels (password: aal1), amr, auth_time and sid
    t.eq(idt["acr"], app_claims["acr"])
    t.check(idt["acr"].endswith(":aal1"), idt["acr"])
    t.eq(idt["amr"], app_claims["amr"])
    t.eq(idt["auth_time"], app_claims["auth_time"])
    t.eq(idt["sid"], app_claims["sid"])
    at = claims(tok["access_token"])
    t.eq(at["acr"], app_claims["acr"])
    t.eq(at["scope"], "openid profile")
    ui = A.get("/userinfo", headers={"Authorization": "Bearer " + tok["access_token"]})
    t.eq(ui.status_code, 200)
    t.check("name" in ui.json(), ui.text)
    # the refresh token keeps the levels
    r = A.post("/token", data={"grant_type": "refresh_token", "client_id": KIOSK,
                               "refresh_token": tok["refresh_token"]})
    t.eq(r.status_code, 200, r.text)
    t.eq(claims(r.json()["access_token"])["acr"], app_claims["acr"])
    # single use
    time.sleep(INTERVAL + 0.2)
    r = poll(j["device_code"])
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "invalid_grant")
    # the code is spent too
    r = s.get(A.base + "/device", params={"user_code": j["user_code"]}, timeout=10)
    t.eq(r.status_code, 400)


@test
def logging_out_on_the_phone_ends_the_kiosks_tokens(t):
    s, _ = phone(3)
    j = start("openid").json()
    decide(s, j["user_code"])
    time.sleep(INTERVAL + 0.2)
    tok = poll(j["device_code"]).json()
    t.require("refresh_token" in tok, tok)
    r = s.get(A.base + "/end_session", params={"id_token_hint": s.id_token},
              allow_redirects=False, timeout=10)
    t.eq(r.status_code, 200)
    r = A.post("/token", data={"grant_type": "refresh_token", "client_id": KIOSK,
                               "refresh_token": tok["refresh_token"]})
    t.eq(r.status_code, 400, r.text)
    t.eq(r.json()["error"], "invalid_grant")


@test
def deny_is_access_denied_then_invalid_grant(t):
    s, _ = phone(1)
    j = start("openid").json()
    _, r = decide(s, j["user_code"], "deny")
    t.eq(r.status_code, 200)
    r = poll(j["device_code"])
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "access_denied")
    time.sleep(INTERVAL + 0.2)
    t.eq(poll(j["device_code"]).json()["error"], "invalid_grant")


@test
def polling_too_fast_slows_down_and_the_interval_grows(t):
    j = start("openid").json()
    t.eq(poll(j["device_code"]).json()["error"], "authorization_pending")
    r = poll(j["device_code"])
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "slow_down")
    # the interval is now INTERVAL + 5: a poll after the first interval is still too soon
    time.sleep(INTERVAL + 0.5)
    t.eq(poll(j["device_code"]).json()["error"], "slow_down")


@test
def another_clients_or_unknown_device_code_is_invalid_grant(t):
    r = poll("A" * 43)
    t.eq(r.json()["error"], "invalid_grant")
    r = A.post("/token", data={"grant_type": GRANT, "client_id": KIOSK})
    t.eq(r.json()["error"], "invalid_request")
    j = start("openid").json()
    r = A.post("/token", data={"grant_type": GRANT, "device_code": j["device_code"],
                               "client_id": "demo-app"})
    t.eq(r.json()["error"], "unauthorized_client")


@test
def wrong_user_code_gets_a_clear_message(t):
    s, _ = phone(2)
    for typed in ("BBBB-BBBB", "hello", "x" * 200):
        r = s.get(A.base + "/device", params={"user_code": typed}, timeout=10)
        t.eq(r.status_code, 400, typed)
        t.check('id="device-error"' in r.text and "code" in r.text.lower())
        t.check('name="user_code"' in r.text, "the form again")
    # typed in lower case with spaces: the same code
    j = start("openid").json()
    typed = j["user_code"].lower().replace("-", " ")
    r = s.get(A.base + "/device", params={"user_code": typed}, timeout=10)
    t.eq(r.status_code, 200)
    t.check(j["user_code"] in r.text)


@test
def the_page_needs_a_login_and_a_csrf_token(t):
    j = start("openid").json()
    anon = A.session()
    r = anon.get(A.base + "/device", params={"user_code": j["user_code"]},
                 allow_redirects=False, timeout=10)
    t.eq(r.status_code, 302)  # to the login page (device_login_client)
    t.check(r.headers["Location"].startswith("/authorize?client_id=authd-device&"))
    # back from /authorize without a session (the login failed): no loop, a message
    r = anon.get(A.base + "/device", params={"state": j["user_code"], "error": "access_denied"},
                 allow_redirects=False, timeout=10)
    t.eq(r.status_code, 200)
    t.check('id="device-login"' in r.text and "Self-service" not in r.text)
    r = anon.post(A.base + "/device", data={"user_code": j["user_code"], "action": "approve"},
                  timeout=10)
    t.eq(r.status_code, 401)
    s, _ = phone(3)
    r = s.post(A.base + "/device", data={"user_code": j["user_code"], "csrf": "0" * 64,
                                         "action": "approve"}, timeout=10)
    t.eq(r.status_code, 403)
    # another phone's token does not do either
    page = s.get(A.base + "/device", params={"user_code": j["user_code"]}, timeout=10)
    other, _ = phone(4)
    r = other.post(A.base + "/device", data={"user_code": j["user_code"],
                                             "csrf": hidden(page.text, "csrf"),
                                             "action": "approve"}, timeout=10)
    t.eq(r.status_code, 403)
    t.eq(poll(j["device_code"]).json()["error"], "authorization_pending")
    for h in ("Content-Security-Policy", "X-Frame-Options"):
        t.check(h in page.headers, h)


@test
def a_confidential_kiosk_authenticates_as_at_the_token_endpoint(t):
    p = A.authctl("client", "add", "--id", "kiosk-conf", "--grant-types", GRANT,
                  "--scopes", "openid,profile")
    secret = json.loads(p.stdout)["client_secret"]
    A.reload()
    for _ in range(50):  # the reload is asynchronous
        r = A.post("/device_authorization", data={"scope": "openid"},
                   auth=("kiosk-conf", secret))
        if r.status_code != 401:
            break
        time.sleep(0.1)
    t.eq(r.status_code, 200, r.text)
    dc = r.json()["device_code"]
    r = A.post("/device_authorization", data={"client_id": "kiosk-conf"})
    t.eq(r.status_code, 401)
    t.eq(r.json()["error"], "invalid_client")
    r = A.post("/token", data={"grant_type": GRANT, "device_code": dc},
               auth=("kiosk-conf", "wrong"))
    t.eq(r.status_code, 401)
    r = A.post("/token", data={"grant_type": GRANT, "device_code": dc},
               auth=("kiosk-conf", secret))
    t.eq(r.json().get("error"), "authorization_pending", r.text)
    # the public kiosk cannot poll the confidential one's code
    time.sleep(INTERVAL + 0.2)
    t.eq(poll(dc).json()["error"], "invalid_grant")


@test
def a_phone_without_a_session_logs_in_and_comes_back(t):
    j = start("openid").json()
    s = A.session()
    r = s.get(j["verification_uri_complete"], allow_redirects=False, timeout=10)
    t.eq(r.status_code, 302)
    r = s.get(urljoin(A.base, r.headers["Location"]), allow_redirects=False, timeout=10)
    t.require(r.headers["Location"].startswith("/login?"), r.headers.get("Location"))
    page = s.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    t.check("扫码登录终端" in page.text or "Kiosk hand-over" in page.text, "the login page")
    cz = CITIZENS[1]
    r = s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                        "csrf": hidden(page.text, "csrf"),
                                        "id_number": cz["id_number"],
                                        "password": cz["password"]},
               allow_redirects=False, timeout=10)
    loc = r.headers["Location"]
    t.require(loc.startswith(A.base + "/device?code="), loc)
    page = s.get(loc, timeout=10)
    t.eq(page.status_code, 200)
    t.check('id="device-approve"' in page.text and j["user_code"] in page.text, page.text[:400])
    r = s.post(A.base + "/device", data={"user_code": hidden(page.text, "user_code"),
                                         "csrf": hidden(page.text, "csrf"),
                                         "action": "approve"}, timeout=10)
    t.eq(r.status_code, 200)
    time.sleep(INTERVAL + 0.2)
    r = poll(j["device_code"])
    t.eq(r.status_code, 200, r.text)


@test
def expired_device_code_is_expired_token(t):
    with Authd(population=100, conf={"device_code_ttl_s": 5,
                                     "device_poll_interval_s": 1}) as a:
        j = start("openid", a=a).json()
        t.eq(j["expires_in"], 5)
        time.sleep(5.5)
        r = poll(j["device_code"], a=a)
        t.eq(r.status_code, 400)
        t.eq(r.json()["error"], "expired_token")
        s, _ = phone(0, a)
        r = s.get(a.base + "/device", params={"user_code": j["user_code"]}, timeout=10)
        t.eq(r.status_code, 400)


@test
def with_the_redis_store_the_grant_behaves_the_same(t):
    """The memory and Redis stores must behave alike: approve, single use, deny, slow_down,
    expiry, a spent user code, the guessing limit."""
    with Redis() as red, Authd(population=100, conf={
            "store": red.url(), "device_poll_interval_s": 1, "device_code_ttl_s": 8,
            "rate_device_per_ip": 1000, "rate_device_per_code": 3}) as a:
        s, app_claims = phone(0, a)
        j = start("openid", a=a).json()
        t.eq(poll(j["device_code"], a=a).json()["error"], "authorization_pending")
        t.eq(poll(j["device_code"], a=a).json()["error"], "slow_down")
        _, r = decide(s, j["user_code"], a=a)
        t.eq(r.status_code, 200)
        time.sleep(6.2)  # the interval grew to 6 s
        r = poll(j["device_code"], a=a)
        t.eq(r.status_code, 200, r.text)
        t.check("id_token" in r.json(), r.text)
        t.eq(claims(r.json()["id_token"], a)["acr"], app_claims["acr"])
        t.eq(poll(j["device_code"], a=a).json()["error"], "invalid_grant")
        r = s.get(a.base + "/device", params={"user_code": j["user_code"]}, timeout=10)
        t.eq(r.status_code, 400)
        j = start("openid", a=a).json()
        _, r = decide(s, j["user_code"], "deny", a=a)
        t.eq(poll(j["device_code"], a=a).json()["error"], "access_denied")
        j = start("openid", a=a).json()
        time.sleep(8.5)
        t.eq(poll(j["device_code"], a=a).json()["error"], "expired_token")
        got = [s.get(a.base + "/device", params={"user_code": "BBBB-CCCC"},
                     timeout=10).status_code for _ in range(4)]
        t.eq(got, [400, 400, 400, 429])


@test
def user_code_guessing_is_limited_per_address_and_per_code(t):
    with Authd(population=100, conf={"rate_device_per_ip": 6, "rate_device_per_code": 3,
                                     "rate_device_authorization_per_ip": 3}) as a:
        s, _ = phone(0, a)
        codes = []
        for i in range(3):  # the same wrong code: the code's bucket first
            codes.append(s.get(a.base + "/device", params={"user_code": "BBBB-CCCC"},
                               timeout=10).status_code)
        r = s.get(a.base + "/device", params={"user_code": "BBBB-CCCC"}, timeout=10)
        t.eq(codes, [400, 400, 400])
        t.eq(r.status_code, 429)
        t.check(int(r.headers["Retry-After"]) >= 1)
        t.check('id="device-error"' in r.text)
        # other codes: their own buckets, while the address has room (a refused lookup
        # takes nothing from any bucket: flow/ratelimit.h, all or none)
        for typed in ("BBBB-DDDD", "BBBB-FFFF", "BBBB-GGGG"):
            r = s.get(a.base + "/device", params={"user_code": typed}, timeout=10)
            t.eq(r.status_code, 400, typed)
        j = start("openid", a=a).json()  # the address has had 6: even the right code waits
        r = s.get(a.base + "/device", params={"user_code": j["user_code"]}, timeout=10)
        t.eq(r.status_code, 429)
        # /device_authorization stores a request each time: its own bucket per address
        t.eq([start("openid", a=a).status_code for _ in range(2)], [200, 200])
        r = start("openid", a=a)
        t.eq(r.status_code, 429)
        t.eq(r.json()["error"], "too_many_requests")
        t.check(int(r.headers["Retry-After"]) >= 1)


def zbar_decode(lines, scale=6):
    """Decodes terminal half blocks (light background: '█' two light modules, ' ' two dark,
    '▀' light over dark, '▄' dark over light) with zbarimg, through a PGM image."""
    top = {"█": 255, " ": 0, "▀": 255, "▄": 0}
    bottom = {"█": 255, " ": 0, "▀": 0, "▄": 255}
    rows = []
    for l in lines:
        rows += [[top[c] for c in l], [bottom[c] for c in l]]
    w, h = len(rows[0]) * scale, len(rows) * scale
    px = bytearray()
    for row in rows:
        line = bytes(v for v in row for _ in range(scale))
        px += line * scale
    fd, path = tempfile.mkstemp(suffix=".pgm")
    with os.fdopen(fd, "wb") as f:
        f.write(b"P5 %d %d 255\n" % (w, h) + bytes(px))
    try:
        r = subprocess.run(["zbarimg", "--quiet", "--raw", path], capture_output=True,
                           text=True, timeout=30)
        return r.stdout.strip()
    finally:
        os.unlink(path)


@test
def authctl_draws_the_verification_uri_as_a_terminal_qr(t):
    uri = start("openid").json()["verification_uri_complete"]
    r = A.authctl("device-qr", uri)
    lines = r.stdout.splitlines()
    t.eq(lines[-1], uri)
    t.check(len(lines) > 20 and all(set(l) <= set("█▀▄ ") for l in lines[:-1]), r.stdout[:200])
    t.eq(zbar_decode(lines[:-1]), uri)
    t.eq(A.authctl("device-qr", "", check=False).returncode, 1)
    t.eq(A.authctl("device-qr", check=False).returncode, 2)


@test
def oauth4webapi_kiosk_gets_tokens_after_the_phone_approves(t):
    d = os.path.join(ROOT, "tests", "interop", "device")
    if not shutil.which("node") or not shutil.which("npm"):
        t.check(False, "node and npm are needed")
        return
    if not os.path.isdir(os.path.join(d, "node_modules", "oauth4webapi")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=d, check=True,
                       capture_output=True, timeout=300)
    s, app_claims = phone(5)
    p = subprocess.Popen(["node", "kiosk.mjs", A.base, KIOSK, "openid phone"], cwd=d,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(p.stdout.readline())
        t.eq(first["event"], "start", first)
        t.check(UC.match(first["user_code"]))
        time.sleep(INTERVAL * 2.5)  # let it see authorization_pending
        _, r = decide(s, first["user_code"])
        t.eq(r.status_code, 200)
        last = json.loads(p.stdout.readline())
        t.eq(last["event"], "token", last)
        t.check("authorization_pending" in last["seen"], last["seen"])
        t.eq(last["claims"]["acr"], app_claims["acr"])
        t.eq(last["claims"]["sid"], app_claims["sid"])
        t.check(last["has_refresh"])
    finally:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


try:
    run()
finally:
    A.stop()
    shutil.rmtree(A.state, ignore_errors=True)
