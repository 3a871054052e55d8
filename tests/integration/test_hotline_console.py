"""The hotline console (clients/hotline, build/authd-hotline; docs/hotline.md "The console")
end to end against a live authd on a real redis-server and the real workflow service: the
agent logs in through the console (code + PKCE on its loopback redirect, the staff login and
TOTP codes by pyotp driven as the agent's browser), looks the caller up (masked summary
only), asks the caller's consent by CIBA while the console polls and shows the status, the
citizen approves from a second HTTP client (the phone), the console acts (token exchange to
the workflow service, the caller's applications), and the lookup, the consent and the act
show on the citizen's /account/access-log page; `authctl audit verify` passes on the export.
Refusals: a citizen's token and a disabled agent are refused at the lookup, a denial and an
unanswered (expired) request release nothing, and every error answer is shown with its
status, OAuth error and description."""
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import quote, urljoin

import pyotp
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import BUILD, ROOT, Authd, Redis, free_port, run, test  # noqa: E402
from oidc import Browser, hidden  # noqa: E402

import importlib.machinery  # noqa: E402
import importlib.util  # noqa: E402

_loader = importlib.machinery.SourceFileLoader("demo", os.path.join(ROOT, "scripts", "demo"))
_spec = importlib.util.spec_from_loader("demo", _loader)
demo = importlib.util.module_from_spec(_spec)
_loader.exec_module(demo)

CONSOLE_BIN = os.path.join(BUILD, "authd-hotline")
EXPIRY = 8  # seconds a CIBA request stays open (short: the expiry test waits for it)
RD = Redis().start()
A = Authd(population=300, conf={"store": RD.url(), "ciba_poll_interval_s": 1,
                                "ciba_expiry_s": EXPIRY, "sms_per_phone": 1000,
                                "sms_per_idnum": 1000, "rate_otp_per_account": "50"})
A.setup()
# the console is a confidential client: its loopback redirect is matched exactly (any port is
# for public clients only), so this test's policy registers one on a free port
REDIRECT = f"http://127.0.0.1:{free_port()}/callback"
_pol = os.path.join(A.state, "policy")
for _name in os.listdir(_pol):
    _path = os.path.join(_pol, _name)
    _text = open(_path, encoding="utf-8").read()
    if "[client demo-console]" in _text:
        _head, _tail = _text.split("[client demo-console]", 1)
        _tail = _tail.replace("redirect_uris = http://127.0.0.1:8765/callback",
                              "redirect_uris = " + REDIRECT, 1)
        open(_path, "w", encoding="utf-8").write(_head + "[client demo-console]" + _tail)
A.start()
DEMO = A.demo()
CITIZENS = DEMO["citizens"]
SECRETS = {c["client_id"]: c.get("client_secret") for c in DEMO["clients"]}
SINK = os.path.join(A.state, "notices.jsonl")
TMP = tempfile.mkdtemp(prefix="authd-console-")
SECRET_FILE = os.path.join(TMP, "console-secret")
with open(SECRET_FILE, "w", encoding="utf-8") as f:
    f.write(SECRETS["demo-console"] + "\n")
os.chmod(SECRET_FILE, 0o600)
MODULES = demo.Modules(A).start()
TOTP = {}  # employee number -> pyotp.TOTP, once enrolled
USED = {}  # employee number -> the codes used


def console(session, *args, stdin=None, timeout=60, browser=None):
    argv = [CONSOLE_BIN, "--issuer", A.base, "--secret-file", SECRET_FILE, "--session", session,
            "--allow-http", "--workflow-url", MODULES.workflow, "--license-url", MODULES.license,
            "--login-timeout", "30", "--redirect-uri", REDIRECT]
    if browser:
        argv += ["--browser", browser]
    return subprocess.run(argv + list(args), input=stdin, capture_output=True, text=True,
                          timeout=timeout)


def console_bg(session, *args):
    argv = [CONSOLE_BIN, "--issuer", A.base, "--secret-file", SECRET_FILE, "--session", session,
            "--allow-http", "--workflow-url", MODULES.workflow, "--redirect-uri", REDIRECT, *args]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def add_staff(emp, role, password):
    """authctl staff add, then the enrolment page sets the password."""
    out = A.authctl("staff", "add", "--emp", emp, "--name", "李四光", "--role", role).stdout
    link = re.search(r"(http://\S+/staff/enrol\?t=[A-Za-z0-9_-]{43})", out)
    assert link, out
    s = A.session()
    page = s.get(link.group(1), timeout=10)
    r = s.post(A.base + "/staff/enrol", data={"t": hidden(page.text, "t"),
                                              "csrf": hidden(page.text, "csrf"),
                                              "password": password, "password2": password},
               timeout=10)
    assert r.status_code == 200 and 'id="enrol-done"' in r.text, r.text[:300]


def agent_browser(url, emp, password):
    """The agent's browser at the console's /authorize address: the staff login, the TOTP
    app (enrolled on the first login), then the redirect to the console's loopback listener,
    followed (the console gets its code). Returns that redirect's status."""
    s = A.session()
    r = s.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?authz="), r.text
    page = s.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    r = s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                        "csrf": hidden(page.text, "csrf"),
                                        "id_number": emp, "password": password},
               allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    assert r.status_code in (302, 303) and "authn=totp" in loc, f"{r.status_code} {loc}"
    page = s.get(urljoin(A.base, loc), timeout=10)
    if emp not in TOTP:
        enrol = html.unescape(re.search(r'href="([^"]*mfa/totp[^"]*)"', page.text).group(1))
        ep = s.get(urljoin(A.base, enrol), timeout=10)
        TOTP[emp] = pyotp.TOTP(re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', ep.text)
                               .group(1).replace(" ", ""))
        r = s.post(A.base + "/mfa/totp", data={"csrf": hidden(ep.text, "csrf"),
                                               "action": "confirm", "code": TOTP[emp].now(),
                                               "authz": hidden(ep.text, "authz")}, timeout=10)
        cont = re.search(r'<a[^>]*id="mfa_continue"[^>]*>', r.text).group(0)
        page = s.get(urljoin(A.base, html.unescape(re.search(r'href="([^"]*)"', cont).group(1))),
                     timeout=10)
        USED.setdefault(emp, set()).add(TOTP[emp].now())  # the enrolment used it
    # a code not used before (authd refuses a replayed one), of the windows it accepts
    code = next(c for c in (TOTP[emp].now(), TOTP[emp].at(time.time() + 30),
                            TOTP[emp].at(time.time() - 30)) if c not in USED.setdefault(emp, set()))
    USED[emp].add(code)
    r = s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                        "csrf": hidden(page.text, "csrf"), "authn": "totp",
                                        "code": code}, allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    assert re.match(r"http://127\.0\.0\.1:\d+/callback\?", loc), f"{r.status_code} {loc}"
    return requests.get(loc, timeout=10).status_code


def console_login(session, emp, password):
    """`authd-hotline login`: reads the printed address, logs in as the agent's browser."""
    p = console_bg(session, "--login-timeout", "30", "login")
    url = None
    for line in p.stdout:
        m = re.search(r"(http://127\.0\.0\.1:\d+/authorize\?\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, p.stderr.read()
    status = agent_browser(url, emp, password)
    out, err = p.communicate(timeout=30)
    return p.returncode, out, err, url, status


def last_link(citizen):
    with open(SINK, encoding="utf-8") as f:
        notes = [json.loads(line) for line in f if line.strip()]
    mine = [n for n in notes if n["to"] == CITIZENS[citizen]["phone"]]
    return re.search(r"(http://\S+/ciba\?code=[A-Za-z0-9_-]{16})", mine[-1]["text"]).group(1)


def notices_to(citizen):
    with open(SINK, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip()
                   and json.loads(line)["to"] == CITIZENS[citizen]["phone"])


def phone(citizen):
    """The citizen's phone: a second HTTP client with the citizen's own SSO session."""
    b = Browser(A)
    b.code("demo-portal", "http://127.0.0.1:8081/oidc/callback", "openid", citizen=citizen)
    return b.s


def answer_when_asked(citizen, action, before):
    """The phone answers once the SMS of a new request arrived (a thread: the console polls
    meanwhile)."""
    def go():
        for _ in range(100):
            if notices_to(citizen) > before:
                break
            time.sleep(0.1)
        s = phone(citizen)
        page = s.get(last_link(citizen), timeout=10)
        assert page.status_code == 200 and "E1001" in page.text, page.text[:300]
        time.sleep(1.5)  # the console shows at least one pending status first
        s.post(A.base + "/ciba", data={"code": hidden(page.text, "code"),
                                       "csrf": hidden(page.text, "csrf"), "action": action},
               timeout=10)
        done["session"] = s
    done = {}
    th = threading.Thread(target=go)
    th.start()
    return th, done


def masked(idn):
    return idn[:6] + "*" * 8 + idn[-4:]


def access_entries(s):
    r = s.get(A.base + "/account/access-log", params={"lang": "en"}, allow_redirects=False,
              timeout=10)
    assert r.status_code == 200, (r.status_code, r.headers.get("Location"))
    return r.text, [k for k in re.findall(r'<li class="access access-([a-z-]+)"', r.text)]


add_staff("E1001", "hotline_agent", "agent-pass-1")
AGENT = os.path.join(TMP, "agent.session")


@test
def the_agent_logs_in_through_the_loopback_redirect(t):
    rc, out, err, url, status = console_login(AGENT, "E1001", "agent-pass-1")
    t.eq(rc, 0, out + err)
    t.eq(status, 200, "the console's listener answered the browser")
    t.check("logged in" in out, out)
    t.check("code_challenge_method=S256" in url and "acr_values=urn" in url, url)
    t.check("redirect_uri=" + quote(REDIRECT, safe="") in url, "the loopback redirect")
    st = os.stat(AGENT)
    t.eq(st.st_mode & 0o777, 0o600, "the session file is the agent's only")
    token = json.load(open(AGENT, encoding="utf-8"))["staff_token"]
    t.check(token not in out and token not in err, "the token is never printed")
    r = console(AGENT, "status")
    t.eq(r.returncode, 0, r.stderr)
    t.check("logged in as an agent" in r.stdout and "valid" in r.stdout, r.stdout)


@test
def the_browser_option_opens_the_address(t):
    seen = os.path.join(TMP, "opened")
    prog = os.path.join(TMP, "open-url")
    with open(prog, "w", encoding="utf-8") as f:
        f.write(f"#!/bin/sh\nprintf '%s\\n' \"$1\" > {seen}.tmp && mv {seen}.tmp {seen}\n")
    os.chmod(prog, 0o755)
    session = os.path.join(TMP, "agent2.session")
    argv = [CONSOLE_BIN, "--issuer", A.base, "--secret-file", SECRET_FILE, "--session", session,
            "--allow-http", "--browser", prog, "--login-timeout", "30", "--redirect-uri", REDIRECT,
            "login"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if os.path.exists(seen):
            break
        time.sleep(0.1)
    t.require(os.path.exists(seen), "the browser program was started with the address")
    url = open(seen, encoding="utf-8").read().strip()
    t.eq(agent_browser(url, "E1001", "agent-pass-1"), 200)
    out, err = p.communicate(timeout=30)
    t.eq(p.returncode, 0, out + err)
    t.check(url in out, "the same address was printed")


@test
def console_ciba_approval_workflow_and_the_citizens_access_log(t):
    cz = 4
    idn = CITIZENS[cz]["id_number"]
    r = console(AGENT, "lookup", "--purpose", "status_query", "--id-number", idn)
    t.eq(r.returncode, 0, r.stdout + r.stderr)
    t.check(masked(idn) in r.stdout, r.stdout)
    t.check(idn not in r.stdout and CITIZENS[cz]["phone"] not in r.stdout, "nothing in full")
    name = CITIZENS[cz]["name"]
    t.check(f"name {name[0]}*" in r.stdout and name not in r.stdout, "the masked name")
    t.check("channels password" in r.stdout, r.stdout)
    # consent: the console polls while the phone (a second HTTP client) approves
    th, done = answer_when_asked(cz, "approve", notices_to(cz))
    r = console(AGENT, "consent", "--binding-message", "工单 4711", timeout=60)
    th.join(30)
    t.eq(r.returncode, 0, r.stdout + r.stderr)
    t.check("read out: 工单 4711" in r.stdout, r.stdout)
    t.check("status: waiting for the caller's approval" in r.stdout, "status while polling")
    t.check("slow down" not in r.stdout, "the console keeps authd's interval")
    t.check("status: APPROVED" in r.stdout and "scope openid workflow.apply" in r.stdout,
            r.stdout)
    sess = json.load(open(AGENT, encoding="utf-8"))
    t.check(sess["consent_token"] not in r.stdout, "the consented token is not printed")
    # act: token exchange to the workflow service, the caller's applications read there
    r = console(AGENT, "act")
    t.eq(r.returncode, 0, r.stdout + r.stderr)
    t.check("acting for the caller at workflow-service" in r.stdout, r.stdout)
    m = re.search(r"applications: (\d+)", r.stdout)
    t.check(m and len(re.findall(r"^  .+  stage \S+$", r.stdout, re.M)) == int(m.group(1)),
            "one line per application, with its stage: " + r.stdout)
    time.sleep(0.3)
    wlog = [json.loads(line) for line in open(os.path.join(A.state, "workflow.log"),
                                               encoding="utf-8") if line.startswith("{")]
    lists = [e for e in wlog if e.get("ev") == "list"]
    t.check(lists and lists[-1].get("agent") == "emp:E1001" and lists[-1].get("sub"),
            "the workflow service logged the citizen and the agent")
    # licenses were not consented to for this purpose: the exchange is refused, clearly
    r = console(AGENT, "act", "--licenses")
    t.eq(r.returncode, 1)
    t.check(re.search(r"token exchange refused: HTTP 400 invalid_\w+", r.stderr), r.stderr)
    # the citizen's own page, with the phone's SSO session, shows who looked and why
    text, kinds = access_entries(done["session"])
    for k in ("lookup", "consent-request", "consent-answer", "act"):
        t.check(k in kinds, f"no {k} entry: {kinds}")
    t.check("E1001" in text, "the agent's employee number")
    t.check("李*" in text and "李四光" not in text, "the agent's masked name")
    t.check("查询办件进度" in text and "status_query" not in text,
            "the purpose, by the name of its [purpose status_query] policy section")
    t.check(idn not in text, "never the full number")
    # another citizen's page does not show them
    _, other = access_entries(phone(3))
    t.check("lookup" not in other, other)
    path = os.path.join(TMP, "audit.jsonl")
    A.authctl("audit", "export", path)
    p = A.authctl("audit", "verify", path, check=False)
    t.eq(p.returncode, 0, p.stdout + p.stderr)


@test
def the_prompt_runs_the_same_commands(t):
    idn = CITIZENS[0]["id_number"]
    r = console(AGENT, stdin=f"status\nlookup --purpose status_query --id-number {idn}\n"
                             "lookup --purpose\nfrobnicate\nhelp\nquit\n")
    t.eq(r.returncode, 0, r.stderr)
    t.check("12345 hotline console" in r.stdout and "logged in as an agent" in r.stdout,
            r.stdout)
    t.check(masked(idn) in r.stdout and idn not in r.stdout, r.stdout)
    t.check("unknown command frobnicate" in r.stderr, r.stderr)
    t.check("consent [--binding-message M]" in r.stdout, "help lists the commands")


@test
def a_denial_releases_nothing(t):
    cz = 1
    r = console(AGENT, "lookup", "--purpose", "status_query", "--id-number",
                CITIZENS[cz]["id_number"])
    t.eq(r.returncode, 0, r.stderr)
    th, _ = answer_when_asked(cz, "deny", notices_to(cz))
    r = console(AGENT, "consent", "--binding-message", "工单 4712")
    th.join(30)
    t.eq(r.returncode, 3, r.stdout + r.stderr)
    t.check("status: DENIED by the caller; nothing was released" in r.stdout, r.stdout)
    t.check("consent_token" not in json.load(open(AGENT, encoding="utf-8")), "nothing kept")
    r = console(AGENT, "act")
    t.eq(r.returncode, 1)
    t.check("needs the caller's consent first" in r.stderr, r.stderr)


@test
def an_unanswered_request_expires(t):
    cz = 2
    r = console(AGENT, "lookup", "--purpose", "status_query", "--id-number",
                CITIZENS[cz]["id_number"])
    t.eq(r.returncode, 0, r.stderr)
    start = time.time()
    r = console(AGENT, "consent", timeout=EXPIRY + 30)
    t.eq(r.returncode, 4, r.stdout + r.stderr)
    t.check(time.time() - start >= EXPIRY - 1, "it waited for the expiry")
    t.check("status: EXPIRED" in r.stdout and "nothing was released" in r.stdout, r.stdout)
    t.check(r.stdout.count("status: waiting") >= 2, r.stdout)


@test
def a_license_query_reads_the_callers_licenses(t):
    cz = 3
    r = console(AGENT, "lookup", "--purpose", "license_query", "--phone", CITIZENS[cz]["phone"])
    t.eq(r.returncode, 0, r.stdout + r.stderr)
    t.check(CITIZENS[cz]["phone"] not in r.stdout, "never the phone number")
    t.check(masked(CITIZENS[cz]["id_number"]) in r.stdout, r.stdout)
    th, _ = answer_when_asked(cz, "approve", notices_to(cz))
    r = console(AGENT, "consent", "--binding-message", "工单 4713")
    th.join(30)
    t.eq(r.returncode, 0, r.stdout + r.stderr)
    t.check("scope openid license.read" in r.stdout, r.stdout)
    r = console(AGENT, "act", "--licenses")
    t.eq(r.returncode, 0, r.stdout + r.stderr)
    t.check("acting for the caller at license-service" in r.stdout, r.stdout)
    m = re.search(r"licenses: (\d+)", r.stdout)
    t.check(m and len(re.findall(r"^  .+  valid until \S+$", r.stdout, re.M)) == int(m.group(1)),
            "one line per licence, with its end date: " + r.stdout)
    # and not the applications: this consent did not cover them
    r = console(AGENT, "act")
    t.eq(r.returncode, 1)
    t.check(re.search(r"token exchange refused: HTTP 400 invalid_\w+", r.stderr), r.stderr)


@test
def refusals_are_shown_with_status_error_and_description(t):
    idn = CITIZENS[3]["id_number"]
    r = console(AGENT, "lookup", "--purpose", "no_such", "--id-number", idn)
    t.eq(r.returncode, 1)
    t.check(re.search(r"lookup refused: HTTP 400 invalid_request: .+", r.stderr), r.stderr)
    r = console(AGENT, "lookup", "--purpose", "status_query")
    t.eq(r.returncode, 2)
    # a citizen's token (no staff role) in the console's session
    b = Browser(A)
    code, v, _ = b.code("demo-portal", "http://127.0.0.1:8081/oidc/callback", "openid",
                        citizen=0)
    ctok = b.exchange(code, v, "http://127.0.0.1:8081/oidc/callback",
                      auth=("demo-portal", SECRETS["demo-portal"]))["access_token"]
    cs = os.path.join(TMP, "citizen.session")
    with open(cs, "w", encoding="utf-8") as f:
        json.dump({"staff_token": ctok}, f)
    r = console(cs, "lookup", "--purpose", "status_query", "--id-number", idn)
    t.eq(r.returncode, 1)
    t.check(re.search(r"lookup refused: HTTP 40[13] \w+", r.stderr), r.stderr)
    t.check(masked(idn) not in r.stdout, "nothing shown")
    # an agent disabled after logging in: its role no longer lets it look up
    add_staff("E1009", "hotline_agent", "agent-pass-9")
    s9 = os.path.join(TMP, "agent9.session")
    t.eq(console_login(s9, "E1009", "agent-pass-9")[0], 0)
    t.eq(console(s9, "lookup", "--purpose", "status_query", "--id-number", idn).returncode, 0)
    A.authctl("staff", "disable", "E1009")
    r = console(s9, "lookup", "--purpose", "status_query", "--id-number", idn)
    t.eq(r.returncode, 1)
    t.check(re.search(r"lookup refused: HTTP 403 \w+", r.stderr), r.stderr)
    # no session at all
    r = console(os.path.join(TMP, "none.session"), "lookup", "--purpose", "status_query",
                "--id-number", idn)
    t.eq(r.returncode, 1)
    t.check("not logged in" in r.stderr, r.stderr)
    r = console(AGENT, "logout")
    t.eq(r.returncode, 0)
    t.check(not os.path.exists(AGENT), "the session file is gone")


if __name__ == "__main__":
    try:
        run()
    finally:
        MODULES.stop()
        A.stop()
        RD.stop()
