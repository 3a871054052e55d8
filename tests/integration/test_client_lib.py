"""libauthd-client against live processes: a live authd (its dev state's signing keys mint
the tokens, through port/keys.h in build/clientlib/mint-token), and a JWKS endpoint in this
script whose document, Cache-Control header and availability the tests control (authd's own
/jwks is used too when the daemon serves it). The library is driven through
build/clientlib/authd-client-check, one JSON line per command, with a fake clock so cache
lifetimes are tested without sleeping."""
import atexit
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import BUILD, ROOT, Authd, free_port, run, test  # noqa: E402

CHECK = os.path.join(BUILD, "clientlib", "authd-client-check")
MINT = os.path.join(BUILD, "clientlib", "mint-token")

_authd = Authd(population=1000).start()
atexit.register(lambda: (_authd.stop(), shutil.rmtree(_authd.state, ignore_errors=True)))
ISS = _authd.base
KEYS = os.path.join(_authd.state, "keys")
NOW = int(time.time())


def mint(claims, typ=None):
    args = [MINT, KEYS, "sign", json.dumps(claims)] + ([typ] if typ else [])
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def published_jwks():
    return subprocess.run([MINT, KEYS, "jwks"], capture_output=True, text=True,
                          check=True).stdout.strip().encode()


def claims(**over):
    c = {"iss": ISS, "aud": "license", "sub": "Zr3b9sQ0xGm1", "client_id": "demo-portal",
         "scope": "openid license.read", "acr": "urn:authd:acr:ial3:aal2", "amr": ["pwd"],
         "iat": NOW - 5, "exp": NOW + 3600, "jti": uuid.uuid4().hex}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class JwksServer:
    """GET /jwks answers self.doc with self.cache_control; counts requests."""

    def __init__(self, doc=None, cache_control="max-age=300", port=None):
        self.port = port or free_port()
        self.doc = doc if doc is not None else published_jwks()
        self.cache_control = cache_control
        self.status = 200
        self.fetches = 0
        self.httpd = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/jwks"

    def start(self):
        srv = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                srv.fetches += 1
                self.send_response(srv.status)
                self.send_header("Content-Type", "application/json")
                if srv.cache_control:
                    self.send_header("Cache-Control", srv.cache_control)
                self.send_header("Content-Length", str(len(srv.doc)))
                self.end_headers()
                self.wfile.write(srv.doc)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


class Checker:
    """One libauthd-client instance in build/clientlib/authd-client-check."""

    def __init__(self, jwks_url, aud="license", clock=NOW, **opts):
        args = [CHECK, "--issuer", ISS, "--aud", aud, "--jwks", jwks_url, "--allow-http",
                "--clock", str(clock)]
        for k, v in opts.items():
            args += ["--" + k.replace("_", "-"), str(v)]
        self.clock = clock
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def validate(self, tok, scope=None, acr=None):
        line = "validate " + tok
        if scope:
            line += " scope=" + scope.replace(" ", ",")
        if acr:
            line += " acr=" + acr
        return self.cmd(line)

    def status(self, tok, **kw):
        return self.validate(tok, **kw)["status"]

    def at(self, t):
        self.clock = t
        self.cmd(f"now {t}")

    def stats(self):
        return self.cmd("stats")

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# One endpoint and one validator for the refusal tests.
_srv = JwksServer().start()
_chk = Checker(_srv.url, leeway=30)
atexit.register(lambda: (_chk.close(), _srv.stop()))


@test
def library_unit_tests(t):
    p = subprocess.run([os.path.join(BUILD, "clientlib", "unit_tests")], capture_output=True,
                       text=True)
    t.eq(p.returncode, 0, p.stdout[-2000:])
    t.check(" passed, 0 failed" in p.stdout, p.stdout[-500:])


@test
def shared_library_exports_only_the_api(t):
    # The shared library is a release artifact: the sanitizer build does not make one (its
    # runtime cannot be linked into a .so with --no-undefined), so check the release build's.
    so = os.path.join(BUILD, "libauthd-client.so")
    if not os.path.exists(so):
        so = os.path.join(ROOT, "build", "libauthd-client.so")
    out = subprocess.run(["nm", "-D", "--defined-only", so],
                         capture_output=True, text=True, check=True).stdout
    names = [l.split()[-1].split("@")[0] for l in out.splitlines() if l.split()]
    names = [n for n in names if n != "AUTHD_CLIENT_0"]
    t.check(len(names) >= 11, names)
    t.eq([n for n in names if not n.startswith("authd_")], [])


@test
def valid_token_accepted_with_its_claims(t):
    c = claims(aud=["workflow", "license"], amr=["pwd", "sms"], auth_time=NOW - 60)
    r = _chk.validate(mint(c), scope="license.read", acr="urn:authd:acr:ial3:aal1")
    t.eq(r["status"], "AUTHD_OK")
    t.eq(r["sub"], c["sub"])
    t.eq(r["client_id"], "demo-portal")
    t.eq(r["scope"], "openid license.read")
    t.eq(r["acr"], "urn:authd:acr:ial3:aal2")
    t.eq(r["amr"], ["pwd", "sms"])
    t.eq(r["jti"], c["jti"])
    t.eq(r["exp"], c["exp"])
    t.eq(r["auth_time"], NOW - 60)
    t.check("act_sub" not in r)


@test
def exchanged_token_returns_its_actor(t):
    c = claims(act={"sub": "workflow-svc", "client_id": "workflow"})
    r = _chk.validate(mint(c))
    t.eq(r["status"], "AUTHD_OK")
    t.eq(r["act_sub"], "workflow-svc")
    t.eq(r["act_client_id"], "workflow")


@test
def wrong_audience_is_refused(t):
    t.eq(_chk.status(mint(claims(aud="workflow"))), "AUTHD_ERR_AUDIENCE")
    t.eq(_chk.status(mint(claims(aud=None))), "AUTHD_ERR_AUDIENCE")


@test
def wrong_issuer_is_refused(t):
    t.eq(_chk.status(mint(claims(iss="http://evil.example"))), "AUTHD_ERR_ISSUER")


@test
def expired_token_is_refused(t):
    t.eq(_chk.status(mint(claims(exp=NOW - 31))), "AUTHD_ERR_EXPIRED")
    t.eq(_chk.status(mint(claims(exp=NOW - 20))), "AUTHD_OK")  # within the 30 s leeway


@test
def not_yet_valid_token_is_refused(t):
    t.eq(_chk.status(mint(claims(nbf=NOW + 300))), "AUTHD_ERR_NOT_YET_VALID")
    t.eq(_chk.status(mint(claims(iat=NOW + 300))), "AUTHD_ERR_NOT_YET_VALID")


@test
def insufficient_scope_is_refused(t):
    tok = mint(claims())
    t.eq(_chk.status(tok, scope="license.read license.write"), "AUTHD_ERR_SCOPE")
    t.eq(_chk.status(mint(claims(scope=None)), scope="openid"), "AUTHD_ERR_SCOPE")


@test
def insufficient_assurance_is_refused(t):
    tok = mint(claims())
    t.eq(_chk.status(tok, acr="urn:authd:acr:ial4:aal2"), "AUTHD_ERR_ASSURANCE")
    t.eq(_chk.status(tok, acr="urn:authd:acr:ial3:aal3"), "AUTHD_ERR_ASSURANCE")
    t.eq(_chk.status(mint(claims(acr=None)), acr="urn:authd:acr:ial2:aal1"),
         "AUTHD_ERR_ASSURANCE")


@test
def wrong_typ_is_refused(t):
    t.eq(_chk.status(mint(claims(), typ="JWT")), "AUTHD_ERR_TYP")
    t.eq(_chk.status(mint(claims(), typ="-")), "AUTHD_ERR_TYP")


@test
def tampered_payload_is_refused(t):
    h, p, s = mint(claims()).split(".")
    body = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    body["scope"] = "openid license.read license.write"
    forged = ".".join([h, b64(json.dumps(body).encode()), s])
    t.eq(_chk.status(forged), "AUTHD_ERR_SIGNATURE")
    flipped = p[:10] + ("A" if p[10] != "A" else "B") + p[11:]
    t.eq(_chk.status(".".join([h, flipped, s])), "AUTHD_ERR_SIGNATURE")
    t.eq(_chk.status(".".join([h, p, s[:-4] + "AAAA"])), "AUTHD_ERR_SIGNATURE")


@test
def hs256_keyed_with_the_public_key_is_refused(t):
    h, p, _ = mint(claims()).split(".")
    kid = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"]
    pub = json.loads(published_jwks())["keys"][0]
    for secret in (json.dumps(pub).encode(), published_jwks(), pub["x"].encode()):
        hdr = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode())
        sig = b64(hmac.new(secret, f"{hdr}.{p}".encode(), hashlib.sha256).digest())
        t.eq(_chk.status(f"{hdr}.{p}.{sig}"), "AUTHD_ERR_ALGORITHM")


@test
def alg_none_is_refused(t):
    _, p, _ = mint(claims()).split(".")
    for hdr in ({"alg": "none"}, {"alg": "none", "typ": "at+jwt"}, {"alg": "None"}):
        t.eq(_chk.status(f"{b64(json.dumps(hdr).encode())}.{p}."), "AUTHD_ERR_ALGORITHM")


@test
def malformed_tokens_are_refused(t):
    for tok in ("x", "a.b", "a.b.c.d", "...", "e30.e30.", "%%%.%%%.%%%"):
        t.eq(_chk.status(tok), "AUTHD_ERR_MALFORMED", tok)


@test
def unknown_kid_refetches_at_most_once_per_interval(t):
    from jwcrypto import jwk
    other = json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_public())
    other.update(kid="other-key", alg="ES256", use="sig")
    with JwksServer(doc=json.dumps({"keys": [other]}).encode()) as srv, \
            Checker(srv.url, refetch=60) as c:
        tok = mint(claims())
        t.eq(c.status(tok), "AUTHD_ERR_UNKNOWN_KEY")  # first fetch: kid not there
        t.eq(c.status(tok), "AUTHD_ERR_UNKNOWN_KEY")
        c.at(NOW + 59)
        t.eq(c.status(tok), "AUTHD_ERR_UNKNOWN_KEY")
        t.eq(srv.fetches, 1, "refetch within the interval")
        c.at(NOW + 60)
        t.eq(c.status(tok), "AUTHD_ERR_UNKNOWN_KEY")
        t.eq(srv.fetches, 2)
        srv.doc = published_jwks()  # authd's keys appear
        t.eq(c.status(tok), "AUTHD_ERR_UNKNOWN_KEY")  # still within the interval
        c.at(NOW + 120)
        t.eq(c.status(tok), "AUTHD_OK")
        t.eq(c.status(tok), "AUTHD_OK")
        t.eq(srv.fetches, 3)
        t.eq(c.stats()["unknown_kid"], 6)  # the last one found its key after the refetch


@test
def many_threads_validate_at_once_without_refetching(t):
    with JwksServer() as srv, Checker(srv.url) as c:
        r = c.cmd("threads 8 300 " + mint(claims()))
        t.eq(r["ok"], 2400)
        t.eq(r["total"], 2400)
        t.eq(srv.fetches, 1, "one fetch, then no network per token")


@test
def cache_control_max_age_is_honoured_within_bounds(t):
    with JwksServer(cache_control="public, max-age=120") as srv, \
            Checker(srv.url, min_cache=60, max_cache=1000) as c:
        for cc, want in (("public, max-age=120", 120), ("max-age=5", 60),
                         ("max-age=999999", 1000), (None, 60), ("max-age=600, no-store", 60),
                         ("max-age=bogus", 60)):
            srv.cache_control = cc
            t.eq(c.cmd("refresh")["status"], "AUTHD_OK")
            t.eq(c.stats()["fresh_until"], NOW + want, cc)
        t.eq(srv.fetches, 6)


@test
def cached_keys_outlive_a_jwks_outage_until_they_expire(t):
    srv = JwksServer(cache_control="max-age=120").start()
    tok = mint(claims(exp=NOW + 7200))
    with Checker(srv.url, min_cache=10, grace=300, refetch=30) as c:
        t.eq(c.status(tok), "AUTHD_OK")
        srv.stop()
        c.at(NOW + 119)  # fresh: no network at all
        t.eq(c.status(tok), "AUTHD_OK")
        c.at(NOW + 130)  # stale: one failed refetch, keys still used
        t.eq(c.status(tok), "AUTHD_OK")
        t.eq(c.status(tok), "AUTHD_OK")
        s = c.stats()
        t.eq((s["fetches"], s["failures"]), (2, 1))
        c.at(NOW + 419)  # last second of cache time + grace
        t.eq(c.status(tok), "AUTHD_OK")
        c.at(NOW + 420)
        t.eq(c.status(tok), "AUTHD_ERR_KEYS_UNAVAILABLE")
        srv = JwksServer(cache_control="max-age=120", port=srv.port).start()  # authd is back
        c.at(NOW + 460)
        t.eq(c.status(tok), "AUTHD_OK")
        srv.stop()


@test
def unreachable_jwks_at_start_is_keys_unavailable_then_recovers(t):
    srv = JwksServer()
    with Checker(srv.url, refetch=30) as c:
        tok = mint(claims())
        t.eq(c.status(tok), "AUTHD_ERR_KEYS_UNAVAILABLE")
        srv.start()
        t.eq(c.status(tok), "AUTHD_ERR_KEYS_UNAVAILABLE")  # no retry within the interval
        t.eq(srv.fetches, 0)
        c.at(NOW + 30)
        t.eq(c.status(tok), "AUTHD_OK")
        t.eq(srv.fetches, 1)
        srv.stop()


@test
def bad_jwks_answers_keep_the_old_keys(t):
    with JwksServer() as srv, Checker(srv.url) as c:
        tok = mint(claims())
        t.eq(c.status(tok), "AUTHD_OK")
        for status, doc, want in ((500, b"{}", "AUTHD_ERR_UNAVAILABLE"),
                                  (404, b"", "AUTHD_ERR_UNAVAILABLE"),
                                  (200, b"not json", "AUTHD_ERR_PROTOCOL"),
                                  (200, b'{"keys":[]}', "AUTHD_ERR_PROTOCOL"),
                                  (200, b'{"keys":[{"kty":"oct","k":"AAAA"}]}',
                                   "AUTHD_ERR_PROTOCOL"),
                                  (200, b" " * (70 * 1024), "AUTHD_ERR_PROTOCOL")):
            srv.status, srv.doc = status, doc
            t.eq(c.cmd("refresh")["status"], want, f"{status} {doc[:20]!r}")
            t.eq(c.status(tok), "AUTHD_OK")
        t.eq(c.stats()["failures"], 6)


@test
def example_program_validates_against_authd(t):
    tok = mint(claims())
    p = subprocess.run([os.path.join(BUILD, "clientlib", "example"), ISS, "license", tok,
                        "license.read"], capture_output=True, text=True)
    if _authd.get("/jwks").status_code == 200:
        t.eq(p.returncode, 0, p.stdout + p.stderr)
        t.check(p.stdout.startswith("valid: sub=Zr3b9sQ0xGm1"), p.stdout)
    else:  # authd does not serve /jwks yet (the token branch): the library says so
        t.eq(p.returncode, 1)
        t.eq(p.stdout.strip(), "refused: AUTHD_ERR_KEYS_UNAVAILABLE")


def module_creds():
    m = [c for c in _authd.demo()["clients"] if c["client_id"] == "demo-module"][0]
    return m["client_id"], m["client_secret"]


@test
def authd_jwks_endpoint_is_fetched_and_its_max_age_honoured(t):
    with Checker(ISS + "/jwks", min_cache=10) as c:
        r = c.validate(mint(claims()))
        t.eq(r["status"], "AUTHD_OK")
        s = c.stats()
        t.eq((s["fetches"], s["failures"]), (1, 0))
        t.eq(s["fresh_until"], NOW + 300)  # authd sends Cache-Control: public, max-age=300


@test
def client_credentials_token_from_authd_validates(t):
    cid, secret = module_creds()
    # the checker's clock is fixed when it starts; a token minted after a second boundary
    # would be "not yet valid" to it: run it a few seconds ahead (tokens live minutes)
    with Checker(ISS + "/jwks", aud=cid, client_id=cid, client_secret=secret,
                 clock=int(time.time()) + 5) as c:
        r = c.cmd("cc openid")
        t.eq(r["status"], "AUTHD_OK", r)
        t.eq(r["token_type"].lower(), "bearer")
        t.check(r["expires_in"] > 0, r)
        v = c.validate(r["access_token"])
        t.eq(v["status"], "AUTHD_OK", v)
        t.eq(v.get("sub"), cid)  # RFC 9068 §2.2: sub is the client for client_credentials
        t.eq(v.get("client_id"), cid)


@test
def introspection_at_authd_reports_active_and_inactive(t):
    cid, secret = module_creds()
    with Checker(ISS + "/jwks", aud=cid, client_id=cid, client_secret=secret,
                 clock=int(time.time())) as c:
        tok = c.cmd("cc openid")["access_token"]
        r = c.cmd("introspect " + tok)
        t.eq(r["status"], "AUTHD_OK", r)
        t.eq(r.get("client_id"), cid)
        t.eq(c.cmd("introspect " + tok + " scope=license.write")["status"], "AUTHD_ERR_SCOPE")
        t.eq(c.cmd("introspect not-a-token")["status"], "AUTHD_ERR_INACTIVE")
    with Checker(ISS + "/jwks", aud=cid, client_id=cid, client_secret="wrong") as c:
        r = c.cmd("introspect " + tok)
        t.eq(r["status"], "AUTHD_ERR_REFUSED", r)
        t.eq((r.get("http_status"), r.get("error")), (401, "invalid_client"))


@test
def refused_token_requests_carry_authd_oauth_error(t):
    cid, secret = module_creds()
    with Checker(ISS + "/jwks", aud=cid, client_id=cid, client_secret=secret) as c:
        r = c.cmd("cc not-a-scope")
        t.eq(r["status"], "AUTHD_ERR_REFUSED", r)
        t.eq(r.get("error"), "invalid_scope")
        # token exchange is not served by authd yet: the refusal is reported, not a crash
        r = c.cmd("exchange " + mint(claims()) + " license license.read")
        t.eq(r["status"], "AUTHD_ERR_REFUSED", r)
        t.check(r.get("error") in ("unsupported_grant_type", "unauthorized_client",
                                   "invalid_target"), r)
    with Checker(ISS + "/jwks", aud=cid, client_id=cid, client_secret="wrong") as c:
        r = c.cmd("cc openid")
        t.eq((r["status"], r.get("error")), ("AUTHD_ERR_REFUSED", "invalid_client"))


# Last: it rotates the shared state's keys.
@test
def key_rotation_in_authd_is_picked_up_without_restart(t):
    with JwksServer() as srv, Checker(srv.url, refetch=30) as c:
        old = mint(claims())
        t.eq(c.status(old), "AUTHD_OK")
        _authd.authctl("keys", "rotate")  # phase 1: next key published
        _authd.authctl("keys", "rotate")  # phase 2: it signs; the old one is previous
        srv.doc = published_jwks()  # what authd's /jwks now serves
        new = mint(claims())
        t.check(new.split(".")[0] != old.split(".")[0], "new kid")
        c.at(NOW + 30)
        t.eq(c.status(new), "AUTHD_OK")  # unknown kid: one refetch
        t.eq(c.status(old), "AUTHD_OK")  # previous key still published
        t.eq(srv.fetches, 2)
        t.eq(_authd.get("/healthz").status_code, 200)



def dpop_proof(key, htm, htu, token, iat=None, jti=None):
    from jwcrypto import jwt as jjwt
    c = {"jti": jti or uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": iat or NOW,
         "ath": b64(hashlib.sha256(token.encode()).digest())}
    t = jjwt.JWT(header={"typ": "dpop+jwt", "alg": "ES256",
                         "jwk": json.loads(key.export_public())}, claims=c)
    t.make_signed_token(key)
    return t.serialize()


@test
def dpop_bound_tokens_need_a_proof_of_their_key(t):
    from jwcrypto import jwk as jjwk
    key, other = jjwk.JWK.generate(kty="EC", crv="P-256"), jjwk.JWK.generate(kty="EC", crv="P-256")
    url = "https://license.example/api/licenses"
    bound = mint(claims(cnf={"jkt": key.thumbprint()}))
    plain = mint(claims())
    with JwksServer() as js:
        c = Checker(js.url)
        r = c.cmd(f"dpop {bound} GET {url} {dpop_proof(key, 'GET', url, bound)}")
        t.eq(r["status"], "AUTHD_OK", r)
        t.eq(r.get("cnf_jkt"), key.thumbprint())
        # as Bearer: refused by both entry points
        t.eq(c.status(bound), "AUTHD_ERR_DPOP")
        t.eq(c.cmd(f"dpop {bound} GET {url} -")["status"], "AUTHD_ERR_DPOP")
        p = dpop_proof(key, "GET", url, bound, jti="once")
        t.eq(c.cmd(f"dpop {bound} GET {url} {p}")["status"], "AUTHD_OK")
        bad = {
            "replayed": p,
            "other key": dpop_proof(other, "GET", url, bound),
            "wrong htm": dpop_proof(key, "POST", url, bound),
            "wrong htu": dpop_proof(key, "GET", url + "/x", bound),
            "wrong ath": dpop_proof(key, "GET", url, plain),
            "stale": dpop_proof(key, "GET", url, bound, iat=NOW - 3600),
        }
        for name, pr in bad.items():
            t.eq(c.cmd(f"dpop {bound} GET {url} {pr}")["status"], "AUTHD_ERR_DPOP", name)
        # a proof with a token that is not bound
        t.eq(c.cmd(f"dpop {plain} GET {url} {dpop_proof(key, 'GET', url, plain)}")["status"],
             "AUTHD_ERR_DPOP")
        t.eq(c.status(plain), "AUTHD_OK")
        c.close()


@test
def certificate_bound_tokens_need_their_certificate(t):
    """RFC 8705 §3: authd_client_validate_mtls with the presenting certificate's DER."""
    import tempfile
    d = tempfile.mkdtemp()
    ders = []
    for n in ("mine", "other"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/{n}.key",
                        "-out", f"{d}/{n}.der", "-outform", "DER", "-subj", f"/CN={n}",
                        "-days", "1"], check=True, capture_output=True)
        ders.append(f"{d}/{n}.der")
    x5t = b64(hashlib.sha256(open(ders[0], "rb").read()).digest())
    bound = mint(claims(cnf={"x5t#S256": x5t}))
    plain = mint(claims())
    with JwksServer() as js:
        c = Checker(js.url)
        r = c.cmd(f"mtls {bound} {ders[0]}")
        t.eq(r["status"], "AUTHD_OK", r)
        t.eq(r.get("cnf_x5t"), x5t)
        t.eq(c.cmd(f"mtls {bound} {ders[1]}")["status"], "AUTHD_ERR_CERT_BOUND", "other cert")
        t.eq(c.cmd(f"mtls {bound} -")["status"], "AUTHD_ERR_CERT_BOUND", "no certificate")
        t.eq(c.status(bound), "AUTHD_ERR_CERT_BOUND", "authd_client_validate")
        t.eq(c.cmd(f"dpop {bound} GET https://m.example/x -")["status"], "AUTHD_ERR_CERT_BOUND")
        t.eq(c.cmd(f"mtls {plain} {ders[0]}")["status"], "AUTHD_OK", "unbound token")
        c.close()
    shutil.rmtree(d, ignore_errors=True)

run()
