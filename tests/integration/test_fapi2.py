"""The FAPI 2.0 Security Profile switch (policy `profile = fapi2`, docs/fapi.md) against a
live daemon: a FAPI client gets codes only through PAR with private_key_jwt and PKCE, its
authorization response carries iss (RFC 9207), and its tokens only with a DPoP proof;
everything else is refused."""
import json
import os
import secrets
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser, pkce, query  # noqa: E402
from rpkit import client_assertion  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402

CB = "https://bank.example/cb"
KEY = jwk.JWK.generate(kty="EC", crv="P-256", kid="bank-1", alg="ES256", use="sig")
DPOP = jwk.JWK.generate(kty="EC", crv="P-256")

A = Authd(population=300)
A.setup()
with open(os.path.join(A.state, "policy", "fapi.conf"), "w") as f:
    f.write(f"""
[client bank]
type = confidential
auth_method = private_key_jwt
jwks = {json.dumps({"keys": [json.loads(KEY.export_public())]})}
redirect_uris = {CB}
grant_types = authorization_code
scopes = openid profile
first_party = true
profile = fapi2
""")
A.start()


def assertion():
    return client_assertion(KEY, "bank", "bank-1", A.base)


def dpop(htm="POST", path="/token"):
    t = jwt.JWT(header={"typ": "dpop+jwt", "alg": "ES256",
                        "jwk": json.loads(DPOP.export_public())},
                claims={"jti": secrets.token_urlsafe(12), "htm": htm, "htu": A.base + path,
                        "iat": int(time.time())})
    t.make_signed_token(DPOP)
    return t.serialize()


def par_params(**extra):
    v, c = pkce()
    p = {"client_id": "bank", "response_type": "code", "scope": "openid profile",
         "redirect_uri": CB, "state": "st", "nonce": "n", "code_challenge": c,
         "code_challenge_method": "S256"}
    p.update(extra)
    return {k: x for k, x in p.items() if x is not None}, v


@test
def plain_authorization_request_is_refused(t):
    r, _, _ = Browser(A).authorize("bank", CB, "openid")
    t.eq(r.status_code, 302, r.text)
    t.eq(query(r.headers["Location"]).get("error"), "invalid_request")
    t.eq(query(r.headers["Location"]).get("iss"), A.base)


@test
def par_needs_private_key_jwt_pkce_and_redirect_uri(t):
    p, _ = par_params()
    r = A.post("/par", data=p)
    t.eq(r.status_code, 401, r.text)
    t.eq(r.json()["error"], "invalid_client")
    p, _ = par_params(redirect_uri=None)
    r = A.post("/par", data=dict(p, **assertion()))
    t.eq(r.status_code, 400, r.text)
    t.eq(r.json()["error"], "invalid_request")
    p, _ = par_params(code_challenge=None, code_challenge_method=None)
    r = A.post("/par", data=dict(p, **assertion()))
    t.eq(r.status_code, 400, r.text)
    t.eq(r.json()["error"], "invalid_request")


@test
def the_whole_profile_gives_a_dpop_bound_token(t):
    b = Browser(A)
    p, v = par_params()
    r = A.post("/par", data=dict(p, **assertion()))
    t.eq(r.status_code, 201, r.text)
    r = b.s.get(A.base + "/authorize", allow_redirects=False, timeout=10,
                params={"client_id": "bank", "request_uri": r.json()["request_uri"]})
    code = b.finish(r, CB)
    t.eq(query(b.callback).get("iss"), A.base)  # RFC 9207
    data = dict({"grant_type": "authorization_code", "code": code, "redirect_uri": CB,
                 "code_verifier": v}, **assertion())
    r = A.post("/token", data=data)  # no DPoP proof: refused before the code is spent
    t.eq(r.status_code, 400, r.text)
    t.eq(r.json()["error"], "invalid_dpop_proof")
    data.update(assertion())
    r = A.post("/token", data=data, headers={"DPoP": dpop()})
    t.eq(r.status_code, 200, r.text)
    t.eq(r.json()["token_type"], "DPoP")
    at = r.json()["access_token"]
    t.eq(A.get("/userinfo", headers={"Authorization": "Bearer " + at}).status_code, 401)


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
        shutil.rmtree(A.state, ignore_errors=True)
