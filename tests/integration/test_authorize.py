"""The authorization endpoint, the login and consent pages and the SSO session, followed by
hand with requests against a live daemon (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636,
RFC 8252 §7.3, RFC 9207)."""
import base64
import hashlib
import html
import os
import re
import secrets
import sys
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, free_port, run, test  # noqa: E402

STORE = os.environ.get("AUTHZ_TEST_STORE")  # e.g. a redis:// URL to run against Redis
A = Authd(population=1000, conf={"store": STORE} if STORE else None)
A.start()
DEMO = A.demo()
CITIZENS = DEMO["citizens"]
PORTAL_CB = "http://127.0.0.1:8081/oidc/callback"


def pkce():
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    return v, c


def app_cb(port=None):
    return f"http://127.0.0.1:{port or free_port()}/callback"


def params(client="demo-app", redirect=None, scope="openid profile", **extra):
    p = {"client_id": client, "response_type": "code", "scope": scope, "state": "st-123",
         "nonce": "n-456"}
    if redirect is not False:
        p["redirect_uri"] = redirect or (app_cb() if client == "demo-app" else PORTAL_CB)
    if "code_challenge" not in extra:
        p["code_challenge"] = pkce()[1]
        p["code_challenge_method"] = "S256"
    p.update({k: v for k, v in extra.items() if v is not None})
    return p


def authorize(s, **kw):
    return s.get(A.base + "/authorize", params=params(**kw), allow_redirects=False, timeout=10)


def query(loc):
    return {k: v[0] for k, v in parse_qs(urlsplit(loc).query, keep_blank_values=True).items()}


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    return html.unescape(m.group(1)) if m else None


def follow(s, r):
    """Follows one local redirect (to /login or /consent)."""
    return s.get(urljoin(A.base, r.headers["Location"]), allow_redirects=False, timeout=10)


def post_login(s, page, citizen=None, id_number=None, password=None, csrf=True):
    c = citizen or CITIZENS[0]
    data = {"authz": hidden(page.text, "authz"),
            "id_number": c["id_number"] if id_number is None else id_number,
            "password": c["password"] if password is None else password}
    if csrf:
        data["csrf"] = hidden(page.text, "csrf")
    return s.post(A.base + "/login", data=data, allow_redirects=False, timeout=10)


def login(t, s, citizen=None, **kw):
    """GET /authorize -> /login -> POST credentials; returns the final response."""
    r = authorize(s, **kw)
    t.require(r.status_code == 302 and r.headers["Location"].startswith("/login?authz="),
              f"expected the login page, got {r.status_code} {r.headers.get('Location')}")
    page = follow(s, r)
    t.require(page.status_code == 200, f"login page: {page.status_code}")
    return post_login(s, page, citizen)


def code_of(t, r, redirect_prefix):
    t.require(r.status_code in (302, 303), f"want a redirect, got {r.status_code}: {r.text[:300]}")
    loc = r.headers["Location"]
    t.require(loc.startswith(redirect_prefix), f"redirected to {loc}")
    q = query(loc)
    t.require("code" in q, f"no code in {loc}")
    return q


def error_of(t, r, redirect_prefix):
    t.require(r.status_code in (302, 303), f"want a redirect, got {r.status_code}: {r.text[:300]}")
    loc = r.headers["Location"]
    t.require(loc.startswith(redirect_prefix), f"redirected to {loc}")
    q = query(loc)
    t.check("code" not in q, f"a code came with an error: {loc}")
    return q


def approve(s, r):
    """Approves the consent page r leads to (r: a redirect to /consent?authz=...)."""
    page = follow(s, r)
    data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "action": "approve"}
    return s.post(A.base + "/consent", data=data, allow_redirects=False, timeout=10)


def approve_demo_app(citizen):
    """The public demo app gets no code without a user interaction until the citizen has
    approved it once (issue 13 #6): the tests below that log in to it start from that."""
    s = A.session()
    r = post_login(s, follow(s, authorize(s)), citizen)
    if r.headers.get("Location", "").startswith("/consent?"):
        r = approve(s, r)
    if "code=" not in r.headers.get("Location", ""):
        raise RuntimeError(f"approving demo-app: {r.status_code} {r.headers.get('Location')}")


for _c in CITIZENS[:4]:  # CITIZENS[4] stays without: public_client_needs_a_remembered_consent
    approve_demo_app(_c)


def html_headers_ok(t, r):
    csp = r.headers.get("Content-Security-Policy", "")
    t.check("frame-ancestors 'none'" in csp, f"CSP: {csp}")
    t.check("default-src 'none'" in csp, f"CSP: {csp}")
    t.eq(r.headers.get("X-Frame-Options"), "DENY")
    t.eq(r.headers.get("Referrer-Policy"), "no-referrer")
    t.check("no-store" in r.headers.get("Cache-Control", ""), r.headers.get("Cache-Control"))
    t.check(r.headers.get("Content-Type", "").startswith("text/html"))


@test
def code_flow_by_hand(t):
    s = A.session()
    cb = app_cb()
    r = authorize(s, redirect=cb)
    t.eq(r.status_code, 302)
    t.check("authd_bind=" in r.headers.get("Set-Cookie", ""))
    page = follow(s, r)
    t.eq(page.status_code, 200)
    html_headers_ok(t, page)
    t.check('name="csrf"' in page.text and 'for="id_number"' in page.text)
    t.check('href="/register?return_to=' in page.text)
    r = post_login(s, page)
    q = code_of(t, r, cb + "?")
    t.check(q["code"].startswith("s1.c1.") and len(q["code"]) > 200, q["code"][:20])  # a sealed grant
    t.eq(q["state"], "st-123")
    t.eq(q["iss"], A.base)
    cookie = r.headers.get("Set-Cookie", "")
    t.check(cookie.startswith("authd_session="), cookie)
    for attr in ("HttpOnly", "SameSite=Lax", "Path=/"):
        t.check(attr in cookie, f"{attr} missing: {cookie}")
    t.check("Secure" not in cookie, "Secure on plain http")
    ev = [e for e in A.log_events() if e.get("ev") == "account.login"]
    t.check(ev and ev[-1]["idn"].count("*") == 8, f"log: {ev[-1:]}")
    t.check(not any(CITIZENS[0]["id_number"] in l for l in A.log_lines()), "full ID number logged")


@test
def sso_second_client_gets_a_code_without_password(t):
    s = A.session()
    code_of(t, login(t, s, client="demo-portal", citizen=CITIZENS[1]), PORTAL_CB + "?")
    cb = app_cb()
    r = authorize(s, redirect=cb)
    q = code_of(t, r, cb + "?")
    t.eq(q["state"], "st-123")


@test
def prompt_none_without_session_is_login_required(t):
    s = A.session()
    r = authorize(s, prompt="none", redirect="http://127.0.0.1:4321/callback")
    q = error_of(t, r, "http://127.0.0.1:4321/callback?")
    t.eq(q["error"], "login_required")
    t.eq(q["state"], "st-123")
    t.eq(q["iss"], A.base)


@test
def prompt_none_with_session_gets_a_code(t):
    s = A.session()
    code_of(t, login(t, s, citizen=CITIZENS[2]), "http://127.0.0.1:")
    cb = app_cb()
    code_of(t, authorize(s, prompt="none", redirect=cb), cb)


@test
def public_client_needs_a_remembered_consent_for_silent_sso(t):
    """Issue 13 #6 (RFC 8252 8.6): any local process can claim a loopback redirect URI of a
    public client, so even a first-party public client gets a code without an interaction
    only once this citizen approved it (remembered consent); prompt=none before that is
    consent_required, and the consent page is shown."""
    s = A.session()
    cz = CITIZENS[4]
    code_of(t, login(t, s, client="demo-portal", citizen=cz), PORTAL_CB + "?")
    cb = app_cb()
    q = error_of(t, authorize(s, prompt="none", redirect=cb), cb + "?")
    t.eq(q["error"], "consent_required")
    t.eq(q["state"], "st-123")
    cb = app_cb()
    r = authorize(s, redirect=cb)
    t.require(r.headers.get("Location", "").startswith("/consent?"), r.headers.get("Location"))
    page = follow(s, r)
    t.eq(page.status_code, 200)
    t.check('name="action" value="approve"' in page.text, page.text[:300])
    r = authorize(s, redirect=cb)  # deny: access_denied, nothing remembered
    page = follow(s, r)
    r = s.post(A.base + "/consent", data={"authz": hidden(page.text, "authz"),
                                          "csrf": hidden(page.text, "csrf"), "action": "deny"},
               allow_redirects=False, timeout=10)
    t.eq(error_of(t, r, cb + "?")["error"], "access_denied")
    cb = app_cb()
    t.eq(error_of(t, authorize(s, prompt="none", redirect=cb), cb + "?")["error"],
         "consent_required")
    cb = app_cb()  # approve once: a code, and from then on silent SSO on any loopback port
    code_of(t, approve(s, authorize(s, redirect=cb)), cb + "?")
    cb = app_cb()
    code_of(t, authorize(s, prompt="none", redirect=cb), cb + "?")
    # the consent covers the approved scopes only; another citizen's does not count
    cb = app_cb()
    r = authorize(s, prompt="none", redirect=cb, scope="openid profile phone")
    t.eq(error_of(t, r, cb + "?")["error"], "consent_required")
    s2 = A.session()
    r = login(t, s2, citizen=CITIZENS[4], redirect=app_cb())
    t.check("code=" in r.headers.get("Location", ""), "the same citizen in another browser")


@test
def prompt_login_forces_the_form_and_a_new_session(t):
    s = A.session()
    r = login(t, s, citizen=CITIZENS[2])
    first = s.cookies.get("authd_session")
    r = authorize(s, prompt="login")
    t.check(r.headers["Location"].startswith("/login?"), r.headers.get("Location"))
    r = post_login(s, follow(s, r), CITIZENS[2])
    code_of(t, r, "http://127.0.0.1:")
    second = s.cookies.get("authd_session")
    t.check(first and second and first != second, "the session id must change at every login")


@test
def max_age_zero_forces_the_form(t):
    s = A.session()
    login(t, s, citizen=CITIZENS[3])
    r = authorize(s, max_age="0")
    t.check(r.headers["Location"].startswith("/login?"), r.headers.get("Location"))
    code_of(t, post_login(s, follow(s, r), CITIZENS[3]), "http://127.0.0.1:")
    cb = app_cb()
    code_of(t, authorize(s, max_age="3600", redirect=cb), cb)


@test
def higher_acr_is_not_silently_accepted(t):
    s = A.session()
    login(t, s, citizen=CITIZENS[3])
    cb = app_cb()
    code_of(t, authorize(s, redirect=cb, acr_values="urn:authd:acr:ial3:aal1"), cb)
    # aal2 is a step-up through a second factor (test_mfa.py); ial4 and aal3 no login gives
    r = authorize(s, redirect=cb, acr_values="urn:authd:acr:ial3:aal2")
    t.check(r.headers.get("Location", "").startswith("/login?authz=")
            and "authn=totp" in r.headers["Location"], r.headers.get("Location"))
    for extra in ({"acr_values": "urn:authd:acr:ial4:aal1"},
                  {"claims": '{"id_token":{"acr":{"essential":true,'
                             '"values":["urn:authd:acr:ial3:aal3"]}}}'}):
        q = error_of(t, authorize(s, redirect=cb, **extra), cb + "?")
        t.eq(q["error"], "unmet_authentication_requirements", str(extra))
    q = error_of(t, authorize(s, redirect=cb, claims='{"id_token":{"acr":{"essential":true,'
                                                    '"values":["urn:other:gold"]}}}'), cb + "?")
    t.eq(q["error"], "unmet_authentication_requirements")
    # a voluntary list falls back to a value a password can give
    code_of(t, authorize(s, redirect=cb, acr_values="urn:authd:acr:ial4:aal1 "
                         "urn:authd:acr:ial3:aal1"), cb)
    # no session at all and an unreachable level: an error, not a login loop
    q = error_of(t, authorize(A.session(), redirect=cb, acr_values="urn:authd:acr:ial3:aal3"),
                 cb + "?")
    t.eq(q["error"], "unmet_authentication_requirements")


@test
def bad_redirect_uri_gets_an_error_page_and_no_redirect(t):
    s = A.session()
    bad = [
        ("demo-app", "http://127.0.0.1:5555/callback/evil"),
        ("demo-app", "http://127.0.0.1:5555/callbac"),
        ("demo-app", "http://127.0.0.1:5555/callback?x=1"),
        ("demo-app", "http://localhost:5555/callback"),
        ("demo-app", "https://127.0.0.1:5555/callback"),
        ("demo-app", "http://127.0.0.1.evil.example/callback"),
        ("demo-app", "http://evil.example/callback"),
        ("demo-portal", "http://127.0.0.1:8082/oidc/callback"),  # confidential: exact port
        ("demo-portal", "http://127.0.0.1:8081/oidc/callback#x"),
        ("demo-portal", False),  # two registered: required
        ("nobody", "http://127.0.0.1:5555/callback"),
    ]
    for client, uri in bad:
        r = authorize(s, client=client, redirect=uri)
        t.eq(r.status_code, 400, f"{client} {uri}")
        t.check("Location" not in r.headers, f"{client} {uri}: redirected to "
                f"{r.headers.get('Location')}")
        html_headers_ok(t, r)
    r = s.get(A.base + "/authorize", allow_redirects=False, timeout=10)
    t.eq(r.status_code, 400)
    t.check("Location" not in r.headers)


@test
def errors_after_the_redirect_uri_go_to_the_client(t):
    s = A.session()
    cb = app_cb()
    cases = [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"scope": "openid\tprofile"}, "invalid_scope"),  # malformed (unknown values are
        # ignored and unregistered ones left out: test_scope.py)
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "-5"}, "invalid_request"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"response_mode": "fragment"}, "invalid_request"),
    ]
    for extra, err in cases:
        q = error_of(t, authorize(s, redirect=cb, **extra), cb + "?")
        t.eq(q.get("error"), err, str(extra))
        t.eq(q.get("state"), "st-123", str(extra))
        t.eq(q.get("iss"), A.base, str(extra))
    # a repeated parameter: invalid_request, still sent to the validated redirect URI
    raw = urlencode(params(redirect=cb)) + "&scope=openid"
    r = s.get(A.base + "/authorize?" + raw, allow_redirects=False, timeout=10)
    t.eq(error_of(t, r, cb + "?").get("error"), "invalid_request")


@test
def pkce_plain_and_missing_are_refused(t):
    s = A.session()
    cb = app_cb()
    v, c = pkce()
    for extra in ({"code_challenge": c, "code_challenge_method": "plain"},
                  {"code_challenge": c, "code_challenge_method": None},
                  {"code_challenge": "short", "code_challenge_method": "S256"},
                  {"code_challenge": c[:-1] + "+", "code_challenge_method": "S256"}):
        p = params(redirect=cb)
        p.pop("code_challenge_method")
        p.update({k: v for k, v in extra.items() if v is not None})
        r = s.get(A.base + "/authorize", params=p, allow_redirects=False, timeout=10)
        t.eq(error_of(t, r, cb + "?").get("error"), "invalid_request", str(extra))
    # the public client without PKCE
    p = params(redirect=cb)
    del p["code_challenge"], p["code_challenge_method"]
    r = s.get(A.base + "/authorize", params=p, allow_redirects=False, timeout=10)
    q = error_of(t, r, cb + "?")
    t.eq(q.get("error"), "invalid_request")
    t.check("code_challenge" in q.get("error_description", ""))
    # the confidential portal too: pkce_required is the default
    p = params(client="demo-portal")
    del p["code_challenge"], p["code_challenge_method"]
    r = s.get(A.base + "/authorize", params=p, allow_redirects=False, timeout=10)
    t.eq(error_of(t, r, PORTAL_CB + "?").get("error"), "invalid_request")


@test
def login_post_without_csrf_is_refused(t):
    s = A.session()
    page = follow(s, authorize(s))
    r = post_login(s, page, CITIZENS[0], csrf=False)
    t.eq(r.status_code, 403)
    t.check("authd_session" not in r.headers.get("Set-Cookie", ""))
    t.check("Location" not in r.headers)
    html_headers_ok(t, r)
    # a token from another browser (another binding cookie) is no good either
    other = A.session()
    other_page = follow(other, authorize(other))
    data = {"authz": hidden(page.text, "authz"), "csrf": hidden(other_page.text, "csrf"),
            "id_number": CITIZENS[0]["id_number"], "password": CITIZENS[0]["password"]}
    r = s.post(A.base + "/login", data=data, allow_redirects=False, timeout=10)
    t.eq(r.status_code, 403)
    # and the pending request itself is fine: the right token works
    code_of(t, post_login(s, page, CITIZENS[0]), "http://127.0.0.1:")


@test
def script_comes_back_escaped(t):
    s = A.session()
    evil = '<script>alert(1)</script>"\''
    cb = app_cb()
    r = authorize(s, redirect=cb, state=evil, login_hint=evil)
    page = follow(s, r)
    t.check("<script>alert" not in page.text, "login_hint not escaped")
    t.check("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;" in page.text
            or "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;" in page.text, page.text[:2000])
    r = post_login(s, page, id_number=evil, password="x")
    t.check(r.status_code in (400, 401), r.status_code)
    t.check("<script>alert" not in r.text, "id_number not escaped")
    t.check("&lt;script&gt;" in r.text)
    r = post_login(s, r, CITIZENS[0])
    q = code_of(t, r, cb + "?")
    t.eq(q["state"], evil)  # percent-encoded on the wire, intact for the client
    t.check("<" not in r.headers["Location"])


@test
def wrong_password_and_unknown_number_look_the_same(t):
    s = A.session()
    page = follow(s, authorize(s))
    r1 = post_login(s, page, CITIZENS[4], password="Wrong-pass-2026")
    page = follow(s, authorize(s))
    unknown = "11010519491231002X"  # valid, not registered
    r2 = post_login(s, page, id_number=unknown, password="Wrong-pass-2026")
    t.eq(r1.status_code, r2.status_code)
    m1 = re.search(r'role="alert"[^>]*>([^<]*)<', r1.text)
    m2 = re.search(r'role="alert"[^>]*>([^<]*)<', r2.text)
    t.require(m1 and m2, "no message")
    t.eq(m1.group(1), m2.group(1))
    t.eq(m1.group(1), "身份号码或密码不正确")
    t.check("authd_session" not in r1.headers.get("Set-Cookie", ""))
    html_headers_ok(t, r1)


@test
def consent_for_id_number_is_explicit_and_remembered(t):
    s = A.session()
    r = login(t, s, client="demo-portal", citizen=CITIZENS[1], scope="openid profile id_number")
    t.require(r.headers.get("Location", "").startswith("/consent?"), r.headers.get("Location"))
    page = follow(s, r)
    t.eq(page.status_code, 200)
    html_headers_ok(t, page)
    t.check("share_id_number" in page.text and "姓名" in page.text)
    # deny: access_denied to the client
    data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "action": "deny"}
    r = s.post(A.base + "/consent", data=data, allow_redirects=False, timeout=10)
    t.eq(error_of(t, r, PORTAL_CB + "?")["error"], "access_denied")
    # without the CSRF token: refused
    r = authorize(s, client="demo-portal", scope="openid profile id_number")
    page = follow(s, r)
    r = s.post(A.base + "/consent", data={"authz": hidden(page.text, "authz"),
                                          "action": "approve", "share_id_number": "1"},
               allow_redirects=False, timeout=10)
    t.eq(r.status_code, 403)
    # approve with the checkbox: a code, and next time no page
    data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "action": "approve", "share_id_number": "1"}
    r = s.post(A.base + "/consent", data=data, allow_redirects=False, timeout=10)
    code_of(t, r, PORTAL_CB + "?")
    code_of(t, authorize(s, client="demo-portal", scope="openid profile id_number"), PORTAL_CB)
    # prompt=consent asks again; prompt=none cannot
    r = authorize(s, client="demo-portal", prompt="consent")
    t.check(r.headers.get("Location", "").startswith("/consent?"), r.headers.get("Location"))
    s2 = A.session()
    code_of(t, login(t, s2, client="demo-portal", citizen=CITIZENS[2]), PORTAL_CB)
    r = authorize(s2, client="demo-portal", scope="openid id_number", prompt="none")
    t.eq(error_of(t, r, PORTAL_CB + "?")["error"], "consent_required")


@test
def pages_follow_the_language(t):
    s = A.session()
    page = follow(s, authorize(s, ui_locales="en-US zh-CN"))
    t.check('<html lang="en">' in page.text and "Sign in" in page.text)
    page = follow(s, authorize(s))
    t.check('<html lang="zh-CN">' in page.text and "登录" in page.text)
    m = re.search(r'href="(/login\?authz=[^"]*lang=en)"', page.text)
    t.require(m, "no language switch")
    r = s.get(A.base + html.unescape(m.group(1)), timeout=10)
    t.check("Sign in" in r.text)
    r = s.get(A.base + "/authorize", headers={"Accept-Language": "en;q=0.9"},
              allow_redirects=False, timeout=10)
    t.check("Something went wrong" in r.text or "Sign-in cannot continue" in r.text, r.text[:500])


@test
def expired_or_unknown_pending_request_is_an_error_page(t):
    s = A.session()
    for path in ("/login?authz=nope", "/login", "/consent?authz=" + "A" * 43):
        r = s.get(A.base + path, allow_redirects=False, timeout=10)
        t.eq(r.status_code, 400, path)
        html_headers_ok(t, r)
    r = s.post(A.base + "/login", data={"authz": "A" * 43, "csrf": "x", "id_number": "1",
                                        "password": "p"}, allow_redirects=False, timeout=10)
    t.eq(r.status_code, 400)


try:
    run()
finally:
    A.stop()
