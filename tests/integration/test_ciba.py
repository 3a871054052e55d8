"""OpenID CIBA Core 1.0, poll mode, end to end: a hotline console (demo-console, a
confidential client) posts /bc-authorize naming the caller by ID number and polls /token;
the citizen's phone (a second requests session) reads the SMS from the dev sink
(STATE/notices.jsonl), opens its link, logs in (or uses its SSO session) and approves or
denies on /ciba. Also an independent CIBA client, oauth4webapi (tests/interop/device,
installed with npm ci: the device grant's copy of the library), as the console."""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from urllib.parse import parse_qs, urljoin, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import ROOT, Authd, run, test  # noqa: E402
from browser import ARTIFACTS, browser  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402

GRANT = "urn:openid:params:grant-type:ciba"
INTERVAL = 1
A = Authd(population=300, conf={"ciba_poll_interval_s": INTERVAL, "ciba_expiry_s": 120,
                                "ciba_max_expiry_s": 300, "sms_per_phone": 1000,
                                "sms_per_idnum": 1000})
A.start()
DEMO = A.demo()
CITIZENS = DEMO["citizens"]
CONSOLE = [c for c in DEMO["clients"] if c["client_id"] == "demo-console"][0]
AUTH = (CONSOLE["client_id"], CONSOLE["client_secret"])
SINK = os.path.join(A.state, "notices.jsonl")


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    return html.unescape(m.group(1)) if m else None


def bc(citizen=0, auth=AUTH, **extra):
    data = {"scope": "openid profile", "login_hint": CITIZENS[citizen]["id_number"]}
    data.update(extra)
    return A.post("/bc-authorize", data={k: v for k, v in data.items() if v is not None},
                  auth=auth)


def poll(auth_req_id, auth=AUTH):
    return A.post("/token", data={"grant_type": GRANT, "auth_req_id": auth_req_id}, auth=auth)


def last_link(citizen=0):
    """The link of the last SMS to the citizen's phone, from the dev sink."""
    with open(SINK, encoding="utf-8") as f:
        notes = [json.loads(line) for line in f if line.strip()]
    mine = [n for n in notes if n["to"] == CITIZENS[citizen]["phone"]]
    assert mine, "no SMS to the citizen"
    m = re.search(r"(http://\S+/ciba\?code=[A-Za-z0-9_-]{16})", mine[-1]["text"])
    assert m, mine[-1]["text"]
    return m.group(1), mine[-1]


def phone_open(s, link, citizen=0):
    """The phone opens the SMS link; without a session, it logs in on the way. Returns the
    approval page."""
    r = s.get(link, allow_redirects=False, timeout=10)
    if r.status_code == 302:  # to the login page and back
        r = s.get(urljoin(A.base, r.headers["Location"]), allow_redirects=False, timeout=10)
        loc = r.headers["Location"]
        page = s.get(urljoin(A.base, loc), timeout=10)
        cz = CITIZENS[citizen]
        r = s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                            "csrf": hidden(page.text, "csrf"),
                                            "id_number": cz["id_number"],
                                            "password": cz["password"]},
                   allow_redirects=False, timeout=10)
        loc = r.headers["Location"]
        assert "/ciba?" in loc, loc
        r = s.get(urljoin(A.base, loc), allow_redirects=False, timeout=10)
    return r


def decide(s, page, action="approve"):
    return s.post(A.base + "/ciba", data={"code": hidden(page.text, "code"),
                                          "csrf": hidden(page.text, "csrf"),
                                          "action": action}, timeout=10)


def claims(token):
    keys = jwk.JWKSet.from_json(A.get("/jwks").text)
    return json.loads(jwt.JWT(jwt=token, key=keys).claims)


@test
def discovery_names_the_endpoint_mode_and_grant(t):
    d = A.get("/.well-known/openid-configuration").json()
    t.eq(d.get("backchannel_authentication_endpoint"), A.base + "/bc-authorize")
    t.eq(d.get("backchannel_token_delivery_modes_supported"), ["poll"])
    t.eq(d.get("backchannel_user_code_parameter_supported"), False)
    t.check(GRANT in d["grant_types_supported"])


@test
def console_gets_tokens_after_the_citizen_approves_on_the_phone(t):
    r = bc(0, binding_message="工单 4711")
    t.eq(r.status_code, 200, r.text)
    t.eq(r.headers.get("Cache-Control"), "no-store")
    j = r.json()
    t.eq(sorted(j), ["auth_req_id", "expires_in", "interval"])
    t.eq(j["interval"], INTERVAL)
    t.eq(j["expires_in"], 120)
    link, note = last_link(0)
    t.check(j["auth_req_id"] not in note["text"], "the link is not the auth_req_id")
    t.check("4711" not in note["text"], "the client's words stay off the SMS")
    t.check("热线" in note["text"], "the SMS names the client")
    t.eq(poll(j["auth_req_id"]).json().get("error"), "authorization_pending")
    s = A.session()
    page = phone_open(s, link, 0)
    t.eq(page.status_code, 200, page.text[:300])
    t.check("工单 4711" in page.text, "the binding message is shown")
    t.check("12345 热线坐席" in page.text, "the client's name is shown")
    r = decide(s, page)
    t.eq(r.status_code, 200)
    t.check('id="ciba-done"' in r.text)
    time.sleep(INTERVAL + 0.1)
    r = poll(j["auth_req_id"])
    t.eq(r.status_code, 200, r.text)
    tok = r.json()
    t.check("refresh_token" in tok, "the console may refresh")
    c = claims(tok["id_token"])
    t.eq(c["aud"], "demo-console")
    t.check(c["acr"].startswith("urn:authd:acr:"), c)
    t.check("urn:openid:params:jwt:claim:auth_req_id" not in c, "poll mode: no auth_req_id")
    t.check("sub" in c and c["sub"] != CITIZENS[0]["id_number"])
    time.sleep(INTERVAL + 0.1)
    r = poll(j["auth_req_id"])
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_grant"))  # single use
    # the SSO session serves the next request directly; denial
    r = bc(0)
    link, _ = last_link(0)
    page = phone_open(s, link, 0)
    t.eq(page.status_code, 200)
    r2 = decide(s, page, "deny")
    t.check('id="ciba-done"' in r2.text)
    time.sleep(INTERVAL + 0.1)
    r = poll(r.json()["auth_req_id"])
    t.eq((r.status_code, r.json().get("error")), (400, "access_denied"))


@test
def another_citizens_session_sees_nothing(t):
    r = bc(1, binding_message="secret-order")
    t.eq(r.status_code, 200, r.text)
    link, _ = last_link(1)
    s = A.session()
    phone_open(s, A.base + "/ciba?code=" + "A" * 16, 0)  # log citizen 0 in on the way
    page = s.get(link, timeout=10)
    t.eq(page.status_code, 403)
    t.check('id="ciba-error"' in page.text)
    t.check("secret-order" not in page.text)
    t.check('name="csrf"' not in page.text)


@test
def slow_down_expiry_and_another_clients_id(t):
    j = bc(2, requested_expiry="2").json()
    t.eq(j["expires_in"], 2)
    t.eq(poll(j["auth_req_id"]).json().get("error"), "authorization_pending")
    r = poll(j["auth_req_id"])
    t.eq((r.status_code, r.json().get("error")), (400, "slow_down"))
    # another CIBA client cannot poll it
    p = A.authctl("client", "add", "--id", "console-2", "--grant-types", GRANT,
                  "--scopes", "openid")
    other = ("console-2", json.loads(p.stdout)["client_secret"])
    A.reload()
    for _ in range(50):  # the reload is asynchronous
        r = poll(j["auth_req_id"], auth=other)
        if r.status_code != 401:
            break
        time.sleep(0.1)
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_grant"))
    time.sleep(3)
    r = poll(j["auth_req_id"])
    t.eq((r.status_code, r.json().get("error")), (400, "expired_token"))


@test
def refusals_follow_ciba_section_13(t):
    def err(r):
        return r.status_code, r.json().get("error")

    t.eq(err(bc(0, login_hint="110105199003071230")), (400, "unknown_user_id"))
    t.eq(err(bc(0, login_hint="not-a-number")), (400, "unknown_user_id"))
    t.eq(err(bc(0, login_hint=None)), (400, "invalid_request"))
    t.eq(err(bc(0, login_hint_token="x")), (400, "invalid_request"))
    t.eq(err(bc(0, id_token_hint="x")), (400, "invalid_request"))
    t.eq(err(bc(0, scope="profile")), (400, "invalid_scope"))
    t.eq(err(bc(0, binding_message="x" * 65)), (400, "invalid_binding_message"))
    t.eq(err(bc(0, binding_message="a\nb")), (400, "invalid_binding_message"))
    t.eq(err(bc(0, requested_expiry="soon")), (400, "invalid_request"))
    t.eq(err(bc(0, auth=("demo-console", "wrong"))), (401, "invalid_client"))
    module = [c for c in DEMO["clients"] if c["client_id"] == "demo-module"][0]
    t.eq(err(bc(0, auth=(module["client_id"], module["client_secret"]))),
         (400, "unauthorized_client"))
    r = A.post("/bc-authorize", data={"client_id": "demo-kiosk", "scope": "openid",
                                      "login_hint": CITIZENS[0]["id_number"]})
    t.eq(err(r), (400, "unauthorized_client"))  # a public client
    r = A.post("/token", data={"grant_type": GRANT, "auth_req_id": "x" * 43}, auth=AUTH)
    t.eq(err(r), (400, "invalid_grant"))
    r = A.post("/token", data={"grant_type": GRANT}, auth=AUTH)
    t.eq(err(r), (400, "invalid_request"))


@test
def the_page_refuses_bad_links_and_forged_posts(t):
    s = A.session()
    page = phone_open(s, A.base + "/ciba?code=" + "B" * 16, 0)
    t.eq(page.status_code, 400)
    r = s.get(A.base + "/ciba?code=%3Cscript%3E", timeout=10)
    t.eq(r.status_code, 400)
    t.check("<script>" not in r.text)
    bc(0)
    link, _ = last_link(0)
    code = parse_qs(urlsplit(link).query)["code"][0]
    r = s.post(A.base + "/ciba", data={"code": code, "csrf": "0" * 64, "action": "approve"},
               timeout=10)
    t.eq(r.status_code, 403)
    r = A.session().post(A.base + "/ciba", data={"code": code, "action": "approve"}, timeout=10)
    t.eq(r.status_code, 401)


@test
def oauth4webapi_console_gets_tokens_after_the_phone_approves(t):
    d = os.path.join(ROOT, "tests", "interop", "device")
    if not shutil.which("node") or not shutil.which("npm"):
        t.check(False, "node and npm are needed")
        return
    if not os.path.isdir(os.path.join(d, "node_modules", "oauth4webapi")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=d, check=True,
                       capture_output=True, timeout=300)
    p = subprocess.Popen(["node", "ciba.mjs", A.base, AUTH[0], AUTH[1],
                          CITIZENS[3]["id_number"], "openid profile", "柜台 7"], cwd=d,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(p.stdout.readline() or "{}")
        t.eq(first.get("event"), "start", first)
        time.sleep(INTERVAL * 2.5)  # let it see authorization_pending
        link, _ = last_link(3)
        s = A.session()
        page = phone_open(s, link, 3)
        t.check("柜台 7" in page.text)
        t.eq(decide(s, page).status_code, 200)
        last = json.loads(p.stdout.readline() or "{}")
        t.eq(last.get("event"), "token", last)
        t.check("authorization_pending" in last["seen"], last["seen"])
        t.eq(last["claims"]["aud"], "demo-console")
        t.check(last["has_refresh"])
    finally:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        err = p.stderr.read()
        if err:
            print(err[-2000:])


@test
def no_id_number_code_or_auth_req_id_in_the_log(t):
    j = bc(2, binding_message="log check").json()
    link, _ = last_link(2)
    code = parse_qs(urlsplit(link).query)["code"][0]
    time.sleep(0.3)
    log = "\n".join(A.log_lines())
    starts = [e for e in A.log_events() if e.get("ev") == "ciba.start"]
    t.check(starts, "ciba.start is logged")
    t.check("*" in starts[-1].get("idn", ""), "the ID number is masked")
    t.check(CITIZENS[2]["id_number"] not in log, "no raw ID number")
    t.check(j["auth_req_id"] not in log, "no auth_req_id")
    t.check(code not in log, "no link code")


@test
def approval_page_in_chromium_zh(t):
    with browser(t) as wd:
        r = bc(4, binding_message="<b>工单</b> 4711", scope="openid profile phone")
        t.eq(r.status_code, 200, r.text)
        link, _ = last_link(4)
        wd.go(link + "&lang=zh")  # no session yet: the login page, then back
        wd.type(wd.find("#id_number"), CITIZENS[4]["id_number"])
        wd.type(wd.find("#password"), CITIZENS[4]["password"])
        wd.click(wd.find("#login_submit"))
        wd.wait_url("/ciba?", 15)
        time.sleep(0.3)
        src = wd.cmd("GET", "/source")
        os.makedirs(ARTIFACTS, exist_ok=True)
        wd.screenshot(os.path.join(ARTIFACTS, "ciba-zh.png"))
        t.check("12345 热线坐席" in src, "the client's name")
        t.check("&lt;b&gt;工单&lt;/b&gt; 4711" in src, "the binding message, escaped")
        t.check("<b>工单" not in src)
        t.check("手机号码" in src, "the scopes")
        t.check("urn:authd:acr:" in src, "the level the console gets")
        t.check("<script" not in src)
        wd.go(wd.url() + "&lang=en")  # the same request in English
        src = wd.cmd("GET", "/source")
        wd.screenshot(os.path.join(ARTIFACTS, "ciba-en.png"))
        t.check("Confirm a request" in src and "&lt;b&gt;工单&lt;/b&gt; 4711" in src, "English")
        wd.click(wd.find("#ciba-approve"))
        time.sleep(0.5)
        wd.screenshot(os.path.join(ARTIFACTS, "ciba-done.png"))
        t.check("ciba-done" in wd.cmd("GET", "/source"))
        time.sleep(INTERVAL + 0.1)
        r = poll(r.json()["auth_req_id"])
        t.eq(r.status_code, 200, r.text)


try:
    run()
finally:
    A.stop()
    shutil.rmtree(A.state, ignore_errors=True)
