"""DPoP (RFC 9449) against a live daemon: bound tokens from /token (client_credentials,
the code flow of a public client, refresh), their use at /userinfo, introspection's cnf,
server nonces, and every refusal of the RFC's security considerations: wrong htm or htu,
a replayed jti, a stale or future iat, a missing nonce when one is required, a proof by
another key than the token's, alg none or HS256, a private key in the jwk header, a bound
token sent as Bearer, a refresh with another key. Proofs are made with jwcrypto."""
import base64
import hashlib
import json
import os
import secrets
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, run, sibling_daemon, test  # noqa: E402
from oidc import Browser  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402

A = Authd(population=500)
A.setup()
with open(os.path.join(A.state, "policy", "dpop.conf"), "w") as f:
    f.write("""
[client dpop-app]
type = public
auth_method = none
redirect_uris = http://127.0.0.1/callback
grant_types = authorization_code refresh_token
scopes = openid profile
first_party = true
dpop_bound_access_tokens = true
""")
A.start()
BASE_CONF = open(A.conf_path).read().splitlines()  # sibling daemons rewrite the file
DEMO = A.demo()
MODULE = [c for c in DEMO["clients"] if c["client_id"] == "demo-module"][0]
MODULE_AUTH = (MODULE["client_id"], MODULE["client_secret"])
KEY = jwk.JWK.generate(kty="EC", crv="P-256")
OTHER = jwk.JWK.generate(kty="EC", crv="P-256")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def proof(key=KEY, htm="POST", htu=None, iat=None, jti=None, token=None, nonce=None,
          alg="ES256", typ="dpop+jwt", jwk_hdr=None, extra=None):
    claims = {"jti": jti or secrets.token_urlsafe(16), "htm": htm,
              "htu": htu or A.base + "/token", "iat": int(time.time()) if iat is None else iat}
    if token:
        claims["ath"] = b64(hashlib.sha256(token.encode()).digest())
    if nonce:
        claims["nonce"] = nonce
    claims.update(extra or {})
    hdr = {"typ": typ, "alg": alg,
           "jwk": jwk_hdr if jwk_hdr is not None else json.loads(key.export_public())}
    t = jwt.JWT(header=hdr, claims=claims)
    t.make_signed_token(key)
    return t.serialize()


def unsigned(hdr, claims, sig=b""):
    return ".".join([b64(json.dumps(hdr).encode()), b64(json.dumps(claims).encode()), b64(sig)])


def cc(p=None, **kw):
    h = {"DPoP": p} if p else {}
    return A.post("/token", data={"grant_type": "client_credentials"}, auth=MODULE_AUTH,
                  headers=h, **kw)


def userinfo(token, p=None, scheme="DPoP"):
    h = {"Authorization": f"{scheme} {token}"}
    if p:
        h["DPoP"] = p
    return A.get("/userinfo", headers=h)


def thumbprint(key):
    return key.thumbprint()


def bound_user_token():
    b = Browser(A)
    redirect = b.loopback()
    code, v, _ = b.code("dpop-app", redirect, "openid profile")
    r = A.post("/token", data={"grant_type": "authorization_code", "code": code,
                               "redirect_uri": redirect, "code_verifier": v,
                               "client_id": "dpop-app"}, headers={"DPoP": proof()})
    return r


def refused(t, r, status, error):
    t.eq(r.status_code, status, r.text)
    t.eq(r.json().get("error"), error, r.text)


@test
def discovery_lists_the_dpop_algorithms(t):
    d = A.get("/.well-known/openid-configuration").json()
    algs = d.get("dpop_signing_alg_values_supported")
    t.check(algs and "ES256" in algs and "none" not in algs and "HS256" not in algs, algs)


@test
def client_credentials_with_a_proof_gives_a_bound_token(t):
    r = cc(proof())
    t.eq(r.status_code, 200, r.text)
    t.eq(r.json()["token_type"], "DPoP")
    at = r.json()["access_token"]
    claims = json.loads(jwt.JWT(jwt=at).token.objects["payload"])
    t.eq(claims.get("cnf"), {"jkt": thumbprint(KEY)})
    i = A.post("/introspect", data={"token": at}, auth=MODULE_AUTH).json()
    t.eq(i.get("cnf"), {"jkt": thumbprint(KEY)})
    t.eq(i.get("token_type"), "DPoP")
    r = cc()
    t.eq(r.json()["token_type"], "Bearer")
    t.check("cnf" not in json.loads(jwt.JWT(jwt=r.json()["access_token"]).token.objects["payload"]))


@test
def token_endpoint_refuses_bad_proofs(t):
    now = int(time.time())
    cases = {
        "wrong htm": proof(htm="GET"),
        "wrong htu": proof(htu=A.base + "/userinfo"),
        "other host": proof(htu="https://evil.example/token"),
        "stale iat": proof(iat=now - 3600),
        "future iat": proof(iat=now + 3600),
        "typ jwt": proof(typ="JWT"),
        "alg none": unsigned({"typ": "dpop+jwt", "alg": "none",
                              "jwk": json.loads(KEY.export_public())},
                             {"jti": "n1", "htm": "POST", "htu": A.base + "/token", "iat": now}),
        "private jwk": proof(jwk_hdr=json.loads(KEY.export_private())),
        "no jwk": unsigned({"typ": "dpop+jwt", "alg": "ES256"},
                           {"jti": "n2", "htm": "POST", "htu": A.base + "/token", "iat": now},
                           b"x" * 64),
        "another key's jwk": proof(jwk_hdr=json.loads(OTHER.export_public())),
        "no jti": proof(extra={"jti": ""}),
        "garbage": "not.a.jwt",
        "too large": "a" * 5000,
    }
    hs = jwk.JWK(kty="oct", k=b64(b"k" * 32))
    t_hs = jwt.JWT(header={"typ": "dpop+jwt", "alg": "HS256",
                           "jwk": json.loads(KEY.export_public())},
                   claims={"jti": "h1", "htm": "POST", "htu": A.base + "/token", "iat": now})
    t_hs.make_signed_token(hs)
    cases["alg HS256"] = t_hs.serialize()
    for name, p in cases.items():
        r = cc(p)
        t.eq(r.status_code, 400, name + " " + r.text)
        t.eq(r.json().get("error"), "invalid_dpop_proof", name)


@test
def two_dpop_headers_are_refused(t):
    import http.client
    from urllib.parse import urlsplit
    u = urlsplit(A.base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    body = "grant_type=client_credentials"
    c.putrequest("POST", "/token")
    c.putheader("Authorization", "Basic " + base64.b64encode(
        (MODULE_AUTH[0] + ":" + MODULE_AUTH[1]).encode()).decode())
    c.putheader("Content-Type", "application/x-www-form-urlencoded")
    c.putheader("Content-Length", str(len(body)))
    c.putheader("DPoP", proof())
    c.putheader("DPoP", proof())
    c.endheaders(body.encode())
    r = c.getresponse()
    t.eq(r.status, 400)
    t.eq(json.loads(r.read()).get("error"), "invalid_dpop_proof")
    c.close()


@test
def a_proof_is_used_once(t):
    p = proof()
    t.eq(cc(p).status_code, 200)
    refused(t, cc(p), 400, "invalid_dpop_proof")


@test
def htu_ignores_query_and_fragment(t):
    t.eq(cc(proof(htu=A.base + "/token?x=1#f")).status_code, 200)


@test
def client_that_must_bind_is_refused_without_a_proof(t):
    b = Browser(A)
    redirect = b.loopback()
    code, v, _ = b.code("dpop-app", redirect, "openid")
    r = A.post("/token", data={"grant_type": "authorization_code", "code": code,
                               "redirect_uri": redirect, "code_verifier": v,
                               "client_id": "dpop-app"})
    refused(t, r, 400, "invalid_dpop_proof")


@test
def userinfo_needs_the_token_key(t):
    r = bound_user_token()
    t.eq(r.status_code, 200, r.text)
    at = r.json()["access_token"]
    url = A.base + "/userinfo"
    ok = userinfo(at, proof(htm="GET", htu=url, token=at))
    t.eq(ok.status_code, 200, ok.text)
    t.check("sub" in ok.json())
    # a bound token as Bearer
    r = userinfo(at, scheme="Bearer")
    refused(t, r, 401, "invalid_token")
    t.check(r.headers.get("WWW-Authenticate", "").startswith("DPoP algs="), r.headers)
    # DPoP scheme without a proof
    refused(t, userinfo(at), 401, "invalid_dpop_proof")
    # signed by another key than the token's
    refused(t, userinfo(at, proof(key=OTHER, htm="GET", htu=url, token=at)), 401, "invalid_token")
    # no ath, wrong ath, wrong htm, wrong htu, replay
    refused(t, userinfo(at, proof(htm="GET", htu=url)), 401, "invalid_dpop_proof")
    refused(t, userinfo(at, proof(htm="GET", htu=url, token=at + "x")), 401,
            "invalid_dpop_proof")
    refused(t, userinfo(at, proof(htm="POST", htu=url, token=at)), 401, "invalid_dpop_proof")
    refused(t, userinfo(at, proof(htm="GET", htu=A.base + "/token", token=at)), 401,
            "invalid_dpop_proof")
    p = proof(htm="GET", htu=url, token=at)
    t.eq(userinfo(at, p).status_code, 200)
    r = userinfo(at, p)
    refused(t, r, 401, "invalid_dpop_proof")
    t.check('error="invalid_dpop_proof"' in r.headers.get("WWW-Authenticate", ""), r.headers)
    # an unbound token with the DPoP scheme
    plain = cc().json()["access_token"]
    refused(t, userinfo(plain, proof(htm="GET", htu=url, token=plain)), 401, "invalid_token")


@test
def refresh_of_a_public_client_is_bound_to_the_key(t):
    r = bound_user_token()
    rt = r.json()["refresh_token"]
    data = {"grant_type": "refresh_token", "refresh_token": rt, "client_id": "dpop-app"}
    refused(t, A.post("/token", data=data, headers={"DPoP": proof(key=OTHER)}), 400,
            "invalid_grant")
    r = bound_user_token()  # a fresh family for the right key
    rt = r.json()["refresh_token"]
    data["refresh_token"] = rt
    r = A.post("/token", data=data, headers={"DPoP": proof()})
    t.eq(r.status_code, 200, r.text)
    t.eq(r.json()["token_type"], "DPoP")


@test
def nonces_when_required(t):
    with sibling_daemon(A.state, BASE_CONF, {"dpop_nonce_required": "true"}) as n:
        def cc_n(p):
            return n.post("/token", data={"grant_type": "client_credentials"}, auth=MODULE_AUTH,
                          headers={"DPoP": p})
        r = cc_n(proof(htu=n.base + "/token"))
        refused(t, r, 400, "use_dpop_nonce")
        nonce = r.headers.get("DPoP-Nonce")
        t.check(nonce and len(nonce) >= 22, r.headers)
        refused(t, cc_n(proof(htu=n.base + "/token", nonce="forged" + nonce[6:])), 400,
                "use_dpop_nonce")
        r = cc_n(proof(htu=n.base + "/token", nonce=nonce))
        t.eq(r.status_code, 200, r.text)
        t.check(r.headers.get("DPoP-Nonce"))


@test
def with_redis_two_nodes_share_the_replay_cache_and_the_request_uris(t):
    """The memory and the Redis store behave the same: a proof used on one node is refused
    on the other; a pushed request is taken once whichever node sees it."""
    with Redis() as rd:
        base = [l for l in BASE_CONF if not l.startswith("store")] + [f"store = {rd.url()}"]
        with sibling_daemon(A.state, base) as n1, sibling_daemon(A.state, base) as n2:
            def cc_at(node, p):
                return node.post("/token", data={"grant_type": "client_credentials"},
                                 auth=MODULE_AUTH, headers={"DPoP": p})
            # htu names the node's own URL: each proof is for one node
            p1 = proof(htu=n1.base + "/token", jti="shared-jti")
            t.eq(cc_at(n1, p1).status_code, 200)
            refused(t, cc_at(n1, p1), 400, "invalid_dpop_proof")
            # the same key and jti at the other node: the jti is taken in the shared store
            refused(t, cc_at(n2, proof(htu=n2.base + "/token", jti="shared-jti")), 400,
                    "invalid_dpop_proof")
            b = Browser(n1)
            redirect = b.loopback()
            from oidc import pkce as mk_pkce
            v, c = mk_pkce()
            r = n1.post("/par", data={"client_id": "demo-app", "response_type": "code",
                                      "scope": "openid", "redirect_uri": redirect,
                                      "code_challenge": c, "code_challenge_method": "S256"})
            t.eq(r.status_code, 201, r.text)
            uri = r.json()["request_uri"]
            q = {"client_id": "demo-app", "request_uri": uri}
            r = b.s.get(n2.base + "/authorize", params=q, allow_redirects=False, timeout=10)
            t.check(r.status_code in (302, 303), r.text)
            r = b.s.get(n1.base + "/authorize", params=q, allow_redirects=False, timeout=10)
            t.eq(r.status_code, 400, r.text)


def code_via_par(headers=None, **extra):
    """A code of demo-app through /par (headers: a DPoP proof for /par), its verifier and
    redirect URI."""
    from oidc import pkce as mk_pkce
    b = Browser(A)
    redirect = b.loopback()
    v, c = mk_pkce()
    p = {"client_id": "demo-app", "response_type": "code", "scope": "openid",
         "redirect_uri": redirect, "code_challenge": c, "code_challenge_method": "S256"}
    p.update(extra)
    r = A.post("/par", data=p, headers=headers or {})
    if r.status_code != 201:
        return r, None, None
    r = b.s.get(A.base + "/authorize", allow_redirects=False, timeout=10,
                params={"client_id": "demo-app", "request_uri": r.json()["request_uri"]})
    return b.finish(r, redirect), v, redirect


def redeem(code, v, redirect, p=None):
    return A.post("/token", headers={"DPoP": p} if p else {}, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "code_verifier": v, "client_id": "demo-app"})


@test
def codes_bound_to_a_key_at_par_or_by_dpop_jkt(t):
    """RFC 9449 §10: a DPoP proof at /par, or dpop_jkt, binds the code to that key."""
    code, v, redirect = code_via_par({"DPoP": proof(htu=A.base + "/par")})
    r = redeem(code, v, redirect, proof())
    t.eq(r.status_code, 200, r.text)
    t.eq(r.json()["token_type"], "DPoP")
    code, v, redirect = code_via_par({"DPoP": proof(htu=A.base + "/par")})
    refused(t, redeem(code, v, redirect, proof(key=OTHER)), 400, "invalid_grant")
    code, v, redirect = code_via_par({"DPoP": proof(htu=A.base + "/par")})
    refused(t, redeem(code, v, redirect), 400, "invalid_grant")
    code, v, redirect = code_via_par(dpop_jkt=KEY.thumbprint())
    refused(t, redeem(code, v, redirect, proof(key=OTHER)), 400, "invalid_grant")
    code, v, redirect = code_via_par(dpop_jkt=KEY.thumbprint())
    t.eq(redeem(code, v, redirect, proof()).status_code, 200)
    # the proof at /par and dpop_jkt disagree; a malformed dpop_jkt; a proof for /token
    r, _, _ = code_via_par({"DPoP": proof(htu=A.base + "/par")}, dpop_jkt=OTHER.thumbprint())
    refused(t, r, 400, "invalid_dpop_proof")
    r, _, _ = code_via_par(dpop_jkt="short")
    refused(t, r, 400, "invalid_request")
    r, _, _ = code_via_par({"DPoP": proof()})
    refused(t, r, 400, "invalid_dpop_proof")


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
        shutil.rmtree(A.state, ignore_errors=True)
