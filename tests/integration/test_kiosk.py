"""The kiosk channel over real TLS with certificates from certs/dev-pki and authctl kiosk
enroll (docs/kiosk.md): mutual TLS on kiosk_listen and through a trusted proxy's header,
tls_client_auth and certificate-bound tokens (RFC 8705), the card login with assertions
signed by jwcrypto (an implementation that is not ours), every refusal, the levels, the
idle lifetime and the card-removed logout with its back-channel logout."""
import base64
import csv
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import http.client
from urllib.parse import quote, urlencode, urlsplit, parse_qs

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import BUILD as BUILD_DIR, Authd, Redis, free_port, run, test  # noqa: E402
import rpkit  # noqa: E402
from rpkit import BCReceiver  # noqa: E402

from jwcrypto import jwk, jws, jwt  # noqa: E402

RCV = BCReceiver().start()
RD = Redis().start()  # authctl audit export reads the chain from the store
KPORT = free_port()
A = Authd(population=500)
PKI = os.path.join(A.state, "pki")
ISS = f"https://127.0.0.1:{A.port}"
A.conf_extra = {"tls_cert": f"{PKI}/server-chain.crt", "tls_key": f"{PKI}/server.key",
                "issuer": ISS, "kiosk_listen": f"127.0.0.1:{KPORT}",
                "kiosk_cert_header": "X-SSL-Client-Cert", "kiosk_trusted_proxies": "127.0.0.1",
                "store": RD.url()}
A.setup()
with open(os.path.join(A.state, "policy", "kiosk.conf"), "w") as f:
    f.write(f"""
[client kiosk-app]
name = 政务服务自助终端 Self-service kiosk
type = confidential
auth_method = tls_client_auth
grant_types = refresh_token client_credentials
scopes = openid profile phone
backchannel_logout_uri = {RCV.uri}
location = 市民中心一楼大厅 3 号机

[client fapi-kiosk]
type = confidential
auth_method = tls_client_auth
profile = fapi2
redirect_uris = https://127.0.0.1/fcb
grant_types = authorization_code
scopes = openid
first_party = true

[client aal3-rp]
type = confidential
auth_method = client_secret_post
secret_hash = sha256:{hashlib.sha256(b"aal3-secret").hexdigest()}
redirect_uris = https://127.0.0.1/cb
grant_types = authorization_code
scopes = openid
first_party = true
min_acr = urn:authd:acr:ial3:aal3
""")
with open(os.path.join(A.state, "policy", "zz-kiosk-tokens.conf"), "w") as f:
    f.write("[tokens]\nkiosk_idle_ttl = 10\n")


def authctl(*args, check=True):
    return A.authctl(*args, check=check)


for k, client in (("kiosk-17", "kiosk-app"), ("kiosk-18", "kiosk-app"), ("kiosk-19", "kiosk-app"),
                  ("kiosk-20", ""), ("kiosk-21", "kiosk-app fapi-kiosk")):
    authctl("kiosk", "enroll", "--id", k, "--location", "市民中心一楼大厅 3 号机",
            "--services", "profile", "--client", client, "--operator", "ops1")
A.start()
CA = os.path.join(PKI, "ca-bundle.crt")
KD = os.path.join(A.state, "kiosks")
DEMO = A.demo()
CIT = DEMO["citizens"]
ROWS = list(csv.DictReader(open(os.path.join(A.state, "population.csv"), encoding="utf-8")))


def cert(k):
    return (os.path.join(KD, k + ".crt"), os.path.join(KD, k + ".key"))


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def x5t(k):
    der = ssl.PEM_cert_to_DER_cert(open(cert(k)[0]).read())
    return b64(hashlib.sha256(der).digest())


def key_of(k):
    return jwk.JWK.from_pem(open(cert(k)[1], "rb").read())


def ctx(c=None):
    cx = ssl.create_default_context(cafile=CA)
    if c:
        cx.load_cert_chain(*c)
    return cx


def call(path, form=None, c=None, port=None, headers=None, source=None, method="POST"):
    """One HTTPS request (a client certificate c on kiosk_listen unless port says otherwise):
    (status, parsed JSON or None, headers)."""
    conn = http.client.HTTPSConnection("127.0.0.1", port or KPORT, context=ctx(c), timeout=10,
                                       source_address=(source, 0) if source else None)
    body = urlencode(form) if form is not None else None
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    try:
        j = json.loads(data) if data else None
    except ValueError:
        j = None
    return r.status, j, r


def nonce(k="kiosk-17"):
    st, j, _ = call("/kiosk/nonce", {"client_id": "kiosk-app"}, cert(k))
    assert st == 200, (st, j)
    return j["nonce"]


def card(citizen=None, **over):
    c = citizen or CIT[0]
    d = {"type": "resident_id", "id_number": c["id_number"], "name": c["name"],
         "valid_from": "2015-03-07", "valid_until": "2035-03-07",
         "authority": "北京市公安局东城分局", "photo_sha256": b64(hashlib.sha256(b"photo").digest())}
    d.update(over)
    return d


def assertion(k="kiosk-17", n=None, crd=None, face=0.93, signer=None, hdr_x5t=None, **over):
    now = int(time.time())
    claims = {"iss": k, "aud": ISS, "iat": now, "exp": now + 60, "nonce": n or nonce(k),
              "card": crd or card()}
    if face is not None:
        claims["face_score"] = face
    claims.update(over)
    t = jwt.JWT(header={"alg": "ES256", "typ": "card-assertion+jwt",
                        "x5t#S256": hdr_x5t or x5t(k)}, claims=claims)
    t.make_signed_token(key_of(signer or k))
    return t.serialize()


def login(k="kiosk-17", a=None, scope="openid profile", c=None):
    return call("/kiosk/card-login", {"client_id": "kiosk-app", "scope": scope,
                                      "assertion": a or assertion(k)}, c or cert(k))


def claims_of(tok):
    return json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "=="))


def refused(t, r, status, error, words):
    st, j, _ = r
    t.eq(st, status, f"status ({j})")
    t.eq((j or {}).get("error"), error, "error")
    t.check(words in (j or {}).get("error_description", ""),
            f"description {j and j.get('error_description')!r} lacks {words!r}")


@test
def enrolment_writes_key_certificate_record_and_list_shows_expiry(t):
    out = authctl("kiosk", "list").stdout
    t.check("kiosk-17\tactive\t" in out, out)
    rec = json.load(open(os.path.join(KD, "kiosk-17.json")))
    t.eq(rec["clients"], ["kiosk-app"])
    t.eq(rec["services"], ["profile"])
    t.eq(oct(os.stat(cert("kiosk-17")[1]).st_mode & 0o777), "0o600")
    txt = subprocess.run(["openssl", "x509", "-in", cert("kiosk-17")[0], "-noout", "-text"],
                         capture_output=True, text=True).stdout
    t.check("URI:urn:authd:kiosk:kiosk-17" in txt and "CN = kiosk-17" in txt, txt)
    t.check("prime256v1" in txt or "P-256" in txt, "EC P-256")
    v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(PKI, "root-ca.crt"),
                        "-untrusted", os.path.join(PKI, "kiosk-ca-chain.crt"), "-crl_check",
                        "-CRLfile", os.path.join(PKI, "kiosk-ca.crl"), cert("kiosk-17")[0]],
                       capture_output=True, text=True)
    t.eq(v.returncode, 0, v.stdout + v.stderr)
    t.eq(authctl("kiosk", "enroll", "--id", "../x", "--location", "x", "--services", "p",
                 check=False).returncode, 2)


@test
def discovery_advertises_tls_client_auth_and_bound_tokens(t):
    st, j, _ = call("/.well-known/openid-configuration", port=A.port, method="GET")
    t.eq(st, 200)
    t.check("tls_client_auth" in j["token_endpoint_auth_methods_supported"])
    t.eq(j.get("tls_client_certificate_bound_access_tokens"), True)
    t.eq(j["mtls_endpoint_aliases"]["token_endpoint"], f"https://127.0.0.1:{KPORT}/token")


@test
def card_login_gives_ial4_aal3_bound_tokens_and_a_browser_session(t):
    st, j, _ = login()
    t.require(st == 200, f"{st} {j}")
    at, it = claims_of(j["access_token"]), claims_of(j["id_token"])
    t.eq(j["token_type"], "Bearer")
    t.eq(at["cnf"], {"x5t#S256": x5t("kiosk-17")})
    t.eq(it["acr"], "urn:authd:acr:ial4:aal3")
    t.eq(it["amr"], ["hwk", "face"])
    t.eq(it["sid"], j["sid"])
    t.check(j["session_uri"].startswith(ISS + "/kiosk/session?code="), j["session_uri"])
    t.check("refresh_token" in j, "refresh_token for a client with the grant")
    ev = [e for e in A.log_events() if e.get("ev") == "card.login" and e.get("rc") == "RC_OK"]
    t.check(ev and ev[-1]["kiosk"] == "kiosk-17" and "*" in ev[-1]["idn"], f"log {ev[-1:]}")
    # the audit chain holds the login with the account, the kiosk and its location
    path = os.path.join(A.state, "audit-export.jsonl")
    authctl("audit", "export", path)
    recs = [json.loads(l) for l in open(path, encoding="utf-8") if "card.login" in l]
    t.require(recs, "an audit record card.login")
    last = json.dumps(recs[-1], ensure_ascii=False)
    t.check("kiosk-17" in last and "市民中心" in last and "kiosk-app" in last, last)
    t.check(CIT[0]["id_number"] not in last and CIT[0]["name"] not in last, "nothing unmasked")


@test
def without_a_face_score_the_login_is_ial3(t):
    st, j, _ = login(a=assertion(face=None))
    t.require(st == 200, f"{st} {j}")
    it = claims_of(j["id_token"])
    t.eq(it["acr"], "urn:authd:acr:ial3:aal3")
    t.eq(it["amr"], ["hwk"])


@test
def a_replayed_assertion_is_refused(t):
    a = assertion()
    t.eq(login(a=a)[0], 200)
    refused(t, login(a=a), 400, "invalid_grant", "nonce")


@test
def card_and_assertion_refusals_name_the_reason(t):
    cancelled = [r for r in ROWS if r["status"] == "cancelled"]
    t.require(cancelled, "the population has a cancelled record")
    refused(t, login(a=assertion(crd=card(valid_from="2005-01-01", valid_until="2015-01-01"))),
            400, "invalid_grant", "expired")
    refused(t, login(a=assertion(crd=card(cancelled[0]))), 400, "invalid_grant", "cancelled")
    refused(t, login(a=assertion(crd=card(name=CIT[1]["name"] + "伟"))), 400, "invalid_grant",
            "do not match")
    refused(t, login(a=assertion(face=0.5)), 400, "invalid_grant", "face_score")
    # signed by kiosk-18's key, presented by kiosk-17 (whose certificate the header names)
    refused(t, login(a=assertion(signer="kiosk-18")), 400, "invalid_grant",
            "not signed by the presenting kiosk's key")
    # kiosk-18's own assertion presented over kiosk-17's connection
    refused(t, login(a=assertion("kiosk-18"), c=cert("kiosk-17")), 400, "invalid_grant",
            "x5t#S256")
    # a nonce kiosk-17 asked for, in an assertion of kiosk-18
    refused(t, login("kiosk-18", a=assertion("kiosk-18", n=nonce("kiosk-17"))), 400,
            "invalid_grant", "another kiosk")
    refused(t, login(a=assertion(aud="https://elsewhere.example")), 400, "invalid_grant", "aud")
    refused(t, login(a=assertion(n="A" * 22)), 400, "invalid_grant", "nonce")
    refused(t, login(a="not.a.jws"), 400, "invalid_grant", "assertion")
    refused(t, login(scope="profile"), 400, "invalid_scope", "openid")
    refused(t, login(scope="openid phone"), 400, "invalid_grant", "not enrolled")


@test
def certificates_are_checked(t):
    # a kiosk enrolled for no client cannot authenticate as kiosk-app
    refused(t, call("/kiosk/nonce", {"client_id": "kiosk-app"}, cert("kiosk-20")), 401,
            "invalid_client", "not enrolled for this client")
    # no certificate at all
    refused(t, call("/kiosk/nonce", {"client_id": "kiosk-app"}), 401, "invalid_client",
            "none presented")
    # a certificate of another CA naming the same kiosk
    d = tempfile.mkdtemp()
    try:
        def ossl(*a):
            subprocess.run(["openssl", *a], check=True, capture_output=True)
        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-subj", "/CN=rogue CA",
             "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE")
        ossl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", f"{d}/k.key", "-out", f"{d}/k.csr", "-subj", "/CN=kiosk-17")
        with open(f"{d}/ext", "w") as f:
            f.write("subjectAltName=URI:urn:authd:kiosk:kiosk-17\nextendedKeyUsage=clientAuth\n")
        ossl("x509", "-req", "-in", f"{d}/k.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key",
             "-CAcreateserial", "-days", "30", "-extfile", f"{d}/ext", "-out", f"{d}/k.crt")
        refused(t, call("/kiosk/nonce", {"client_id": "kiosk-app"}, (f"{d}/k.crt", f"{d}/k.key")),
                401, "invalid_client", "not issued by the kiosk CA")
        # authd's own server certificate: the province CA's, not the kiosk CA's
        refused(t, call("/kiosk/nonce", {"client_id": "kiosk-app"},
                        (os.path.join(PKI, "popbase-client.crt"),
                         os.path.join(PKI, "popbase-client.key"))),
                401, "invalid_client", "not issued by the kiosk CA")
    finally:
        shutil.rmtree(d)


@test
def a_revoked_kiosk_is_refused_once_the_crl_is_reloaded(t):
    t.eq(call("/kiosk/nonce", {"client_id": "kiosk-app"}, cert("kiosk-19"))[0], 200)
    rec_path = os.path.join(KD, "kiosk-19.json")
    before = open(rec_path).read()
    authctl("kiosk", "revoke", "kiosk-19")
    # the registry still saying active (a copy not yet updated): the CRL alone refuses
    with open(rec_path, "w") as f:
        f.write(before)
    time.sleep(0.6)  # the CRL's mtime is looked at every 500 ms
    refused(t, call("/kiosk/nonce", {"client_id": "kiosk-app"}, cert("kiosk-19")), 401,
            "invalid_client", "revoked")
    t.check("kiosk-19\tactive" in authctl("kiosk", "list").stdout)
    authctl("kiosk", "revoke", "kiosk-19")
    t.check("kiosk-19\trevoked" in authctl("kiosk", "list").stdout)


@test
def the_bound_token_works_only_with_the_kiosks_certificate(t):
    st, j, _ = login()
    t.require(st == 200, f"{st} {j}")
    auth = {"Authorization": "Bearer " + j["access_token"]}
    st, u, _ = call("/userinfo", c=cert("kiosk-17"), headers=auth, method="GET")
    t.eq(st, 200, f"userinfo with the certificate: {u}")
    st, u, r = call("/userinfo", port=A.port, headers=auth, method="GET")
    t.eq((st, (u or {}).get("error")), (401, "invalid_token"), "without a certificate")
    t.check("invalid_token" in (r.getheader("WWW-Authenticate") or ""), "Bearer challenge")
    st, u, _ = call("/userinfo", c=cert("kiosk-18"), headers=auth, method="GET")
    t.eq((st, (u or {}).get("error")), (401, "invalid_token"), "another kiosk's certificate")
    # introspection answers the binding (RFC 8705 §3.2)
    st, i, _ = call("/introspect", {"token": j["access_token"], "client_id": "kiosk-app"},
                    cert("kiosk-17"))
    t.eq((st, i.get("active"), i.get("cnf")), (200, True, {"x5t#S256": x5t("kiosk-17")}))
    # client_credentials of a tls_client_auth client: bound too
    st, cc, _ = call("/token", {"grant_type": "client_credentials", "client_id": "kiosk-app"},
                     cert("kiosk-17"))
    t.eq(st, 200, f"{cc}")
    t.eq(claims_of(cc["access_token"]).get("cnf"), {"x5t#S256": x5t("kiosk-17")})
    # the same client without a certificate (the public listener) cannot authenticate
    refused(t, call("/token", {"grant_type": "client_credentials", "client_id": "kiosk-app"},
                    port=A.port), 401, "invalid_client", "none presented")


@test
def libauthd_client_refuses_the_bound_token_without_the_kiosks_certificate(t):
    """The real token of a card login through libauthd-client (authd-client-check), its
    JWKS fetched from the live daemon and served to it over loopback HTTP."""
    import http.server
    import threading
    st, j, _ = login()
    t.require(st == 200, f"{st} {j}")
    _, jwks, _ = call("/jwks", port=A.port, method="GET")
    body = json.dumps(jwks).encode()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    d = tempfile.mkdtemp()
    try:
        for k in ("kiosk-17", "kiosk-18"):
            with open(f"{d}/{k}.der", "wb") as f:
                f.write(ssl.PEM_cert_to_DER_cert(open(cert(k)[0]).read()))
        p = subprocess.run([os.path.join(BUILD_DIR, "clientlib", "authd-client-check"),
                            "--issuer", ISS, "--aud", "kiosk-app", "--allow-http", "--jwks",
                            f"http://127.0.0.1:{srv.server_address[1]}/jwks"],
                           input=f"mtls {j['access_token']} {d}/kiosk-17.der\n"
                                 f"mtls {j['access_token']} {d}/kiosk-18.der\n"
                                 f"mtls {j['access_token']} -\n"
                                 f"validate {j['access_token']}\n",
                           capture_output=True, text=True, timeout=30)
        out = [json.loads(l) for l in p.stdout.splitlines()]
        t.eq([o["status"] for o in out], ["AUTHD_OK", "AUTHD_ERR_CERT_BOUND",
                                          "AUTHD_ERR_CERT_BOUND", "AUTHD_ERR_CERT_BOUND"],
             p.stderr)
        t.eq(out[0].get("cnf_x5t"), x5t("kiosk-17"))
    finally:
        srv.shutdown()
        shutil.rmtree(d)


@test
def a_trusted_proxys_header_is_honoured_and_any_other_ignored(t):
    pem = open(cert("kiosk-17")[0]).read()
    hdr = {"X-SSL-Client-Cert": quote(pem, safe="")}
    st, j, _ = call("/kiosk/nonce", {"client_id": "kiosk-app"}, port=A.port, headers=hdr,
                    source="127.0.0.1")
    t.eq(st, 200, f"from the trusted proxy: {j}")
    refused(t, call("/kiosk/nonce", {"client_id": "kiosk-app"}, port=A.port, headers=hdr,
                    source="127.0.0.2"), 401, "invalid_client", "none presented")
    refused(t, call("/kiosk/nonce", {"client_id": "kiosk-app"}, port=A.port,
                    headers={"X-SSL-Client-Cert": "garbage"}, source="127.0.0.1"),
            401, "invalid_client", "URL-encoded PEM")


def browser_session(session_uri):
    """Opens session_uri as the kiosk screen's browser would: the SSO cookie it sets."""
    u = urlsplit(session_uri)
    st, _, r = call(u.path + "?" + u.query, port=A.port, method="GET")
    return st, r.getheader("Location"), r.getheader("Set-Cookie")


PKCE = {"code_challenge": b64(hashlib.sha256(b"v" * 43).digest()),
        "code_challenge_method": "S256"}


def card_session(t, k="kiosk-17"):
    """A card login of k and its session_uri opened: (the login's JSON, (status, Location,
    Set-Cookie))."""
    st, j, _ = login(k)
    t.require(st == 200, f"{st} {j}")
    return j, browser_session(j["session_uri"])


def authorize(cookie, client="aal3-rp"):
    q = urlencode({"client_id": client, "response_type": "code", "scope": "openid",
                   "redirect_uri": "https://127.0.0.1/cb", "state": "s1", "nonce": "n1", **PKCE})
    h = {"Cookie": cookie.split(";")[0]} if cookie else {}
    st, _, r = call("/authorize?" + q, port=A.port, headers=h, method="GET")
    return st, r.getheader("Location") or ""


def password_session(c):
    """The SSO cookie ("name=value") of a password login through /login."""
    import requests
    import types
    s = requests.Session()
    s.trust_env = False
    s.verify = CA
    portal = [x for x in DEMO["clients"] if x["client_id"] == "demo-portal"][0]
    rpkit.login_code(types.SimpleNamespace(base=ISS), s, c, "demo-portal",
                     portal["redirect_uris"][0])
    return "; ".join(f"{k.name}={k.value}" for k in s.cookies if "authd_session" in k.name)


@test
def the_session_uri_opens_the_sso_session_once_and_an_aal3_rp_accepts_it(t):
    j, (st, loc, cookie) = card_session(t)
    t.eq(st, 303)
    t.eq(loc, ISS + "/account")
    t.check(cookie and "authd_session=" in cookie, f"cookie {cookie}")
    st, loc = authorize(cookie)
    t.check(loc.startswith("https://127.0.0.1/cb?code="), f"card session at aal3: {st} {loc}")
    st2, loc2, _ = browser_session(j["session_uri"])
    t.eq(st2, 400, "a session_uri works once")
    # a password session is not enough for the aal3 relying party: sent to step up
    pw = password_session(CIT[2])
    st, loc = authorize(pw)
    t.check(not loc.startswith("https://127.0.0.1/cb?code="), f"no code at aal1: {st} {loc}")
    t.check("/login" in loc or "error=" in loc, f"sent to log in again or refused: {loc}")


@test
def a_fapi2_client_authenticates_with_tls_client_auth_and_gets_bound_tokens(t):
    """FAPI 2.0 SP §5.3.2.1: tls_client_auth and mTLS-bound tokens instead of
    private_key_jwt and DPoP: PAR, the code and /token over mutual TLS, no DPoP proof."""
    j, (st, loc, cookie) = card_session(t, "kiosk-21")
    verifier = "v" * 43
    st, par, _ = call("/par", {"client_id": "fapi-kiosk", "response_type": "code",
                               "scope": "openid", "redirect_uri": "https://127.0.0.1/fcb",
                               "state": "f1", "nonce": "n1", **PKCE}, cert("kiosk-21"))
    t.require(st == 201, f"/par {st} {par}")
    q = urlencode({"client_id": "fapi-kiosk", "request_uri": par["request_uri"]})
    st, _, r = call("/authorize?" + q, port=A.port, headers={"Cookie": cookie.split(";")[0]},
                    method="GET")
    loc = r.getheader("Location") or ""
    t.require(loc.startswith("https://127.0.0.1/fcb?"), f"/authorize {st} {loc}")
    code = parse_qs(urlsplit(loc).query)["code"][0]
    st, tok, _ = call("/token", {"grant_type": "authorization_code", "client_id": "fapi-kiosk",
                                 "code": code, "redirect_uri": "https://127.0.0.1/fcb",
                                 "code_verifier": verifier}, cert("kiosk-21"))
    t.eq(st, 200, f"/token {tok}")
    t.eq(claims_of(tok["access_token"]).get("cnf"), {"x5t#S256": x5t("kiosk-21")})
    t.eq(tok.get("token_type"), "Bearer")
    # the same client over the public listener, no certificate: refused
    refused(t, call("/par", {"client_id": "fapi-kiosk", "response_type": "code",
                             "scope": "openid", "redirect_uri": "https://127.0.0.1/fcb",
                             **PKCE}, port=A.port), 401, "invalid_client", "none presented")


@test
def card_removed_ends_the_session_and_sends_the_back_channel_logout(t):
    j, (st, loc, cookie) = card_session(t)
    refused(t, call("/kiosk/card-removed", {"client_id": "kiosk-app", "sid": j["sid"]},
                    cert("kiosk-18")), 400, "invalid_request", "not a card session of this kiosk")
    n = len(RCV.tokens)
    st, _, _ = call("/kiosk/card-removed", {"client_id": "kiosk-app", "sid": j["sid"]},
                    cert("kiosk-17"))
    t.eq(st, 204)
    deadline = time.time() + 10
    while len(RCV.tokens) == n and time.time() < deadline:
        time.sleep(0.1)
    t.require(len(RCV.tokens) > n, "a back-channel logout reached the kiosk client")
    lt = claims_of(RCV.tokens[-1]["token"])
    t.eq(lt.get("sid"), j["sid"])
    st, loc = authorize(cookie)
    t.check(not loc.startswith("https://127.0.0.1/cb?code="), "the SSO session is gone")
    st, r, _ = call("/token", {"grant_type": "refresh_token", "client_id": "kiosk-app",
                               "refresh_token": j["refresh_token"]}, cert("kiosk-17"))
    t.eq((st, (r or {}).get("error")), (400, "invalid_grant"), "refresh token revoked")


@test
def the_card_session_ends_after_its_idle_lifetime(t):
    j, (st, loc, cookie) = card_session(t)
    t.eq(st, 303)
    time.sleep(11)  # policy [tokens] kiosk_idle_ttl = 10
    st, loc = authorize(cookie)
    t.check(not loc.startswith("https://127.0.0.1/cb?code="), f"ended: {st} {loc}")
    st, _, _ = call("/kiosk/card-removed", {"client_id": "kiosk-app", "sid": j["sid"]},
                    cert("kiosk-17"))
    t.eq(st, 204, "card-removed after the idle end still answers 204")


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
        RCV.stop()
        RD.stop()
        if not os.environ.get("AUTHD_KEEP_STATE"):
            shutil.rmtree(A.state, ignore_errors=True)
