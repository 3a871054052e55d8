"""Pins the exact answer of each refusal of the browser endpoints, /authorize, /login,
/consent and /end_session: status, the error page's message in both languages, the
redirect (path and query parameters: error, error_description, state, iss) and Retry-After.
The error vocabulary (util/rc.h reasons, one table per endpoint) must render them
unchanged. AUTHD_ERRORS_DUMP=1 prints the answers."""
import base64
import hashlib
import html
import json
import os
import re
import secrets
import sys
from urllib.parse import parse_qs, urljoin, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, free_port, run, test  # noqa: E402
from rpkit import tokens, write_test_client  # noqa: E402

DUMP = os.environ.get("AUTHD_ERRORS_DUMP")
LANGS = ("en", "zh-CN")
RP = "test-rp"
RP_CB = f"http://127.0.0.1:{free_port()}/cb"
BYE = "http://127.0.0.1:8081/"
APP_CB = "http://127.0.0.1:5555/callback"
PORTAL_CB = "http://127.0.0.1:8081/oidc/callback"

A = Authd(population=500, conf={"rate_authorize_per_ip": "1000000"})
A.setup()
write_test_client(A, RP, RP_CB, post_logout=[BYE])
A.start()
CITIZENS = A.demo()["citizens"]
B = Authd(population=50, conf={"rate_authorize_per_ip": "1", "rate_end_session_per_ip": "1"})
B.start()


def answer(r):
    """[status, where it redirects (path, sorted query) or the page's message, Retry-After]."""
    loc = r.headers.get("Location")
    if loc:
        u = urlsplit(loc)
        q = sorted((k, "ISSUER" if k == "iss" and v[0] == A.base else v[0])
                   for k, v in parse_qs(u.query, keep_blank_values=True).items()
                   if k not in ("authz", "code"))
        return [r.status_code, f"{u.scheme}://{u.netloc}{u.path}" if u.netloc else u.path, q,
                r.headers.get("Retry-After")]
    m = re.search(r'role="alert"[^>]*>([^<]*)<', r.text)
    return [r.status_code, html.unescape(m.group(1)) if m else None,
            r.headers.get("Content-Type"), r.headers.get("Retry-After")]


def pin(t, name, r):
    got = answer(r)
    if DUMP:
        print(f"    {name!r}: {got!r},")
    t.eq(got, WANT.get(name), name)


def pkce():
    v = secrets.token_urlsafe(48)
    return base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()


def params(client="demo-app", redirect=APP_CB, **extra):
    p = {"client_id": client, "response_type": "code", "scope": "openid profile",
         "state": "st-1", "nonce": "n-1", "code_challenge": pkce(),
         "code_challenge_method": "S256"}
    if redirect:
        p["redirect_uri"] = redirect
    p.update(extra)
    return {k: v for k, v in p.items() if v is not None}


def get(s, path, lang, **kw):
    return s.get(A.base + path, allow_redirects=False, timeout=10,
                 headers={"Accept-Language": lang}, **kw)


def post(s, path, lang, data):
    return s.post(A.base + path, data=data, allow_redirects=False, timeout=10,
                  headers={"Accept-Language": lang})


def hidden(text, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, text)
    return html.unescape(m.group(1)) if m else None


def login_page(s, lang, **kw):
    r = get(s, "/authorize", lang, params=params(**kw))
    return get(s, urlsplit(urljoin(A.base, r.headers["Location"])).path + "?"
               + urlsplit(r.headers["Location"]).query, lang)


def login_post(s, lang, page, citizen=0, **over):
    c = CITIZENS[citizen]
    data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "id_number": c["id_number"], "password": c["password"]}
    data.update(over)
    return post(s, "/login", lang, {k: v for k, v in data.items() if v is not None})


AUTHORIZE = {
    "no parameters": {},
    "unknown client": params(client="nobody"),
    "bad redirect_uri": params(redirect="http://evil.example/callback"),
    "redirect_uri required": params(client="demo-portal", redirect=None),
    "response_type token": params(response_type="token"),
    "response_type missing": params(response_type=None),
    "scope without openid": params(scope="profile"),
    "scope malformed": params(scope="openid\tprofile"),
    "prompt none login": params(prompt="none login"),
    "max_age negative": params(max_age="-5"),
    "claims not json": params(claims="{not json"),
    "request object": params(request="eyJhbGciOiJub25lIn0.e30."),
    "response_mode fragment": params(response_mode="fragment"),
    "pkce plain": params(code_challenge_method="plain"),
    "pkce missing": params(code_challenge=None, code_challenge_method=None),
    "pkce short": params(code_challenge="short"),
    "login_required": params(prompt="none"),
    "state oversize": params(state="s" * 5000),
    "nonce oversize": params(nonce="n" * 5000),
    "login_hint oversize": params(login_hint="h" * 5000),
}


@test
def authorize_refusals_are_unchanged(t):
    s = A.session()
    for lang in LANGS:
        for name, p in AUTHORIZE.items():
            pin(t, f"authorize {lang} {name}", get(s, "/authorize", lang, params=p))
        r = get(s, "/authorize?" + "&".join(f"{k}={v}" for k, v in params().items())
                + "&scope=openid", lang)
        pin(t, f"authorize {lang} repeated scope", r)


@test
def session_dependent_authorize_refusals_are_unchanged(t):
    for lang in LANGS:
        s = A.session()
        r = login_post(s, lang, login_page(s, lang), citizen=4)  # demo-app: asks consent
        t.eq(r.status_code, 303, "login")
        pin(t, f"authorize {lang} consent_required", get(
            s, "/authorize", lang, params=params(prompt="none")))
        pin(t, f"authorize {lang} unmet acr", get(
            s, "/authorize", lang, params=params(prompt="none",
                                                 acr_values="urn:authd:acr:ial5:aal3")))


@test
def login_refusals_are_unchanged(t):
    for lang in LANGS:
        s = A.session()
        page = login_page(s, lang)
        pin(t, f"login {lang} wrong password", login_post(s, lang, page, password="Wrong-9x"))
        pin(t, f"login {lang} malformed id", login_post(s, lang, page, id_number="123"))
        pin(t, f"login {lang} bad check digit", login_post(
            s, lang, page, id_number=CITIZENS[0]["id_number"][:17]
            + ("0" if CITIZENS[0]["id_number"][17] != "0" else "1")))
        pin(t, f"login {lang} no csrf", login_post(s, lang, page, csrf=None))
        pin(t, f"login {lang} wrong csrf", login_post(s, lang, page, csrf="0" * 64))
        pin(t, f"login {lang} unknown pending GET", get(s, "/login?authz=" + "A" * 43, lang))
        pin(t, f"login {lang} no pending GET", get(s, "/login", lang))
        pin(t, f"login {lang} unknown pending POST", post(s, "/login", lang, {
            "authz": "A" * 43, "csrf": "x", "id_number": "1", "password": "p"}))
    # throttled: lockout_failures (5) wrong passwords for one number from one address: the
    # address waits 2 s (docs/security.md, "Lockout and throttling"); the pages are fetched
    # first so that the answers pinned come within the first half second of the wait
    s = A.session()
    pages = [login_page(s, "en") for _ in range(6)]
    zh = login_page(s, "zh-CN")
    for i, page in enumerate(pages):
        r = login_post(s, "en", page, citizen=3, password=f"Wrong-{i}x")
    pin(t, "login en locked", r)
    pin(t, "login zh-CN locked", login_post(s, "zh-CN", zh, citizen=3))


@test
def consent_refusals_are_unchanged(t):
    for lang in LANGS:
        s = A.session()
        r = login_post(s, lang, login_page(s, lang), citizen=4)
        t.require(r.headers.get("Location", "").startswith("/consent?"), r.headers)
        page = get(s, r.headers["Location"], lang)
        data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf")}
        pin(t, f"consent {lang} no csrf", post(s, "/consent", lang,
                                               {"authz": data["authz"], "action": "approve"}))
        pin(t, f"consent {lang} wrong csrf", post(s, "/consent", lang,
                                                  dict(data, csrf="0" * 64, action="approve")))
        pin(t, f"consent {lang} unknown pending", get(s, "/consent?authz=" + "A" * 43, lang))
        pin(t, f"consent {lang} deny", post(s, "/consent", lang, dict(data, action="deny")))


@test
def rate_limited_pages_are_unchanged(t):
    for path in ("/authorize", "/end_session"):
        for lang in LANGS:
            s = B.session()
            for _ in range(3):
                r = s.get(B.base + path, allow_redirects=False, timeout=10,
                          headers={"Accept-Language": lang})
            pin(t, f"rate {lang} {path}", r)


def forged_hint(tok):
    h, p, sig = tok.split(".")
    return h + "." + p + "." + ("A" if sig[0] != "A" else "B") + sig[1:]


@test
def end_session_refusals_are_unchanged(t):
    for lang in LANGS:
        s = A.session()
        tk = tokens(A, s, CITIZENS[1], RP, RP_CB)
        idt = tk["id_token"]
        cases = {
            "bad hint": {"id_token_hint": forged_hint(idt), "post_logout_redirect_uri": BYE},
            "garbage hint": {"id_token_hint": "not.a.jwt"},
            "unknown client_id": {"client_id": "nobody"},
            "client_id mismatch": {"id_token_hint": idt, "client_id": "demo-app"},
            "state oversize": {"state": "x" * 5000},
            "confirm not 1": {"confirm": "2"},
            "unregistered redirect no session": {"client_id": RP,
                                                 "post_logout_redirect_uri": BYE + "x"},
            "registered redirect no session": {"client_id": RP,
                                               "post_logout_redirect_uri": BYE, "state": "k"},
        }
        for name, p in cases.items():
            pin(t, f"end_session {lang} {name}",
                get(A.session() if "no session" in name else s, "/end_session", lang, params=p))
        pin(t, f"end_session {lang} repeated", get(s, "/end_session?state=a&state=b", lang))
        form = {"confirm": "1", "client_id": RP, "post_logout_redirect_uri": BYE}
        pin(t, f"end_session {lang} no csrf", post(s, "/end_session", lang, form))
        pin(t, f"end_session {lang} wrong csrf", post(s, "/end_session", lang,
                                                      dict(form, csrf="0" * 64)))
        pin(t, f"end_session {lang} unregistered redirect", get(
            s, "/end_session", lang, params={"id_token_hint": idt,
                                             "post_logout_redirect_uri": BYE + "x"}))


WANT = {
    'authorize en no parameters': [400, 'client_id: missing', 'text/html; charset=utf-8', None],
    'authorize en unknown client': [400, 'client_id: unknown client', 'text/html; charset=utf-8', None],
    'authorize en bad redirect_uri': [400, 'redirect_uri: not registered for this client', 'text/html; charset=utf-8', None],
    'authorize en redirect_uri required': [400, 'redirect_uri: missing', 'text/html; charset=utf-8', None],
    'authorize en response_type token': [302, 'http://127.0.0.1:5555/callback', [('error', 'unsupported_response_type'), ('error_description', 'response_type: only code is supported'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en response_type missing': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'response_type: missing'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en scope without openid': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_scope'), ('error_description', 'scope: openid is required'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en scope malformed': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_scope'), ('error_description', 'scope: malformed'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en prompt none login': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'prompt: none cannot be combined with other values'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en max_age negative': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'max_age: not a number of seconds'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en claims not json': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'claims: not a valid claims request'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en request object': [302, 'http://127.0.0.1:5555/callback', [('error', 'request_not_supported'), ('error_description', 'request: not supported'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en response_mode fragment': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'response_mode: only query is supported'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en pkce plain': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'code_challenge_method: only S256 is supported'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en pkce missing': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'code_challenge: required (PKCE S256)'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en pkce short': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'code_challenge: 43-128 unreserved characters'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en login_required': [302, 'http://127.0.0.1:5555/callback', [('error', 'login_required'), ('error_description', 'no usable login session'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en state oversize': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'state: longer than 512 bytes'), ('iss', 'ISSUER')], None],
    'authorize en nonce oversize': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'nonce: longer than 256 bytes'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en login_hint oversize': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'login_hint: longer than 256 bytes'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en repeated scope': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'a parameter is repeated or malformed'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN no parameters': [400, 'client_id: missing', 'text/html; charset=utf-8', None],
    'authorize zh-CN unknown client': [400, 'client_id: unknown client', 'text/html; charset=utf-8', None],
    'authorize zh-CN bad redirect_uri': [400, 'redirect_uri: not registered for this client', 'text/html; charset=utf-8', None],
    'authorize zh-CN redirect_uri required': [400, 'redirect_uri: missing', 'text/html; charset=utf-8', None],
    'authorize zh-CN response_type token': [302, 'http://127.0.0.1:5555/callback', [('error', 'unsupported_response_type'), ('error_description', 'response_type: only code is supported'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN response_type missing': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'response_type: missing'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN scope without openid': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_scope'), ('error_description', 'scope: openid is required'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN scope malformed': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_scope'), ('error_description', 'scope: malformed'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN prompt none login': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'prompt: none cannot be combined with other values'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN max_age negative': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'max_age: not a number of seconds'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN claims not json': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'claims: not a valid claims request'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN request object': [302, 'http://127.0.0.1:5555/callback', [('error', 'request_not_supported'), ('error_description', 'request: not supported'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN response_mode fragment': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'response_mode: only query is supported'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN pkce plain': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'code_challenge_method: only S256 is supported'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN pkce missing': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'code_challenge: required (PKCE S256)'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN pkce short': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'code_challenge: 43-128 unreserved characters'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN login_required': [302, 'http://127.0.0.1:5555/callback', [('error', 'login_required'), ('error_description', 'no usable login session'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN state oversize': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'state: longer than 512 bytes'), ('iss', 'ISSUER')], None],
    'authorize zh-CN nonce oversize': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'nonce: longer than 256 bytes'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN login_hint oversize': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'login_hint: longer than 256 bytes'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN repeated scope': [302, 'http://127.0.0.1:5555/callback', [('error', 'invalid_request'), ('error_description', 'a parameter is repeated or malformed'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en consent_required': [302, 'http://127.0.0.1:5555/callback', [('error', 'consent_required'), ('error_description', 'consent is needed'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize en unmet acr': [302, 'http://127.0.0.1:5555/callback', [('error', 'unmet_authentication_requirements'), ('error_description', 'the required level of assurance cannot be reached with a password login'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN consent_required': [302, 'http://127.0.0.1:5555/callback', [('error', 'consent_required'), ('error_description', 'consent is needed'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'authorize zh-CN unmet acr': [302, 'http://127.0.0.1:5555/callback', [('error', 'unmet_authentication_requirements'), ('error_description', 'the required level of assurance cannot be reached with a password login'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'login en wrong password': [401, 'ID number or password incorrect', 'text/html; charset=utf-8', None],
    'login en malformed id': [401, 'ID number or password incorrect', 'text/html; charset=utf-8', None],
    'login en bad check digit': [401, 'ID number or password incorrect', 'text/html; charset=utf-8', None],
    'login en no csrf': [403, 'The form is no longer valid; please start again from the application (cookies must be enabled)', 'text/html; charset=utf-8', None],
    'login en wrong csrf': [403, 'The form is no longer valid; please start again from the application (cookies must be enabled)', 'text/html; charset=utf-8', None],
    'login en unknown pending GET': [400, 'This sign-in request has expired; please start again from the application', 'text/html; charset=utf-8', None],
    'login en no pending GET': [400, 'This sign-in request has expired; please start again from the application', 'text/html; charset=utf-8', None],
    'login en unknown pending POST': [400, 'This sign-in request has expired; please start again from the application', 'text/html; charset=utf-8', None],
    'login zh-CN wrong password': [401, '身份号码或密码不正确', 'text/html; charset=utf-8', None],
    'login zh-CN malformed id': [401, '身份号码或密码不正确', 'text/html; charset=utf-8', None],
    'login zh-CN bad check digit': [401, '身份号码或密码不正确', 'text/html; charset=utf-8', None],
    'login zh-CN no csrf': [403, '表单已失效，请回到应用重新发起登录（需要启用 Cookie）', 'text/html; charset=utf-8', None],
    'login zh-CN wrong csrf': [403, '表单已失效，请回到应用重新发起登录（需要启用 Cookie）', 'text/html; charset=utf-8', None],
    'login zh-CN unknown pending GET': [400, '登录请求已过期，请回到应用重新发起登录', 'text/html; charset=utf-8', None],
    'login zh-CN no pending GET': [400, '登录请求已过期，请回到应用重新发起登录', 'text/html; charset=utf-8', None],
    'login zh-CN unknown pending POST': [400, '登录请求已过期，请回到应用重新发起登录', 'text/html; charset=utf-8', None],
    'login en locked': [429, 'Too many attempts; please try again later (Try again in 2 seconds)', 'text/html; charset=utf-8', '2'],
    'login zh-CN locked': [429, '尝试次数过多，请稍后再试 (请在 2 秒后重试)', 'text/html; charset=utf-8', '2'],
    'consent en no csrf': [403, 'The form is no longer valid; please start again from the application (cookies must be enabled)', 'text/html; charset=utf-8', None],
    'consent en wrong csrf': [403, 'The form is no longer valid; please start again from the application (cookies must be enabled)', 'text/html; charset=utf-8', None],
    'consent en unknown pending': [400, 'This sign-in request has expired; please start again from the application', 'text/html; charset=utf-8', None],
    'consent en deny': [303, 'http://127.0.0.1:5555/callback', [('error', 'access_denied'), ('error_description', 'the citizen declined'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'consent zh-CN no csrf': [403, '表单已失效，请回到应用重新发起登录（需要启用 Cookie）', 'text/html; charset=utf-8', None],
    'consent zh-CN wrong csrf': [403, '表单已失效，请回到应用重新发起登录（需要启用 Cookie）', 'text/html; charset=utf-8', None],
    'consent zh-CN unknown pending': [400, '登录请求已过期，请回到应用重新发起登录', 'text/html; charset=utf-8', None],
    'consent zh-CN deny': [303, 'http://127.0.0.1:5555/callback', [('error', 'access_denied'), ('error_description', 'the citizen declined'), ('iss', 'ISSUER'), ('state', 'st-1')], None],
    'rate en /authorize': [429, 'Too many attempts; please try again later', 'text/html; charset=utf-8', '60'],
    'rate zh-CN /authorize': [429, '尝试次数过多，请稍后再试', 'text/html; charset=utf-8', '60'],
    'rate en /end_session': [429, 'Too many attempts; please try again later', 'text/html; charset=utf-8', '60'],
    'rate zh-CN /end_session': [429, '尝试次数过多，请稍后再试', 'text/html; charset=utf-8', '60'],
    'end_session en bad hint': [400, 'This sign-out request is not valid; please go back to the application and try again', 'text/html; charset=utf-8', None],
    'end_session en garbage hint': [400, 'This sign-out request is not valid; please go back to the application and try again', 'text/html; charset=utf-8', None],
    'end_session en unknown client_id': [400, 'This sign-out request is not valid; please go back to the application and try again', 'text/html; charset=utf-8', None],
    'end_session en client_id mismatch': [400, 'This sign-out request is not valid; please go back to the application and try again', 'text/html; charset=utf-8', None],
    'end_session en state oversize': [400, 'This sign-out request is not valid; please go back to the application and try again', 'text/html; charset=utf-8', None],
    'end_session en confirm not 1': [400, 'This sign-out request is not valid; please go back to the application and try again', 'text/html; charset=utf-8', None],
    'end_session en unregistered redirect no session': [200, None, 'text/html; charset=utf-8', None],
    'end_session en registered redirect no session': [302, 'http://127.0.0.1:8081/', [('state', 'k')], None],
    'end_session en repeated': [400, 'This sign-out request is not valid; please go back to the application and try again', 'text/html; charset=utf-8', None],
    'end_session en no csrf': [403, 'The form is no longer valid; please sign out again (cookies must be enabled)', 'text/html; charset=utf-8', None],
    'end_session en wrong csrf': [403, 'The form is no longer valid; please sign out again (cookies must be enabled)', 'text/html; charset=utf-8', None],
    'end_session en unregistered redirect': [200, None, 'text/html; charset=utf-8', None],
    'end_session zh-CN bad hint': [400, '退出登录请求无效，请回到应用重试', 'text/html; charset=utf-8', None],
    'end_session zh-CN garbage hint': [400, '退出登录请求无效，请回到应用重试', 'text/html; charset=utf-8', None],
    'end_session zh-CN unknown client_id': [400, '退出登录请求无效，请回到应用重试', 'text/html; charset=utf-8', None],
    'end_session zh-CN client_id mismatch': [400, '退出登录请求无效，请回到应用重试', 'text/html; charset=utf-8', None],
    'end_session zh-CN state oversize': [400, '退出登录请求无效，请回到应用重试', 'text/html; charset=utf-8', None],
    'end_session zh-CN confirm not 1': [400, '退出登录请求无效，请回到应用重试', 'text/html; charset=utf-8', None],
    'end_session zh-CN unregistered redirect no session': [200, None, 'text/html; charset=utf-8', None],
    'end_session zh-CN registered redirect no session': [302, 'http://127.0.0.1:8081/', [('state', 'k')], None],
    'end_session zh-CN repeated': [400, '退出登录请求无效，请回到应用重试', 'text/html; charset=utf-8', None],
    'end_session zh-CN no csrf': [403, '表单已失效，请重新发起退出登录（需要启用 Cookie）', 'text/html; charset=utf-8', None],
    'end_session zh-CN wrong csrf': [403, '表单已失效，请重新发起退出登录（需要启用 Cookie）', 'text/html; charset=utf-8', None],
    'end_session zh-CN unregistered redirect': [200, None, 'text/html; charset=utf-8', None],
}


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
        B.stop()
