"""Interoperability with real third-party relying parties from Debian (issue 5, item 9 and
the first "must show" bullet): Apache httpd + libapache2-mod-auth-openidc protecting a page
as a confidential portal, and Python authlib as a second, public client. One login at authd
serves both (SSO); their ID and access tokens verify independently with jwcrypto against
/jwks; RP-initiated logout at one reaches the other by back-channel logout, both ways.
The portal asks for mod_auth_openidc's usual `openid profile email`: authd ignores `email`
(issue 13, "Interoperability: scope values"). Both clients are the test's own, registered
on free ports (no fixed port: issue 13, "Tests must not need fixed ports")."""
import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from urllib.parse import urljoin

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import ROOT, Authd, free_port, run, stop_pid, test, wait_port  # noqa: E402

subprocess.run([os.path.join(ROOT, "scripts", "install-deps"), "apache2",
                "libapache2-mod-auth-openidc", "python3-authlib", "python3-jwcrypto",
                "python3-requests"], check=True)

import requests  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from jwcrypto import jwk, jwt  # noqa: E402
from rpkit import BCReceiver, hidden, query  # noqa: E402

PORTAL_PORT = free_port()
PORTAL = f"http://127.0.0.1:{PORTAL_PORT}"
PORTAL_CB = PORTAL + "/oidc/callback"
MODULES = "/usr/lib/apache2/modules"
APP = "interop-app"  # demo-app's twin with a back-channel URI (test-only policy)
PORTAL_ID = "interop-portal"  # demo-portal's twin on this test's port (test-only policy)
PORTAL_SECRET = secrets.token_urlsafe(32)

# The mod_auth_openidc configuration of docs/integration-guide.md, with the test's values.
HTTPD_CONF = """\
ServerRoot "{root}"
PidFile "{root}/httpd.pid"
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
ErrorLog "{root}/error.log"
LogLevel warn auth_openidc:info
LoadModule mpm_prefork_module {mods}/mod_mpm_prefork.so
LoadModule authn_core_module {mods}/mod_authn_core.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule authz_user_module {mods}/mod_authz_user.so
LoadModule alias_module {mods}/mod_alias.so
LoadModule cgi_module {mods}/mod_cgi.so
LoadModule auth_openidc_module {mods}/mod_auth_openidc.so
StartServers 2
DocumentRoot "{root}/htdocs"

OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {client_id}
OIDCClientSecret {secret}
OIDCRedirectURI {portal}/oidc/callback
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid profile email"
OIDCPKCEMethod S256
OIDCPassClaimsAs environment
OIDCProviderAuthRequestMethod GET
OIDCDefaultLoggedOutURL {portal}/

ScriptAlias /private/ "{root}/cgi/"
<Location /private/>
    AuthType openid-connect
    Require valid-user
</Location>
<Location /oidc/>
    AuthType openid-connect
    Require valid-user
</Location>
# step-up (docs/mfa.md): a page for aal2 only; a session below it authenticates again
# asking authd for the level
ScriptAlias /strong/ "{root}/cgi/"
<Location /strong/>
    AuthType openid-connect
    OIDCPathAuthRequestParams acr_values=urn%3Aauthd%3Aacr%3Aial3%3Aaal2
    OIDCUnAutzAction auth
    Require claim acr:urn:authd:acr:ial3:aal2
</Location>
"""

CLAIMS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
env | grep '^OIDC_CLAIM_' | sort
"""


class Apache:
    def __init__(self, issuer, secret):
        self.root = tempfile.mkdtemp(prefix="authd-apache-")
        self.issuer, self.secret = issuer, secret
        self.proc = None

    def start(self):
        for d in ("htdocs", "cgi"):
            os.makedirs(os.path.join(self.root, d))
        open(os.path.join(self.root, "htdocs", "index.html"), "w").write("portal home\n")
        cgi = os.path.join(self.root, "cgi", "claims")
        open(cgi, "w").write(CLAIMS_CGI)
        os.chmod(cgi, 0o755)
        conf = os.path.join(self.root, "httpd.conf")
        open(conf, "w").write(HTTPD_CONF.format(root=self.root, mods=MODULES, issuer=self.issuer,
                                                secret=self.secret, client_id=PORTAL_ID,
                                                port=PORTAL_PORT, portal=PORTAL,
                                                passphrase=secrets.token_hex(16)))
        # -X-like foreground (DFOREGROUND) so the process is ours and stops by PID
        self.out = open(os.path.join(self.root, "stdout.log"), "wb")
        self.proc = subprocess.Popen(["/usr/sbin/apache2", "-f", conf, "-DFOREGROUND"],
                                     stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True,  # prefork signals its group
                                     env={"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"})
        if not wait_port(PORTAL_PORT, 15, self.proc):
            raise RuntimeError("apache did not start: " + self.error_log())
        return self

    def error_log(self):
        out = ""
        for f in ("stdout.log", "error.log"):
            try:
                out += open(os.path.join(self.root, f)).read()[-3000:]
            except OSError:
                pass
        return out

    def stop(self):
        if self.proc:
            stop_pid(self.proc, signal.SIGTERM, 10)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def write_clients(a, bc_uri):
    lines = [f"[client {APP}]", "name = Interop app (authlib)", "type = public",
             "auth_method = none", "redirect_uris = http://127.0.0.1/callback",
             "post_logout_redirect_uris = http://127.0.0.1/logged-out",
             "grant_types = authorization_code refresh_token", "scopes = openid profile",
             "first_party = true", "subject_type = pairwise", "sector = interop.app",
             f"backchannel_logout_uri = {bc_uri}", "",
             f"[client {PORTAL_ID}]", "name = Interop portal (mod_auth_openidc)",
             "type = confidential", "auth_method = client_secret_basic",
             "secret_hash = sha256:" + hashlib.sha256(PORTAL_SECRET.encode()).hexdigest(),
             f"redirect_uris = {PORTAL_CB}", f"post_logout_redirect_uris = {PORTAL}/",
             f"backchannel_logout_uri = {PORTAL_CB}?logout=backchannel",
             "grant_types = authorization_code refresh_token", "scopes = openid profile phone",
             "first_party = true", "subject_type = pairwise", "sector = interop.portal"]
    open(os.path.join(a.state, "policy", "interop.conf"), "w").write("\n".join(lines) + "\n")


def wait_log(a, pred, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(pred(e) for e in a.log_events()):
            return True
        time.sleep(0.05)
    return False


def portal_login(t, a, browser, citizen):
    """Browser -> portal /private/ -> authd /authorize -> login form -> POST -> portal
    callback -> the protected page. Redirects followed by hand."""
    r = browser.get(PORTAL + "/private/claims", allow_redirects=False, timeout=10)
    t.require(r.status_code == 302 and r.headers["Location"].startswith(a.base + "/authorize?"),
              f"portal did not send us to authd: {r.status_code} {r.headers.get('Location')}")
    auth_q = query(r.headers["Location"])
    t.eq(auth_q.get("code_challenge_method"), "S256", "mod_auth_openidc PKCE")
    t.eq(auth_q.get("scope"), "openid profile email", "mod_auth_openidc's OIDCScope")
    r = browser.get(r.headers["Location"], allow_redirects=False, timeout=10)
    t.require(r.status_code == 302 and r.headers["Location"].startswith("/login?"),
              f"authd did not show the login form: {r.status_code} {r.text[:200]}")
    page = browser.get(urljoin(a.base, r.headers["Location"]), timeout=10)
    r = browser.post(a.base + "/login", data={
        "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
        "id_number": citizen["id_number"], "password": citizen["password"]},
        allow_redirects=False, timeout=10)
    t.require(r.status_code in (302, 303) and r.headers["Location"].startswith(PORTAL_CB + "?"),
              f"login did not return to the portal: {r.status_code} {r.headers.get('Location')}")
    r = browser.get(r.headers["Location"], allow_redirects=False, timeout=10)
    t.require(r.status_code == 302, f"portal callback: {r.status_code} {r.text[:300]}")
    r = browser.get(urljoin(PORTAL, r.headers["Location"]), allow_redirects=False, timeout=10)
    t.require(r.status_code == 200, f"protected page: {r.status_code} {r.text[:300]}")
    return dict(l.split("=", 1) for l in r.text.splitlines() if "=" in l)


def app_login(t, a, browser, first=False):
    """authlib as a public client with PKCE; the browser's authd cookie gives SSO. A public
    client needs the citizen's approval once (issue 13 #6): first=True expects the consent
    page and approves it, later logins are silent."""
    cb = f"http://127.0.0.1:{free_port()}/callback"
    meta = requests.get(a.base + "/.well-known/openid-configuration", timeout=10).json()
    rp = OAuth2Session(APP, redirect_uri=cb, scope="openid profile",
                       code_challenge_method="S256", token_endpoint_auth_method="none")
    rp.trust_env = False
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    uri, state = rp.create_authorization_url(meta["authorization_endpoint"], nonce=nonce,
                                             code_verifier=verifier)
    r = browser.get(uri, allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    if first:
        t.require(loc.startswith("/consent?"), f"no consent page for a public client: {loc}")
        page = browser.get(urljoin(a.base, loc), timeout=10)
        r = browser.post(a.base + "/consent", data={
            "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "action": "approve"}, allow_redirects=False, timeout=10)
        loc = r.headers.get("Location", "")
    t.require(r.status_code in (302, 303) and loc.startswith(cb + "?"),
              f"no SSO for the second RP: {r.status_code} {loc}")
    t.check("code" in query(loc), loc)
    tok = rp.fetch_token(meta["token_endpoint"], authorization_response=loc,
                         code_verifier=verifier, timeout=10)
    return tok, nonce


def verify_tokens(t, a, tok, nonce):
    """The ID and access tokens, verified as an independent RP would, with jwcrypto."""
    ks = jwk.JWKSet.from_json(requests.get(a.base + "/jwks", timeout=10).text)
    now = int(time.time())
    idt = jwt.JWT(jwt=tok["id_token"], key=ks, algs=["ES256"],
                  check_claims={"iss": a.base, "aud": APP, "exp": None, "nonce": nonce})
    c = json.loads(idt.claims)
    t.check(c["exp"] > now and c["iat"] <= now + 5, c)
    h = hashlib.sha256(tok["access_token"].encode()).digest()
    t.eq(c.get("at_hash"), b64u(h[:16]), "at_hash")
    t.eq(c.get("acr"), "urn:authd:acr:ial3:aal1")
    t.eq(c.get("amr"), ["pwd"])
    t.check(isinstance(c.get("sid"), str) and len(c["sid"]) == 43, c.get("sid"))
    t.check(c.get("auth_time") and c["auth_time"] <= now + 5, c)
    at = jwt.JWT(jwt=tok["access_token"], key=ks, algs=["ES256"],
                 check_claims={"iss": a.base, "exp": None})
    t.eq(json.loads(at.header).get("typ"), "at+jwt")
    ac = json.loads(at.claims)
    t.eq(ac.get("client_id"), APP)
    t.eq(ac.get("sub"), c["sub"])
    t.check("openid" in ac.get("scope", "").split(), ac)
    return c


def portal_session_gone(browser, a, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = browser.get(PORTAL + "/private/claims", allow_redirects=False, timeout=10)
        if r.status_code == 302 and r.headers["Location"].startswith(a.base + "/authorize?"):
            return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def portal(conf=None):
    """authd with the test's clients, a back-channel receiver and Apache as the portal:
    yields (authd, apache, receiver, a browser session); stops them all by PID."""
    rcv = BCReceiver().start()
    a = Authd(population=500, conf=conf).setup()
    ap = None
    try:
        write_clients(a, rcv.uri)
        # An SM2 key (issue 19) is published in /jwks next to the ES256 one, as in a
        # deployment serving domestic relying parties too: these RPs must ignore it.
        a.authctl("keys", "init", "--sm2")
        a.start()
        ap = Apache(a.base, PORTAL_SECRET).start()
        browser = requests.Session()
        browser.trust_env = False
        yield a, ap, rcv, browser
    finally:
        if ap:
            ap.stop()
        a.stop()
        rcv.stop()


@test
def portal_and_authlib_share_one_login_and_one_logout(t):
    conf = {"backchannel_retry_min_ms": 200, "backchannel_retry_max_ms": 1000}
    with portal(conf) as (a, ap, rcv, browser):
        citizen = a.demo()["citizens"][0]

        # 1. the portal, through authd's login form; the claims reach the protected page
        env = portal_login(t, a, browser, citizen)
        t.check(len(env.get("OIDC_CLAIM_sub", "")) == 64, env)
        t.check(env.get("OIDC_CLAIM_name"), f"no name claim: {env}")
        t.check("OIDC_CLAIM_email" not in env, env)
        t.check(wait_log(a, lambda e: e.get("ev") == "token" and e.get("client") == PORTAL_ID
                         and e.get("scope") == "openid profile"),
                "the portal was not granted openid profile (email left out)")
        t.eq(env.get("OIDC_CLAIM_iss"), a.base)
        t.eq(env.get("OIDC_CLAIM_acr"), "urn:authd:acr:ial3:aal1")
        portal_sid = env.get("OIDC_CLAIM_sid")
        t.check(portal_sid and len(portal_sid) == 43, env)

        # 2. authlib, same browser: SSO, no password (its consent page once: a public
        #    client); tokens verified with jwcrypto
        n_login = sum(1 for e in a.log_events() if e.get("ev") == "account.login")
        tok, nonce = app_login(t, a, browser, first=True)
        t.eq(sum(1 for e in a.log_events() if e.get("ev") == "account.login"), n_login,
             "the second RP needed a password")
        c = verify_tokens(t, a, tok, nonce)
        t.eq(c["sid"], portal_sid, "one SSO session")
        t.check(c["sub"] != env.get("OIDC_CLAIM_sub"), "pairwise subjects differ per sector")

        # 3. logout at the portal (mod_auth_openidc -> /end_session with its id_token_hint)
        r = browser.get(PORTAL_CB, params={"logout": PORTAL + "/"}, allow_redirects=False,
                        timeout=10)
        t.require(r.status_code == 302 and r.headers["Location"].startswith(
            a.base + "/end_session?"), f"portal logout: {r.status_code} {r.headers}")
        q = query(r.headers["Location"])
        t.check("id_token_hint" in q, q)
        r = browser.get(r.headers["Location"], allow_redirects=False, timeout=10)
        t.eq((r.status_code, r.headers.get("Location")), (302, PORTAL + "/"), r.text[:300])
        t.require(rcv.wait_tokens(1), "the authlib RP got no back-channel logout")
        from rpkit import verify_logout_token
        lc = verify_logout_token(a, rcv.tokens[0]["token"], APP)
        t.eq(lc["sid"], c["sid"])
        t.eq(lc["sub"], c["sub"])
        t.check(portal_session_gone(browser, a, 2), "the portal still has a session")

        # 4. the other way: log in again, logout from authlib's ID token; mod_auth_openidc
        #    validates our logout token and drops its session
        portal_login(t, a, browser, citizen)
        tok, nonce = app_login(t, a, browser)
        r = browser.get(a.base + "/end_session", params={"id_token_hint": tok["id_token"]},
                        allow_redirects=False, timeout=10)
        t.eq(r.status_code, 200)
        t.require(wait_log(a, lambda e: e.get("ev") == "logout.backchannel"
                           and e.get("client") == PORTAL_ID
                           and e.get("result") == "delivered"),
                  "mod_auth_openidc did not accept the logout token: " + ap.error_log()[-800:])
        t.check(portal_session_gone(browser, a), "mod_auth_openidc kept its session")


def enrol_totp(t, a, browser):
    """Enrols a TOTP app on /mfa/totp with the browser's authd session (pyotp computes the
    codes); returns the pyotp.TOTP."""
    import re

    import pyotp
    page = browser.get(a.base + "/mfa/totp", timeout=10)
    t.require(page.status_code == 200, f"/mfa/totp: {page.status_code}")
    totp = pyotp.TOTP(re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page.text)
                      .group(1).replace(" ", ""))
    r = browser.post(a.base + "/mfa/totp", data={"csrf": hidden(page.text, "csrf"),
                                                "action": "confirm", "code": totp.now()},
                     timeout=10)
    t.require(r.status_code == 200, f"enrolment: {r.status_code} {r.text[:200]}")
    return totp


@test
def portal_steps_up_to_aal2_with_a_totp_code(t):
    subprocess.run([os.path.join(ROOT, "scripts", "install-deps"), "python3-pyotp"], check=True)
    with portal() as (a, ap, _, browser):
        citizen = a.demo()["citizens"][1]
        env = portal_login(t, a, browser, citizen)  # aal1: the password
        t.eq(env.get("OIDC_CLAIM_acr"), "urn:authd:acr:ial3:aal1")
        totp = enrol_totp(t, a, browser)
        # the aal2 page: mod_auth_openidc authenticates again with acr_values
        r = browser.get(PORTAL + "/strong/claims", allow_redirects=False, timeout=10)
        # mod_auth_openidc 2.4.12 answers an unauthorized request it re-authenticates
        # (OIDCUnAutzAction auth) with status 200 and the Location of the new request
        t.require(r.headers.get("Location", "").startswith(a.base + "/authorize?"),
                  f"no step-up request: {r.status_code} {r.headers.get('Location')} "
                  + ap.error_log()[-500:])
        t.eq(query(r.headers["Location"]).get("acr_values"), "urn:authd:acr:ial3:aal2")
        r = browser.get(r.headers["Location"], allow_redirects=False, timeout=10)
        loc = r.headers.get("Location", "")
        t.require(r.status_code == 302 and loc.startswith("/login?") and "authn=totp" in loc,
                  f"authd did not ask for the second factor: {r.status_code} {loc}")
        page = browser.get(urljoin(a.base, loc), timeout=10)
        r = browser.post(a.base + "/login", data={
            "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "authn": "totp", "code": totp.at(time.time() + 30)},
            allow_redirects=False, timeout=10)
        t.require(r.status_code in (302, 303) and r.headers["Location"].startswith(PORTAL_CB),
                  f"step-up did not return to the portal: {r.status_code} {r.text[:200]}")
        r = browser.get(r.headers["Location"], allow_redirects=False, timeout=10)
        t.require(r.status_code == 302, f"portal callback: {r.status_code} {ap.error_log()[-500:]}")
        r = browser.get(urljoin(PORTAL, r.headers["Location"]), allow_redirects=False, timeout=10)
        t.require(r.status_code == 200, f"aal2 page: {r.status_code} {ap.error_log()[-500:]}")
        env = dict(l.split("=", 1) for l in r.text.splitlines() if "=" in l)
        t.eq(env.get("OIDC_CLAIM_acr"), "urn:authd:acr:ial3:aal2")
        t.check("otp" in env.get("OIDC_CLAIM_amr", "").split(","), env.get("OIDC_CLAIM_amr"))
        t.check("pwd" in env.get("OIDC_CLAIM_amr", "").split(","), env.get("OIDC_CLAIM_amr"))


if __name__ == "__main__":
    run()
