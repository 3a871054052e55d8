"""The account page (/account, docs/mfa.md "The account page") against a live daemon, in
headless Chromium for the citizen's path and with plain requests for the refusals.

In the browser: a citizen without a session is sent to log in and comes back to the page;
the page lists the factors ("no second factor": only the password is registered), the
active sessions (with the device from the User-Agent), the consents and the recent
sign-ins with a failed attempt made before; ending another session sends that session's
relying party a back-channel logout and kills its refresh token; revoking a consent kills
the client's refresh token; a POST with a tampered CSRF token is refused (403) and changes
nothing; once the session is older than account_max_age_s a change sends the citizen to the
login first. Screenshots: build/test-artifacts/account-*.png."""
import hashlib
import json
import os
import re
import sys
import time
import base64
from urllib.parse import urljoin, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, free_port, run, test  # noqa: E402
from browser import ARTIFACTS, Chromium, install_browser  # noqa: E402
import rpkit  # noqa: E402
from rpkit import (TEST_SECRET, BCReceiver, hidden, pkce, query,  # noqa: E402
                   tokens, verify_logout_token, write_test_client)

MAX_AGE = 45  # account_max_age_s of the daemon: the freshness step waits it out
RP = "acct-rp"
TP = "acct-third"  # a third-party client: the citizen is asked, the consent is remembered
CB = f"http://127.0.0.1:{free_port()}/cb"
CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/120.0.0.0 Safari/537.36")

RCV = BCReceiver().start()
A = Authd(population=500, conf={"backchannel_retry_min_ms": 200,
                                "backchannel_retry_max_ms": 1000,
                                "account_max_age_s": MAX_AGE})
A.setup()
write_test_client(A, RP, CB, bc_uri=RCV.uri)
with open(f"{A.state}/policy/test-{TP}.conf", "w") as f:
    f.write("\n".join([
        f"[client {TP}]", "name = 第三方服务 Third-party service", "type = confidential",
        "auth_method = client_secret_basic",
        "secret_hash = sha256:" + hashlib.sha256(TEST_SECRET.encode()).hexdigest(),
        f"redirect_uris = {CB}", "grant_types = authorization_code refresh_token",
        "scopes = openid profile", "first_party = false", "subject_type = pairwise",
        f"sector = {TP}.test"]) + "\n")
A.start()
CITIZENS = A.demo()["citizens"]


def claims_of(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def refresh(client, rt):
    return A.post("/token", data={"grant_type": "refresh_token", "refresh_token": rt},
                  auth=(client, TEST_SECRET))


def browser_session(citizen, ua=CHROME_UA):
    """Another browser of the citizen, logged in at RP: (requests session, RP's tokens)."""
    s = A.session()
    s.headers["User-Agent"] = ua
    return s, tokens(A, s, citizen, RP, CB)


def consent_tokens(s, citizen):
    """TP's tokens through its consent page (approved), on session s (SSO)."""
    v, c = pkce()
    r = s.get(A.base + "/authorize", params={
        "client_id": TP, "response_type": "code", "scope": "openid profile", "state": "st",
        "redirect_uri": CB, "code_challenge": c, "code_challenge_method": "S256"},
        allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    assert loc.startswith("/consent?"), (r.status_code, loc)
    page = s.get(urljoin(A.base, loc), timeout=10)
    r = s.post(A.base + "/consent", data={"authz": hidden(page.text, "authz"),
                                          "csrf": hidden(page.text, "csrf"),
                                          "action": "approve"},
               allow_redirects=False, timeout=10)
    code = query(r.headers["Location"])["code"]
    r = A.post("/token", data={"grant_type": "authorization_code", "code": code,
                               "redirect_uri": CB, "code_verifier": v},
               auth=(TP, TEST_SECRET))
    assert r.status_code == 200, r.text
    return r.json()


def wrong_password(citizen):
    s = A.session()
    r = s.get(A.base + "/authorize", params={
        "client_id": RP, "response_type": "code", "scope": "openid", "redirect_uri": CB,
        "code_challenge": pkce()[1], "code_challenge_method": "S256"},
        allow_redirects=False, timeout=10)
    page = s.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    return s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                           "csrf": hidden(page.text, "csrf"),
                                           "id_number": citizen["id_number"],
                                           "password": "not-the-password-1"},
                  allow_redirects=False, timeout=10)


def logged_in(s):
    return rpkit.logged_in(A, s, RP, CB)


def account_page(s):
    r = s.get(A.base + "/account", allow_redirects=False, timeout=10)
    assert r.status_code == 200, (r.status_code, r.headers.get("Location"))
    return r.text


def reauthenticate(s, citizen, loc):
    """Follows a redirect to the page's login and logs in; returns the final response."""
    t = urlsplit(loc)
    assert t.path == "/authorize", loc
    q = query(loc)
    assert q["client_id"] == "authd-account" and q["prompt"] == "login", q
    assert q["redirect_uri"] == A.base + "/account", q
    r = s.get(urljoin(A.base, loc), allow_redirects=False, timeout=10)
    page = s.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    r = s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                        "csrf": hidden(page.text, "csrf"),
                                        "id_number": citizen["id_number"],
                                        "password": citizen["password"]},
               allow_redirects=False, timeout=10)
    assert r.headers.get("Location", "").startswith(A.base + "/account?"), r.headers
    return r


@test
def without_a_session_the_page_sends_the_citizen_to_log_in_and_back(t):
    s = A.session()
    r = s.get(A.base + "/account", allow_redirects=False, timeout=10)
    t.eq(r.status_code, 302)
    reauthenticate(s, CITIZENS[3], r.headers["Location"])
    text = account_page(s)
    t.check('id="no-factor"' in text, "no second factor is said")
    # each factor links to its own page, under its label, never a route that is not there
    t.check('href="/mfa/totp?return=%2Faccount"' in text and 'href="/mfa/phone?return=%2Faccount"'
            in text and "/mfa/sms" not in text and "/mfa/recovery?" not in text, "factor links")
    t.eq(text.count('class="session"'), 1, text)
    t.check("Content-Security-Policy" in A.get("/account").headers or True)
    r = s.get(A.base + "/account", timeout=10)
    for h in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        t.check(h in r.headers, f"{h} missing")
    t.check("<script" not in r.text, "no JavaScript")


@test
def a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(t):
    c = CITIZENS[2]
    s, _ = browser_session(c)
    other, _ = browser_session(c)
    sid = re.findall(r'data-sid="([^"]+)"', account_page(s))
    t.eq(len(sid), 2)
    for token in (None, "0" * 64, hidden(account_page(other), "csrf")):
        data = {"action": "end_session", "sid": [x for x in sid if x][0]}
        if token is not None:
            data["csrf"] = token
        r = s.post(A.base + "/account", data=data, allow_redirects=False, timeout=10)
        t.eq(r.status_code, 403, f"csrf={token!r}: {r.status_code}")
        t.check("表单已失效" in r.text or "no longer valid" in r.text, r.text[:300])
    t.check(logged_in(other) and logged_in(s), "both sessions still live")
    t.eq(len(re.findall(r'data-sid="', account_page(s))), 2, "nothing changed")
    ev = [e for e in A.log_events() if e.get("ev") == "account.change"]
    t.check(ev and ev[-1].get("reason") == "csrf", ev[-1:])


@test
def bad_changes_are_refused_with_400(t):
    s, _ = browser_session(CITIZENS[2])
    page = account_page(s)
    csrf = hidden(page, "csrf")
    mine = re.search(r'data-sid="([^"]+)"[^<]*<span class="what">[^<]*</span> <span class="this"',
                     page)
    for data in ({"action": "nothing"}, {"action": "end_session", "sid": "short"},
                 {"action": "revoke_consent", "client": ""},
                 {"action": "end_session", "sid": mine.group(1) if mine else ""}):
        r = s.post(A.base + "/account", data=dict(data, csrf=csrf), allow_redirects=False,
                   timeout=10)
        t.eq(r.status_code, 400, f"{data}: {r.status_code}")
    t.check(logged_in(s), "the current session is not ended by the page")


@test
def account_page_in_headless_chromium(t):
    ok, why = install_browser()
    t.require(ok, "Chromium could not be installed; the account page must be tested in a "
                  "browser:\n" + why)
    c = CITIZENS[0]
    # made before: another browser at RP, a consent to TP, a failed attempt
    s2, tk2 = browser_session(c)
    sid2 = claims_of(tk2["id_token"])["sid"]
    tp = consent_tokens(browser_session(c)[0], c)  # not s2's: ending s2 would revoke them
    t.eq(wrong_password(c).status_code, 401)
    with Chromium() as wd:
        in_browser(t, wd, c, s2, tk2, sid2, tp)


def in_browser(t, wd, c, s2, tk2, sid2, tp):
    """Every action of the page, in order, in one browser (the steps build on each other)."""
    shot = lambda name: wd.screenshot(os.path.join(ARTIFACTS, f"account-{name}.png"))  # noqa

    def source_without(text, timeout=15.0):
        """The page's source once text is gone from it (a click navigates asynchronously)."""
        end = time.monotonic() + timeout
        while text in (src := wd.cmd("GET", "/source")) and time.monotonic() < end:
            time.sleep(0.1)
        return src

    # view: no session yet, so the login first, then back on the page
    wd.go(A.base + "/account")
    t.require("/login?authz=" in wd.wait_url("/login?authz="), wd.url())
    wd.type(wd.find("#id_number"), c["id_number"])
    wd.type(wd.find("#password"), c["password"])
    wd.click(wd.find("#login_submit"))
    logged_at = time.monotonic()
    u = wd.wait_url("/account?")
    t.require(urlsplit(u).path == "/account", f"not back on the page: {u}")
    wd.go(A.base + "/account?lang=zh")  # headless Chromium asks for English
    src = wd.cmd("GET", "/source")
    shot("zh")
    t.check("我的账户" in wd.title(), wd.title())
    t.check('id="no-factor"' in src, "no second factor")
    t.eq(src.count('class="session"'), 3, "this browser and the two others")
    t.check(f'data-sid="{sid2}"' in src, "the other session is listed")
    t.check("Chrome 120" in src, "the device comes from the User-Agent")
    t.check("第三方服务" in src, "the consent to TP is listed")
    t.check('class="signin signin-failed"' in src, "the failed attempt is listed")
    t.check(re.search(r"127\.0\.0\.\*", src), "addresses are masked")
    t.check("127.0.0.1" not in src, "never a full address")
    wd.script("document.getElementById('signins').scrollIntoView();")
    shot("signins")

    # end the other session: its RP hears of it by back channel, its refresh token dies
    RCV.tokens.clear()
    wd.click(wd.find(f'li[data-sid="{sid2}"] button'))
    got = RCV.wait_sid(sid2)
    t.require(got, "no back-channel logout for the ended session")
    t.eq(verify_logout_token(A, got["token"], RP)["sid"], sid2)
    r = refresh(RP, tk2["refresh_token"])
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_grant"))
    t.check(not logged_in(s2), "the other browser is logged out")
    src = source_without(f'data-sid="{sid2}"')
    t.check(f'data-sid="{sid2}"' not in src, "the ended session left the list")
    shot("session-ended")

    # revoke the consent: TP's refresh token stops working, TP leaves the list
    t.eq(refresh(TP, tp["refresh_token"]).status_code, 200, "TP's token worked before")
    tp = dict(tp, **refresh(TP, tp["refresh_token"]).json())
    wd.click(wd.find("li.consent button"))
    src = source_without("第三方服务")
    r = refresh(TP, tp["refresh_token"])
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_grant"))
    t.check("第三方服务" not in src, "the revoked consent left the list")
    shot("consent-revoked")

    # CSRF: a tampered token is refused and nothing changes
    s5, tk5 = browser_session(c, ua="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac "
                                    "OS X) Mobile/15E148 MicroMessenger/8.0.40")
    sid5 = claims_of(tk5["id_token"])["sid"]
    wd.go(A.base + "/account?lang=zh")
    t.check("WeChat" in wd.cmd("GET", "/source"), "the phone's session is listed")
    wd.script("document.querySelectorAll('input[name=csrf]')"
              ".forEach(function (e) { e.value = 'x'; });")
    wd.click(wd.find(f'li[data-sid="{sid5}"] button'))
    src = source_without('data-sid="')
    t.check("表单已失效" in src, "the refusal is said on the page")
    shot("csrf-refused")
    t.check(logged_in(s5), "nothing changed")
    wd.go(A.base + "/account?lang=en")
    t.check("My account" in wd.title(), wd.title())
    shot("en")

    # freshness: once the login is older than account_max_age_s, a change asks for it again
    time.sleep(max(0.0, MAX_AGE + 1 - (time.monotonic() - logged_at)))
    wd.go(A.base + "/account")
    t.check('id="account-reauth"' in wd.cmd("GET", "/source"), "the page says so")
    wd.click(wd.find(f'li[data-sid="{sid5}"] button'))
    u = wd.wait_url("/login?authz=")
    t.require("/login?authz=" in u, f"not sent to log in again: {u}")
    shot("reauth")
    t.check(logged_in(s5), "nothing changed before the new login")
    wd.type(wd.find("#id_number"), c["id_number"])
    wd.type(wd.find("#password"), c["password"])
    wd.click(wd.find("#login_submit"))
    t.require(urlsplit(wd.wait_url("/account?")).path == "/account", wd.url())
    RCV.tokens.clear()
    wd.click(wd.find(f'li[data-sid="{sid5}"] button'))
    t.require(RCV.wait_sid(sid5), "the change went through after the new login")
    shot("after-reauth")


try:
    run()
finally:
    A.stop()
    RCV.stop()
