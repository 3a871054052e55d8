"""Second factors against a live authd (docs/mfa.md): TOTP enrolment on /mfa/totp with codes
computed independently by pyotp (RFC 6238), the step-up of an aal1 session through the
second-factor page, recovery codes, wrong/reused/out-of-window codes, the refusal sent to
the client, the cookie moving on step-up, levels across refresh and token exchange."""
import html
import json
import os
import re
import sys
import time
from urllib.parse import urljoin

import pyotp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, run, test  # noqa: E402
from oidc import Browser, claims, hidden, query  # noqa: E402

A = Authd(population=500, conf={"rate_otp_per_account": "50"})
A.start()
DEMO = A.demo()
CITIZENS = DEMO["citizens"]
SECRETS = {c["client_id"]: c.get("client_secret") for c in DEMO["clients"]}
PORTAL_CB = "http://127.0.0.1:8081/oidc/callback"
AAL2 = "urn:authd:acr:ial3:aal2"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def signed_in(citizen):
    """A browser with an aal1 (password) session of citizen, via the portal."""
    b = Browser(A)
    b.code("demo-portal", PORTAL_CB, "openid", citizen=citizen)
    return b


def enrol(t, b):
    """Enrols a TOTP app on /mfa/totp; returns (pyotp.TOTP, recovery codes)."""
    page = b.s.get(A.base + "/mfa/totp", timeout=10)
    t.require(page.status_code == 200, f"enrol page {page.status_code}: {page.text[:200]}")
    m = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page.text)
    t.require(m, "no secret on the page")
    totp = pyotp.TOTP(m.group(1).replace(" ", ""))
    t.check("<svg" in page.text and 'role="img"' in page.text, "no inline QR")
    data = {"csrf": hidden(page.text, "csrf"), "action": "confirm", "code": "000000"}
    r = b.s.post(A.base + "/mfa/totp", data=data, timeout=10)
    t.eq(r.status_code, 400, "a wrong code does not enrol")
    data["code"] = totp.now()
    r = b.s.post(A.base + "/mfa/totp", data=data, timeout=10)
    t.require(r.status_code == 200, f"confirm {r.status_code}: {r.text[:300]}")
    codes = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", r.text)
    t.eq(len(codes), 10, "ten recovery codes")
    return totp, codes


def next_code(totp):
    """A code of the next step: the one of now was used by the enrolment."""
    return totp.at(time.time() + 30)


def step_up_page(t, b, scope="openid", **extra):
    """/authorize for the portal at aal2 with b's session: the second-factor page."""
    r, v, p = b.authorize("demo-portal", PORTAL_CB, scope, acr_values=AAL2, **extra)
    t.require(r.status_code == 302, f"authorize {r.status_code} {r.text[:200]}")
    loc = r.headers["Location"]
    t.require(loc.startswith("/login?authz=") and "authn=totp" in loc, loc)
    page = b.s.get(urljoin(A.base, loc), allow_redirects=False, timeout=10)
    t.require(page.status_code == 200, f"second-factor page {page.status_code}")
    return page, v


def post_code(b, page, code, **more):
    data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "authn": "totp", "code": code}
    data.update(more)
    return b.s.post(A.base + "/login", data=data, allow_redirects=False, timeout=10)


def tokens(b, r, v):
    loc = r.headers.get("Location", "")
    t_code = query(loc).get("code")
    return b.exchange(t_code, v, PORTAL_CB, auth=("demo-portal", SECRETS["demo-portal"]))


@test
def enrol_then_step_up_with_pyotp_codes(t):
    b = signed_in(0)
    totp, _ = enrol(t, b)
    old_cookie = b.s.cookies.get("authd_session")
    page, v = step_up_page(t, b, scope="openid workflow.apply")
    for h in ("X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"):
        t.check(h in page.headers, f"{h} missing on the second-factor page")
    t.check('name="code"' in page.text and "<script" not in page.text)
    t.check('name="decline"' in page.text)
    # wrong, then out of the window, then right
    r = post_code(b, page, "000000")
    t.eq(r.status_code, 401)
    t.check('id="mfa-error"' in r.text)
    r = post_code(b, page, totp.at(time.time() + 120))
    t.eq(r.status_code, 401, "two steps ahead is out of the window")
    before = int(time.time())
    code = next_code(totp)
    r = post_code(b, page, code)
    t.require(r.status_code in (302, 303) and r.headers["Location"].startswith(PORTAL_CB),
              f"{r.status_code} {r.headers.get('Location')} {r.text[:200]}")
    new_cookie = r.headers.get("Set-Cookie", "")
    t.check(new_cookie.startswith("authd_session=") and old_cookie not in new_cookie,
            "step-up moves the session to a new cookie")
    tok = tokens(b, r, v)
    idt = claims(tok["id_token"])
    t.eq(idt["acr"], AAL2)
    t.check("otp" in idt["amr"] and "pwd" in idt["amr"], idt["amr"])
    t.check(idt["auth_time"] >= before, f"auth_time {idt['auth_time']} < {before}")
    # levels survive refresh ...
    r = A.post("/token", auth=("demo-portal", SECRETS["demo-portal"]),
               data={"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
    t.require(r.status_code == 200, r.text)
    rt = r.json()
    if "id_token" in rt:
        t.eq(claims(rt["id_token"])["acr"], AAL2)
        t.check("otp" in claims(rt["id_token"])["amr"])
    at = claims(rt["access_token"])
    t.eq(at.get("acr"), AAL2, "refresh keeps the level")
    t.check("otp" in at.get("amr", []), f"refreshed amr {at.get('amr')}")
    # ... and token exchange
    r = A.post("/token", auth=("demo-portal", SECRETS["demo-portal"]),
               data={"grant_type": EXCHANGE, "subject_token": tok["access_token"],
                     "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
                     "audience": "workflow-service"})
    t.require(r.status_code == 200, r.text)
    xt = claims(r.json()["access_token"])
    t.eq(xt.get("acr"), at.get("acr"), "exchange keeps the level")
    t.eq(xt.get("amr"), at.get("amr"))
    # the cookie taken before the step-up carries nothing
    old = Browser(A)
    old.s.cookies.set("authd_session", old_cookie)
    r, _, _ = old.authorize("demo-portal", PORTAL_CB, "openid", acr_values=AAL2)
    t.check("authn=" not in r.headers.get("Location", ""), "old cookie still a session")
    # the raised session serves aal2 directly
    r, _, _ = b.authorize("demo-portal", PORTAL_CB, "openid", acr_values=AAL2)
    t.check(r.headers.get("Location", "").startswith(PORTAL_CB), r.headers.get("Location"))


@test
def a_code_is_accepted_once(t):
    b = signed_in(1)
    totp, _ = enrol(t, b)
    page, _ = step_up_page(t, b)
    code = next_code(totp)
    r = post_code(b, page, code)
    t.require(r.status_code in (302, 303), f"{r.status_code}")
    # another browser of the same citizen, same code
    b2 = signed_in(1)
    page, _ = step_up_page(t, b2)
    r = post_code(b2, page, code)
    t.eq(r.status_code, 401, "a reused code is refused")


@test
def recovery_codes_work_once_and_regenerating_drops_the_old(t):
    b = signed_in(2)
    _, codes = enrol(t, b)
    page, _ = step_up_page(t, b)
    r = post_code(b, page, codes[0].upper())
    t.require(r.status_code in (302, 303), f"recovery code: {r.status_code} {r.text[:200]}")
    b2 = signed_in(2)
    page, _ = step_up_page(t, b2)
    t.eq(post_code(b2, page, codes[0]).status_code, 401, "a recovery code works once")
    # regenerate: the aal2 session of b is fresh
    mp = b.s.get(A.base + "/mfa/totp", timeout=10)
    t.check('id="mfa_regenerate"' in mp.text, "no regenerate button")
    r = b.s.post(A.base + "/mfa/recovery", data={"csrf": hidden(mp.text, "csrf")}, timeout=10)
    t.require(r.status_code == 200, f"regenerate {r.status_code}")
    fresh = re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", r.text)
    t.eq(len(fresh), 10)
    page, _ = step_up_page(t, b2)
    t.eq(post_code(b2, page, codes[1]).status_code, 401, "the old set is gone")
    r = post_code(b2, page, fresh[1])
    t.check(r.status_code in (302, 303), f"a new code: {r.status_code}")
    # an aal1 session may not regenerate or remove
    b3 = signed_in(2)
    mp = b3.s.get(A.base + "/mfa/totp", timeout=10)
    r = b3.s.post(A.base + "/mfa/recovery", data={"csrf": hidden(mp.text, "csrf")}, timeout=10)
    t.eq(r.status_code, 403)
    r = b3.s.post(A.base + "/mfa/totp", data={"csrf": hidden(mp.text, "csrf"),
                                               "action": "remove"}, timeout=10)
    t.eq(r.status_code, 403)
    r = b3.s.post(A.base + "/mfa/recovery", data={"csrf": "x" * 64}, timeout=10)
    t.eq(r.status_code, 403, "csrf")


@test
def declining_is_access_denied_or_unmet(t):
    b = signed_in(3)
    # no factor: the page offers enrolment
    page, _ = step_up_page(t, b)
    t.check('id="mfa_enrol"' in page.text and "/mfa/totp?authz=" in page.text, "no enrolment")
    r = post_code(b, page, "", decline="1")
    t.require(r.status_code in (302, 303), f"{r.status_code}")
    q = query(r.headers["Location"])
    t.eq(q.get("error"), "unmet_authentication_requirements", "acr_values asked: unmet")
    t.eq(q.get("state"), "st")


@test
def enrolment_from_the_step_up_continues_the_request(t):
    b = signed_in(4)
    page, v = step_up_page(t, b)
    enrol_url = html.unescape(re.search(r'href="([^"]*mfa/totp[^"]*)"', page.text).group(1))
    ep = b.s.get(urljoin(A.base, enrol_url), timeout=10)
    t.require(ep.status_code == 200)
    totp = pyotp.TOTP(re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', ep.text)
                      .group(1).replace(" ", ""))
    r = b.s.post(A.base + "/mfa/totp", data={"csrf": hidden(ep.text, "csrf"), "action": "confirm",
                                             "code": totp.now(),
                                             "authz": hidden(ep.text, "authz")}, timeout=10)
    t.require(r.status_code == 200)
    cont = html.unescape(re.search(r'id="mfa_continue" href="([^"]*)"|href="([^"]*)" id="mfa_continue"',
                                   r.text).group(0))
    loc = re.search(r'href="([^"]*)"', cont).group(1)
    t.check(loc.startswith("/login?authz=") and "authn=totp" in loc, loc)
    page = b.s.get(urljoin(A.base, html.unescape(loc)), timeout=10)
    r = post_code(b, page, next_code(totp))
    t.require(r.status_code in (302, 303) and r.headers["Location"].startswith(PORTAL_CB),
              f"{r.status_code} {r.headers.get('Location')}")
    t.eq(claims(tokens(b, r, v)["id_token"])["acr"], AAL2)


@test
def authctl_shows_factors_and_the_service_desk_resets_them(t):
    global A
    main = A
    with Redis() as red, Authd(population=500, conf={"store": red.url()}) as a:
        A = a
        try:
            citizen = a.demo()["citizens"][0]
            b = signed_in(0)
            enrol(t, b)
            show = json.loads(a.authctl("user", "show", citizen["id_number"]).stdout)
            t.eq(show["factors"], ["totp"])
            t.eq(show["recovery_codes_left"], 10)
            p = a.authctl("user", "reset-mfa", citizen["id_number"])
            t.eq(json.loads(p.stdout)["factors"], [])
            t.check(citizen["id_number"] not in p.stdout + p.stderr, "full ID number printed")
            p = a.authctl("user", "reset-mfa", citizen["id_number"], check=False)
            t.eq(p.returncode, 1, "nothing left to reset")
            t.check("mfa.reset" in p.stderr and "********" in p.stderr, p.stderr[-300:])
            t.check(citizen["id_number"] not in p.stderr)
            # the citizen is offered enrolment again
            page, _ = step_up_page(t, b)
            t.check('id="mfa_enrol"' in page.text, "no enrolment offered after the reset")
        finally:
            A = main


@test
def mfa_pages_need_a_session(t):
    s = A.session()
    t.eq(s.get(A.base + "/mfa/totp", timeout=10).status_code, 401)
    t.eq(s.post(A.base + "/mfa/recovery", data={"csrf": "x"}, timeout=10).status_code, 401)


try:
    run()
finally:
    A.stop()
