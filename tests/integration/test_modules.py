"""The relying modules against a live authd: the `make demo` journey, and what the license
and workflow services refuse (scripts/demo starts the same processes)."""
import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from itest import ROOT, Authd, run, test  # noqa: E402

import importlib.machinery  # noqa: E402
import importlib.util  # noqa: E402

_loader = importlib.machinery.SourceFileLoader("demo", os.path.join(ROOT, "scripts", "demo"))
_spec = importlib.util.spec_from_loader("demo", _loader)
demo = importlib.util.module_from_spec(_spec)
_loader.exec_module(demo)

import requests  # noqa: E402
from jwcrypto import jwk, jws  # noqa: E402


def b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def get(url, token=None):
    h = {"Authorization": "Bearer " + token} if token else {}
    return requests.get(url, headers=h, timeout=10)


_ENV = None


def env():
    """One authd and one pair of modules for the file."""
    global _ENV
    if _ENV is None:
        a = Authd().__enter__()
        m = demo.Modules(a).start()
        _ENV = (a, m)
    return _ENV


def license_token(a, citizen=0, scope="openid license.read workflow.apply"):
    tok = demo.login(a, citizen=citizen, scope=scope)
    return demo.portal_exchange(a, tok["access_token"], "license-service"), tok


@test
def make_demo_journey_ends_ok(t):
    r = subprocess.run([os.path.join(ROOT, "scripts", "demo")], capture_output=True, text=True,
                       timeout=120)
    t.eq(r.returncode, 0, r.stdout[-800:] + r.stderr[-800:])
    t.check(r.stdout.rstrip().endswith("demo: ok"), r.stdout[-400:])
    t.check("applied for hukou-marriage" in r.stdout)


@test
def licenses_are_the_callers_own_and_signed(t):
    a, m = env()
    lt, _ = license_token(a)
    r = get(m.license + "/v1/licenses", lt)
    t.require(r.status_code == 200, r.text)
    ls = r.json()["licenses"]
    t.eq(sorted(l["type"] for l in ls),
         ["degree_certificate", "household_register", "marriage_certificate"])
    t.check(all("holder" not in l for l in ls), "the holder key stays inside")
    one = get(f"{m.license}/v1/licenses/{ls[0]['id']}", lt)
    t.eq(one.json()["id"], ls[0]["id"])
    # offline verification: jwcrypto, the service's JWKS, nothing else
    signed = get(f"{m.license}/v1/licenses/{ls[0]['id']}.jws", lt)
    t.eq(signed.headers["Content-Type"], "application/jose")
    keys = jwk.JWKSet.from_json(get(m.license + "/.well-known/jwks.json").text)
    o = jws.JWS()
    o.deserialize(signed.text)
    hdr = o.jose_header
    t.eq(hdr["alg"], "ES256")
    o.verify(keys.get_key(hdr["kid"]), alg="ES256")
    body = json.loads(o.payload)
    t.eq(body["id"], ls[0]["id"])
    t.eq(body["iss"], m.license)
    # tampered: another number in the payload, same signature
    h, p, s = signed.text.split(".")
    body["number"] = "XX-999999"
    bad = jws.JWS()
    bad.deserialize(f"{h}.{b64(body)}.{s}")
    try:
        bad.verify(keys.get_key(hdr["kid"]), alg="ES256")
        t.check(False, "a tampered license verified")
    except jws.InvalidJWSSignature:
        pass


@test
def another_citizens_license_is_not_found(t):
    a, m = env()
    lt0, _ = license_token(a, citizen=0)
    lt1, _ = license_token(a, citizen=1)
    mine = {l["id"] for l in get(m.license + "/v1/licenses", lt1).json()["licenses"]}
    theirs = [l["id"] for l in get(m.license + "/v1/licenses", lt0).json()["licenses"]
              if l["id"] not in mine]
    t.require(theirs, "citizen 0 holds a license citizen 1 does not")
    t.eq(get(f"{m.license}/v1/licenses/{theirs[0]}", lt1).status_code, 404)
    t.eq(get(f"{m.license}/v1/licenses/{theirs[0]}.jws", lt1).status_code, 404)
    t.eq(get(f"{m.license}/v1/licenses/nope", lt1).status_code, 404)


def mint_token(a, claims):
    """claims signed with authd's current key (the clientlib test tool), or None."""
    mint = os.path.join(ROOT, os.environ.get("AUTHD_TEST_BUILD", "build"), "clientlib",
                        "mint-token")
    r = subprocess.run([mint, os.path.join(a.state, "keys"), "sign", json.dumps(claims)],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


@test
def license_service_refuses_bad_tokens(t):
    a, m = env()
    lt, tok = license_token(a)
    # no token, a token for another audience (the portal's own, the workflow service's)
    r = get(m.license + "/v1/licenses")
    t.eq(r.status_code, 401)
    t.check(r.headers.get("WWW-Authenticate", "").startswith("Bearer"))
    r = get(m.license + "/v1/licenses", tok["access_token"])
    t.eq(r.status_code, 401)
    t.check("invalid_token" in r.headers.get("WWW-Authenticate", ""))
    w = demo.portal_exchange(a, tok["access_token"], "workflow-service")
    t.eq(get(m.license + "/v1/licenses", w).status_code, 401)
    # authd no longer trades a token the license service could not use (issue 13 defect 1:
    # the exchanged scope is narrowed to the audience's registration, nothing left is
    # invalid_scope) ...
    tok2 = demo.login(a, scope="openid workflow.apply")
    r = a.post("/token", auth=("demo-portal", demo.secret(a, "demo-portal")), data={
        "grant_type": demo.EXCHANGE, "subject_token": tok2["access_token"],
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "audience": "license-service"})
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_scope"), r.text)
    # ... and the service refuses one without license.read (signed by authd's key)
    h, p, s = lt.split(".")
    c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    c["scope"] = "openid workflow.apply"
    lt2 = mint_token(a, c)
    t.require(lt2, "build/clientlib/mint-token failed")
    r = get(m.license + "/v1/licenses", lt2)
    t.eq(r.status_code, 403)
    t.check("insufficient_scope" in r.headers.get("WWW-Authenticate", ""))
    # tampered, and an expired one (exp in the past, re-signed cannot be: tamper exp)
    h, p, s = lt.split(".")
    c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    c["exp"] = c["iat"] - 3600
    t.eq(get(m.license + "/v1/licenses", f"{h}.{b64(c)}.{s}").status_code, 401)
    c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    c["sub"] = "0" * 64
    t.eq(get(m.license + "/v1/licenses", f"{h}.{b64(c)}.{s}").status_code, 401)


@test
def expired_token_is_refused_by_the_library(t):
    """An expired token signed by authd's own key (minted with the clientlib test tool)."""
    a, m = env()
    mint = os.path.join(ROOT, os.environ.get("AUTHD_TEST_BUILD", "build"), "clientlib",
                        "mint-token")
    if not os.path.exists(mint):
        t.check(False, "build/clientlib/mint-token missing")
        return
    lt, _ = license_token(a)
    h, p, s = lt.split(".")
    c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    c["exp"], c["iat"] = c["iat"] - 60, c["iat"] - 700
    r = subprocess.run([mint, os.path.join(a.state, "keys"), "sign", json.dumps(c)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        t.check(False, "mint-token: " + r.stderr[:200])
        return
    r = get(m.license + "/v1/licenses", r.stdout.strip())
    t.eq(r.status_code, 401)
    t.check("EXPIRED" in r.text, r.text)


@test
def workflow_refusals(t):
    a, m = env()
    tok = demo.login(a, citizen=2)
    w = demo.portal_exchange(a, tok["access_token"], "workflow-service")
    url = m.workflow + "/v1/applications"
    H = {"Authorization": "Bearer " + w}
    # citizen 2 holds only a household register: the marriage one is missing
    r = requests.post(url, json={"service_code": "hukou-marriage"}, headers=H, timeout=10)
    t.eq(r.status_code, 422, r.text)
    t.eq(r.json()["missing"], ["marriage_certificate"])
    t.eq(requests.post(url, json={"service_code": "nope"}, headers=H, timeout=10).status_code, 400)
    t.eq(requests.post(url, data="{", headers=H, timeout=10).status_code, 400)
    t.eq(requests.post(url, json={"service_code": "hukou-marriage"},
                       headers={"Authorization": "Bearer " + tok["access_token"]},
                       timeout=10).status_code, 401)  # the portal's own token: wrong aud
    # an application of citizen 0, then who may see and move it
    tok0 = demo.login(a, citizen=0)
    w0 = demo.portal_exchange(a, tok0["access_token"], "workflow-service")
    app = requests.post(url, json={"service_code": "degree-verify"},
                        headers={"Authorization": "Bearer " + w0}, timeout=10).json()
    t.require("id" in app, app)
    t.eq(requests.get(f"{url}/{app['id']}", headers={"Authorization": "Bearer " + w0},
                      timeout=10).status_code, 200)
    t.eq(requests.get(f"{url}/{app['id']}", headers=H, timeout=10).status_code, 404)
    st = f"{url}/{app['id']}/stage"
    r = requests.post(st, json={"stage": "accepted"}, headers={"Authorization": "Bearer " + w0},
                      timeout=10)
    t.eq(r.status_code, 403)  # a citizen is no officer
    off = {"Authorization": "Bearer " + demo.officer_token(a)}
    t.eq(requests.get(f"{url}/{app['id']}", headers=off, timeout=10).status_code, 200)
    t.eq(requests.post(st, json={"stage": "approved"}, headers=off, timeout=10).status_code, 409)
    t.eq(requests.post(st, json={"stage": "flying"}, headers=off, timeout=10).status_code, 400)
    t.eq(requests.post(st, json={"stage": "accepted"}, headers=off, timeout=10).status_code, 200)
    t.eq(requests.post(st, json={"stage": "accepted"}, headers=off, timeout=10).status_code, 409)


@test
def authd_stopped_cached_keys_still_validate(t):
    """Last: stops authd. The license service keeps validating with its cached keys (and
    its cached holder mapping); tokens it cannot check locally are still refused."""
    a, m = env()
    lt, _ = license_token(a)
    t.eq(get(m.license + "/v1/licenses", lt).status_code, 200)
    a.stop()
    r = get(m.license + "/v1/licenses", lt)
    t.eq(r.status_code, 200, r.text)
    h, p, s = lt.split(".")
    t.eq(get(m.license + "/v1/licenses", f"{h}.{p}.{s[:-4]}AAAA").status_code, 401)


if __name__ == "__main__":
    try:
        run()
    finally:
        if _ENV is not None:
            _ENV[1].stop()
            _ENV[0].__exit__(None, None, None)
