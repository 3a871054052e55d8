"""core/jose against an independent implementation (Debian's python3-jwcrypto): tokens we
sign verify there against our published JWKS, tokens it signs verify here, our kids are
RFC 7638 thumbprints, and the rotation keeps old tokens verifiable."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from itest import BUILD, run, test
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import json_encode

AUTHCTL = os.path.join(BUILD, "authctl")


class Keys:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="authd-jose-")
        self.conf = os.path.join(self.tmp.name, "authd.conf")
        with open(self.conf, "w") as f:
            f.write(f"state_dir = {self.tmp.name}/state\n")

    def ctl(self, *args, input=None, check=True):
        p = subprocess.run([AUTHCTL, "-c", self.conf, "keys", *args], input=input,
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"authctl keys {' '.join(args)}: {p.stderr}")
        return p

    def jwks(self):
        return jwk.JWKSet.from_json(self.ctl("jwks").stdout)

    def sign(self, claims, *args):
        return self.ctl("sign-test", *args, input=json.dumps(claims)).stdout.strip()

    def verify(self, jwks_json, token, *args):
        path = os.path.join(self.tmp.name, "peer.jwks")
        with open(path, "w") as f:
            f.write(jwks_json)
        return self.ctl("verify-test", path, *args, input=token, check=False)


def jwcrypto_verify(keyset, token):
    t = jws.JWS()
    t.deserialize(token)
    kid = t.jose_header["kid"]
    t.verify(keyset.get_key(kid), alg=t.jose_header["alg"])
    return t.jose_header, json.loads(t.payload)


@test
def our_es256_and_rs256_tokens_verify_in_jwcrypto(t):
    k = Keys()
    k.ctl("init", "--rs256")
    keyset = k.jwks()
    for alg in ("ES256", "RS256"):
        tok = k.sign({"sub": "x", "n": alg}, "--alg", alg, "--typ", "at+jwt")
        hdr, claims = jwcrypto_verify(keyset, tok)
        t.eq(hdr["alg"], alg)
        t.eq(hdr["typ"], "at+jwt")
        t.eq(claims["n"], alg)


@test
def our_kids_are_rfc7638_thumbprints(t):
    k = Keys()
    k.ctl("init", "--rs256")
    doc = json.loads(k.ctl("jwks").stdout)
    t.eq(len(doc["keys"]), 2)
    for key in doc["keys"]:
        t.check("d" not in key and "p" not in key, "private member published")
        t.eq(key["use"], "sig")
        t.eq(key["kid"], jwk.JWK(**key).thumbprint())


@test
def jwcrypto_tokens_verify_here(t):
    k = Keys()
    for kty, alg, extra in (("EC", "ES256", {"crv": "P-256"}), ("RSA", "RS256", {"size": 2048}),
                            ("RSA", "PS256", {"size": 2048})):
        key = jwk.JWK.generate(kty=kty, kid="peer-1", alg=alg, use="sig", **extra)
        pub = jwk.JWKSet()
        pub.add(key)
        tok = jwt.JWT(header={"alg": alg, "kid": "peer-1"}, claims={"iss": "peer", "a": 1})
        tok.make_signed_token(key)
        s = tok.serialize()
        p = k.verify(pub.export(private_keys=False), s, "--alg", alg)
        t.eq(p.returncode, 0, f"{alg}: {p.stdout}")
        t.eq(json.loads(p.stdout or "{}").get("a"), 1)
        # one flipped payload character
        h, b, g = s.split(".")
        b = b[:5] + ("A" if b[5] != "A" else "B") + b[6:]
        p = k.verify(pub.export(private_keys=False), f"{h}.{b}.{g}", "--alg", alg)
        t.check(p.stdout.startswith("RC_DENIED"), f"{alg} tampered: {p.stdout}")


@test
def hs256_keyed_with_a_public_key_is_refused(t):
    k = Keys()
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="peer-1", alg="ES256")
    pub_json = key.export_public()
    pub = jwk.JWKSet()
    pub.add(key)
    secret = jwk.JWK(kty="oct", k=jwk.base64url_encode(pub_json.encode()))
    tok = jws.JWS(b'{"sub":"admin"}')
    tok.add_signature(secret, alg="HS256",
                      protected=json_encode({"alg": "HS256", "kid": "peer-1"}))
    p = k.verify(pub.export(private_keys=False), tok.serialize(compact=True), "--alg", "ES256")
    t.check(p.stdout.startswith("RC_DENIED"), p.stdout)


@test
def rotation_keeps_old_tokens_verifiable(t):
    k = Keys()
    k.ctl("init")
    before = k.sign({"n": "before"})
    k.ctl("rotate")  # next key published, not signing
    during = k.sign({"n": "during"})
    t.eq(json.loads(k.ctl("list").stdout)[1]["status"], "next")
    k.ctl("rotate")  # promoted
    after = k.sign({"n": "after"})
    keyset = k.jwks()
    t.eq(len(json.loads(k.ctl("jwks").stdout)["keys"]), 2)
    for tok, n in ((before, "before"), (during, "during"), (after, "after")):
        _, claims = jwcrypto_verify(keyset, tok)
        t.eq(claims["n"], n)
    hb = json.loads(jwk.base64url_decode(before.split(".")[0]))
    ha = json.loads(jwk.base64url_decode(after.split(".")[0]))
    t.check(hb["kid"] != ha["kid"], "the signing key did not change")
    statuses = sorted(e["status"] for e in json.loads(k.ctl("list").stdout))
    t.eq(statuses, ["current", "previous"])


run()
