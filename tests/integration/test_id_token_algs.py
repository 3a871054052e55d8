"""Per-client ID token algorithms (id_token_signed_response_alg): a client registered for
RS256 or PS256 gets ID tokens signed with that algorithm, with at_hash made with its digest,
checked independently by jwcrypto against /jwks; discovery lists exactly the algorithms that
have a signing key; a client whose algorithm has no key gets server_error, never a token
signed with another algorithm."""
import base64
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from itest import BUILD, Authd, free_port, run, test  # noqa: E402
from rpkit import TEST_SECRET, login_code, tokens, verify_jws, write_test_client  # noqa: E402

import requests  # noqa: E402

A = Authd(population=500).setup()
subprocess.run([os.path.join(BUILD, "authctl"), "-c", A.conf_path, "keys", "init", "--rs256",
                "--ps256"], check=True, capture_output=True, timeout=120)
CB = {}
for alg in ("ES256", "RS256", "PS256"):
    CB[alg] = f"http://127.0.0.1:{free_port()}/cb"
    write_test_client(A, f"rp-{alg.lower()}", CB[alg],
                      extra=[f"id_token_signed_response_alg = {alg}"])
A.start()
CITIZEN = A.demo()["citizens"][0]


def at_hash(access_token, digest):
    h = digest(access_token.encode()).digest()
    return base64.urlsafe_b64encode(h[:len(h) // 2]).rstrip(b"=").decode()


def verify(token):
    """jwcrypto's verdict on token against our /jwks; returns (header, claims)."""
    return verify_jws(A, token)


@test
def discovery_lists_the_algorithms_that_have_keys(t):
    d = A.get("/.well-known/openid-configuration").json()
    t.eq(d["id_token_signing_alg_values_supported"], ["ES256", "RS256", "PS256"])
    t.eq(d["token_endpoint_auth_signing_alg_values_supported"],
         ["ES256", "RS256", "PS256", "ES384"])


@test
def each_client_gets_id_tokens_in_its_algorithm(t):
    for alg in ("ES256", "RS256", "PS256"):
        s = A.session()
        tok = tokens(A, s, CITIZEN, f"rp-{alg.lower()}", CB[alg])
        hdr, claims = verify(tok["id_token"])
        t.eq(hdr["alg"], alg, "ID token alg")
        t.eq(claims["aud"], f"rp-{alg.lower()}")
        t.eq(claims["at_hash"], at_hash(tok["access_token"], hashlib.sha256), "at_hash")
        ahdr, _ = verify(tok["access_token"])
        t.eq(ahdr["alg"], "ES256", "access tokens stay ES256")


@test
def a_refreshed_id_token_keeps_the_clients_algorithm(t):
    s = A.session()
    tok = tokens(A, s, CITIZEN, "rp-ps256", CB["PS256"])
    if "refresh_token" not in tok:
        t.check(False, "no refresh token issued")
        return
    r = requests.post(A.base + "/token", data={"grant_type": "refresh_token",
                                               "refresh_token": tok["refresh_token"]},
                      auth=("rp-ps256", TEST_SECRET), timeout=10)
    t.eq(r.status_code, 200, r.text)
    if "id_token" in r.json():
        hdr, _ = verify(r.json()["id_token"])
        t.eq(hdr["alg"], "PS256")


@test
def a_client_whose_algorithm_has_no_key_gets_server_error(t):
    b = Authd(population=200).setup()  # ES256 keys only
    cb = f"http://127.0.0.1:{free_port()}/cb"
    write_test_client(b, "rp-nokey", cb, extra=["id_token_signed_response_alg = RS256"])
    b.start()
    try:
        d = b.get("/.well-known/openid-configuration").json()
        t.eq(d["id_token_signing_alg_values_supported"], ["ES256"])
        s = b.session()
        q, v = login_code(b, s, b.demo()["citizens"][0], "rp-nokey", cb)
        r = requests.post(b.base + "/token", data={"grant_type": "authorization_code",
                                                   "code": q["code"], "redirect_uri": cb,
                                                   "code_verifier": v},
                          auth=("rp-nokey", TEST_SECRET), timeout=10)
        t.eq(r.status_code, 500, r.text)
        t.eq(r.json().get("error"), "server_error")
    finally:
        b.stop()


@test
def policy_refuses_an_algorithm_authd_does_not_sign_with(t):
    p = subprocess.run([os.path.join(BUILD, "authctl"), "-c", A.conf_path, "client", "add",
                        "--id", "rp-bad", "--redirect-uris", "https://rp.example/cb",
                        "--id-token-alg", "ES384"], capture_output=True, text=True, timeout=30)
    t.check(p.returncode != 0, "authctl accepted ES384")
    t.check("ES384" in p.stderr, p.stderr)
    p = subprocess.run([os.path.join(BUILD, "authctl"), "-c", A.conf_path, "client", "add",
                        "--id", "rp-good", "--redirect-uris", "https://rp.example/cb",
                        "--id-token-alg", "PS256"], capture_output=True, text=True, timeout=30)
    t.eq(p.returncode, 0, p.stderr)
    text = open(os.path.join(A.state, "policy", "client-rp-good.conf")).read()
    t.check("id_token_signed_response_alg = PS256" in text, text)


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
