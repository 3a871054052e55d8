#!/usr/bin/python3
"""DPoP proofs for make bench (scripts/bench/run, section dpop), made before a run so that
the load generator only replays distinct, single-use proofs (each has its own jti: authd
refuses a proof twice). One ES256 key; proofs are signed with the `cryptography` package
(the JWS by hand here is test tooling, not authd code).

    dpop_proofs.py cc URL N OUT          N proofs for POST URL (the token endpoint)
    dpop_proofs.py userinfo URL TOKEN N OUT   N proofs for GET URL with ath of TOKEN
    dpop_proofs.py login BASE DEMO_JSON OUT_PREFIX
        one code-flow login of demo-app (a public client) twice: OUT_PREFIX.bearer (a bearer
        access token) and OUT_PREFIX.dpop (one bound to the key, which KEY_FILE keeps)
The key is kept in OUT's directory as dpop-key.pem so that the userinfo proofs are made by
the key the token is bound to. Prints the generation rate on stderr."""
import base64
import hashlib
import json
import os
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def key_for(path):
    if os.path.exists(path):
        return serialization.load_pem_private_key(open(path, "rb").read(), None)
    k = ec.generate_private_key(ec.SECP256R1())
    open(path, "wb").write(k.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return k


def header_of(k):
    n = k.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64(n.x.to_bytes(32, "big")),
           "y": b64(n.y.to_bytes(32, "big"))}
    return b64(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk},
                          separators=(",", ":")).encode())


def proof(k, hdr, htm, htu, ath=None):
    c = {"jti": uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": int(time.time())}
    if ath:
        c["ath"] = ath
    si = hdr + "." + b64(json.dumps(c, separators=(",", ":")).encode())
    r, s = decode_dss_signature(k.sign(si.encode(), ec.ECDSA(hashes.SHA256())))
    return si + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def write(k, htm, url, n, out, ath=None):
    hdr, t0 = header_of(k), time.time()
    with open(out, "w") as f:
        for _ in range(n):
            f.write(proof(k, hdr, htm, url, ath) + "\n")
    print(f"{n} proofs in {time.time() - t0:.1f} s", file=sys.stderr)


def login(base, demo, prefix):
    import html
    import re
    import secrets
    from urllib.parse import parse_qs, urljoin, urlsplit

    import requests
    cz = json.load(open(demo))["citizens"][0]
    k = key_for(os.path.join(os.path.dirname(prefix), "dpop-key.pem"))
    for kind in ("bearer", "dpop"):
        s = requests.Session()
        s.trust_env = False
        v = secrets.token_urlsafe(48)
        ch = b64(hashlib.sha256(v.encode()).digest())
        redirect = "http://127.0.0.1:9/callback"
        r = s.get(base + "/authorize", allow_redirects=False, params={
            "client_id": "demo-app", "response_type": "code", "scope": "openid profile",
            "redirect_uri": redirect, "code_challenge": ch, "code_challenge_method": "S256",
            "state": "s", "nonce": "n"})
        for _ in range(4):
            loc = r.headers["Location"]
            if loc.startswith(redirect):
                break
            page = s.get(urljoin(base, loc)).text
            field = lambda n: html.unescape(re.search(f'name="{n}" value="([^"]*)"', page).group(1))
            data = {"authz": field("authz"), "csrf": field("csrf")}
            if loc.startswith("/login"):
                data.update(id_number=cz["id_number"], password=cz["password"])
                r = s.post(base + "/login", data=data, allow_redirects=False)
            else:
                data.update(action="approve")
                r = s.post(base + "/consent", data=data, allow_redirects=False)
        code = parse_qs(urlsplit(loc).query)["code"][0]
        h = {"DPoP": proof(k, header_of(k), "POST", base + "/token")} if kind == "dpop" else {}
        t = s.post(base + "/token", headers=h, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
            "code_verifier": v, "client_id": "demo-app"}).json()
        open(f"{prefix}.{kind}", "w").write(t["access_token"] + "\n")


def main(a):
    if a[0] == "cc":
        write(key_for(os.path.join(os.path.dirname(a[3]), "dpop-key.pem")), "POST", a[1],
              int(a[2]), a[3])
    elif a[0] == "userinfo":
        tok = open(a[2]).read().strip()
        write(key_for(os.path.join(os.path.dirname(a[4]), "dpop-key.pem")), "GET", a[1],
              int(a[3]), a[4], b64(hashlib.sha256(tok.encode()).digest()))
    elif a[0] == "login":
        login(a[1], a[2], a[3])


if __name__ == "__main__":
    main(sys.argv[1:])
