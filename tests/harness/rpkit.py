"""Helpers for tests that play a relying party against a live authd: PKCE, the login form
followed by hand, a code exchange, a test client written into the policy, and a tiny
back-channel logout receiver that can be down, failing or hanging."""
import base64
import hashlib
import html
import http.server
import re
import secrets
import socket
import threading
import time
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

TEST_SECRET = "test-rp-secret-0123456789abcdef"


def pkce():
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    return v, c


def query(loc):
    return {k: v[0] for k, v in parse_qs(urlsplit(loc).query, keep_blank_values=True).items()}


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    return html.unescape(m.group(1)) if m else None


def write_test_client(a, client_id, cb, bc_uri=None, fc_uri=None, post_logout=None,
                      fc_session=True, extra=()):
    """Adds a confidential client (secret TEST_SECRET) in STATE/policy/test-<id>.conf."""
    h = hashlib.sha256(TEST_SECRET.encode()).hexdigest()
    lines = [f"[client {client_id}]", f"name = Test RP {client_id}", "type = confidential",
             "auth_method = client_secret_basic", f"secret_hash = sha256:{h}",
             f"redirect_uris = {cb}", "grant_types = authorization_code refresh_token",
             "scopes = openid profile", "first_party = true", "subject_type = pairwise",
             f"sector = {client_id}.test"]
    if post_logout:
        lines.append("post_logout_redirect_uris = " + ", ".join(post_logout))
    if bc_uri:
        lines.append(f"backchannel_logout_uri = {bc_uri}")
    if fc_uri:
        lines.append(f"frontchannel_logout_uri = {fc_uri}")
        lines.append(f"frontchannel_logout_session_required = {'true' if fc_session else 'false'}")
    lines += list(extra)
    with open(f"{a.state}/policy/test-{client_id}.conf", "w") as f:
        f.write("\n".join(lines) + "\n")


def client_assertion(key, client_id, kid, aud):
    """private_key_jwt (RFC 7523 §2.2) form parameters: an ES256 assertion by key (a jwcrypto
    JWK) for client_id, valid for a minute, with a fresh jti."""
    from jwcrypto import jwt
    now = int(time.time())
    t = jwt.JWT(header={"alg": "ES256", "kid": kid, "typ": "JWT"},
                claims={"iss": client_id, "sub": client_id, "aud": aud, "iat": now,
                        "exp": now + 60, "jti": secrets.token_urlsafe(12)})
    t.make_signed_token(key)
    return {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": t.serialize()}


def login_code(a, s, citizen, client_id, cb, scope="openid profile", nonce="n-1", **extra):
    """/authorize -> (SSO or the login form) -> the client's callback; returns (query, verifier)."""
    v, c = pkce()
    p = {"client_id": client_id, "response_type": "code", "scope": scope, "state": "st",
         "nonce": nonce, "redirect_uri": cb, "code_challenge": c, "code_challenge_method": "S256"}
    p.update(extra)
    r = s.get(a.base + "/authorize", params=p, allow_redirects=False, timeout=10)
    if r.status_code == 302 and r.headers["Location"].startswith("/login?"):
        page = s.get(urljoin(a.base, r.headers["Location"]), allow_redirects=False, timeout=10)
        r = s.post(a.base + "/login", data={"authz": hidden(page.text, "authz"),
                                            "csrf": hidden(page.text, "csrf"),
                                            "id_number": citizen["id_number"],
                                            "password": citizen["password"]},
                   allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    if not loc.startswith(cb):
        raise AssertionError(f"no redirect to the client: {r.status_code} {loc} {r.text[:200]}")
    return query(loc), v


def logged_in(a, s, client_id, cb):
    """True if the browser's session still gives client_id a code silently (prompt=none)."""
    try:
        q, _ = login_code(a, s, None, client_id, cb, prompt="none")
    except AssertionError:
        return False
    return "code" in q


def tokens(a, s, citizen, client_id, cb, secret=TEST_SECRET, **kw):
    """Logs in (or uses SSO) and redeems the code; returns the /token JSON."""
    q, v = login_code(a, s, citizen, client_id, cb, **kw)
    r = requests.post(a.base + "/token", data={"grant_type": "authorization_code",
                                               "code": q["code"], "redirect_uri": cb,
                                               "code_verifier": v},
                      auth=(client_id, secret), timeout=10)
    if r.status_code != 200:
        raise AssertionError(f"/token: {r.status_code} {r.text}")
    return r.json()


class BCReceiver:
    """A back-channel logout endpoint on a fixed loopback port. mode: "ok" (200), "fail"
    (500) or "hang" (reads the request, never answers). stop() closes the port (down)."""

    def __init__(self, port=None, path="/bc"):
        self.port = port or _free_port()
        self.path = path
        self.mode = "ok"
        self.tokens = []
        self.hits = 0
        self.srv = None
        self.release = threading.Event()

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self):
        rcv = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                rcv.hits += 1
                if rcv.mode == "hang":
                    rcv.release.wait(30)
                    return
                if rcv.mode == "fail":
                    self.send_response(500)
                    self.end_headers()
                    return
                q = parse_qs(body)
                rcv.tokens.append({"token": q.get("logout_token", [None])[0],
                                   "ctype": self.headers.get("Content-Type"),
                                   "ua": self.headers.get("User-Agent"),
                                   "path": self.path})
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *a):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.srv:
            self.release.set()
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None

    def wait_sid(self, sid, timeout=20.0):
        """The first received logout token for session sid (earlier logouts may still
        arrive late), or None."""
        import json
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for got in list(self.tokens):
                p = (got["token"] or "..").split(".")[1]
                try:
                    c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
                except ValueError:
                    continue
                if c.get("sid") == sid:
                    return got
            time.sleep(0.05)
        return None

    def wait_tokens(self, n=1, timeout=20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(self.tokens) < n:
            time.sleep(0.05)
        return len(self.tokens) >= n


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def verify_jws(a, token):
    """jwcrypto's verdict on a compact JWS against a's /jwks (raises if it does not verify);
    returns (header, claims)."""
    import json

    from jwcrypto import jwk, jws
    keys = jwk.JWKSet.from_json(requests.get(a.base + "/jwks", timeout=10).text)
    t = jws.JWS()
    t.deserialize(token)
    hdr = t.jose_header
    t.verify(keys.get_key(hdr["kid"]), alg=hdr["alg"])
    return hdr, json.loads(t.payload)


def verify_logout_token(a, token, client_id):
    """Checks a logout token as a relying party must (Back-Channel Logout §2.6) with jwcrypto
    against /jwks; returns its claims."""
    import json

    from jwcrypto import jwk, jwt
    ks = jwk.JWKSet.from_json(requests.get(a.base + "/jwks", timeout=10).text)
    t = jwt.JWT(jwt=token, key=ks, algs=["ES256"], check_claims={"iss": a.base, "aud": client_id,
                                                                 "exp": None, "iat": None})
    hdr = json.loads(t.header)
    claims = json.loads(t.claims)
    assert hdr.get("typ") == "logout+jwt", hdr
    assert claims.get("events") == {"http://schemas.openid.net/event/backchannel-logout": {}}, claims
    assert "nonce" not in claims, claims
    assert claims.get("sid") and claims.get("sub") and claims.get("jti"), claims
    assert 0 < claims["exp"] - claims["iat"] <= 120, claims
    return claims
