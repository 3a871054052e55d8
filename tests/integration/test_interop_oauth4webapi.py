"""PAR and DPoP end to end with an independent client: oauth4webapi (npm, pinned by
tests/interop/oauth4webapi/package-lock.json, installed here with `npm ci`) run with Node.
The node script pushes the request and later redeems the code, reads /userinfo and
refreshes, all with DPoP proofs (the one at /par binds the code to the key, RFC 9449
§10.1); this test plays the browser (login form) in between.
authd requires nonces here (dpop_nonce_required), so the client goes through the
use_dpop_nonce retry, and the client must push (require_pushed_authorization_requests) and
bind its tokens (dpop_bound_access_tokens)."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser  # noqa: E402

from jwcrypto import jwk, jwt  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop", "oauth4webapi")
NODE = shutil.which("node")


def npm_ci():
    if os.path.isdir(os.path.join(HERE, "node_modules", "oauth4webapi")):
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                   capture_output=True, timeout=300)


def node(args, stdin=None):
    p = subprocess.run([NODE, os.path.join(HERE, "client.mjs"), *args], input=stdin,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"client.mjs {args[0]}: {p.stderr.strip()}")
    return json.loads(p.stdout)


A = Authd(population=300, conf={"dpop_nonce_required": "true"})
A.setup()
with open(os.path.join(A.state, "policy", "o4w.conf"), "w") as f:
    f.write("""
[client o4w-app]
type = public
auth_method = none
redirect_uris = http://127.0.0.1/callback
grant_types = authorization_code refresh_token
scopes = openid profile
first_party = true
require_pushed_authorization_requests = true
dpop_bound_access_tokens = true
""")


@test
def oauth4webapi_par_dpop_code_flow_userinfo_refresh(t):
    t.require(NODE, "node is not installed")
    npm_ci()
    b = Browser(A)
    redirect = b.loopback()
    s = node(["start", A.base, "o4w-app", redirect])
    t.check(s["authorize_url"].startswith(A.base + "/authorize?client_id=o4w-app&request_uri="),
            s["authorize_url"])
    t.eq(s["expires_in"], 60)
    t.check(s["par_retried"], "the first /par should meet use_dpop_nonce")
    r = b.s.get(s["authorize_url"], allow_redirects=False, timeout=10)
    b.finish(r, redirect)
    s["callback"] = b.callback
    out = node(["finish"], json.dumps(s))
    t.eq(out["token_type"].lower(), "dpop")
    # `finish` is a new process with a new DPoP handle: it meets use_dpop_nonce again
    t.check(out["token_retried"], "the first token request should meet use_dpop_nonce")
    t.eq(out["userinfo"]["sub"], out["sub"])
    t.eq(out["refresh_token_type"].lower(), "dpop")
    claims = json.loads(jwt.JWT(jwt=out["access_token"]).token.objects["payload"])
    t.eq(claims["cnf"]["jkt"], jwk.JWK(**s["public_jwk"]).thumbprint())
    # the bound token is refused as a bearer token
    r = A.get("/userinfo", headers={"Authorization": "Bearer " + out["refreshed_access_token"]})
    t.eq(r.status_code, 401)


if __name__ == "__main__":
    A.start()
    try:
        run()
    finally:
        A.stop()
        shutil.rmtree(A.state, ignore_errors=True)
