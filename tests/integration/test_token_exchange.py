"""Token exchange (RFC 8693) against a live authd: the portal trades the citizen's token for
one towards the workflow service, which trades it on towards the license service; every
refusal has its error. Also /notify, which resolves the sub a module knows (flow/notify.h).
"""
import base64
import hashlib
import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser, claims  # noqa: E402

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
PORTAL_CB = "http://127.0.0.1:8081/oidc/callback"


def secrets_of(a):
    return {c["client_id"]: c.get("client_secret") for c in a.demo()["clients"]}


def portal_tokens(a, scope="openid license.read workflow.apply", citizen=0):
    sec = secrets_of(a)
    b = Browser(a)
    code, v, _ = b.code("demo-portal", PORTAL_CB, scope, citizen=citizen)
    return b.exchange(code, v, PORTAL_CB, auth=("demo-portal", sec["demo-portal"]))


def exchange(a, client, token, audience, **extra):
    data = {"grant_type": EXCHANGE, "subject_token": token, "subject_token_type": AT,
            "audience": audience}
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    return a.post("/token", data=data, auth=(client, secrets_of(a)[client]))


# Test-only clients (issue 13 defect 1): a portal that may receive id_number and a reader
# module registered for openid and profile only, without id_number_allowed.
XPORTAL, XREADER = "xchg-portal", "xchg-reader"
XSECRET = secrets.token_urlsafe(32)
XPORTAL_CB = "http://127.0.0.1/xchg/callback"  # never fetched: the test reads the Location


def xchg_policy():
    h = "sha256:" + hashlib.sha256(XSECRET.encode()).hexdigest()
    return f"""
[client {XPORTAL}]
type = confidential
auth_method = client_secret_basic
secret_hash = {h}
redirect_uris = {XPORTAL_CB}
grant_types = authorization_code {EXCHANGE}
scopes = openid profile phone id_number
exchange_audiences = {XREADER}
first_party = true
id_number_allowed = true
sector = xchg.portal

[client {XREADER}]
type = confidential
auth_method = client_secret_basic
secret_hash = {h}
grant_types = {EXCHANGE}
scopes = openid profile
sector = xchg.reader
"""


_A = None


def authd():
    """One daemon for the whole file (logins cost an argon2 hash each)."""
    global _A
    if _A is None:
        a = Authd().setup()
        with open(os.path.join(a.state, "policy", "xchg.conf"), "w") as f:
            f.write(xchg_policy())
        _A = a.__enter__()
    return _A


def userinfo(a, token):
    return a.get("/userinfo", headers={"Authorization": "Bearer " + token})


@test
def discovery_advertises_token_exchange(t):
    a = authd()
    t.check(EXCHANGE in a.get("/.well-known/openid-configuration").json()["grant_types_supported"])


@test
def allowed_exchange_carries_act_and_keeps_subject(t):
    a = authd()
    tok = portal_tokens(a)
    r = exchange(a, "demo-portal", tok["access_token"], "workflow-service")
    t.require(r.status_code == 200, r.text)
    j = r.json()
    t.eq(j["issued_token_type"], AT)
    t.eq(j["token_type"], "Bearer")
    t.check(0 < j["expires_in"] <= 600, j)
    # narrowed to workflow-service's registration (issue 13 defect 1): no openid
    t.eq(j["scope"], "license.read workflow.apply")
    c0, c1 = claims(tok["access_token"]), claims(j["access_token"])
    t.eq(c1["aud"], "workflow-service")
    t.eq(c1["client_id"], "demo-portal")
    t.eq(c1["act"], {"sub": "demo-portal"})
    for k in ("sub", "acr", "amr", "auth_time", "rtf"):
        t.eq(c1[k], c0[k], k)
    t.check(c1["exp"] <= c0["exp"], "never outlives the subject token")
    # the workflow service trades it on, narrowed: the act chain nests (RFC 8693 §4.1)
    r = exchange(a, "workflow-service", j["access_token"], "license-service", scope="license.read")
    t.require(r.status_code == 200, r.text)
    c2 = claims(r.json()["access_token"])
    t.eq(r.json()["scope"], "license.read")
    t.eq(c2["aud"], "license-service")
    t.eq(c2["client_id"], "workflow-service")
    t.eq(c2["act"], {"sub": "workflow-service", "act": {"sub": "demo-portal"}})
    t.eq(c2["sub"], c0["sub"])
    t.eq(c2["acr"], c0["acr"])
    # the audience introspects it: active, with act, and the ID number for this module only
    sec = secrets_of(a)
    i = a.post("/introspect", data={"token": r.json()["access_token"]},
               auth=("license-service", sec["license-service"])).json()
    t.eq(i["active"], True)
    t.eq(i["act"]["sub"], "workflow-service")
    t.eq(i["id_number"], a.demo()["citizens"][0]["id_number"])
    i = a.post("/introspect", data={"token": j["access_token"]},
               auth=("workflow-service", sec["workflow-service"])).json()
    t.eq(i["active"], True)
    t.check("id_number" not in i, "workflow-service has no id_number_allowed")
    t.check(any(e.get("ev") == "claims.id_number" and e.get("client") == "license-service"
                for e in a.log_events()), "the release is logged")


@test
def exchange_never_widens_what_the_audience_reads(t):
    """Issue 13 defect 1: the portal's login with profile, phone and id_number (box ticked),
    exchanged towards workflow-service without a scope parameter, gave workflow-service a
    token that read name, birthdate, phone and the raw id_number at /userinfo."""
    a = authd()
    sec = secrets_of(a)
    tok = portal_tokens(a, scope="openid profile phone id_number workflow.apply")
    ui = userinfo(a, tok["access_token"]).json()
    t.require("id_number" in ui and "phone_number" in ui, f"the portal's own view: {ui}")
    r = exchange(a, "demo-portal", tok["access_token"], "workflow-service")
    t.require(r.status_code == 200, r.text)
    w = r.json()
    t.eq(w["scope"], "workflow.apply")
    t.eq(claims(w["access_token"]).get("scope"), "workflow.apply")
    r = userinfo(a, w["access_token"])
    t.eq((r.status_code, r.json().get("error")), (403, "insufficient_scope"), r.text)
    for k in ("name", "birthdate", "phone_number", "id_number"):
        t.check(k not in r.text, f"{k} released: {r.text}")
    i = a.post("/introspect", data={"token": w["access_token"]},
               auth=("workflow-service", sec["workflow-service"])).json()
    t.eq((i["active"], i["scope"]), (True, "workflow.apply"))
    t.check("id_number" not in i, i)
    # nothing workflow-service is registered for: refused, not a token without scope
    tok = portal_tokens(a, scope="openid profile phone id_number")
    r = exchange(a, "demo-portal", tok["access_token"], "workflow-service")
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_scope"), r.text)
    # a requested value beyond the subject token's scope is refused (RFC 6749 §5.2)
    r = exchange(a, "demo-portal", tok["access_token"], "license-service", scope="license.read")
    t.eq(r.json().get("error"), "invalid_scope")


@test
def exchanged_token_releases_by_the_holders_policy(t):
    """/userinfo with an exchanged token releases what the holder (its audience) may read,
    not what the client that logged the citizen in may read; sub stays the citizen's."""
    a = authd()
    b = Browser(a)
    code, v, _ = b.code(XPORTAL, XPORTAL_CB, "openid profile phone id_number", citizen=2)
    tok = b.exchange(code, v, XPORTAL_CB, auth=(XPORTAL, XSECRET))
    t.eq(tok["scope"], "openid profile phone id_number")
    mine = userinfo(a, tok["access_token"]).json()
    t.require("id_number" in mine and "phone_number" in mine, mine)
    r = a.post("/token", auth=(XPORTAL, XSECRET), data={
        "grant_type": EXCHANGE, "subject_token": tok["access_token"], "subject_token_type": AT,
        "audience": XREADER})
    t.require(r.status_code == 200, r.text)
    t.eq(r.json()["scope"], "openid profile")
    held = r.json()["access_token"]
    ui = userinfo(a, held)
    t.require(ui.status_code == 200, ui.text)
    ui = ui.json()
    t.eq(ui["sub"], mine["sub"])
    t.eq(ui.get("name"), mine["name"])
    t.check("phone_number" not in ui and "id_number" not in ui, f"released: {ui}")
    # asking for id_number explicitly does not carry the consent over either
    r = a.post("/token", auth=(XPORTAL, XSECRET), data={
        "grant_type": EXCHANGE, "subject_token": tok["access_token"], "subject_token_type": AT,
        "audience": XREADER, "scope": "openid id_number"})
    t.eq((r.status_code, r.json().get("scope")), (200, "openid"), r.text)
    ui = userinfo(a, r.json()["access_token"]).json()
    t.check("id_number" not in ui, ui)
    t.check(not any(e.get("ev") == "claims.id_number" and e.get("client") == XREADER
                    for e in a.log_events()), "an id_number release to the reader was logged")
    # the holder's policy at the time of the request decides, not the portal's: the reader
    # loses profile in a reload, its live token no longer reads the name
    n = sum(1 for e in a.log_events() if e.get("ev") == "policy.reload")
    with open(os.path.join(a.state, "policy", "xchg.conf"), "w") as f:
        f.write(xchg_policy().replace("scopes = openid profile\n", "scopes = openid\n"))
    a.reload()
    end = time.monotonic() + 10
    while time.monotonic() < end and sum(1 for e in a.log_events()
                                         if e.get("ev") == "policy.reload") == n:
        time.sleep(0.05)
    ui = userinfo(a, held)
    t.eq(ui.status_code, 200, ui.text)
    t.check("name" not in ui.json(), f"released by the portal's policy: {ui.text}")


@test
def audience_not_in_policy_is_invalid_target(t):
    a = authd()
    tok = portal_tokens(a)
    w = exchange(a, "demo-portal", tok["access_token"], "workflow-service").json()["access_token"]
    r = exchange(a, "workflow-service", w, "demo-app")
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "invalid_target")
    r = exchange(a, "demo-portal", tok["access_token"], "no-such-module")
    t.eq(r.json()["error"], "invalid_target")
    r = exchange(a, "demo-portal", tok["access_token"], "license-service",
                 resource="https://license.example/")
    t.eq(r.json()["error"], "invalid_target")


@test
def client_without_the_grant_is_unauthorized_client(t):
    a = authd()
    tok = portal_tokens(a)
    r = exchange(a, "workflow-officer", tok["access_token"], "license-service")
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "unauthorized_client")
    r = exchange(a, "demo-module", tok["access_token"], "license-service")
    t.eq(r.json()["error"], "unauthorized_client")


@test
def revoked_subject_token_is_refused(t):
    a = authd()
    tok = portal_tokens(a)
    sec = secrets_of(a)
    r = a.post("/revoke", data={"token": tok["access_token"]},
               auth=("demo-portal", sec["demo-portal"]))
    t.eq(r.status_code, 200)
    r = exchange(a, "demo-portal", tok["access_token"], "workflow-service")
    t.eq(r.status_code, 400)
    t.eq(r.json()["error"], "invalid_request")  # RFC 8693 §2.2.2
    t.check("revoked" in r.json().get("error_description", ""), r.text)


@test
def revoking_the_grant_revokes_exchanged_tokens(t):
    a = authd()
    tok = portal_tokens(a)
    sec = secrets_of(a)
    w = exchange(a, "demo-portal", tok["access_token"], "workflow-service").json()["access_token"]
    auth = ("workflow-service", sec["workflow-service"])
    t.eq(a.post("/introspect", data={"token": w}, auth=auth).json()["active"], True)
    a.post("/revoke", data={"token": tok["refresh_token"]},
           auth=("demo-portal", sec["demo-portal"]))
    t.eq(a.post("/introspect", data={"token": w}, auth=auth).json()["active"], False)
    r = exchange(a, "workflow-service", w, "license-service")
    t.eq(r.json()["error"], "invalid_request")


@test
def bad_subject_tokens_are_invalid_request(t):
    a = authd()
    tok = portal_tokens(a)
    at = tok["access_token"]
    # not issued to the caller
    r = exchange(a, "workflow-service", at, "license-service")
    t.eq(r.json()["error"], "invalid_request")
    t.check("not issued to this client" in r.json()["error_description"], r.text)
    # tampered payload
    h, p, s = at.split(".")
    c = claims(at)
    c["scope"] = "openid license.read workflow.apply workflow.officer"
    p2 = base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()
    r = exchange(a, "demo-portal", f"{h}.{p2}.{s}", "workflow-service")
    t.eq(r.json()["error"], "invalid_request")
    # a client's own token is not a citizen's
    sec = secrets_of(a)
    cc = a.post("/token", data={"grant_type": "client_credentials"},
                auth=("workflow-service", sec["workflow-service"])).json()["access_token"]
    r = exchange(a, "workflow-service", cc, "license-service")
    t.eq(r.json()["error"], "invalid_request")
    t.check("citizen" in r.json()["error_description"], r.text)
    # parameters
    t.eq(exchange(a, "demo-portal", at, "workflow-service",
                  subject_token_type="urn:ietf:params:oauth:token-type:id_token").json()["error"],
         "invalid_request")
    t.eq(exchange(a, "demo-portal", at, "workflow-service",
                  subject_token_type=None).json()["error"], "invalid_request")
    t.eq(exchange(a, "demo-portal", at, "workflow-service",
                  requested_token_type="urn:ietf:params:oauth:token-type:refresh_token")
         .json()["error"], "invalid_request")
    t.eq(exchange(a, "demo-portal", at, "workflow-service", actor_token=at,
                  actor_token_type=AT).json()["error"], "invalid_request")
    t.eq(exchange(a, "demo-portal", at, None).json()["error"], "invalid_request")
    t.eq(exchange(a, "demo-portal", None, "workflow-service").json()["error"], "invalid_request")
    t.eq(exchange(a, "demo-portal", at, "workflow-service", scope="openid workflow.officer")
         .json()["error"], "invalid_scope")


@test
def notify_reaches_the_citizen_by_the_sub_the_module_knows(t):
    a = authd()
    sec = secrets_of(a)
    tok = portal_tokens(a, citizen=1)
    w = exchange(a, "demo-portal", tok["access_token"], "workflow-service").json()["access_token"]
    sub = claims(w)["sub"]
    auth = ("workflow-service", sec["workflow-service"])
    r = a.post("/notify", data={"sub": sub, "text": "您的申请已受理 accepted", "ref": "A-1"},
               auth=auth)
    t.eq(r.status_code, 202, r.text)
    t.check("1380000" not in r.text, "never the phone number")
    with open(os.path.join(a.state, "notices.jsonl")) as f:
        last = json.loads(f.read().splitlines()[-1])
    t.eq(last["to"], a.demo()["citizens"][1]["phone"])
    t.eq(last["text"], "您的申请已受理 accepted")
    t.eq(last["sender"], "workflow-service")
    t.eq(last["ref"], "A-1")
    # refusals
    r = a.post("/notify", data={"sub": "ab" * 32, "text": "x"}, auth=auth)
    t.eq((r.status_code, r.json()["error"]), (404, "unknown_subject"))
    r = a.post("/notify", data={"sub": sub, "text": "x"},
               auth=("license-service", sec["license-service"]))
    t.eq((r.status_code, r.json()["error"]), (403, "insufficient_scope"))
    r = a.post("/notify", data={"sub": sub, "text": "a\nb"}, auth=auth)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))
    r = a.post("/notify", data={"sub": sub, "text": "字" * 200}, auth=auth)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))
    r = a.post("/notify", data={"sub": sub, "text": "x", "ref": "a b"}, auth=auth)
    t.eq(r.status_code, 400)
    r = a.post("/notify", data={"sub": "not-hex", "text": "x"}, auth=auth)
    t.eq(r.status_code, 400)
    r = a.post("/notify", data={"sub": sub, "text": "x"}, auth=("workflow-service", "wrong"))
    t.eq(r.status_code, 401)


if __name__ == "__main__":
    try:
        run()
    finally:
        if _A is not None:
            _A.__exit__(None, None, None)
