"""A browser-like OIDC client for tests: PKCE, the login form, the consent page, the code
exchange. Everything goes over real HTTP to a live authd.

    from oidc import Browser
    b = Browser(a)                      # a: itest.Authd
    code, verifier = b.code("demo-app", b.loopback(), "openid profile")
    tokens = b.exchange(code, verifier, redirect)
"""
import base64
import hashlib
import html
import json
import re
import secrets
from urllib.parse import parse_qs, urljoin, urlsplit

from itest import free_port


class FlowError(Exception):
    pass


def pkce():
    """(verifier, S256 challenge)"""
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    return v, c


def claims(jwt):
    """The payload of a compact JWS, not verified (tests that verify use jwcrypto)."""
    p = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    return html.unescape(m.group(1)) if m else None


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


class Browser:
    """One browser: a cookie jar for authd's SSO session, shared by every client."""

    def __init__(self, authd, session=None):
        self.a = authd
        self.s = session or authd.session()
        self.citizens = authd.demo()["citizens"]

    @staticmethod
    def loopback():
        return f"http://127.0.0.1:{free_port()}/callback"

    def authorize(self, client, redirect, scope, **extra):
        v, c = pkce()
        p = {"client_id": client, "response_type": "code", "scope": scope, "state": "st",
             "nonce": "n-" + secrets.token_urlsafe(8), "redirect_uri": redirect,
             "code_challenge": c, "code_challenge_method": "S256"}
        p.update(extra)
        r = self.s.get(self.a.base + "/authorize", params=p, allow_redirects=False, timeout=10)
        return r, v, p

    def code(self, client, redirect, scope, citizen=0, password=None, share_id_number=True,
             **extra):
        """Runs /authorize, the login form and the consent page as needed (citizen: an index
        into demo.json's citizens, or a dict with id_number and password). Returns
        (code, verifier, params) or raises FlowError with what the server said."""
        r, v, p = self.authorize(client, redirect, scope, **extra)
        return self.finish(r, redirect, citizen, password, share_id_number), v, p

    def finish(self, r, redirect, citizen=0, password=None, share_id_number=True):
        """Goes on from /authorize's answer r through the login and consent pages; returns
        the code, or raises FlowError with what the server said."""
        for _ in range(4):
            loc = r.headers.get("Location", "")
            if r.status_code not in (302, 303):
                raise FlowError(f"{r.status_code}: {r.text[:300]}")
            if loc.startswith(redirect):
                q = query(loc)
                if "code" not in q:
                    raise FlowError(loc)
                self.callback = loc  # the whole redirect, for clients that validate it
                return q["code"]
            page = self.s.get(urljoin(self.a.base, loc), allow_redirects=False, timeout=10)
            data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf")}
            if loc.startswith("/login"):
                cz = citizen if isinstance(citizen, dict) else self.citizens[citizen]
                data.update(id_number=cz["id_number"],
                            password=cz["password"] if password is None else password)
                r = self.s.post(self.a.base + "/login", data=data, allow_redirects=False,
                                timeout=10)
            else:
                data.update(action="approve")
                if share_id_number:
                    data["share_id_number"] = "1"
                r = self.s.post(self.a.base + "/consent", data=data, allow_redirects=False,
                                timeout=10)
        raise FlowError("no code after login and consent")

    def exchange(self, code, verifier, redirect, client="demo-app", auth=None):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                "code_verifier": verifier}
        if auth is None:
            data["client_id"] = client
        r = self.s.post(self.a.base + "/token", data=data, auth=auth, timeout=10)
        if r.status_code != 200:
            raise FlowError(f"token {r.status_code}: {r.text[:300]}")
        return r.json()
