#!/usr/bin/python3
"""Card assertions for make bench (scripts/bench/run, section card), made right before a run
so that wrk only sends distinct, single-use card logins: N nonces from /kiosk/nonce (the
kiosk's certificate in the trusted proxy's header), each signed into a card assertion of a
demo citizen (round robin) with the kiosk's device key (the `cryptography` package; the
JWS by hand here is test tooling, not authd code).

    card_assertions.py BASE STATE KIOSK CLIENT N OUT
        OUT: N form bodies, one a line; OUT.hdr: the header value (URL-encoded PEM)
Nonces live 60 s: a run must start within that. Prints the generation rate on stderr."""
import base64
import hashlib
import json
import os
import sys
import time
from urllib.parse import quote, urlencode

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def main():
    base, state, kiosk, client, n, out = sys.argv[1:7]
    n = int(n)
    pem = open(os.path.join(state, "kiosks", kiosk + ".crt"), "rb").read()
    key = serialization.load_pem_private_key(
        open(os.path.join(state, "kiosks", kiosk + ".key"), "rb").read(), None)
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    hdr = quote(pem.decode(), safe="")
    head = b64(json.dumps({"alg": "ES256", "typ": "card-assertion+jwt",
                           "x5t#S256": b64(hashlib.sha256(der).digest())}).encode())
    citizens = json.load(open(os.path.join(state, "demo.json"), encoding="utf-8"))["citizens"]
    t0 = time.time()
    s = requests.Session()
    s.trust_env = False
    with open(out, "w") as f:
        for i in range(n):
            r = s.post(base + "/kiosk/nonce", data={"client_id": client},
                       headers={"X-SSL-Client-Cert": hdr}, timeout=10)
            r.raise_for_status()
            c = citizens[i % len(citizens)]
            now = int(time.time())
            claims = {"iss": kiosk, "aud": base, "iat": now, "exp": now + 300,
                      "nonce": r.json()["nonce"],
                      "card": {"type": "resident_id", "id_number": c["id_number"],
                               "name": c["name"], "valid_from": "2015-03-07",
                               "valid_until": "long-term", "authority": "bench",
                               "photo_sha256": b64(hashlib.sha256(b"photo").digest())},
                      "face_score": 0.95}
            inp = head + "." + b64(json.dumps(claims, ensure_ascii=False).encode())
            rr, ss = decode_dss_signature(key.sign(inp.encode(), ec.ECDSA(hashes.SHA256())))
            jws = inp + "." + b64(rr.to_bytes(32, "big") + ss.to_bytes(32, "big"))
            f.write(urlencode({"client_id": client, "scope": "openid profile",
                               "assertion": jws}) + "\n")
    with open(out + ".hdr", "w") as f:
        f.write(hdr)
    print(f"card_assertions: {n} in {time.time() - t0:.1f} s", file=sys.stderr)


main()
