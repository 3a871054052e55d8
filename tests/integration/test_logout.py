"""Logout against a live daemon: RP-initiated logout (OpenID Connect RP-Initiated Logout
1.0), back-channel logout through the durable queue (Back-Channel Logout 1.0) with a
relying party that is down, failing or hanging, front-channel iframes (Front-Channel Logout
1.0), and an authd restart between a failure and the recovery (shared Redis)."""
import base64
import html
import re
import glob
import json
import os
import sys
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, free_port, run, test  # noqa: E402
import rpkit  # noqa: E402
from rpkit import (BCReceiver, hidden, query, tokens,  # noqa: E402
                   verify_logout_token, write_test_client)

from jwcrypto import jwk, jwt  # noqa: E402

FAST = {"backchannel_retry_min_ms": 200, "backchannel_retry_max_ms": 1000}
RP = "test-rp"
CB = f"http://127.0.0.1:{free_port()}/cb"
BYE = "http://127.0.0.1:8081/"
BYE_Q = "http://127.0.0.1:8081/bye?from=authd"
FC = "http://127.0.0.1:9/fc?x=1"

RCV = BCReceiver().start()
A = Authd(population=500, conf=FAST)
A.setup()
write_test_client(A, RP, CB, bc_uri=RCV.uri, fc_uri=FC, post_logout=[BYE, BYE_Q])
A.start()
CITIZENS = A.demo()["citizens"]


def fresh(citizen=0):
    """A browser with a new session at authd and the test RP's tokens."""
    s = A.session()
    return s, tokens(A, s, CITIZENS[citizen % len(CITIZENS)], RP, CB)


def end_session(s, method="GET", **params):
    if method == "GET":
        return s.get(A.base + "/end_session", params=params, allow_redirects=False, timeout=10)
    return s.post(A.base + "/end_session", data=params, allow_redirects=False, timeout=10)


def logged_in(s):
    return rpkit.logged_in(A, s, RP, CB)


def login_required(t, s):
    r = s.get(A.base + "/authorize", params={
        "client_id": RP, "response_type": "code", "scope": "openid", "redirect_uri": CB,
        "state": "s2", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", "prompt": "none"}, allow_redirects=False, timeout=10)
    t.eq(r.status_code, 302)
    t.eq(query(r.headers.get("Location", "")).get("error"), "login_required")


def claims_of(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def our_key():
    with open(glob.glob(os.path.join(A.state, "keys", "*.jwk"))[0]) as f:
        return jwk.JWK.from_json(f.read())


def forged(claims, typ="JWT"):
    key = our_key()
    t = jwt.JWT(header={"alg": "ES256", "typ": typ, "kid": json.loads(key.export_public())["kid"]},
                claims=claims)
    t.make_signed_token(key)
    return t.serialize()


def no_redirect(t, r, why=""):
    t.check("Location" not in r.headers, f"{why}: redirected to {r.headers.get('Location')}")
    t.check('http-equiv="refresh"' not in r.text, f"{why}: a refresh on the page")


def redirect_of(t, r):
    """Where the logout sends the browser: Location, or (with front-channel iframes to load
    first) the logged-out page's refresh and its continue link, which must agree."""
    if r.status_code in (302, 303):
        return r.headers.get("Location")
    t.eq(r.status_code, 200)
    m = re.search(r'http-equiv="refresh" content="2;url=([^"]*)"', r.text)
    link = re.search(r'<p><a href="([^"]*)"', r.text)
    t.require(m and link, f"no redirect on the page: {r.text[:300]}")
    t.eq(m.group(1), link.group(1))
    return html.unescape(m.group(1))


@test
def registered_post_logout_redirect_gets_state_and_ends_the_session(t):
    s, tk = fresh()
    r = end_session(s, id_token_hint=tk["id_token"], post_logout_redirect_uri=BYE_Q,
                    state="<xyz>&1")
    loc = redirect_of(t, r)
    t.check("<iframe" in r.text, "the front-channel frame must load before the redirect")
    t.check(loc.startswith(BYE_Q + "&"), loc)
    t.eq(query(loc), {"from": "authd", "state": "<xyz>&1"})
    t.check("authd_session=;" in r.headers.get("Set-Cookie", ""), r.headers.get("Set-Cookie"))
    login_required(t, s)
    ev = [e for e in A.log_events() if e.get("ev") == "logout"]
    t.check(ev and ev[-1]["result"] == "done" and ev[-1]["ended"] == 1, ev[-1:])


@test
def unregistered_or_altered_post_logout_uris_never_redirect(t):
    bad = ["http://127.0.0.1:8081.evil.example/", "//evil", "http://127.0.0.1:8082/",
           "http://127.0.0.1:8081/other", "http://127.0.0.1:8081", "https://127.0.0.1:8081/",
           "http://localhost:8081/", "http://127.0.0.1:8081/bye?from=evil",
           "http://127.0.0.1:8081/@evil.example", "javascript:alert(1)"]
    s, tk = fresh()
    for i, uri in enumerate(bad):
        r = end_session(s, id_token_hint=tk["id_token"], post_logout_redirect_uri=uri,
                        state="s")
        t.eq(r.status_code, 200, uri)
        no_redirect(t, r, uri)
        t.check("evil" not in r.text and "javascript" not in r.text, f"{uri} echoed")
        if i == 0:
            login_required(t, s)  # the first one logged out, without redirecting
    # client_id alone validates too; an unknown client never redirects
    r = end_session(A.session(), client_id=RP, post_logout_redirect_uri=BYE)
    t.eq((r.status_code, r.headers.get("Location")), (302, BYE), "no session: no frames")
    r = end_session(A.session(), client_id="demo-app", post_logout_redirect_uri=BYE)
    t.eq(r.status_code, 200)
    no_redirect(t, r, "another client's URI")
    r = end_session(A.session(), post_logout_redirect_uri=BYE)
    no_redirect(t, r, "no client")


@test
def without_a_hint_the_user_is_asked_and_the_post_needs_csrf(t):
    s, tk = fresh(1)
    r = end_session(s, client_id=RP, post_logout_redirect_uri=BYE, state="k")
    t.eq(r.status_code, 200)
    t.check('action="/end_session"' in r.text and 'name="confirm"' in r.text, r.text[:500])
    csrf = hidden(r.text, "csrf")
    t.check(csrf and len(csrf) == 64, csrf)
    t.check("frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", ""))
    t.check(logged_in(s), "asking must not log out")
    form = {"confirm": "1", "client_id": RP, "post_logout_redirect_uri": BYE, "state": "k"}
    r = end_session(s, "POST", **form)
    t.eq(r.status_code, 403, "no csrf")
    r = end_session(s, "POST", csrf="0" * 64, **form)
    t.eq(r.status_code, 403, "wrong csrf")
    other = A.session()  # another browser's token is useless here
    r2 = end_session(other, client_id=RP)
    r = end_session(s, "POST", csrf=hidden(r2.text, "csrf") or "x", **form)
    t.eq(r.status_code, 403, "csrf of another browser")
    t.check(logged_in(s), "a refused POST must not log out")
    r = end_session(s, "POST", csrf=csrf, **form)
    t.eq(redirect_of(t, r), BYE + "?state=k")
    login_required(t, s)


@test
def bad_hints_are_error_pages_without_logout_or_redirect(t):
    s, tk = fresh(2)
    idt = tk["id_token"]
    h, p, sig = idt.split(".")
    flipped = h + "." + p + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    c = claims_of(idt)
    cases = {
        "flipped signature": flipped,
        "alg none": base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode() + "."
        + p + ".",
        "garbage": "not.a.jwt",
        "access token": tk["access_token"],
        "unknown aud": forged(dict(c, aud="nobody")),
        "wrong iss": forged(dict(c, iss="http://evil.example")),
        "logout token typ": forged(c, typ="logout+jwt"),
    }
    for why, hint in cases.items():
        r = end_session(s, id_token_hint=hint, post_logout_redirect_uri=BYE_Q)
        t.eq(r.status_code, 400, why)
        no_redirect(t, r, why)
    r = end_session(s, id_token_hint=idt, client_id="demo-app", post_logout_redirect_uri=BYE_Q)
    t.eq(r.status_code, 400, "client_id does not match the hint")
    r = end_session(s, state="x" * 5000)
    t.eq(r.status_code, 400, "over-long state")
    r = s.get(A.base + "/end_session?state=a&state=b", allow_redirects=False, timeout=10)
    t.eq(r.status_code, 400, "repeated parameter")
    t.check(logged_in(s), "a bad request logged out")


@test
def an_expired_hint_still_logs_out(t):
    s, tk = fresh(3)
    c = claims_of(tk["id_token"])
    old = forged(dict(c, iat=c["iat"] - 7200, exp=c["iat"] - 3600))
    r = end_session(s, id_token_hint=old, post_logout_redirect_uri=BYE)
    t.eq(redirect_of(t, r), BYE)
    login_required(t, s)


@test
def logout_reaches_the_rp_by_back_channel_and_revokes_refresh_tokens(t):
    RCV.tokens.clear()
    s, tk = fresh(4)
    idc = claims_of(tk["id_token"])
    r = end_session(s, id_token_hint=tk["id_token"])
    t.eq(r.status_code, 200)
    frames = [l for l in r.text.splitlines() if "<iframe" in l]
    t.eq(len(frames), 1, r.text)
    src = frames[0].split('src="')[1].split('"')[0].replace("&amp;", "&")
    t.check(src.startswith(FC + "&"), src)
    t.eq(query(src).get("sid"), idc["sid"])
    t.eq(query(src).get("iss"), A.base)
    t.check("frame-src" in r.headers.get("Content-Security-Policy", ""))
    got = RCV.wait_sid(idc["sid"])
    t.require(got, "no back-channel logout arrived")
    t.eq(got["ctype"], "application/x-www-form-urlencoded")
    t.eq(got["ua"], "authd", "relying parties see the User-Agent they always saw")
    lc = verify_logout_token(A, got["token"], RP)
    t.eq(lc["sid"], idc["sid"])
    t.eq(lc["sub"], idc["sub"])
    r = A.post("/token", data={"grant_type": "refresh_token",
                               "refresh_token": tk["refresh_token"]}, auth=(RP, "x"))
    t.check(r.status_code in (400, 401), r.text)
    from rpkit import TEST_SECRET
    r = A.post("/token", data={"grant_type": "refresh_token",
                               "refresh_token": tk["refresh_token"]}, auth=(RP, TEST_SECRET))
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_grant"))
    ev = [e for e in A.log_events() if e.get("ev") == "logout.backchannel"]
    t.check(ev and ev[-1]["result"] == "delivered", ev[-1:])


@test
def another_citizens_login_in_the_browser_logs_the_first_one_out(t):
    """Issue 13 #4: citizen B logging in (prompt=login) where citizen A's session was must
    end A's session the way /end_session does: A's token families revoked, the RP told by
    back-channel. The same citizen logging in again keeps the tokens (nothing to end)."""
    from rpkit import TEST_SECRET
    RCV.tokens.clear()
    s, tka = fresh(1)
    # the same citizen again: a new session (new sid), the refresh token still works
    tka2 = tokens(A, s, CITIZENS[1], RP, CB, prompt="login")
    sid_a = claims_of(tka2["id_token"])["sid"]
    t.check(sid_a != claims_of(tka["id_token"])["sid"], "a login gives a new sid")
    r = A.post("/token", data={"grant_type": "refresh_token",
                               "refresh_token": tka["refresh_token"]}, auth=(RP, TEST_SECRET))
    t.eq(r.status_code, 200, r.text)
    tka = dict(tka, **r.json())
    s2, tkb = s, tokens(A, s, CITIZENS[2], RP, CB, prompt="login")
    t.check(claims_of(tkb["id_token"])["sub"] != claims_of(tka["id_token"])["sub"])
    for tk in (tka, tka2):  # both of A's families: the one from before the re-login too
        r = A.post("/token", data={"grant_type": "refresh_token",
                                   "refresh_token": tk["refresh_token"]},
                   auth=(RP, TEST_SECRET))
        t.eq((r.status_code, r.json().get("error")), (400, "invalid_grant"), "A's refresh token")
    r = A.post("/introspect", data={"token": tka["access_token"]}, auth=(RP, TEST_SECRET))
    t.eq(r.json().get("active"), False, "A's access token")
    r = A.post("/introspect", data={"token": tkb["access_token"]}, auth=(RP, TEST_SECRET))
    t.eq(r.json().get("active"), True, "B's access token")
    got = RCV.wait_sid(sid_a)
    t.require(got, "no back-channel logout for A's session")
    t.eq(verify_logout_token(A, got["token"], RP)["sid"], sid_a)
    t.check(logged_in(s2), "B's session must work")
    ev = [e for e in A.log_events() if e.get("ev") == "logout.replaced"]
    t.check(ev and ev[-1]["ended"] == 1, ev[-1:])


@test
def a_down_rp_gets_the_logout_once_it_is_back(t):
    RCV.tokens.clear()
    s, tk = fresh(5)
    RCV.stop()
    try:
        r = end_session(s, id_token_hint=tk["id_token"])
        t.eq(r.status_code, 200)
        end = time.monotonic() + 15
        while time.monotonic() < end and sum(
                1 for e in A.log_events() if e.get("ev") == "logout.backchannel"
                and e.get("result") == "failed; will retry") < 2:
            time.sleep(0.1)
        fails = [e for e in A.log_events() if e.get("ev") == "logout.backchannel"
                 and e.get("result") == "failed; will retry"]
        t.check(len(fails) >= 2, f"retries: {fails}")
    finally:
        RCV.start()
    got = RCV.wait_sid(claims_of(tk["id_token"])["sid"])
    t.require(got, "not delivered after the RP came back")
    verify_logout_token(A, got["token"], RP)


@test
def a_failing_rp_is_retried_until_it_answers_2xx(t):
    RCV.tokens.clear()
    RCV.mode = "fail"
    hits = RCV.hits
    try:
        s, tk = fresh(6)
        end_session(s, id_token_hint=tk["id_token"])
        end = time.monotonic() + 15
        while time.monotonic() < end and RCV.hits < hits + 2:
            time.sleep(0.05)
        t.check(RCV.hits >= hits + 2, "not retried after a 500")
    finally:
        RCV.mode = "ok"
    t.require(RCV.wait_sid(claims_of(tk["id_token"])["sid"]),
              "not delivered after the 500s stopped")


@test
def a_hanging_rp_does_not_slow_authd(t):
    RCV.tokens.clear()
    RCV.mode = "hang"
    RCV.release.clear()
    hits = RCV.hits
    try:
        s, tk = fresh(7)
        r = end_session(s, id_token_hint=tk["id_token"])
        t.eq(r.status_code, 200)
        end = time.monotonic() + 10
        while time.monotonic() < end and RCV.hits == hits:
            time.sleep(0.02)
        t.require(RCV.hits > hits, "the worker never called the RP")
        worst = 0.0
        for _ in range(20):  # while the worker waits on the hanging RP (3 s timeout)
            t0 = time.monotonic()
            t.eq(A.get("/healthz").status_code, 200)
            worst = max(worst, time.monotonic() - t0)
        s2, tk2 = fresh(8)  # a whole login and code exchange meanwhile
        t.check(worst < 1.0, f"/healthz took {worst:.3f} s while an RP hangs")
    finally:
        RCV.mode = "ok"
        RCV.release.set()
    t.require(RCV.wait_sid(claims_of(tk["id_token"])["sid"]),
              "not delivered after the RP stopped hanging")


@test
def pending_logouts_survive_an_authd_restart(t):
    with Redis() as rd:
        rcv = BCReceiver()  # down: nothing listens on its port yet
        a = Authd(population=300, conf=dict(FAST, store=rd.url()))
        a.setup()
        write_test_client(a, RP, CB, bc_uri=rcv.uri, post_logout=[BYE])
        a.start()
        try:
            s = a.session()
            tk = tokens(a, s, a.demo()["citizens"][0], RP, CB)
            r = s.get(a.base + "/end_session", params={"id_token_hint": tk["id_token"]},
                      allow_redirects=False, timeout=10)
            t.eq(r.status_code, 200)
            end = time.monotonic() + 10
            while time.monotonic() < end and not any(
                    e.get("result") == "failed; will retry" for e in a.log_events()):
                time.sleep(0.05)
            t.require(any(e.get("result") == "failed; will retry" for e in a.log_events()),
                      "no failed attempt before the restart")
            t.eq(a.stop(), 0)
            rcv.start()
            a.start()
            t.require(rcv.wait_tokens(1), "the logout was lost across the restart")
            lc = verify_logout_token(a, rcv.tokens[0]["token"], RP)
            t.eq(lc["sid"], claims_of(tk["id_token"])["sid"])
        finally:
            a.stop()
            rcv.stop()


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
        RCV.stop()
