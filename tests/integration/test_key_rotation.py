"""Key rotation on a running daemon (issue 5): `authctl keys rotate` publishes a next key
before it signs anything, then promotes it while the previous key stays published; the
daemon picks each step up by itself, and tokens signed before and after both verify —
with jwcrypto against /jwks, and at /userinfo and /introspect."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402


def kid_of(token):
    import base64
    h = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"]


def jwks_kids(a):
    return [k["kid"] for k in a.get("/jwks").json()["keys"]]


def wait_for(pred, timeout=8.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


def verifies(a, token):
    keys = jwk.JWKSet.from_json(a.get("/jwks").text)
    try:
        jwt.JWT(jwt=token, key=keys, algs=["ES256"])
        return True
    except Exception:  # noqa: BLE001 — any failure to verify
        return False


@test
def rotation_publishes_first_then_signs_and_old_tokens_keep_verifying(t):
    with Authd(population=300) as a:
        b = Browser(a)
        redirect = b.loopback()
        code, verifier, _ = b.code("demo-app", redirect, "openid profile")
        before = b.exchange(code, verifier, redirect)
        old_kid = kid_of(before["access_token"])
        t.eq(jwks_kids(a), [old_kid])

        # phase 1: a next key is published, not used
        a.authctl("keys", "rotate")
        t.require(wait_for(lambda: len(jwks_kids(a)) == 2), "next key not published")
        new_kid = [k for k in jwks_kids(a) if k != old_kid][0]
        code, verifier, _ = b.code("demo-app", redirect, "openid profile")
        mid = b.exchange(code, verifier, redirect)
        t.eq(kid_of(mid["access_token"]), old_kid, "the next key signed before promotion")

        # phase 2: promoted; the previous key stays published
        a.authctl("keys", "rotate")
        t.require(wait_for(lambda: kid_of(b.exchange(*_code(b, redirect), redirect)
                                          ["access_token"]) == new_kid),
                  "the promoted key never signed")
        code, verifier, _ = b.code("demo-app", redirect, "openid profile")
        after = b.exchange(code, verifier, redirect)
        t.eq(kid_of(after["access_token"]), new_kid)
        t.eq(kid_of(after["id_token"]), new_kid)
        t.check(old_kid in jwks_kids(a), "the previous key was withdrawn too early")
        for name, tok in (("before", before), ("after", after)):
            t.check(verifies(a, tok["access_token"]), f"{name}: access token")
            t.check(verifies(a, tok["id_token"]), f"{name}: ID token")
            r = a.get("/userinfo", headers={"Authorization": "Bearer " + tok["access_token"]})
            t.eq(r.status_code, 200, f"{name}: userinfo {r.text}")
        portal = [c for c in a.demo()["clients"] if c["client_id"] == "demo-module"][0]
        r = a.post("/introspect", data={"token": before["access_token"]},
                   auth=(portal["client_id"], portal["client_secret"]))
        t.eq(r.status_code, 200)
        keys = json.loads(a.authctl("keys", "list").stdout)
        t.check(any(k.get("status") == "previous" for k in (keys.get("keys", keys)
                                                             if isinstance(keys, dict)
                                                             else keys)), keys)


def _code(b, redirect):
    code, verifier, _ = b.code("demo-app", redirect, "openid profile")
    return code, verifier


run()
