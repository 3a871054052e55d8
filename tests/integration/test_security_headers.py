"""Every HTML page authd serves (login, consent, registration, second factors, error pages)
carries the security headers, and every cookie its flags: checked on every text/html response
of a walk through the pages, once over plain HTTP and once over TLS (certs/dev-pki), where
cookies must also be Secure and every response carries HSTS."""
import os
import subprocess
import sys
from urllib.parse import urljoin

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import ROOT, Authd, run, test  # noqa: E402
from oidc import Browser, hidden  # noqa: E402


def recorder(seen):
    def hook(r, *a, **kw):
        seen.append(r)
    return hook


def walk(a, verify=True):
    """Visits every kind of HTML page; returns every response seen (redirects included)."""
    seen = []
    s = a.session()
    s.verify = verify
    s.hooks["response"].append(recorder(seen))
    b = Browser(a, s)
    get = lambda p, **kw: s.get(urljoin(a.base, p), allow_redirects=False, timeout=10, **kw)
    r, _, _ = b.authorize("demo-app", b.loopback(), "openid profile")
    login = get(r.headers["Location"])                                   # login page
    form = {"authz": hidden(login.text, "authz"), "csrf": hidden(login.text, "csrf")}
    cz = b.citizens[0]
    s.post(a.base + "/login", data=dict(form, id_number=cz["id_number"], password="wrong-pw"),
           allow_redirects=False, timeout=10)                            # login error
    r = s.post(a.base + "/login", data=dict(form, id_number=cz["id_number"],
                                            password=cz["password"]),
               allow_redirects=False, timeout=10)                        # session cookie
    if r.headers.get("Location", "").startswith("/consent"):
        get(r.headers["Location"])                                       # consent page
    mfa = get("/mfa/totp")                                               # TOTP enrolment
    s.post(a.base + "/mfa/totp", data={"csrf": hidden(mfa.text, "csrf"), "action": "confirm",
                                       "code": "000000"}, allow_redirects=False, timeout=10)
    r, _, _ = b.authorize("demo-app", b.loopback(), "openid",
                          acr_values="urn:authd:acr:ial3:aal2")
    if "authn=totp" in r.headers.get("Location", ""):
        get(r.headers["Location"])                                       # second-factor page
    get("/register")                                                     # registration
    s.post(a.base + "/register", data={"id_number": "1"}, allow_redirects=False, timeout=10)
    get("/authorize?client_id=nope&response_type=code")                  # error page
    get("/login?authz=bogus")                                            # expired login
    get("/consent?authz=bogus")
    return seen


def check_pages(t, seen, tls):
    html = [r for r in seen if r.headers.get("Content-Type", "").startswith("text/html")]
    t.check(len(html) >= 7, f"only {len(html)} HTML pages seen")
    for r in html:
        h, where = r.headers, f"{r.request.method} {r.request.path_url} {r.status_code}"
        csp = h.get("Content-Security-Policy", "")
        t.check("frame-ancestors 'none'" in csp, f"{where}: CSP {csp!r}")
        t.check("default-src" in csp and "script-src 'unsafe-inline'" not in csp, where)
        t.eq(h.get("X-Frame-Options"), "DENY", where)
        t.check(h.get("Referrer-Policy") in ("no-referrer", "same-origin"), where)
        t.check("no-store" in h.get("Cache-Control", ""), f"{where}: {h.get('Cache-Control')}")
        t.eq(h.get("X-Content-Type-Options"), "nosniff", where)
    for r in seen:
        where = f"{r.request.method} {r.request.path_url}"
        if tls:
            t.check("max-age=" in r.headers.get("Strict-Transport-Security", ""), where)
        else:
            t.check("Strict-Transport-Security" not in r.headers, where)
        for c in r.raw.headers.getlist("Set-Cookie"):
            flags = [f.strip().lower() for f in c.split(";")[1:]]
            t.check("httponly" in flags, f"{where}: {c}")
            t.check(any(f.startswith("samesite=") for f in flags), f"{where}: {c}")
            t.eq("secure" in flags, tls, f"{where}: Secure flag on {c.split('=')[0]}")
            if tls:  # issue 13 #7: __Host- (Secure, Path=/, no Domain: RFC 6265bis 4.1.3.2)
                t.check(c.startswith("__Host-"), f"{where}: {c.split('=')[0]} without __Host-")
                t.check("path=/" in flags and not any(f.startswith("domain=") for f in flags),
                        f"{where}: {c}")
    cookies = {c.split("=")[0] for r in seen for c in r.raw.headers.getlist("Set-Cookie")}
    want = "__Host-authd_session" if tls else "authd_session"
    t.check(want in cookies, f"no {want} cookie among {cookies}")


@test
def html_pages_carry_security_headers_over_http(t):
    with Authd(population=100) as a:
        check_pages(t, walk(a), tls=False)


@test
def html_pages_carry_security_headers_and_hsts_over_tls(t):
    a = Authd(population=100)
    a.setup()
    p = subprocess.run([os.path.join(ROOT, "certs", "dev-pki"), a.state], capture_output=True,
                       text=True, timeout=60)
    t.require(p.returncode == 0, p.stderr)
    pki = os.path.join(a.state, "pki")
    with open(a.conf_path) as f:
        lines = [l for l in f.read().splitlines() if not l.startswith("issuer")]
    lines += [f"issuer = https://127.0.0.1:{a.port}", f"tls_cert = {pki}/server.crt",
              f"tls_key = {pki}/server.key"]
    with open(a.conf_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    a.base = f"https://127.0.0.1:{a.port}"
    with a:
        seen = walk(a, verify=os.path.join(pki, "ca-bundle.crt"))
        check_pages(t, seen, tls=True)
        t.check(all(r.url.startswith("https://") for r in seen), "a page was not over TLS")
        # the prefixed cookies are the ones read back: SSO over TLS with __Host-authd_session
        s = a.session()
        s.verify = os.path.join(pki, "ca-bundle.crt")
        b = Browser(a, s)
        r, _, _ = b.authorize("demo-portal", "http://127.0.0.1:8081/oidc/callback", "openid")
        login = s.get(urljoin(a.base, r.headers["Location"]), allow_redirects=False, timeout=10)
        cz = b.citizens[0]
        r = s.post(a.base + "/login", allow_redirects=False, timeout=10, data={
            "authz": hidden(login.text, "authz"), "csrf": hidden(login.text, "csrf"),
            "id_number": cz["id_number"], "password": cz["password"]})
        t.check("code=" in r.headers.get("Location", ""), f"login: {r.status_code} {r.text[:200]}")
        t.eq(sorted(c.name for c in s.cookies), ["__Host-authd_bind", "__Host-authd_session"])
        r, _, _ = b.authorize("demo-portal", "http://127.0.0.1:8081/oidc/callback", "openid",
                              prompt="none")
        t.check("code=" in r.headers.get("Location", ""), f"SSO: {r.headers.get('Location')}")
        # the registration form's CSRF cookie (__Host-authd_reg) is read back too
        page = s.get(a.base + "/register", timeout=10)
        token = hidden(page.text, "csrf")
        r = s.post(a.base + "/register", timeout=10, data={"csrf": token, "id_number": "1"})
        t.eq(r.status_code, 400, "a field error, not the CSRF refusal (403)")


run()
