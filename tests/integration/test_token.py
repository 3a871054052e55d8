"""Discovery, JWKS, /token (client_credentials and the error cases), /introspect, /revoke
and /userinfo against a live daemon; tokens checked independently with jwcrypto."""
import base64
import glob
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402

from jwcrypto import jwk, jws, jwt  # noqa: E402

A = Authd(population=500)
A.setup()
A.start()


def module():
    return [c for c in A.demo()["clients"] if c["client_id"] == "demo-module"][0]


def portal():
    return [c for c in A.demo()["clients"] if c["client_id"] == "demo-portal"][0]


def cc_token(scope=None):
    m = module()
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    r = A.post("/token", data=data, auth=(m["client_id"], m["client_secret"]))
    return r


def b64(obj):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def our_private_key():
    """The daemon's current signing key, read from the dev state (to forge an expired token
    that is otherwise perfectly valid)."""
    path = glob.glob(os.path.join(A.state, "keys", "*.jwk"))[0]
    with open(path) as f:
        return jwk.JWK.from_json(f.read())


def signed(key, claims, typ="at+jwt", kid=None):
    kid = kid or json.loads(key.export_public())["kid"]
    t = jwt.JWT(header={"alg": "ES256", "typ": typ, "kid": kid}, claims=claims)
    t.make_signed_token(key)
    return t.serialize()


def userinfo_error(t, token, why=None):
    r = A.get("/userinfo", headers={"Authorization": "Bearer " + token})
    t.eq(r.status_code, 401, r.text)
    if why:
        t.eq(r.json().get("error_description"), why)
    t.check('error="invalid_token"' in r.headers.get("WWW-Authenticate", ""),
            r.headers.get("WWW-Authenticate"))
    t.eq(r.json().get("error"), "invalid_token")


@test
def discovery_documents_the_endpoints(t):
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        r = A.get(path)
        t.eq(r.status_code, 200, path)
        t.check("max-age" in r.headers.get("Cache-Control", ""), r.headers)
        d = r.json()
        t.eq(d["issuer"], A.base)
        for k, p in (("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                     ("userinfo_endpoint", "/userinfo"), ("jwks_uri", "/jwks"),
                     ("introspection_endpoint", "/introspect"),
                     ("revocation_endpoint", "/revoke"), ("end_session_endpoint", "/end_session"),
                     ("device_authorization_endpoint", "/device_authorization"),
                     ("backchannel_authentication_endpoint", "/bc-authorize")):
            t.eq(d.get(k), A.base + p, k)
        t.check("registration_endpoint" not in d)
        t.eq(d["response_types_supported"], ["code"])
        t.eq(d["code_challenge_methods_supported"], ["S256"])
        t.eq(d["subject_types_supported"], ["pairwise", "public"])
        t.check("ES256" in d["id_token_signing_alg_values_supported"])
        t.check("none" not in d["id_token_signing_alg_values_supported"])
        t.eq(set(d["token_endpoint_auth_methods_supported"]),  # kiosk_ca: tls_client_auth
             {"client_secret_basic", "client_secret_post", "private_key_jwt", "none",
              "tls_client_auth"})
        t.eq(d.get("tls_client_certificate_bound_access_tokens"), True)
        t.eq(set(d["grant_types_supported"]),
             {"authorization_code", "refresh_token", "client_credentials",
              "urn:ietf:params:oauth:grant-type:token-exchange",
              "urn:ietf:params:oauth:grant-type:device_code",
              "urn:openid:params:grant-type:ciba"})
        t.check({"openid", "profile", "phone", "id_number"} <= set(d["scopes_supported"]))
        t.check({"sub", "name", "acr", "amr", "id_number"} <= set(d["claims_supported"]))
        t.check("urn:authd:acr:ial3:aal1" in d["acr_values_supported"])
        t.eq(d["ui_locales_supported"], ["zh-CN", "en"])
        for k in ("backchannel_logout_supported", "backchannel_logout_session_supported",
                  "frontchannel_logout_supported",
                  "authorization_response_iss_parameter_supported"):
            t.eq(d.get(k), True, k)
        t.eq(d.get("request_uri_parameter_supported"), False)


@test
def jwks_parses_with_jwcrypto_and_holds_no_private_part(t):
    r = A.get("/jwks")
    t.eq(r.status_code, 200)
    t.eq(r.headers.get("Content-Type"), "application/json")
    t.eq(r.headers.get("Cache-Control"), "public, max-age=300")
    ks = jwk.JWKSet.from_json(r.text)
    keys = list(ks["keys"])
    t.check(len(keys) >= 1)
    for k in keys:
        t.check(not k.has_private, "private key published")
        t.eq(k.get("use"), "sig")
    t.check(any(k.get("alg") == "ES256" for k in keys))
    t.check("\"d\"" not in r.text)


@test
def client_credentials_token_verifies_against_jwks(t):
    r = cc_token()
    t.eq(r.status_code, 200, r.text)
    t.eq(r.headers.get("Cache-Control"), "no-store")
    body = r.json()
    t.eq(body["token_type"], "Bearer")
    t.eq(body["scope"], "openid")
    t.check(body["expires_in"] > 0)
    t.check("refresh_token" not in body and "id_token" not in body)
    ks = jwk.JWKSet.from_json(A.get("/jwks").text)
    tok = jwt.JWT(jwt=body["access_token"], key=ks, algs=["ES256"])
    hdr = json.loads(tok.header)
    t.eq(hdr["typ"], "at+jwt")
    t.eq(hdr["alg"], "ES256")
    c = json.loads(tok.claims)
    t.eq(c["iss"], A.base)
    t.eq(c["sub"], "demo-module")
    t.eq(c["client_id"], "demo-module")
    t.eq(c["aud"], "demo-module")
    t.eq(c["scope"], "openid")
    t.check(len(c["jti"]) >= 16)
    t.check(c["iat"] <= time.time() + 5 and c["exp"] > c["iat"])


@test
def wrong_secret_is_invalid_client_with_basic_challenge(t):
    r = A.post("/token", data={"grant_type": "client_credentials"},
               auth=("demo-module", "wrong-secret"))
    t.eq(r.status_code, 401)
    t.eq(r.json()["error"], "invalid_client")
    t.check(r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers)
    r = A.post("/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x"))
    t.eq(r.status_code, 401)
    t.eq(r.json()["error"], "invalid_client")


@test
def a_method_other_than_the_registered_one_is_invalid_client(t):
    m = module()
    r = A.post("/token", data={"grant_type": "client_credentials", "client_id": "demo-module",
                               "client_secret": m["client_secret"]})
    t.eq(r.status_code, 401, r.text)
    t.eq(r.json()["error"], "invalid_client")
    t.check("WWW-Authenticate" not in r.headers)
    r = A.post("/token", data={"grant_type": "client_credentials", "client_id": "demo-module"})
    t.eq(r.status_code, 401)


@test
def token_request_errors(t):
    m = module()
    auth = (m["client_id"], m["client_secret"])
    r = A.post("/token", data={"grant_type": "urn:example:magic"}, auth=auth)
    t.eq((r.status_code, r.json()["error"]), (400, "unsupported_grant_type"))
    r = A.post("/token", data={}, auth=auth)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))
    r = A.post("/token", data="grant_type=client_credentials&grant_type=client_credentials",
               headers={"Content-Type": "application/x-www-form-urlencoded"}, auth=auth)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))
    r = A.post("/token", json={"grant_type": "client_credentials"}, auth=auth)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))
    r = A.post("/token", data={"grant_type": "authorization_code", "code": "x"}, auth=auth)
    t.eq((r.status_code, r.json()["error"]), (400, "unauthorized_client"))
    r = cc_token(scope="openid admin")  # RFC 6749 §3.3: admin is left out
    t.eq((r.status_code, r.json().get("scope")), (200, "openid"))
    r = cc_token(scope="admin")
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_scope"))
    r = A.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 65},
               auth=(portal()["client_id"], portal()["client_secret"]))
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    r = A.post("/token", data={"grant_type": "authorization_code", "code": "nope",
                               "redirect_uri": "http://127.0.0.1:8081/oidc/callback",
                               "code_verifier": "a" * 43},
               auth=(portal()["client_id"], portal()["client_secret"]))
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    r = A.post("/token", data={"grant_type": "client_credentials", "client_id": "demo-app"})
    t.eq((r.status_code, r.json()["error"]), (400, "unauthorized_client"))
    r = A.get("/token")
    t.eq(r.status_code, 405)


@test
def introspection_then_revocation(t):
    m = module()
    auth = (m["client_id"], m["client_secret"])
    at = cc_token().json()["access_token"]
    r = A.post("/introspect", data={"token": at}, auth=auth)
    t.eq(r.status_code, 200, r.text)
    d = r.json()
    t.eq(d["active"], True)
    for k, v in (("client_id", "demo-module"), ("sub", "demo-module"), ("iss", A.base),
                 ("scope", "openid"), ("token_type", "Bearer")):
        t.eq(d.get(k), v, k)
    t.check(d["exp"] > d["iat"])
    # another client does not see it
    p = portal()
    r = A.post("/introspect", data={"token": at}, auth=(p["client_id"], p["client_secret"]))
    t.eq(r.json(), {"active": False})
    # and cannot revoke it
    r = A.post("/revoke", data={"token": at}, auth=(p["client_id"], p["client_secret"]))
    t.eq(r.status_code, 200)
    t.eq(A.post("/introspect", data={"token": at}, auth=auth).json()["active"], True)
    r = A.post("/revoke", data={"token": at, "token_type_hint": "access_token"}, auth=auth)
    t.eq(r.status_code, 200)
    t.eq(A.post("/introspect", data={"token": at}, auth=auth).json(), {"active": False})
    # unknown tokens: 200 and inactive
    t.eq(A.post("/revoke", data={"token": "garbage"}, auth=auth).status_code, 200)
    t.eq(A.post("/introspect", data={"token": "garbage"}, auth=auth).json(), {"active": False})


@test
def introspection_needs_an_authenticated_confidential_client(t):
    at = cc_token().json()["access_token"]
    r = A.post("/introspect", data={"token": at})
    t.eq((r.status_code, r.json()["error"]), (401, "invalid_client"))
    r = A.post("/introspect", data={"token": at}, auth=("demo-module", "wrong"))
    t.eq((r.status_code, r.json()["error"]), (401, "invalid_client"))
    r = A.post("/introspect", data={"token": at, "client_id": "demo-app"})
    t.eq((r.status_code, r.json()["error"]), (400, "unauthorized_client"))
    m = module()
    r = A.post("/introspect", data={}, auth=(m["client_id"], m["client_secret"]))
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))


@test
def userinfo_refuses_bad_tokens(t):
    r = A.get("/userinfo")
    t.eq(r.status_code, 401)
    t.check(r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers)
    at = cc_token().json()["access_token"]
    # a flipped byte in the signature
    i = len(at) - 10
    flipped = at[:i] + ("A" if at[i] != "A" else "B") + at[i + 1:]
    userinfo_error(t, flipped)
    # a flipped byte in the payload
    h, p, s = at.split(".")
    userinfo_error(t, h + "." + p[:5] + ("A" if p[5] != "A" else "B") + p[6:] + "." + s)
    # alg none
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    userinfo_error(t, b64({"alg": "none", "typ": "at+jwt"}) + "." + b64(claims) + ".")
    # an unknown kid (a test key the daemon never saw)
    stranger = jwk.JWK.generate(kty="EC", crv="P-256", kid="stranger")
    userinfo_error(t, signed(stranger, claims))
    # our own key, but expired (beyond the leeway)
    key = our_private_key()
    old = dict(claims, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    userinfo_error(t, signed(key, old), why="expired")
    # our own key, wrong typ (an ID token is not an access token)
    userinfo_error(t, signed(key, claims, typ="JWT"))
    # our own key, another issuer
    userinfo_error(t, signed(key, dict(claims, iss="https://evil.example")))
    # a valid client token stands for no citizen
    userinfo_error(t, at)
    # two methods at once
    r = A.post("/userinfo", data={"access_token": at}, headers={"Authorization": "Bearer " + at})
    t.eq(r.status_code, 400)


def wait_token(t, auth=None, data=None, want=200):
    """Polls /token until the reloaded policy answers as wanted (SIGHUP is asynchronous)."""
    end = time.monotonic() + 10
    while True:
        r = A.post("/token", data=dict(data or {}, grant_type="client_credentials"), auth=auth)
        if r.status_code == want or time.monotonic() > end:
            return r
        time.sleep(0.05)


@test
def authctl_client_add_then_sighup_then_token(t):
    r = A.post("/token", data={"grant_type": "client_credentials"}, auth=("svc-new", "x"))
    t.eq(r.status_code, 401)
    p = A.authctl("client", "add", "--id", "svc-new", "--grant-types", "client_credentials",
                  "--scopes", "openid,api.read")
    out = json.loads(p.stdout)
    t.eq(out["client_id"], "svc-new")
    secret = out["client_secret"]
    t.check(len(secret) >= 43)
    conf = open(os.path.join(A.state, "policy", "client-svc-new.conf")).read()
    t.check(secret not in conf, "the secret must be stored hashed")
    t.check("secret_hash = sha256:" in conf)
    A.reload()
    r = wait_token(t, auth=("svc-new", secret), data={"scope": "api.read"})
    t.eq(r.status_code, 200, r.text)
    t.eq(r.json().get("scope"), "api.read")
    listed = json.loads(A.authctl("client", "list").stdout)
    t.check("svc-new" in [c["client_id"] for c in listed])
    shown = json.loads(A.authctl("client", "show", "svc-new").stdout)
    t.eq(shown["grant_types"], ["client_credentials"])
    t.check("secret_hash" not in shown)
    # rotate: the old secret stops working after the reload, the new one works
    new = json.loads(A.authctl("client", "rotate-secret", "svc-new").stdout)["client_secret"]
    A.reload()
    r = wait_token(t, auth=("svc-new", secret), want=401)
    t.eq(r.status_code, 401)
    t.eq(wait_token(t, auth=("svc-new", new)).status_code, 200)
    # a bad client is refused before anything is written; a duplicate too
    p = A.authctl("client", "add", "--id", "bad", "--redirect-uris", "https://x.example/#f",
                  check=False)
    t.check(p.returncode != 0 and "fragment" in p.stderr, p.stderr)
    t.check(not os.path.exists(os.path.join(A.state, "policy", "client-bad.conf")))
    p = A.authctl("client", "add", "--id", "svc-new", check=False)
    t.check(p.returncode != 0 and "exists" in p.stderr, p.stderr)
    p = A.authctl("client", "add", "--id", "inj", "--name", "x\n[client evil]", check=False)
    t.check(p.returncode != 0)
    t.check(A.authctl("client", "remove", "demo-portal", check=False).returncode != 0)
    A.authctl("client", "remove", "svc-new")
    A.reload()
    t.eq(wait_token(t, auth=("svc-new", new), want=401).status_code, 401)


@test
def private_key_jwt_client_over_http(t):
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1", alg="ES256", use="sig")
    path = os.path.join(A.state, "jwtc.jwks")
    with open(path, "w") as f:
        f.write(json.dumps({"keys": [json.loads(key.export_public())]}))
    p = A.authctl("client", "add", "--id", "jwtc", "--grant-types", "client_credentials",
                  "--auth-method", "private_key_jwt", "--jwks-file", path)
    t.eq(json.loads(p.stdout), {"client_id": "jwtc"})
    A.reload()

    def assertion(jti, aud=A.base + "/token", exp_in=60):
        now = int(time.time())
        return signed(key, {"iss": "jwtc", "sub": "jwtc", "aud": aud, "jti": jti,
                            "iat": now, "exp": now + exp_in}, typ="JWT", kid="k1")

    typ = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    r = wait_token(t, data={"client_assertion_type": typ, "client_assertion": assertion("a1")})
    t.eq(r.status_code, 200, r.text)
    r = A.post("/token", data={"grant_type": "client_credentials", "client_assertion_type": typ,
                               "client_assertion": assertion("a1")})
    t.eq((r.status_code, r.json()["error"]), (401, "invalid_client"))  # replayed jti
    r = A.post("/token", data={"grant_type": "client_credentials", "client_assertion_type": typ,
                               "client_assertion": assertion("a2", aud="https://x.example")})
    t.eq(r.status_code, 401)
    r = A.post("/token", data={"grant_type": "client_credentials", "client_assertion_type": typ,
                               "client_assertion": assertion("a3", exp_in=-120)})
    t.eq(r.status_code, 401)
    # the same assertion authenticates introspection (aud = the issuer works too)
    at = r = A.post("/token", data={"grant_type": "client_credentials",
                                    "client_assertion_type": typ,
                                    "client_assertion": assertion("a4", aud=A.base)})
    t.eq(at.status_code, 200, at.text)
    r = A.post("/introspect", data={"token": at.json()["access_token"],
                                    "client_assertion_type": typ,
                                    "client_assertion": assertion("a5",
                                                                  aud=A.base + "/introspect")})
    t.eq(r.json().get("active"), True, r.text)
    A.authctl("client", "remove", "jwtc")
    A.reload()


try:
    run()
finally:
    A.stop()
    shutil.rmtree(A.state, ignore_errors=True)
