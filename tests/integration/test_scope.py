"""Scope values at the authorization and token endpoints (issue 13, "Interoperability: scope
values", item 7): values authd does not know are ignored (OIDC Core §3.1.2.1), values the
client is not registered for are left out (RFC 6749 §3.3) and the token response names the
granted scope; a client whose policy has strict_scopes still gets invalid_scope. Requested
lists are normalised. The test registers its own clients."""
import hashlib
import os
import secrets
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser, FlowError, pkce, query  # noqa: E402

SVC_SECRET = secrets.token_urlsafe(32)


def sha(s):
    return "sha256:" + hashlib.sha256(s.encode()).hexdigest()


POLICY = f"""
[scope scopetest.read]

[client scope-app]
type = public
auth_method = none
redirect_uris = http://127.0.0.1/callback
grant_types = authorization_code refresh_token
scopes = openid profile
first_party = true

[client scope-strict]
type = public
auth_method = none
redirect_uris = http://127.0.0.1/callback
grant_types = authorization_code
scopes = openid profile
first_party = true
strict_scopes = true

[client scope-svc]
type = confidential
auth_method = client_secret_basic
secret_hash = {sha(SVC_SECRET)}
grant_types = client_credentials
scopes = scopetest.read
strict_scopes = true
"""

_A = None


def authd():
    global _A
    if _A is None:
        a = Authd(population=500).setup()
        with open(os.path.join(a.state, "policy", "scopetest.conf"), "w") as f:
            f.write(POLICY)
        _A = a.start()
    return _A


def tokens(a, client, scope):
    b = Browser(a)
    cb = b.loopback()
    code, v, _ = b.code(client, cb, scope)
    return b.exchange(code, v, cb, client=client)


def authorize_error(a, client, scope):
    """The error the client gets at its redirect URI (or None if there is none)."""
    cb = Browser.loopback()
    v, c = pkce()
    r = a.get("/authorize", params={"client_id": client, "response_type": "code", "scope": scope,
                                    "state": "st", "redirect_uri": cb, "code_challenge": c,
                                    "code_challenge_method": "S256"})
    loc = r.headers.get("Location", "")
    return query(loc).get("error") if loc.startswith(cb) else None


@test
def unknown_and_unregistered_scopes_are_left_out_and_the_granted_scope_returned(t):
    a = authd()
    # email: not in policy (mod_auth_openidc's default list); phone, id_number: in policy
    # but not registered for scope-app
    tok = tokens(a, "scope-app", "openid profile email phone id_number")
    t.eq(tok.get("scope"), "openid profile", "RFC 6749 §5.1: the granted scope")
    ui = a.get("/userinfo", headers={"Authorization": "Bearer " + tok["access_token"]}).json()
    t.check("name" in ui and "phone_number" not in ui and "id_number" not in ui, ui)
    t.eq(authorize_error(a, "scope-app", "openid email"), None)
    t.eq(authorize_error(a, "scope-app", "profile email"), "invalid_scope")  # openid required


@test
def scope_values_are_normalised(t):
    a = authd()
    tok = tokens(a, "scope-app", "  openid profile   openid ")
    t.eq(tok.get("scope"), "openid profile")
    r = a.post("/token", data={"grant_type": "refresh_token", "client_id": "scope-app",
                               "refresh_token": tok["refresh_token"], "scope": "openid "})
    t.require(r.status_code == 200, r.text)
    t.eq(r.json()["scope"], "openid", "no trailing space in the refreshed token")
    t.eq(authorize_error(a, "scope-app", "openid\tprofile"), "invalid_scope")


@test
def strict_client_still_gets_invalid_scope(t):
    a = authd()
    t.eq(authorize_error(a, "scope-strict", "openid profile email"), "invalid_scope")
    t.eq(authorize_error(a, "scope-strict", "openid phone"), "invalid_scope")
    try:
        t.eq(tokens(a, "scope-strict", "openid profile ").get("scope"), "openid profile")
    except FlowError as e:
        t.check(False, str(e))
    auth = ("scope-svc", SVC_SECRET)
    r = a.post("/token", data={"grant_type": "client_credentials", "scope": "scopetest.read x"},
               auth=auth)
    t.eq((r.status_code, r.json().get("error")), (400, "invalid_scope"))
    r = a.post("/token", data={"grant_type": "client_credentials",
                               "scope": "scopetest.read "}, auth=auth)
    t.eq((r.status_code, r.json().get("scope")), (200, "scopetest.read"))


if __name__ == "__main__":
    try:
        run()
    finally:
        if _A is not None:
            _A.__exit__(None, None, None)
