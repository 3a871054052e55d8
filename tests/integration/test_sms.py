"""SMS one-time codes and the password throttle, against live daemons: codes read from the
dev sink (notify = file:) or from a real HTTP gateway process (sms_gateway.py, which can
answer 5xx or hang); phone verification (/mfa/phone); the step-up to SMS on /login
(POST /login with challenge=1, then the code); wrong, expired, reused and sixth-attempt codes; every SMS
limit tripping with 429 + Retry-After and recovering; and the locked-out owner: an attacker
hammering a number does not keep its owner out (docs/security.md, "Lockout and
throttling"). Requests come from different loopback addresses (127.0.0.N) to play
different clients."""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, free_port, run, sibling_daemon, stop_pid, test, wait_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STORE = os.environ.get("AUTHZ_TEST_STORE")  # e.g. a redis:// URL to run against Redis
A = Authd(population=1000, conf=dict({"rate_login_per_idnum": 6, "lockout_failures": 3,
                                      "login_ceiling_max_wait_s": 3},
                                     **({"store": STORE} if STORE else {})))
A.start()
CITIZENS = A.demo()["citizens"]
BASE_CONF = open(A.conf_path).read().splitlines()
SINK = os.path.join(A.state, "notices.jsonl")


class FromAddr(HTTPAdapter):
    """Connections from a given loopback address: another client, as authd sees it."""

    def __init__(self, addr):
        self.addr = addr
        super().__init__()

    def init_poolmanager(self, *a, **kw):
        kw["source_address"] = (self.addr, 0)
        return super().init_poolmanager(*a, **kw)


def browser(d, addr="127.0.0.1"):
    s = d.session()
    s.mount("http://", FromAddr(addr))
    return s


def sibling(conf):
    d = sibling_daemon(A.state, BASE_CONF, conf)
    d.own_state = False
    return d.start()


def hidden(text, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, text)
    return html.unescape(m.group(1)) if m else None


def authorize(d, s, **extra):
    p = {"client_id": "demo-app", "response_type": "code", "scope": "openid profile",
         "state": "st", "nonce": "n", "redirect_uri": f"http://127.0.0.1:{free_port()}/callback",
         "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
         "code_challenge_method": "S256"}
    p.update(extra)
    return s.get(d.base + "/authorize", params=p, allow_redirects=False, timeout=10)


def login_page(t, d, s, **extra):
    r = authorize(d, s, **extra)
    t.require(r.status_code == 302 and r.headers["Location"].startswith("/login?"),
              f"authorize: {r.status_code} {r.headers.get('Location')}")
    page = s.get(urljoin(d.base, r.headers["Location"]), allow_redirects=False, timeout=10)
    t.require(page.status_code == 200, f"login page {page.status_code}")
    return page


def post_password(d, s, page, citizen, password=None):
    return s.post(d.base + "/login", allow_redirects=False, timeout=10, data={
        "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
        "id_number": citizen["id_number"],
        "password": citizen["password"] if password is None else password})


def logged_in(r):
    """The answer of a login that completed: on to the consent page or the client."""
    loc = r.headers.get("Location", "")
    return r.status_code == 303 and (loc.startswith("/consent?") or "code=" in loc)


def password_session(t, d, citizen, addr="127.0.0.1"):
    s = browser(d, addr)
    r = post_password(d, s, login_page(t, d, s), citizen)
    t.require(logged_in(r), f"password login: {r.status_code} {r.headers.get('Location')}")
    return s


def sink_lines():
    try:
        with open(SINK) as f:
            return [json.loads(l) for l in f if l.strip()]
    except OSError:
        return []


def sent_code(phone, before):
    """The code of the first SMS to phone after the sink held `before` lines."""
    for _ in range(50):
        for n in sink_lines()[before:]:
            if n["to"] == phone:
                return re.search(r"(\d{6})$", n["text"]).group(1), n
        time.sleep(0.05)
    raise AssertionError(f"no SMS to {phone}")


def phone_page(d, s):
    return s.get(d.base + "/mfa/phone", timeout=10)


def phone_post(d, s, action, code=None, csrf=None):
    page = phone_page(d, s)
    data = {"csrf": csrf or hidden(page.text, "csrf"), "action": action}
    if code is not None:
        data["code"] = code
    return s.post(d.base + "/mfa/phone", data=data, allow_redirects=False, timeout=10)


def verify_phone(t, d, s, citizen):
    before = len(sink_lines())
    r = phone_post(d, s, "send")
    t.require(r.status_code == 200, f"send: {r.status_code} {r.text[-300:]}")
    code, _ = sent_code(citizen["phone"], before)
    r = phone_post(d, s, "verify", code)
    t.require(r.status_code == 200 and 'id="phone-verified"' in r.text, f"verify: {r.status_code}")


def other(code):
    return ("%06d" % ((int(code) + 1) % 1000000))


@test
def phone_verification_reads_the_code_from_the_dev_sink(t):
    c = CITIZENS[0]
    s = password_session(t, A, c)
    page = phone_page(A, s)
    t.eq(page.status_code, 200)
    t.check('id="phone-unverified"' in page.text, "unverified at first")
    t.check(c["phone"][:3] + "****" + c["phone"][-4:] in page.text, "masked number shown")
    t.check(c["phone"] not in page.text, "the full number is not shown")
    before = len(sink_lines())
    r = phone_post(A, s, "send")
    t.eq(r.status_code, 200)
    code, n = sent_code(c["phone"], before)
    # the SMS holds the service name and the code, nothing else (zh by default: the page's
    # language picks en)
    t.check(n["text"] in (f"authd verification code: {code}", f"【authd】验证码：{code}"), n["text"])
    t.check(c["id_number"] not in json.dumps(n, ensure_ascii=False), "no ID number in the SMS")
    t.eq(phone_post(A, s, "verify", other(code)).status_code, 400)
    r = phone_post(A, s, "verify", code)
    t.eq(r.status_code, 200)
    t.check('id="phone-verified"' in r.text, "verified")
    t.eq(phone_post(A, s, "verify", code).status_code, 400, "a code is good once")
    # the number never comes from the request, and the forms want their CSRF token
    t.eq(phone_post(A, s, "send", csrf="0" * 64).status_code, 403)
    t.eq(phone_page(A, browser(A)).status_code, 401, "no session")
    t.check(all(c["id_number"] not in l for l in A.log_lines()), "no ID number in the log")
    t.check(all(code not in l for l in A.log_lines()), "no code in the log")


def step_up(t, d, s, citizen, page):
    """The second factor after a password: SMS (POST /login challenge=1, the code from the sink).
    Returns the answer of the code's POST. (A TOTP step would go here as well.)"""
    before = len(sink_lines())
    r = s.post(d.base + "/login", allow_redirects=False, timeout=10, data={
        "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"), "authn": "sms",
        "challenge": "1"})
    t.require(r.status_code == 200, f"/login challenge: {r.status_code}")
    code, _ = sent_code(citizen["phone"], before)
    return r, code


def post_code(d, s, page, code):
    return s.post(d.base + "/login", allow_redirects=False, timeout=10, data={
        "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
        "authn": "sms", "code": code})


@test
def step_up_to_sms_refuses_wrong_reused_and_sixth_attempt_codes(t):
    c = CITIZENS[1]
    s = password_session(t, A, c)
    verify_phone(t, A, s, c)
    # a request for aal2 sends the aal1 session to the SMS step
    r = authorize(A, s, acr_values="urn:authd:acr:ial3:aal2")
    t.require(r.status_code == 302 and "authn=sms" in r.headers["Location"], r.headers)
    page = s.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    sent, code = step_up(t, A, s, c, page)
    t.check('name="code"' in sent.text, "the page holds the code form")
    for i in range(5):  # five wrong: the code is dead, the right one comes too late
        t.eq(post_code(A, s, page, other(code)).status_code, 401, f"wrong #{i + 1}")
    t.eq(post_code(A, s, page, code).status_code, 401, "sixth attempt")
    _, code = step_up(t, A, s, c, page)
    r = post_code(A, s, page, code)
    t.check(logged_in(r), f"right code: {r.status_code} {r.headers.get('Location')}")
    r2 = post_code(A, s, page, code)
    t.check(not logged_in(r2), "the code was used")
    # the raised session now serves aal2 directly
    r = authorize(A, s, acr_values="urn:authd:acr:ial3:aal2")
    t.check(r.status_code == 302 and "authn=sms" not in r.headers["Location"], r.headers)
    t.check(any(e.get("ev") == "sms.check" and e.get("rc") == "RC_OK" for e in A.log_events()))
    t.check(all(code not in l for l in A.log_lines()), "no code in the log")


@test
def expired_codes_are_refused(t):
    d = sibling({"sms_code_ttl_s": 2})
    try:
        c = CITIZENS[3]
        s = password_session(t, d, c)
        before = len(sink_lines())
        t.eq(phone_post(d, s, "send").status_code, 200)
        code, _ = sent_code(c["phone"], before)
        time.sleep(2.5)
        t.eq(phone_post(d, s, "verify", code).status_code, 400, "expired")
        before = len(sink_lines())
        t.eq(phone_post(d, s, "send").status_code, 200)
        code, _ = sent_code(c["phone"], before)
        t.eq(phone_post(d, s, "verify", code).status_code, 200, "in time")
    finally:
        d.stop()


def trip_and_recover(t, d, name, sends):
    """sends(i) makes the i-th send and returns its answer; the limit allows 2 per 4 s."""
    for i in range(2):
        t.eq(sends(i).status_code, 200, f"{name}: send {i + 1}")
    r = sends(2)
    t.eq(r.status_code, 429, f"{name}: over the limit")
    wait = int(r.headers.get("Retry-After", "0"))
    t.check(1 <= wait <= 4, f"{name}: Retry-After {wait}")
    t.check('id="phone-message"' in r.text or 'id="sms-message"' in r.text, name)
    t.check(re.search(r"(try again in|请在) \d+", r.text) is not None, f"{name}: says when")
    time.sleep(wait + 0.2)
    t.eq(sends(3).status_code, 200, f"{name}: recovered")


@test
def every_sms_limit_trips_with_429_and_recovers(t):
    small = {"sms_window_s": 4, "sms_budget_window_s": 4}
    off = {"sms_per_phone": 0, "sms_per_idnum": 0, "sms_per_ip": 0, "sms_daily_budget": 0}
    for limit in (("sms_per_phone", "sms_per_idnum", "sms_per_ip",
                               "sms_daily_budget")):
        d = sibling(dict(small, **dict(off, **{limit: 2})))
        try:
            c = CITIZENS[3]
            s = password_session(t, d, c)
            if limit == "sms_per_ip":  # another address is not slowed
                t.eq(phone_post(d, s, "send").status_code, 200)
                t.eq(phone_post(d, s, "send").status_code, 200)
                t.eq(phone_post(d, s, "send").status_code, 429)
                other_addr = password_session(t, d, CITIZENS[4], "127.0.0.9")
                t.eq(phone_post(d, other_addr, "send").status_code, 200, "another address")
                time.sleep(2.2)
                t.eq(phone_post(d, s, "send").status_code, 200, "per_ip: recovered")
                continue
            trip_and_recover(t, d, limit, lambda _i: phone_post(d, s, "send"))
        finally:
            d.stop()


@test
def sms_limits_apply_to_the_login_step_too(t):
    d = sibling({"sms_window_s": 4, "sms_per_idnum": 3})
    try:
        c = CITIZENS[3]
        s = password_session(t, d, c)
        verify_phone(t, d, s, c)  # the first of the 3
        r = authorize(d, s, acr_values="urn:authd:acr:ial3:aal2")
        page = s.get(urljoin(d.base, r.headers["Location"]), timeout=10)

        def send(_i):
            return s.post(d.base + "/login", allow_redirects=False, timeout=10, data={
                "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
                "authn": "sms", "challenge": "1"})
        t.eq(send(0).status_code, 200)
        t.eq(send(1).status_code, 200)
        r = send(2)
        t.eq(r.status_code, 429)
        t.check(1 <= int(r.headers.get("Retry-After", "0")) <= 4, r.headers)
        t.check('name="code"' in r.text, "the code form stays usable")
    finally:
        d.stop()


class Gateway:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sms-gw-")
        self.record = os.path.join(self.dir, "record.jsonl")
        self.mode = os.path.join(self.dir, "mode")
        self.port = free_port()
        self.set("ok")
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "sms_gateway.py"),
                                      str(self.port), self.record, self.mode])
        if not wait_port(self.port, 10, self.proc):
            raise RuntimeError("gateway did not start")

    def set(self, mode):
        with open(self.mode, "w") as f:
            f.write(mode)

    def got(self):
        try:
            with open(self.record) as f:
                return [json.loads(l) for l in f if l.strip()]
        except OSError:
            return []

    def stop(self):
        stop_pid(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


@test
def http_gateway_gets_the_json_and_its_failures_are_503(t):
    gw = Gateway()
    d = sibling({"notify": f"http://127.0.0.1:{gw.port}/sms/send", "notify_timeout_ms": 500,
                 "sms_service_name": "政务服务", "sms_lang": "zh"})
    try:
        c = CITIZENS[3]
        s = password_session(t, d, c)
        t.eq(phone_post(d, s, "send").status_code, 200)
        got = gw.got()
        t.require(len(got) == 1, got)
        b = got[0]["body"]
        t.eq(got[0]["path"], "/sms/send")
        t.eq(got[0]["content_type"], "application/json")
        t.eq(b["to"], c["phone"])
        t.check(re.fullmatch(r"(【政务服务】验证码：|政务服务 verification code: )\d{6}", b["text"]),
                b["text"])
        t.eq(set(b), {"to", "text", "sender", "ref", "ts"})
        t.eq(phone_post(d, s, "verify", b["text"][-6:]).status_code, 200)
        gw.set("500")
        r = phone_post(d, s, "send")
        t.eq(r.status_code, 503, "gateway 500")
        gw.set("hang")
        t0 = time.monotonic()
        r = phone_post(d, s, "send")
        t.eq(r.status_code, 503, "gateway hangs")
        t.check(time.monotonic() - t0 < 5, "answered within the timeout")
        # a code the gateway did not take is withdrawn: it cannot be typed
        t.eq(phone_post(d, s, "verify", gw.got()[-1]["body"]["text"][-6:]).status_code, 400)
        gw.set("ok")
        t.eq(phone_post(d, s, "send").status_code, 200, "back")
    finally:
        d.stop()
        gw.stop()


@test
def attacker_hammering_a_number_does_not_keep_the_owner_out(t):
    owner = CITIZENS[2]
    s = password_session(t, A, owner)
    verify_phone(t, A, s, owner)
    # the attacker's address: wrong passwords, then waits that grow
    attacker = browser(A, "127.0.0.2")
    page = login_page(t, A, attacker)
    codes, waits = [], []
    for _ in range(6):
        r = post_password(A, attacker, page, owner, "Wrong-pass-1")
        codes.append(r.status_code)
        if r.status_code == 429:
            waits.append(int(r.headers["Retry-After"]))
    t.eq(codes[:3], [401, 401, 401])
    t.check(all(c == 429 for c in codes[3:]), codes)
    # even the right password waits there (the throttle comes before the password)
    t.eq(post_password(A, attacker, page, owner).status_code, 429)
    # the owner, from another address: in at once with the right password
    o = browser(A, "127.0.0.1")
    r = post_password(A, o, login_page(t, A, o), owner)
    t.check(logged_in(r), f"owner: {r.status_code} {r.headers.get('Location')}")
    # more attackers, each from its own address, empty the number's ceiling
    # (rate_login_per_idnum = 6 a minute): a wrong password now waits a few seconds at most
    last = None
    for n in range(3, 12):
        a = browser(A, f"127.0.0.{n}")
        last = post_password(A, a, login_page(t, A, a), owner, "Wrong-pass-1")
    t.eq(last.status_code, 429)
    t.check(1 <= int(last.headers["Retry-After"]) <= 3, last.headers)
    # the owner's right password is still accepted, together with a second factor
    o = browser(A, "127.0.0.1")
    page = login_page(t, A, o)
    r = post_password(A, o, page, owner)
    t.require(r.status_code == 303 and "authn=sms" in r.headers.get("Location", ""),
              f"owner under attack: {r.status_code} {r.headers.get('Location')}")
    page = o.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    _, code = step_up(t, A, o, owner, page)
    r = post_code(A, o, page, code)
    t.check(logged_in(r), f"owner with SMS: {r.status_code} {r.headers.get('Location')}")
    # a password alone never got past the ceiling: the session it opened served nothing
    t.check(any(e.get("ev") == "account.login" and e.get("ceiling") == "second_factor"
                for e in A.log_events()), "the log says why the second factor was asked")


@test
def attacker_hammering_a_number_does_not_keep_a_totp_owner_out(t):
    """The issue's scenario with the TOTP app: attackers from many addresses push the
    number over its ceiling; the owner, from another address, gets in at once with the
    password and a code computed independently (pyotp)."""
    import pyotp
    owner = CITIZENS[4]
    s = password_session(t, A, owner)
    page = s.get(A.base + "/mfa/totp", timeout=10)
    m = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page.text)
    t.require(page.status_code == 200 and m, f"enrol page {page.status_code}")
    totp = pyotp.TOTP(m.group(1).replace(" ", ""))
    r = s.post(A.base + "/mfa/totp", timeout=10, data={
        "csrf": hidden(page.text, "csrf"), "action": "confirm", "code": totp.now()})
    t.require(r.status_code == 200, f"confirm {r.status_code}")
    last = None
    for n in range(20, 34):  # over rate_login_per_idnum, each from its own address
        a = browser(A, f"127.0.0.{n}")
        last = post_password(A, a, login_page(t, A, a), owner, "Wrong-pass-1")
    t.eq(last.status_code, 429)
    o = browser(A, "127.0.0.1")
    r = post_password(A, o, login_page(t, A, o), owner)
    t.require(r.status_code == 303 and "authn=totp" in r.headers.get("Location", ""),
              f"owner under attack: {r.status_code} {r.headers.get('Location')}")
    page = o.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    r = o.post(A.base + "/login", allow_redirects=False, timeout=10, data={
        "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
        "authn": "totp", "code": totp.at(time.time() + 30)})  # the enrolment used this step's
    t.check(logged_in(r), f"owner with TOTP: {r.status_code} {r.headers.get('Location')}")


try:
    run()
finally:
    A.stop()
    if not os.environ.get("AUTHD_KEEP_STATE"):
        shutil.rmtree(A.state, ignore_errors=True)
