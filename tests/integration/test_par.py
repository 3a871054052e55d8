"""Pushed authorization requests (RFC 9126) against a live daemon: /par with each client
authentication method, the request_uri at /authorize (single use, bound to its client),
the per-client and the global require_pushed_authorization_requests, and the refusals
of §2.3 on the shared renderer. Expiry is tested with the fake clock in
tests/unit/flow/test_par.c."""
import hashlib
import json
import os
import secrets
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser, pkce, query  # noqa: E402
from rpkit import client_assertion  # noqa: E402

from jwcrypto import jwk  # noqa: E402

CB = "http://127.0.0.1:9/par/cb"
WEB_SECRET = secrets.token_urlsafe(32)
JWT_KEY = jwk.JWK.generate(kty="EC", crv="P-256", kid="par-k1", alg="ES256", use="sig")
URN = "urn:ietf:params:oauth:request_uri:"

A = Authd(population=500)
A.setup()
with open(os.path.join(A.state, "policy", "par.conf"), "w") as f:
    f.write(f"""
[client par-web]
type = confidential
auth_method = client_secret_post
secret_hash = sha256:{hashlib.sha256(WEB_SECRET.encode()).hexdigest()}
redirect_uris = {CB}
grant_types = authorization_code
scopes = openid profile
first_party = true
require_pushed_authorization_requests = true

[client par-jwt]
type = confidential
auth_method = private_key_jwt
jwks = {json.dumps({"keys": [json.loads(JWT_KEY.export_public())]})}
redirect_uris = {CB}
grant_types = authorization_code
scopes = openid profile
first_party = true
""")
A.start()
DEMO = A.demo()
PORTAL = [c for c in DEMO["clients"] if c["client_id"] == "demo-portal"][0]
PORTAL_AUTH = (PORTAL["client_id"], PORTAL["client_secret"])
PORTAL_CB = "http://127.0.0.1:8081/oidc/callback"


def params(client, redirect, **extra):
    v, c = pkce()
    p = {"response_type": "code", "client_id": client, "redirect_uri": redirect,
         "scope": "openid profile", "state": "st-" + secrets.token_urlsafe(6), "nonce": "n-1",
         "code_challenge": c, "code_challenge_method": "S256"}
    p.update(extra)
    return p, v


def assertion(aud):
    return client_assertion(JWT_KEY, "par-jwt", "par-k1", aud)


def push(data, auth=None):
    return A.post("/par", data=data, auth=auth)


def authorize(b, client, request_uri, **extra):
    q = {"client_id": client, "request_uri": request_uri}
    q.update(extra)
    return b.s.get(A.base + "/authorize", params=q, allow_redirects=False, timeout=10)


def oauth_error(t, r, status, error):
    t.eq(r.status_code, status, r.text)
    t.eq(r.json().get("error"), error, r.text)
    t.eq(r.headers.get("Cache-Control"), "no-store")


@test
def discovery_names_the_par_endpoint(t):
    d = A.get("/.well-known/openid-configuration").json()
    t.eq(d.get("pushed_authorization_request_endpoint"), A.base + "/par")
    t.eq(d.get("require_pushed_authorization_requests"), False)


@test
def public_client_pushes_and_logs_in_with_the_request_uri(t):
    b = Browser(A)
    redirect = b.loopback()
    p, v = params("demo-app", redirect)
    r = push(p)
    t.eq(r.status_code, 201, r.text)
    t.eq(r.headers.get("Cache-Control"), "no-store")
    body = r.json()
    t.check(body["request_uri"].startswith(URN), body)
    t.eq(body["expires_in"], 60)
    # §4: only client_id counts besides the request_uri; a different state here is ignored
    first = authorize(b, "demo-app", body["request_uri"], state="ignored", scope="openid phone")
    code = b.finish(first, redirect)
    tok = b.exchange(code, v, redirect)
    t.eq(tok["scope"], "openid profile")
    # the state the client pushed came back
    t.check("access_token" in tok)


@test
def state_and_redirect_come_from_the_pushed_request(t):
    b = Browser(A)
    redirect = b.loopback()
    b.code("demo-app", b.loopback(), "openid")  # a session, so the answer is a redirect
    p, _ = params("demo-app", redirect)
    uri = push(p).json()["request_uri"]
    r = authorize(b, "demo-app", uri, state="other", redirect_uri=b.loopback())
    t.eq(r.status_code, 302, r.text)
    loc = r.headers["Location"]
    t.check(loc.startswith(redirect), loc)
    t.eq(query(loc).get("state"), p["state"])
    t.eq(query(loc).get("iss"), A.base)


@test
def request_uri_is_single_use(t):
    b = Browser(A)
    redirect = b.loopback()
    p, _ = params("demo-app", redirect)
    uri = push(p).json()["request_uri"]
    r = authorize(b, "demo-app", uri)
    t.check(r.status_code in (302, 303), r.text)
    r = authorize(b, "demo-app", uri)
    t.eq(r.status_code, 400, r.text)
    t.check("request_uri" in r.text, r.text)
    t.check("Location" not in r.headers)


@test
def request_uri_of_another_client_is_refused_and_left_to_its_owner(t):
    b = Browser(A)
    p, _ = params("demo-portal", PORTAL_CB)
    r = push(p, auth=PORTAL_AUTH)
    t.eq(r.status_code, 201, r.text)
    uri = r.json()["request_uri"]
    r = authorize(b, "demo-app", uri)
    t.eq(r.status_code, 400, r.text)
    t.check("Location" not in r.headers)
    r = authorize(b, "demo-portal", uri)
    t.check(r.status_code in (302, 303), r.text)


@test
def unknown_or_foreign_request_uri_is_an_error_page(t):
    b = Browser(A)
    for uri in (URN + "A" * 43, URN + "short", "https://evil.example/req", URN):
        r = authorize(b, "demo-app", uri)
        t.eq(r.status_code, 400, uri + " " + r.text[:200])
        t.check("Location" not in r.headers)
    r = authorize(b, "nobody", URN + "A" * 43)
    t.eq(r.status_code, 400)


@test
def confidential_client_pushes_with_basic_post_and_private_key_jwt(t):
    b = Browser(A)
    p, v = params("demo-portal", PORTAL_CB)
    del p["client_id"]  # Basic names the client
    r = push(p, auth=PORTAL_AUTH)
    t.eq(r.status_code, 201, r.text)
    p, v = params("par-web", CB, client_secret=WEB_SECRET)
    r = push(p)
    t.eq(r.status_code, 201, r.text)
    code = b.finish(authorize(b, "par-web", r.json()["request_uri"]), CB)
    tok = A.post("/token", data={"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": CB, "code_verifier": v, "client_id": "par-web",
                                 "client_secret": WEB_SECRET})
    t.eq(tok.status_code, 200, tok.text)
    for aud in (A.base + "/par", A.base, A.base + "/token"):
        p, _ = params("par-jwt", CB, **assertion(aud))
        r = push(p)
        t.eq(r.status_code, 201, aud + " " + r.text)


@test
def client_authentication_failures_are_invalid_client(t):
    p, _ = params("demo-portal", PORTAL_CB)
    r = push(p, auth=("demo-portal", "wrong"))
    oauth_error(t, r, 401, "invalid_client")
    t.check("Basic" in r.headers.get("WWW-Authenticate", ""), r.headers)
    p, _ = params("par-web", CB, client_secret="wrong")
    oauth_error(t, push(p), 401, "invalid_client")
    p, _ = params("par-web", CB)  # no secret for a confidential client
    oauth_error(t, push(p), 401, "invalid_client")
    p, _ = params("nobody", CB)
    oauth_error(t, push(p), 401, "invalid_client")


@test
def pushed_parameters_are_validated_as_authorize_does(t):
    cases = [
        ({"redirect_uri": "http://evil.example/cb"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"request_uri": URN + "A" * 43}, "invalid_request"),
        ({"request": "eyJ.eyJ.sig"}, "request_not_supported"),
        ({"prompt": "none login"}, "invalid_request"),
    ]
    for extra, err in cases:
        p, _ = params("demo-app", Browser.loopback(), **extra)
        oauth_error(t, push(p), 400, err)
    p, _ = params("demo-app", Browser.loopback())
    del p["code_challenge"], p["code_challenge_method"]
    oauth_error(t, push(p), 400, "invalid_request")
    # a client_id naming another client than the authenticated one
    p, _ = params("demo-app", PORTAL_CB)
    oauth_error(t, push(p, auth=PORTAL_AUTH), 400, "invalid_request")


@test
def par_refuses_other_methods_and_non_forms(t):
    t.eq(A.get("/par").status_code, 405)
    r = A.post("/par", data=json.dumps({"client_id": "demo-app"}),
               headers={"Content-Type": "application/json"})
    oauth_error(t, r, 400, "invalid_request")
    r = A.post("/par", data="client_id=demo-app&client_id=demo-app",
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    oauth_error(t, r, 400, "invalid_request")


@test
def client_required_to_push_is_refused_a_plain_request(t):
    b = Browser(A)
    r, _, p = b.authorize("par-web", CB, "openid")
    t.eq(r.status_code, 302, r.text)
    q = query(r.headers["Location"])
    t.eq(q.get("error"), "invalid_request")
    t.eq(q.get("state"), p["state"])
    t.check(r.headers["Location"].startswith(CB))
    t.check("code" not in q)


@test
def global_setting_requires_every_client_to_push(t):
    with Authd(population=200, conf={"require_pushed_authorization_requests": "true"}) as g:
        d = g.get("/.well-known/openid-configuration").json()
        t.eq(d.get("require_pushed_authorization_requests"), True)
        b = Browser(g)
        redirect = b.loopback()
        r, _, _ = b.authorize("demo-app", redirect, "openid")
        t.eq(r.status_code, 302)
        t.eq(query(r.headers["Location"]).get("error"), "invalid_request")
        p, v = params("demo-app", redirect)
        r = g.post("/par", data=p)
        t.eq(r.status_code, 201, r.text)
        code = b.finish(authorize_at(g, b, "demo-app", r.json()["request_uri"]), redirect)
        t.check(len(code) > 10)


def authorize_at(a, b, client, uri):
    return b.s.get(a.base + "/authorize", params={"client_id": client, "request_uri": uri},
                   allow_redirects=False, timeout=10)


if __name__ == "__main__":
    try:
        run()
    finally:
        A.stop()
        shutil.rmtree(A.state, ignore_errors=True)
