"""SM2 with SM3 (JWS alg SM2SM3, docs/crypto.md) next to ES256 on one running authd (issue 19,
item 1). Every SM2 signature authd makes is checked by implementations that are not ours:
the openssl command line (`openssl dgst -sm3 -verify ... -sigopt distid:1234567812345678`
over the JWS signing input, the public key rebuilt from /jwks) and the JavaScript sm-crypto
package (tests/interop/sm2-verifier, installed with npm ci). An ES256 client's tokens are
checked by jwcrypto. An SM2 client assertion (private_key_jwt) signed by the openssl CLI is
accepted at /token; libauthd-client validates an SM2 access token from the live daemon; a
logout token for an SM2 client is signed with SM2. The daemon runs with identifier_hmac = sm3
(HMAC-SM3 keyed hashes of accounts, subjects, CSRF and token store keys): logins, pairwise
subjects and SSO work under it."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from itest import BUILD, ROOT, Authd, free_port, run, test  # noqa: E402
from rpkit import BCReceiver, tokens, verify_jws, write_test_client  # noqa: E402


DISTID = "1234567812345678"  # GM/T 0009's default, JOSE_SM2_ID in core/jose.h
# SubjectPublicKeyInfo of an SM2 key up to the point: id-ecPublicKey, curve SM2
# (1.2.156.10197.1.301), BIT STRING of 66 bytes, uncompressed point tag.
SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d03420004")
CHECK = os.path.join(BUILD, "clientlib", "authd-client-check")
VERIFIER = os.path.join(ROOT, "tests", "interop", "sm2-verifier")
TMP = tempfile.mkdtemp(prefix="authd-sm2-")

RCV = BCReceiver().start()
# The whole daemon also keys its stored identifiers with HMAC-SM3 (identifier_hmac, item 2).
A = Authd(population=500, conf={"identifier_hmac": "sm3"}).setup()
A.authctl("keys", "init", "--sm2")
CB = {"es": f"http://127.0.0.1:{free_port()}/cb", "sm2": f"http://127.0.0.1:{free_port()}/cb"}
write_test_client(A, "rp-es", CB["es"])
write_test_client(A, "rp-sm2", CB["sm2"], bc_uri=RCV.uri,
                  extra=["id_token_signed_response_alg = SM2SM3",
                         "access_token_signed_response_alg = SM2SM3"])


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return bytes([2, len(b)]) + b


def raw_to_der(raw):
    """r‖s (64 bytes) -> DER SEQUENCE {INTEGER r, INTEGER s}, as OpenSSL reads it."""
    body = der_int(raw[:32]) + der_int(raw[32:])
    return bytes([0x30, len(body)]) + body


def der_to_raw(der):
    """DER SEQUENCE {r, s} (short lengths: 32-byte integers) -> r‖s."""
    assert der[0] == 0x30 and der[1] == len(der) - 2, der.hex()
    out, i = b"", 2
    for _ in range(2):
        assert der[i] == 2
        n = der[i + 1]
        out += der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0")
        i += 2 + n
    return out


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=30)


def sm2_key_from_jwks(kid):
    for k in A.get("/jwks").json()["keys"]:
        if k["kid"] == kid:
            return k
    raise AssertionError(f"kid {kid} not in /jwks")


def pem_of(k):
    """The PEM public key of an SM2 JWK, for the openssl command line."""
    spki = SPKI_PREFIX + b64d(k["x"]) + b64d(k["y"])
    path = os.path.join(TMP, k["kid"] + ".pem")
    with open(path, "w") as f:
        f.write("-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(spki).decode()
                + "-----END PUBLIC KEY-----\n")
    return path


def openssl_verifies(token, distid=DISTID):
    """openssl's verdict on an SM2SM3 token against the key /jwks publishes for its kid."""
    h, p, s = token.split(".")
    hdr = json.loads(b64d(h))
    assert hdr["alg"] == "SM2SM3", hdr
    pem = pem_of(sm2_key_from_jwks(hdr["kid"]))
    sig = b64d(s)
    assert len(sig) == 64, len(sig)
    with open(os.path.join(TMP, "input"), "wb") as f:
        f.write(f"{h}.{p}".encode())
    with open(os.path.join(TMP, "sig.der"), "wb") as f:
        f.write(raw_to_der(sig))
    r = openssl("dgst", "-sm3", "-verify", pem, "-sigopt", f"distid:{distid}",
                "-signature", os.path.join(TMP, "sig.der"), os.path.join(TMP, "input"))
    return r.returncode == 0 and b"Verified OK" in r.stdout


def sm_crypto_verdicts(items):
    """sm-crypto's verdicts ("ok"/"bad") on [(token, distid)], one node process."""
    if not os.path.isdir(os.path.join(VERIFIER, "node_modules", "sm-crypto")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=VERIFIER, check=True, capture_output=True, timeout=300)
    lines = []
    for token, distid in items:
        h, p, s = token.split(".")
        k = sm2_key_from_jwks(json.loads(b64d(h))["kid"])
        pub = "04" + b64d(k["x"]).hex() + b64d(k["y"]).hex()
        lines.append(json.dumps({"input": f"{h}.{p}", "sig": b64d(s).hex(), "pub": pub,
                                 "id": distid}))
    r = subprocess.run(["node", os.path.join(VERIFIER, "verify.mjs")], capture_output=True,
                       text=True, input="\n".join(lines) + "\n", timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def tampered(token):
    h, p, s = token.split(".")
    c = json.loads(b64d(p))
    c["sub"] = c.get("sub", "") + "x"
    return f"{h}.{b64e(json.dumps(c).encode())}.{s}"


def sm3_pairwise_sub(sector, id_number):
    """flow/subject.c and flow/account.c under identifier_hmac = sm3, from STATE/master.key:
    hex HMAC-SM3(K_subject, sector 0 hex HMAC-SM3(K_account, id number)), each purpose's key
    HMAC-SM3(master, label) (adapt/secrets_file.c)."""
    with open(os.path.join(A.state, "master.key"), "rb") as f:
        master = f.read()

    def key(label):
        return hmac.new(master, label, "sm3").digest()
    acct = hmac.new(key(b"authd account v1"), id_number.upper().encode(), "sm3").hexdigest()
    return hmac.new(key(b"authd subject v1"), sector.encode() + b"\0" + acct.encode(),
                    "sm3").hexdigest()


def half_hash(token, name):
    d = hashlib.new(name, token.encode()).digest()
    return b64e(d[:len(d) // 2])


# An SM2 key of a client, made by the openssl command line: its JWK registered for
# private_key_jwt, its assertions signed by openssl.
CLIENT_KEY = os.path.join(TMP, "client.pem")
openssl("genpkey", "-algorithm", "SM2", "-out", CLIENT_KEY)
_pub = openssl("pkey", "-in", CLIENT_KEY, "-pubout", "-outform", "DER").stdout
assert _pub.startswith(SPKI_PREFIX), _pub.hex()
CLIENT_JWK = {"kty": "EC", "crv": "SM2", "kid": "c1", "use": "sig",
              "x": b64e(_pub[len(SPKI_PREFIX):][:32]), "y": b64e(_pub[len(SPKI_PREFIX):][32:])}
with open(os.path.join(TMP, "client.jwks"), "w") as _f:
    json.dump({"keys": [CLIENT_JWK]}, _f)
A.authctl("client", "add", "--id", "svc-sm2", "--grant-types", "client_credentials",
          "--auth-method", "private_key_jwt", "--jwks-file", os.path.join(TMP, "client.jwks"),
          "--access-token-alg", "SM2SM3")
A.start()
CITIZEN = A.demo()["citizens"][0]


def client_assertion(jti, distid=DISTID):
    now = int(time.time())
    h = b64e(json.dumps({"alg": "SM2SM3", "kid": "c1", "typ": "JWT"}).encode())
    p = b64e(json.dumps({"iss": "svc-sm2", "sub": "svc-sm2", "aud": A.base + "/token",
                         "jti": jti, "iat": now, "exp": now + 60}).encode())
    with open(os.path.join(TMP, "a.input"), "wb") as f:
        f.write(f"{h}.{p}".encode())
    r = openssl("dgst", "-sm3", "-sign", CLIENT_KEY, "-sigopt", f"distid:{distid}",
                os.path.join(TMP, "a.input"))
    assert r.returncode == 0, r.stderr
    return f"{h}.{p}.{b64e(der_to_raw(r.stdout))}"


def client_credentials(assertion):
    return A.post("/token", data={
        "grant_type": "client_credentials", "client_assertion": assertion,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})


@test
def discovery_and_jwks_publish_the_sm2_key(t):
    d = A.get("/.well-known/openid-configuration").json()
    t.eq(d["id_token_signing_alg_values_supported"], ["ES256", "SM2SM3"])
    t.check("SM2SM3" in d["token_endpoint_auth_signing_alg_values_supported"], d)
    keys = A.get("/jwks").json()["keys"]
    sm2 = [k for k in keys if k.get("crv") == "SM2"]
    t.eq(len(sm2), 1, keys)
    t.eq((sm2[0]["kty"], sm2[0]["alg"], sm2[0]["use"]), ("EC", "SM2SM3", "sig"))
    t.eq((len(sm2[0]["x"]), len(sm2[0]["y"])), (43, 43))
    t.check("d" not in sm2[0], "private part published")


@test
def es256_and_sm2_clients_are_served_by_one_daemon(t):
    s = A.session()
    es = tokens(A, s, CITIZEN, "rp-es", CB["es"])
    sm = tokens(A, s, CITIZEN, "rp-sm2", CB["sm2"])  # SSO: the same login
    hdr, claims = verify_jws(A, es["id_token"])
    t.eq(hdr["alg"], "ES256")
    t.eq(claims["sub"], sm3_pairwise_sub("rp-es.test", CITIZEN["id_number"]),
         "the pairwise sub is HMAC-SM3 keyed (identifier_hmac = sm3)")
    t.eq(claims["at_hash"], half_hash(es["access_token"], "sha256"))
    t.eq(verify_jws(A, es["access_token"])[0]["alg"], "ES256")
    for name in ("id_token", "access_token"):
        t.check(openssl_verifies(sm[name]), f"openssl refused the SM2 {name}")
        t.check(not openssl_verifies(sm[name], distid="1234567812345679"),
                f"openssl accepted the SM2 {name} under another distinguishing ID")
        t.check(not openssl_verifies(tampered(sm[name])), f"openssl accepted a tampered {name}")
    claims = json.loads(b64d(sm["id_token"].split(".")[1]))
    t.eq(claims["aud"], "rp-sm2")
    t.eq(claims["at_hash"], half_hash(sm["access_token"], "sm3"), "at_hash is SM3's left half")
    t.eq(sm_crypto_verdicts([(sm["id_token"], DISTID), (sm["access_token"], DISTID),
                             (sm["id_token"], "alice@example"),
                             (tampered(sm["access_token"]), DISTID)]),
         ["ok", "ok", "bad", "bad"], "sm-crypto")
    # authd verifies its own SM2 access token at /userinfo
    r = A.get("/userinfo", headers={"Authorization": "Bearer " + sm["access_token"]})
    t.eq(r.status_code, 200, r.text)
    r = A.get("/userinfo", headers={"Authorization": "Bearer " + tampered(sm["access_token"])})
    t.eq(r.status_code, 401, r.text)


@test
def sm2_client_assertion_is_accepted_and_libauthd_client_validates_the_token(t):
    r = client_credentials(client_assertion("j1"))
    t.eq(r.status_code, 200, r.text)
    at = r.json()["access_token"]
    t.eq(json.loads(b64d(at.split(".")[0]))["alg"], "SM2SM3")
    t.check(openssl_verifies(at), "openssl refused the client_credentials token")
    p = subprocess.run([CHECK, "--issuer", A.base, "--aud", "svc-sm2", "--allow-http",
                        "--algs", "SM2SM3"], input=f"validate {at}\nvalidate {tampered(at)}\n",
                       capture_output=True, text=True, timeout=30)
    out = [json.loads(line) for line in p.stdout.splitlines()]
    t.eq([o["status"] for o in out], ["AUTHD_OK", "AUTHD_ERR_SIGNATURE"], p.stdout + p.stderr)
    p = subprocess.run([CHECK, "--issuer", A.base, "--aud", "svc-sm2", "--allow-http"],
                       input=f"validate {at}\n", capture_output=True, text=True, timeout=30)
    t.eq(json.loads(p.stdout)["status"], "AUTHD_ERR_ALGORITHM", "ES256-only allow-list")
    # an assertion under another distinguishing ID, or tampered, is invalid_client
    r = client_credentials(client_assertion("j2", distid="1234567812345679"))
    t.eq((r.status_code, r.json().get("error")), (401, "invalid_client"))
    r = client_credentials(tampered(client_assertion("j3")))
    t.eq((r.status_code, r.json().get("error")), (401, "invalid_client"))


@test
def logout_token_for_an_sm2_client_is_signed_with_sm2(t):
    s = A.session()
    sm = tokens(A, s, CITIZEN, "rp-sm2", CB["sm2"])
    sid = json.loads(b64d(sm["id_token"].split(".")[1]))["sid"]
    # the SM2 ID token is accepted back as id_token_hint
    r = s.get(A.base + "/end_session", params={"id_token_hint": sm["id_token"]},
              allow_redirects=False, timeout=10)
    t.check(r.status_code in (200, 302, 303), f"{r.status_code} {r.text[:200]}")
    got = RCV.wait_sid(sid)
    t.require(got, "no logout token arrived")
    hdr = json.loads(b64d(got["token"].split(".")[0]))
    t.eq((hdr["alg"], hdr["typ"]), ("SM2SM3", "logout+jwt"))
    t.check(openssl_verifies(got["token"]), "openssl refused the logout token")
    claims = json.loads(b64d(got["token"].split(".")[1]))
    t.eq((claims["aud"], claims["iss"]), ("rp-sm2", A.base))


@test
def an_sm2_client_without_an_sm2_key_gets_server_error(t):
    b = Authd(population=200).setup()  # ES256 keys only
    h = hashlib.sha256(b"svc-secret-0123456789abcdef").hexdigest()
    with open(os.path.join(b.state, "policy", "test-svc.conf"), "w") as f:
        f.write("[client svc]\ntype = confidential\nauth_method = client_secret_basic\n"
                f"secret_hash = sha256:{h}\ngrant_types = client_credentials\nscopes = openid\n"
                "access_token_signed_response_alg = SM2SM3\n")
    b.start()
    try:
        d = b.get("/.well-known/openid-configuration").json()
        t.check("SM2SM3" not in d["id_token_signing_alg_values_supported"], d)
        t.check("SM2SM3" not in d["token_endpoint_auth_signing_alg_values_supported"], d)
        r = b.post("/token", data={"grant_type": "client_credentials"},
                   auth=("svc", "svc-secret-0123456789abcdef"))
        t.eq((r.status_code, r.json().get("error")), (500, "server_error"), r.text)
    finally:
        b.stop()


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
        RCV.stop()
