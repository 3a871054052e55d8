"""The authorization code flow end to end against a live daemon: /authorize and the login
page (branch authz), then /token, /userinfo, /introspect and /revoke (branch token). Tokens
are checked independently with jwcrypto against /jwks."""
import base64
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import sys
import time
from urllib.parse import parse_qs, urljoin, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, free_port, run, test  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402

A = Authd(population=1000)
A.start()
DEMO = A.demo()
CITIZENS = DEMO["citizens"]
PORTAL_CB = "http://127.0.0.1:8081/oidc/callback"
PORTAL = [c for c in DEMO["clients"] if c["client_id"] == "demo-portal"][0]
PORTAL_AUTH = (PORTAL["client_id"], PORTAL["client_secret"])
MODULE = [c for c in DEMO["clients"] if c["client_id"] == "demo-module"][0]
MODULE_AUTH = (MODULE["client_id"], MODULE["client_secret"])


def pkce():
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    return v, c


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    return html.unescape(m.group(1)) if m else None


def get_code(t, s, client, redirect, scope, citizen=0, nonce="n-1"):
    """Runs /authorize, the login form and the consent page if any; returns (code, verifier)."""
    v, c = pkce()
    p = {"client_id": client, "response_type": "code", "scope": scope, "state": "st",
         "nonce": nonce, "redirect_uri": redirect, "code_challenge": c,
         "code_challenge_method": "S256"}
    r = s.get(A.base + "/authorize", params=p, allow_redirects=False, timeout=10)
    for _ in range(4):
        loc = r.headers.get("Location", "")
        t.require(r.status_code in (302, 303), f"{r.status_code}: {r.text[:200]}")
        if loc.startswith(redirect):
            q = {k: x[0] for k, x in parse_qs(urlsplit(loc).query).items()}
            t.require("code" in q, loc)
            return q["code"], v
        page = s.get(urljoin(A.base, loc), allow_redirects=False, timeout=10)
        if loc.startswith("/login"):
            cz = CITIZENS[citizen]
            r = s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                                "csrf": hidden(page.text, "csrf"),
                                                "id_number": cz["id_number"],
                                                "password": cz["password"]},
                       allow_redirects=False, timeout=10)
        else:
            r = s.post(A.base + "/consent", data={"authz": hidden(page.text, "authz"),
                                                  "csrf": hidden(page.text, "csrf"),
                                                  "action": "approve", "share_id_number": "1"},
                       allow_redirects=False, timeout=10)
    t.require(False, "no code after login and consent")


def app_cb():
    return f"http://127.0.0.1:{free_port()}/callback"


def jwks():
    return jwk.JWKSet.from_json(A.get("/jwks").text)


def verify(t, token, typ=None):
    tok = jwt.JWT(jwt=token, key=jwks(), algs=["ES256"])
    hdr = json.loads(tok.header)
    if typ:
        t.eq(hdr.get("typ"), typ)
    return json.loads(tok.claims)


def at_hash(token):
    d = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(d[:16]).rstrip(b"=").decode()


def redeem(code, verifier, redirect, client="demo-app", auth=None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
            "code_verifier": verifier}
    if auth is None:
        data["client_id"] = client
    return A.post("/token", data=data, auth=auth)


def userinfo(token):
    return A.get("/userinfo", headers={"Authorization": "Bearer " + token})


@test
def public_client_code_flow_tokens_verify(t):
    s = A.session()
    cb = app_cb()
    code, v = get_code(t, s, "demo-app", cb, "openid profile", nonce="n-app")
    r = redeem(code, v, cb)
    t.eq(r.status_code, 200, r.text)
    t.eq(r.headers.get("Cache-Control"), "no-store")
    body = r.json()
    t.eq(body["token_type"], "Bearer")
    t.eq(body["scope"], "openid profile")
    t.check("refresh_token" in body)
    idt = verify(t, body["id_token"])
    t.eq(idt["iss"], A.base)
    t.eq(idt["aud"], "demo-app")
    t.eq(idt["nonce"], "n-app")
    t.eq(idt["acr"], "urn:authd:acr:ial3:aal1")
    t.eq(idt["amr"], ["pwd"])
    t.eq(idt["at_hash"], at_hash(body["access_token"]))
    t.check(idt["auth_time"] <= time.time() + 5 and idt["exp"] > idt["iat"])
    t.check(len(idt["sid"]) > 10)
    t.eq(idt["name"], CITIZENS[0]["name"])
    t.check("id_number" not in idt)
    at = verify(t, body["access_token"], typ="at+jwt")
    for k in ("sub", "sid", "acr", "auth_time"):
        t.eq(at[k], idt[k], k)
    t.eq(at["client_id"], "demo-app")
    t.eq(at["scope"], "openid profile")
    u = userinfo(body["access_token"])
    t.eq(u.status_code, 200, u.text)
    t.eq(u.json()["sub"], idt["sub"])
    t.eq(u.json()["name"], CITIZENS[0]["name"])
    t.check("birthdate" in u.json() and "gender" in u.json())
    r = A.post("/userinfo", data={"access_token": body["access_token"]})
    t.eq(r.status_code, 200)


@test
def code_reuse_fails_and_revokes_the_first_tokens(t):
    s = A.session()
    cb = app_cb()
    code, v = get_code(t, s, "demo-app", cb, "openid")
    first = redeem(code, v, cb).json()
    t.eq(userinfo(first["access_token"]).status_code, 200)
    r = redeem(code, v, cb)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    t.eq(userinfo(first["access_token"]).status_code, 401)
    r = A.post("/token", data={"grant_type": "refresh_token", "client_id": "demo-app",
                               "refresh_token": first["refresh_token"]})
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    t.check(any(e.get("ev") == "token.code_reuse" for e in A.log_events()))


@test
def wrong_verifier_or_redirect_or_client_is_invalid_grant(t):
    s = A.session()
    cb = app_cb()
    code, v = get_code(t, s, "demo-app", cb, "openid")
    r = redeem(code, pkce()[0], cb)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    code, v = get_code(t, s, "demo-app", cb, "openid")
    r = redeem(code, v, cb + "x")
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    code, v = get_code(t, s, "demo-app", cb, "openid")
    r = redeem(code, v, cb, auth=PORTAL_AUTH)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    code, v = get_code(t, s, "demo-app", cb, "openid")
    r = redeem(code, "", cb)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))


@test
def confidential_client_refresh_rotation_and_family_revocation(t):
    s = A.session()
    code, v = get_code(t, s, "demo-portal", PORTAL_CB, "openid profile", citizen=1)
    r0 = redeem(code, v, PORTAL_CB, auth=PORTAL_AUTH).json()
    t.check("refresh_token" in r0, r0)
    intro = A.post("/introspect", data={"token": r0["refresh_token"]}, auth=PORTAL_AUTH).json()
    t.eq(intro.get("active"), True, intro)
    t.eq(intro.get("client_id"), "demo-portal")
    t.eq(intro.get("scope"), "openid profile")
    r1 = A.post("/token", data={"grant_type": "refresh_token",
                                "refresh_token": r0["refresh_token"]}, auth=PORTAL_AUTH)
    t.eq(r1.status_code, 200, r1.text)
    r1 = r1.json()
    t.check(r1["refresh_token"] != r0["refresh_token"])
    idt0, idt1 = verify(t, r0["id_token"]), verify(t, r1["id_token"])
    for k in ("sub", "auth_time", "acr", "amr", "sid"):
        t.eq(idt1[k], idt0[k], k)
    # narrowing is allowed, widening not
    r = A.post("/token", data={"grant_type": "refresh_token", "scope": "openid phone",
                               "refresh_token": r1["refresh_token"]}, auth=PORTAL_AUTH)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_scope"))
    # another client cannot use it
    r = A.post("/token", data={"grant_type": "refresh_token", "client_id": "demo-app",
                               "refresh_token": r1["refresh_token"]})
    t.eq(r.status_code, 400)
    # revoking the refresh token revokes the family and its access tokens
    t.eq(A.post("/revoke", data={"token": r1["refresh_token"]}, auth=PORTAL_AUTH).status_code,
         200)
    t.eq(A.post("/introspect", data={"token": r1["refresh_token"]}, auth=PORTAL_AUTH).json(),
         {"active": False})
    t.eq(A.post("/introspect", data={"token": r1["access_token"]}, auth=PORTAL_AUTH).json(),
         {"active": False})
    t.eq(userinfo(r1["access_token"]).status_code, 401)


@test
def old_refresh_token_reuse_revokes_the_family(t):
    s = A.session()
    code, v = get_code(t, s, "demo-portal", PORTAL_CB, "openid", citizen=1)
    r0 = redeem(code, v, PORTAL_CB, auth=PORTAL_AUTH).json()

    def refresh(rt):
        return A.post("/token", data={"grant_type": "refresh_token", "refresh_token": rt},
                      auth=PORTAL_AUTH)

    r1 = refresh(r0["refresh_token"]).json()
    # a concurrent retry within the grace window gets the same successor
    again = refresh(r0["refresh_token"])
    t.eq(again.status_code, 200, again.text)
    t.eq(again.json()["refresh_token"], r1["refresh_token"])
    r2 = refresh(r1["refresh_token"]).json()
    # r0 is now two rotations old: reuse
    r = refresh(r0["refresh_token"])
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    r = refresh(r2["refresh_token"])
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_grant"))
    t.eq(userinfo(r2["access_token"]).status_code, 401)


@test
def pairwise_subjects_differ_and_id_number_needs_permission(t):
    s = A.session()
    code, v = get_code(t, s, "demo-portal", PORTAL_CB, "openid profile id_number", citizen=2)
    body = redeem(code, v, PORTAL_CB, auth=PORTAL_AUTH).json()
    idt = verify(t, body["id_token"])
    t.eq(idt.get("id_number"), CITIZENS[2]["id_number"])
    t.eq(userinfo(body["access_token"]).json().get("id_number"), CITIZENS[2]["id_number"])
    cb = app_cb()
    code, v = get_code(t, s, "demo-app", cb, "openid")  # SSO: same citizen, no password
    app_idt = verify(t, redeem(code, v, cb).json()["id_token"])
    t.check(app_idt["sub"] != idt["sub"], "pairwise subjects must differ between sectors")
    t.eq(app_idt["sid"], idt["sid"])
    ev = [e for e in A.log_events() if e.get("ev") == "claims.id_number"]
    t.check(ev and ev[-1]["idn"].count("*") == 8, ev[-1:])
    t.check(not any(CITIZENS[2]["id_number"] in l for l in A.log_lines()), "ID number logged")


try:
    run()
finally:
    A.stop()
    shutil.rmtree(A.state, ignore_errors=True)
