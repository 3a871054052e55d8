"""Token exchange (RFC 8693) against a live authd: the portal trades the citizen's token for
one towards the workflow service, which trades it on towards the license service; every
refusal has its error. Also /notify, which resolves the sub a module knows (flow/notify.h).
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser  # noqa: E402

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
AT = "urn:ietf:params:oauth:token-type:access_token"
PORTAL_CB = "http://127.0.0.1:8081/oidc/callback"


def claims(jwt):
    p = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


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


_A = None


def authd():
    """One daemon for the whole file (logins cost an argon2 hash each)."""
    global _A
    if _A is None:
        _A = Authd().__enter__()
    return _A


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
    t.eq(j["scope"], "openid license.read workflow.apply")
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
