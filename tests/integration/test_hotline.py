"""The 12345 hotline end to end (docs/hotline.md) against a live authd: `authctl staff add`
and its enrolment link, the agent's login to the console (staff login with the employee
number, then a TOTP app enrolled on the step-up, codes by pyotp), POST /hotline/lookup (only
a masked summary; a citizen's token, an aal1 login and a supervisor's quota refused), CIBA
with the lookup's login_hint_token (the citizen's phone, a second HTTP client, sees the
agent and the purpose and approves), the consented token's act and lifetime, token exchange
to the workflow service keeping act, and the records in `authctl audit export`."""
import html
import json
import os
import re
import sys
import tempfile
import time
from urllib.parse import urlencode, urljoin

import pyotp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import ROOT, Authd, Redis, run, test  # noqa: E402
from oidc import Browser, hidden, query  # noqa: E402
from browser import ARTIFACTS, browser  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402

import importlib.machinery  # noqa: E402
import importlib.util  # noqa: E402
import requests  # noqa: E402

_loader = importlib.machinery.SourceFileLoader("demo", os.path.join(ROOT, "scripts", "demo"))
_spec = importlib.util.spec_from_loader("demo", _loader)
demo = importlib.util.module_from_spec(_spec)
_loader.exec_module(demo)

GRANT = "urn:openid:params:grant-type:ciba"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
CB = "http://127.0.0.1:8765/callback"
AAL2 = "urn:authd:acr:ial2:aal2"
RD = Redis().start()  # authctl staff writes where authd reads: a real redis-server
A = Authd(population=300, conf={"store": RD.url(), "ciba_poll_interval_s": 1, "ciba_expiry_s": 120,
                                "sms_per_phone": 1000, "sms_per_idnum": 1000,
                                "rate_otp_per_account": "50"})
A.start()
DEMO = A.demo()
CITIZENS = DEMO["citizens"]
SECRETS = {c["client_id"]: c.get("client_secret") for c in DEMO["clients"]}
CONSOLE = ("demo-console", SECRETS["demo-console"])
SINK = os.path.join(A.state, "notices.jsonl")


def claims(token):
    keys = jwk.JWKSet.from_json(A.get("/jwks").text)
    return json.loads(jwt.JWT(jwt=token, key=keys).claims)


def add_staff(emp, role, password):
    """authctl staff add, then the enrolment page sets the password."""
    out = A.authctl("staff", "add", "--emp", emp, "--name", "李四光", "--role", role).stdout
    link = re.search(r"(http://\S+/staff/enrol\?t=[A-Za-z0-9_-]{43})", out)
    assert link, out
    s = A.session()
    page = s.get(link.group(1), timeout=10)
    assert page.status_code == 200 and emp in page.text, page.text[:300]
    r = s.post(A.base + "/staff/enrol", data={"t": hidden(page.text, "t"),
                                              "csrf": hidden(page.text, "csrf"),
                                              "password": password, "password2": password},
               timeout=10)
    assert r.status_code == 200 and 'id="enrol-done"' in r.text, r.text[:300]
    return link.group(1)


def staff_login(emp, password):
    """The agent's console login: /authorize at aal2, the staff login, the TOTP app enrolled
    on the step-up, a code; returns (the token response, pyotp.TOTP)."""
    b = Browser(A)
    r, v, _ = b.authorize("demo-console", CB, "openid", acr_values=AAL2)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?authz="), r.text
    page = b.s.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    # the console's login page asks for the employee number, offers no citizen registration
    assert "工号" in page.text and "/register" not in page.text, page.text[:500]
    r = b.s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                          "csrf": hidden(page.text, "csrf"),
                                          "id_number": emp, "password": password},
                 allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    assert r.status_code in (302, 303) and "authn=totp" in loc, f"{r.status_code} {loc} {r.text[:200]}"
    page = b.s.get(urljoin(A.base, loc), timeout=10)
    enrol_url = html.unescape(re.search(r'href="([^"]*mfa/totp[^"]*)"', page.text).group(1))
    ep = b.s.get(urljoin(A.base, enrol_url), timeout=10)
    totp = pyotp.TOTP(re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', ep.text)
                      .group(1).replace(" ", ""))
    r = b.s.post(A.base + "/mfa/totp", data={"csrf": hidden(ep.text, "csrf"), "action": "confirm",
                                             "code": totp.now(),
                                             "authz": hidden(ep.text, "authz")}, timeout=10)
    assert r.status_code == 200, r.text[:300]
    loc = html.unescape(re.search(r'href="([^"]*)" id="mfa_continue"|id="mfa_continue" href="([^"]*)"',
                                  r.text).group(0))
    loc = re.search(r'href="([^"]*)"', loc).group(1)
    page = b.s.get(urljoin(A.base, html.unescape(loc)), timeout=10)
    r = b.s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                          "csrf": hidden(page.text, "csrf"), "authn": "totp",
                                          "code": totp.at(time.time() + 30)},
                 allow_redirects=False, timeout=10)
    assert r.headers.get("Location", "").startswith(CB), f"{r.status_code} {r.headers}"
    code = query(r.headers["Location"])["code"]
    return b.exchange(code, v, CB, auth=CONSOLE), totp


def lookup(token, **data):
    return A.post("/hotline/lookup", data=data, headers={"Authorization": "Bearer " + token})


def last_link(citizen):
    with open(SINK, encoding="utf-8") as f:
        notes = [json.loads(line) for line in f if line.strip()]
    mine = [n for n in notes if n["to"] == CITIZENS[citizen]["phone"]]
    return re.search(r"(http://\S+/ciba\?code=[A-Za-z0-9_-]{16})", mine[-1]["text"]).group(1)


def phone(citizen):
    """The citizen's phone: a browser of its own with the citizen's SSO session."""
    b = Browser(A)
    b.code("demo-portal", "http://127.0.0.1:8081/oidc/callback", "openid", citizen=citizen)
    return b.s


def answer(s, page, action):
    """The citizen's answer on the approval page the phone session s opened."""
    return s.post(A.base + "/ciba", data={"code": hidden(page.text, "code"),
                                          "csrf": hidden(page.text, "csrf"), "action": action},
                  timeout=10)


add_staff("E1001", "hotline_agent", "agent-pass-1")
add_staff("E2001", "hotline_supervisor", "super-pass-2")
AGENT, _ = staff_login("E1001", "agent-pass-1")


@test
def staff_login_is_aal2_and_not_a_citizen(t):
    c = claims(AGENT["access_token"])
    t.eq(c["acr"], AAL2)
    t.check("otp" in c["amr"] and "pwd" in c["amr"], c["amr"])
    out = A.authctl("staff", "list").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    t.eq(sorted(r["emp"] for r in rows), ["E1001", "E2001"])
    t.check(all(r["name"] == "李*" for r in rows), rows)
    # a citizen cannot log in to the console: no password login here
    b = Browser(A)
    r, _, _ = b.authorize("demo-console", CB, "openid")
    page = b.s.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    cz = CITIZENS[0]
    r = b.s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                          "csrf": hidden(page.text, "csrf"),
                                          "id_number": cz["id_number"],
                                          "password": cz["password"]},
                 allow_redirects=False, timeout=10)
    t.check(r.status_code in (400, 401, 403) and "Location" not in r.headers,
            f"{r.status_code} {r.headers.get('Location')}")


@test
def lookup_without_consent_is_only_a_masked_summary(t):
    cz = CITIZENS[0]
    r = lookup(AGENT["access_token"], purpose="status_query", id_number=cz["id_number"])
    t.eq(r.status_code, 200, r.text)
    t.eq(r.headers.get("Cache-Control"), "no-store")
    j = r.json()
    t.eq(len(j["candidates"]), 1)
    c = j["candidates"][0]
    t.eq(c["id_number"], cz["id_number"][:6] + "*" * 8 + cz["id_number"][-4:])
    t.check(c["name"].count("*") == 1 and c["name"][0] == cz["name"][0], c["name"])
    t.check(cz["id_number"] not in r.text and cz["phone"] not in r.text, "nothing in full")
    t.check("password" in c["channels"])
    # by phone
    r = lookup(AGENT["access_token"], purpose="status_query", phone=cz["phone"])
    t.eq(r.status_code, 200, r.text)
    t.check(len(r.json()["candidates"]) <= 3)
    t.check(cz["phone"] not in r.text)


@test
def lookups_refused(t):
    cz = CITIZENS[1]["id_number"]
    tok = AGENT["access_token"]
    t.eq(lookup(tok, purpose="no_such", id_number=cz).json()["error"], "invalid_request")
    t.eq(lookup(tok, purpose="status_query").status_code, 400)
    r = A.post("/hotline/lookup", data={"purpose": "status_query", "id_number": cz})
    t.eq((r.status_code, r.json()["error"]), (401, "invalid_token"))
    # a citizen's token (CIBA with login_hint, the console acting for the citizen)
    r = A.post("/bc-authorize", data={"scope": "openid", "login_hint": CITIZENS[2]["id_number"]},
               auth=CONSOLE)
    rid = r.json()["auth_req_id"]
    s = phone(2)
    page = s.get(last_link(2), timeout=10)
    answer(s, page, "approve")
    time.sleep(1.1)
    ctok = A.post("/token", data={"grant_type": GRANT, "auth_req_id": rid}, auth=CONSOLE).json()
    r = lookup(ctok["access_token"], purpose="status_query", id_number=cz)
    t.eq((r.status_code, r.json()["error"]), (403, "access_denied"))


@test
def supervisor_quota_stops_an_agent(t):
    add_staff("E1003", "hotline_agent", "agent-pass-3")
    sup, _ = staff_login("E2001", "super-pass-2")
    agent3, _ = staff_login("E1003", "agent-pass-3")
    r = A.post("/hotline/quota", data={"emp": "E1003", "daily": "1"},
               headers={"Authorization": "Bearer " + agent3["access_token"]})
    t.eq((r.status_code, r.json()["error"]), (403, "insufficient_scope"))
    r = A.post("/hotline/quota", data={"emp": "E1003", "daily": "1"},
               headers={"Authorization": "Bearer " + sup["access_token"]})
    t.eq(r.status_code, 200, r.text)
    cz = CITIZENS[3]["id_number"]
    t.eq(lookup(agent3["access_token"], purpose="status_query", id_number=cz).status_code, 200)
    r = lookup(agent3["access_token"], purpose="status_query", id_number=cz)
    t.eq((r.status_code, r.json()["error"]), (429, "too_many_requests"))
    t.check(int(r.headers["Retry-After"]) >= 1)


@test
def consent_gives_a_scoped_token_with_act_and_the_agent_acts(t):
    cz = 4
    j = lookup(AGENT["access_token"], purpose="status_query",
               id_number=CITIZENS[cz]["id_number"]).json()
    lht = j["candidates"][0]["login_hint_token"]
    r = A.post("/bc-authorize", data={"scope": "openid license.read", "login_hint_token": lht},
               auth=CONSOLE)
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_scope"))  # beyond the purpose
    r = A.post("/bc-authorize", data={"scope": "openid profile workflow.apply",
                                      "login_hint_token": lht, "binding_message": "工单 4711"},
               auth=CONSOLE)
    t.eq(r.status_code, 200, r.text)
    rid = r.json()["auth_req_id"]
    s = phone(cz)
    page = s.get(last_link(cz), timeout=10)
    t.eq(page.status_code, 200)
    t.check('id="ciba-agent"' in page.text and "李*" in page.text, "the agent, masked")
    t.check("E1001" in page.text, "the employee number")
    t.check("查询办件进度" in page.text, "the purpose")
    t.check("工单 4711" in page.text)
    with browser(t) as wd:  # the same page in Chromium, the phone's login on the way
        wd.go(last_link(cz) + "&lang=zh")
        wd.type(wd.find("#id_number"), CITIZENS[cz]["id_number"])
        wd.type(wd.find("#password"), CITIZENS[cz]["password"])
        wd.click(wd.find("#login_submit"))
        wd.wait_url("/ciba?", 15)
        time.sleep(0.3)
        src = wd.cmd("GET", "/source")
        os.makedirs(ARTIFACTS, exist_ok=True)
        wd.screenshot(os.path.join(ARTIFACTS, "hotline-ciba-approval-zh.png"))
        t.check("热线坐席" in src and "E1001" in src and "查询办件进度" in src, "agent, purpose")
        t.check("<script" not in src)
        wd.go(wd.url() + "&lang=en")  # the same request in English
        src = wd.cmd("GET", "/source")
        wd.screenshot(os.path.join(ARTIFACTS, "hotline-ciba-approval-en.png"))
        t.check("Hotline agent" in src and "E1001" in src and "Application status" in src,
                "agent and purpose in English")
    r = answer(s, page, "approve")
    t.eq(r.status_code, 200)
    time.sleep(1.1)
    r = A.post("/token", data={"grant_type": GRANT, "auth_req_id": rid}, auth=CONSOLE)
    t.eq(r.status_code, 200, r.text)
    tok = r.json()
    t.check("refresh_token" not in tok, "never renewed")
    c = claims(tok["access_token"])
    t.eq(c["act"]["sub"], claims(AGENT["access_token"])["sub"])
    t.eq(c["act"]["emp"], "E1001")
    t.eq(c["scope"], "openid profile workflow.apply")
    t.eq(c["exp"] - c["iat"], 600)
    # the console acts: exchanged towards the workflow service, act kept (nested)
    r = A.post("/token", data={"grant_type": EXCHANGE, "subject_token": tok["access_token"],
                               "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
                               "audience": "workflow-service", "scope": "workflow.apply"},
               auth=CONSOLE)
    t.eq(r.status_code, 200, r.text)
    x = claims(r.json()["access_token"])
    t.eq(x["aud"], "workflow-service")
    t.eq(x["sub"], c["sub"])
    t.eq(x["act"]["act"]["emp"], "E1001")
    # the workflow service, a real module, reads the caller's application as the agent and
    # logs both the citizen and the agent
    with demo.Modules(A) as m:
        q = requests.get(m.workflow + "/v1/applications/none-such",
                         headers={"Authorization": "Bearer " + r.json()["access_token"]},
                         timeout=10)
        t.eq(q.status_code, 404, q.text)  # the caller has no such application
        time.sleep(0.3)
    wlog = [json.loads(line) for line in open(os.path.join(A.state, "workflow.log"),
                                               encoding="utf-8") if line.startswith("{")]
    shows = [e for e in wlog if e.get("ev") == "show"]
    t.check(shows and shows[-1].get("sub") == c["sub"] and shows[-1].get("agent") == "emp:E1001",
            shows[-1:])
    # /userinfo with the consented token: the citizen's claims of the purpose's scopes
    u = A.get("/userinfo", headers={"Authorization": "Bearer " + tok["access_token"]})
    t.eq(u.status_code, 200, u.text)
    t.eq(u.json()["sub"], c["sub"])
    # the records
    path = os.path.join(tempfile.mkdtemp(), "audit.jsonl")
    A.authctl("audit", "export", path)
    recs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    evs = {r["ev"] for r in recs}
    for ev in ("staff.add", "staff.enrol", "staff.quota", "hotline.lookup", "ciba.request",
               "ciba.answer", "token.act"):
        t.check(ev in evs, f"no {ev} record")
    mine = [r for r in recs if r["ev"] == "ciba.answer" and r["f"].get("emp") == "E1001"]
    t.check(mine and mine[-1]["f"]["outcome"] == "approved", mine)
    act = [r for r in recs if r["ev"] == "token.act"][-1]["f"]
    t.eq((act["audience"], act["client"], act["agent"]),
         ("workflow-service", "demo-console", c["act"]["sub"]))
    text = open(path, encoding="utf-8").read()
    t.check(CITIZENS[cz]["id_number"] not in text and "李四光" not in text, "masked")


@test
def denied_releases_nothing_and_another_clients_token_is_refused(t):
    cz = 1
    j = lookup(AGENT["access_token"], purpose="status_query",
               id_number=CITIZENS[cz]["id_number"]).json()
    lht = j["candidates"][0]["login_hint_token"]
    other = [c for c in DEMO["clients"] if c["client_id"] == "demo-portal"][0]
    r = A.post("/bc-authorize", data={"scope": "openid", "login_hint_token": lht},
               auth=("demo-portal", other["client_secret"]))
    t.eq(r.status_code, 400)  # the portal is not a CIBA client, and the token is not its own
    r = A.post("/bc-authorize", data={"scope": "openid", "login_hint_token": lht}, auth=CONSOLE)
    rid = r.json()["auth_req_id"]
    s = phone(cz)
    page = s.get(last_link(cz), timeout=10)
    answer(s, page, "deny")
    time.sleep(1.1)
    r = A.post("/token", data={"grant_type": GRANT, "auth_req_id": rid}, auth=CONSOLE)
    t.eq((r.status_code, r.json().get("error")), (400, "access_denied"))
    t.check("access_token" not in r.json())


@test
def staff_pages_in_chromium(t):
    """The pages a staff member sees, in headless Chromium: the enrolment link's page (the
    employee number and the masked name; two passwords that differ named; then done) and the
    console's login page asking for the employee number, with no citizen registration."""
    out = A.authctl("staff", "add", "--emp", "E1009", "--name", "王小五", "--role",
                    "hotline_agent").stdout
    link = re.search(r"(http://\S+/staff/enrol\?t=[A-Za-z0-9_-]{43})", out).group(1)
    os.makedirs(ARTIFACTS, exist_ok=True)
    authz = A.base + "/authorize?" + urlencode({
        "response_type": "code", "client_id": "demo-console", "redirect_uri": CB,
        "scope": "openid", "state": "s1", "nonce": "n1", "acr_values": AAL2,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", "ui_locales": "zh-CN"})
    with browser(t) as wd:
        wd.go(link + "&lang=en")
        src = wd.cmd("GET", "/source")
        wd.screenshot(os.path.join(ARTIFACTS, "staff-enrol-en.png"))
        t.check("Activate your staff account" in src and "E1009" in src, "English")
        wd.go(link + "&lang=zh")
        src = wd.cmd("GET", "/source")
        t.check("E1009" in src and "王小五" not in src, "the number, the name masked")
        wd.screenshot(os.path.join(ARTIFACTS, "staff-enrol-zh.png"))
        wd.type(wd.find("#password"), "agent-pass-9")
        wd.type(wd.find("#password2"), "agent-pass-8")
        wd.click(wd.find("#enrol-submit"))
        time.sleep(0.5)
        t.check('id="enrol-error"' in wd.cmd("GET", "/source"), "passwords that differ named")
        wd.go(link + "&lang=zh")
        wd.type(wd.find("#password"), "agent-pass-9")
        wd.type(wd.find("#password2"), "agent-pass-9")
        wd.click(wd.find("#enrol-submit"))
        time.sleep(0.5)
        t.check('id="enrol-done"' in wd.cmd("GET", "/source"), "enrolled")
        wd.go(authz)
        wd.wait_url("/login?", 15)
        time.sleep(0.3)
        src = wd.cmd("GET", "/source")
        wd.screenshot(os.path.join(ARTIFACTS, "staff-login-zh.png"))
        t.check("工号" in src and "/register" not in src, "the employee number, no registration")
        t.check("<script" not in src)
        wd.go(wd.url() + "&lang=en")
        src = wd.cmd("GET", "/source")
        wd.screenshot(os.path.join(ARTIFACTS, "staff-login-en.png"))
        t.check("Employee number" in src and "/register" not in src, "in English too")


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
        RD.stop()
