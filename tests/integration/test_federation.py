"""OpenID Federation 1.0 (docs/federation.md): three live authd processes, a national trust
anchor and two provinces (A = 11, B = 31) enrolled with `authctl federation enroll`; B
resolves A's trust chain to the anchor, with the anchor's metadata policy applied, and
refuses (with the reason logged) a tampered statement, an expired one, an unknown anchor,
a removed province, a conflicting policy and a missing trust mark. The statements are
checked link by link with jwcrypto alone. A test-only Python server plays a malicious or
broken intermediate and its leaves."""
import base64
import http.server
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, check_config, free_port, run, test  # noqa: E402

from jwcrypto import jwk, jws, jwt  # noqa: E402

FED_TYP = "entity-statement+jwt"


def b64_payload(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def header(token):
    p = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def verify(token, jwks, typ=FED_TYP):
    """jwcrypto alone: the signature with a key of jwks (a JWKS dict), the typ header;
    returns the claims."""
    ks = jwk.JWKSet.from_json(json.dumps(jwks))
    s = jws.JWS()
    s.deserialize(token)
    kid = s.jose_header.get("kid")
    key = ks.get_key(kid) if kid else None
    if key is None:
        raise ValueError("kid not in jwks")
    s.verify(key)
    if s.jose_header.get("typ") != typ:
        raise ValueError("typ")
    return json.loads(s.payload)


class Fed:
    """Anchor, A and B, on one Redis (separate databases) so authctl reaches their stores."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="authd-fed-")
        self.redis = Redis().start()
        self.anchor = Authd(conf={"store": f"redis://127.0.0.1:{self.redis.port}/0",
                                  "federation_role": "anchor"})
        self.anchor.start()
        self.anchor_jwks = os.path.join(self.tmp, "anchor.jwks")
        open(self.anchor_jwks, "w").write(self.anchor.authctl("federation", "jwks").stdout)
        self.mark = self.anchor.base + "/trust-marks/province-idp"
        anchors = os.path.join(self.tmp, "anchors.json")
        json.dump([{"entity_id": self.anchor.base, "jwks": json.load(open(self.anchor_jwks)),
                    "required_trust_marks": [self.mark]}], open(anchors, "w"))
        common = {"federation_role": "leaf", "federation_authority_hints": self.anchor.base,
                  "federation_trust_anchors": anchors}
        self.a = Authd(conf=dict(common, store=f"redis://127.0.0.1:{self.redis.port}/1",
                                 rate_federation_resolve_per_ip="3"))
        self.b = Authd(conf=dict(common, store=f"redis://127.0.0.1:{self.redis.port}/2"))
        self.a.start()
        self.b.start()
        self.policy = os.path.join(self.tmp, "policy.json")
        json.dump({"openid_provider": {
            "id_token_signing_alg_values_supported": {"subset_of": ["ES256", "ES384"]},
            "service_documentation": {"value": self.anchor.base + "/docs/province-idp"}}},
            open(self.policy, "w"))
        self.enroll(self.a)
        self.enroll(self.b)

    def enroll(self, d, mark=True):
        path = os.path.join(self.tmp, f"{d.port}.jwks")
        open(path, "w").write(d.authctl("federation", "jwks").stdout)
        args = ["federation", "enroll", "--entity-id", d.base, "--jwks", path,
                "--policy", self.policy]
        if mark:
            args += ["--trust-mark", self.mark]
        self.anchor.authctl(*args)

    def resolve(self, sub, anchor=None):
        return self.b.get("/federation/resolve", params={
            "sub": sub, "trust_anchor": anchor or self.anchor.base})

    def fetches(self):
        return sum(1 for e in self.anchor.log_events()
                   if e.get("ev") == "http.request" and e.get("path") == "/federation/fetch")

    def refused(self, d, why):
        return any(e.get("ev") == "fed.resolve" and e.get("why") == why
                   for e in d.log_events())

    def stop(self):
        for d in (self.b, self.a, self.anchor):
            d.__exit__()
        self.redis.stop()


_fed = None


def fed():
    global _fed
    if _fed is None:
        _fed = Fed()
    return _fed


@test
def entity_configuration_is_self_signed_and_typed(t):
    f = fed()
    r = f.a.get("/.well-known/openid-federation")
    t.eq(r.status_code, 200)
    t.eq(r.headers["Content-Type"], "application/entity-statement+jwt")
    claims = b64_payload(r.text)
    c = verify(r.text, claims["jwks"])  # self-signed, typ checked by jwcrypto
    t.eq(c["iss"], f.a.base)
    t.eq(c["sub"], f.a.base)
    t.check(c["exp"] > c["iat"] >= int(time.time()) - 60, "iat/exp")
    t.eq(c["authority_hints"], [f.anchor.base])
    t.eq(c["metadata"]["openid_provider"]["issuer"], f.a.base)
    # the federation key is not a token key
    token_kids = {k["kid"] for k in f.a.get("/jwks").json()["keys"]}
    t.check(not token_kids & {k["kid"] for k in c["jwks"]["keys"]}, "separate keys")
    ac = b64_payload(f.anchor.get("/.well-known/openid-federation").text)
    fe = ac["metadata"]["federation_entity"]
    t.eq(fe["federation_fetch_endpoint"], f.anchor.base + "/federation/fetch")
    t.eq(fe["federation_list_endpoint"], f.anchor.base + "/federation/list")


@test
def anchor_lists_and_fetches_enrolled_provinces(t):
    f = fed()
    r = f.anchor.get("/federation/list")
    t.eq(r.status_code, 200)
    t.eq(sorted(r.json()), sorted([f.a.base, f.b.base]))
    r = f.anchor.get("/federation/fetch", params={"sub": f.a.base})
    t.eq(r.status_code, 200)
    t.eq(r.headers["Content-Type"], "application/entity-statement+jwt")
    c = verify(r.text, json.load(open(f.anchor_jwks)))
    t.eq((c["iss"], c["sub"]), (f.anchor.base, f.a.base))
    t.check("metadata_policy" in c, "policy served")
    tm = c["trust_marks"][0]
    t.eq(tm["trust_mark_type"], f.mark)
    m = verify(tm["trust_mark"], json.load(open(f.anchor_jwks)), typ="trust-mark+jwt")
    t.eq((m["iss"], m["sub"], m["ial"]), (f.anchor.base, f.a.base, "ial3"))


@test
def fetch_and_list_refusals_follow_the_spec(t):
    f = fed()
    r = f.anchor.get("/federation/fetch", params={"sub": "https://nobody.example"})
    t.eq((r.status_code, r.json()["error"]), (404, "not_found"))
    r = f.anchor.get("/federation/fetch")
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))
    r = f.anchor.get("/federation/fetch?sub=a&sub=b")
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))
    r = f.anchor.get("/federation/list", params={"entity_type": "openid_provider"})
    t.eq((r.status_code, r.json()["error"]), (400, "unsupported_parameter"))
    r = f.a.get("/federation/fetch", params={"sub": f.b.base})  # a leaf has no subordinates
    t.eq((r.status_code, r.json()["error"]), (404, "not_found"))
    r = f.b.get("/federation/resolve", params={"sub": f.a.base})
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))


@test
def b_resolves_a_with_the_anchor_policy_and_jwcrypto_agrees(t):
    f = fed()
    r = f.resolve(f.a.base)
    t.require(r.status_code == 200, f"resolve: {r.status_code} {r.text} {f.b.log_tail()}")
    t.eq(r.headers["Content-Type"], "application/resolve-response+jwt")
    b_conf = b64_payload(f.b.get("/.well-known/openid-federation").text)
    res = verify(r.text, b_conf["jwks"], typ="resolve-response+jwt")
    t.eq((res["iss"], res["sub"]), (f.b.base, f.a.base))
    op = res["metadata"]["openid_provider"]
    t.eq(op["id_token_signing_alg_values_supported"], ["ES256"])  # subset_of applied
    t.eq(op["service_documentation"], f.anchor.base + "/docs/province-idp")  # value applied
    t.eq(res["trust_marks"][0]["trust_mark_type"], f.mark)
    # B's view of the chain (its cache: the resolve answer leaves the chain out when it
    # is over what core/jose signs, docs/federation.md), link by link with jwcrypto alone:
    # [A's configuration, the anchor's statement about A, the anchor's configuration]
    view = json.loads(f.b.authctl("federation", "resolve", f.a.base, "--json").stdout)
    t.eq(view["metadata"], res["metadata"])
    chain = view["trust_chain"]
    if "trust_chain" in res:
        t.eq(res["trust_chain"], chain)
    t.eq(len(chain), 3)
    ta = verify(chain[2], json.load(open(f.anchor_jwks)))
    st = verify(chain[1], ta["jwks"])
    ec = verify(chain[0], st["jwks"])
    t.eq((ta["iss"], ta["sub"]), (f.anchor.base, f.anchor.base))
    t.eq((st["iss"], st["sub"]), (f.anchor.base, f.a.base))
    t.eq((ec["iss"], ec["sub"]), (f.a.base, f.a.base))
    now = time.time()
    t.check(all(c["exp"] > now for c in (ta, st, ec)), "unexpired")
    t.check(res["exp"] <= min(c["exp"] for c in (ta, st, ec)), "resolve exp within the chain")
    # a tampered link fails jwcrypto too (the check above can fail)
    h, p, sg = chain[1].split(".")
    try:
        verify(".".join((h, p[:-4] + ("AAAA" if p[-4:] != "AAAA" else "BBBB"), sg)), ta["jwks"])
        t.check(False, "tampered statement verified")
    except Exception:
        pass


@test
def warm_cache_fetches_nothing(t):
    f = fed()
    f.b.authctl("federation", "refresh")
    t.eq(f.resolve(f.a.base).status_code, 200)
    time.sleep(0.3)
    n = f.fetches()
    for _ in range(3):
        t.eq(f.resolve(f.a.base).status_code, 200)
    time.sleep(0.3)
    t.eq(f.fetches(), n, "fetches at the anchor on a warm cache")
    f.b.authctl("federation", "refresh")
    t.eq(f.resolve(f.a.base).status_code, 200)
    time.sleep(0.3)
    t.check(f.fetches() > n, "a refresh fetches again")


@test
def unknown_anchor_is_refused(t):
    f = fed()
    r = f.resolve(f.a.base, anchor="https://anchor.invalid")
    t.eq((r.status_code, r.json()["error"]), (404, "invalid_trust_anchor"))
    t.check(f.refused(f.b, "fed_anchor"), "reason logged")


class Rogue:
    """A test-only federation server on a free port: an intermediate /m (enrolled at the
    anchor) and its leaves /x (tampered statement), /y (expired configuration), /z (policy
    that conflicts with the anchor's), /v (valid, but no trust mark)."""

    def __init__(self, f):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.keys = {n: jwk.JWK.generate(kty="EC", crv="P-256", kid=n + "-k")
                     for n in ("m", "x", "y", "z", "v")}
        self.f = f
        rogue = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                body = rogue.answer(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/entity-statement+jwt")
                self.end_headers()
                self.wfile.write((body or "").encode())

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def id(self, n):
        return f"{self.base}/{n}"

    def jwks(self, n):
        return {"keys": [self.keys[n].export_public(as_dict=True)]}

    def sign(self, n, claims):
        t = jwt.JWT(header={"alg": "ES256", "kid": self.keys[n]["kid"], "typ": FED_TYP},
                    claims=claims)
        t.make_signed_token(self.keys[n])
        return t.serialize()

    def configuration(self, n):
        now = int(time.time())
        c = {"iss": self.id(n), "sub": self.id(n), "iat": now, "exp": now + 3600,
             "jwks": self.jwks(n)}
        if n == "m":
            c["authority_hints"] = [self.f.anchor.base]
            c["metadata"] = {"federation_entity": {
                "federation_fetch_endpoint": self.id("m") + "/fetch"}}
        else:
            c["authority_hints"] = [self.id("m")]
            c["metadata"] = {"openid_provider": {
                "issuer": self.id(n), "id_token_signing_alg_values_supported": ["ES256"]}}
        if n == "y":
            c["iat"], c["exp"] = now - 7200, now - 3600
        return self.sign(n, c)

    def statement(self, sub):
        n = sub.rsplit("/", 1)[-1]
        now = int(time.time())
        c = {"iss": self.id("m"), "sub": sub, "iat": now, "exp": now + 3600,
             "jwks": self.jwks(n)}
        if n == "z":
            c["metadata_policy"] = {"openid_provider": {
                "id_token_signing_alg_values_supported": {"value": ["RS256"]}}}
        tok = self.sign("m", c)
        if n == "x":  # tampered after signing: another key slipped in
            h, p, s = tok.split(".")
            claims = dict(c, jwks={"keys": [self.keys["v"].export_public(as_dict=True)]})
            p = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
            tok = ".".join((h, p, s))
        return tok

    def answer(self, path):
        u = urllib.parse.urlparse(path)
        parts = u.path.strip("/").split("/")
        if len(parts) >= 2 and parts[1] == ".well-known" and parts[0] in self.keys:
            return self.configuration(parts[0])
        if parts == ["m", "fetch"]:
            sub = urllib.parse.parse_qs(u.query).get("sub", [""])[0]
            if sub.startswith(self.base + "/") and sub.rsplit("/", 1)[-1] in self.keys:
                return self.statement(sub)
        return None

    def stop(self):
        self.srv.shutdown()


_rogue = None


def rogue():
    global _rogue
    if _rogue is None:
        f = fed()
        _rogue = Rogue(f)
        path = os.path.join(f.tmp, "m.jwks")
        json.dump(_rogue.jwks("m"), open(path, "w"))
        f.anchor.authctl("federation", "enroll", "--entity-id", _rogue.id("m"), "--jwks", path,
                         "--policy", f.policy)
    return _rogue


@test
def tampered_subordinate_statement_is_refused(t):
    f, r = fed(), rogue()
    res = f.resolve(r.id("x"))
    t.eq((res.status_code, res.json()["error"]), (400, "invalid_trust_chain"))
    t.check(f.refused(f.b, "fed_statement"), "reason logged")


@test
def expired_statement_is_refused(t):
    f, r = fed(), rogue()
    res = f.resolve(r.id("y"))
    t.eq((res.status_code, res.json()["error"]), (400, "invalid_trust_chain"))
    t.check(f.refused(f.b, "fed_expired"), "reason logged")


@test
def conflicting_policy_is_refused(t):
    f, r = fed(), rogue()
    res = f.resolve(r.id("z"))
    t.eq((res.status_code, res.json()["error"]), (400, "invalid_metadata"))
    t.check(f.refused(f.b, "fed_policy"), "reason logged")


@test
def missing_trust_mark_is_refused(t):
    f, r = fed(), rogue()
    res = f.resolve(r.id("v"))  # a valid chain through the intermediate, but no mark
    t.eq((res.status_code, res.json()["error"]), (400, "invalid_trust_chain"))
    t.check(f.refused(f.b, "fed_trust_mark"), "reason logged")
    out = f.b.authctl("federation", "resolve", r.id("v"), check=False)
    t.eq(out.returncode, 1)
    t.check("fed_trust_mark" in out.stderr, out.stderr)


@test
def authctl_resolve_prints_the_resolved_metadata(t):
    f = fed()
    out = f.b.authctl("federation", "resolve", f.a.base)
    md = json.loads(out.stdout)
    t.eq(md["openid_provider"]["id_token_signing_alg_values_supported"], ["ES256"])


@test
def rotated_federation_key_is_picked_up_after_refresh(t):
    f = fed()
    def leaf_kid():
        out = f.b.authctl("federation", "resolve", f.a.base, "--json").stdout
        return header(json.loads(out)["trust_chain"][0])["kid"]
    t.eq(f.resolve(f.a.base).status_code, 200)
    old = leaf_kid()
    f.a.authctl("federation", "rotate-key")  # phase 1: the next key is published
    f.enroll(f.a)  # the anchor vouches for both keys
    f.a.authctl("federation", "rotate-key")  # phase 2: the next key signs
    deadline = time.time() + 10
    while time.time() < deadline:
        if header(f.a.get("/.well-known/openid-federation").text)["kid"] != old:
            break
        time.sleep(0.5)
    t.eq(leaf_kid(), old, "cached chain until refresh")
    f.b.authctl("federation", "refresh")
    r = f.resolve(f.a.base)
    t.require(r.status_code == 200, r.text)
    t.check(leaf_kid() != old, "new key in use")


@test
def removed_province_is_refused_after_refresh(t):
    f = fed()
    t.eq(f.resolve(f.b.base).status_code, 200)  # cached now
    f.anchor.authctl("federation", "remove", f.b.base)
    t.eq(f.anchor.get("/federation/fetch", params={"sub": f.b.base}).status_code, 404)
    t.eq(f.resolve(f.b.base).status_code, 200, "cached until expiry or refresh")
    f.b.authctl("federation", "refresh")
    r = f.resolve(f.b.base)
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_trust_chain"))
    t.check(f.refused(f.b, "fed_statement"), "reason logged")
    f.enroll(f.b)


@test
def unreachable_anchor_serves_the_cache_then_refuses(t):
    f = fed()
    t.eq(f.resolve(f.a.base).status_code, 200)
    f.anchor.stop()
    try:
        t.eq(f.resolve(f.a.base).status_code, 200, "cached chain while the anchor is down")
        f.b.authctl("federation", "refresh")
        r = f.resolve(f.a.base)
        t.eq((r.status_code, r.json()["error"]), (503, "temporarily_unavailable"))
        t.check(f.refused(f.b, "fed_unreachable"), "reason logged")
    finally:
        f.anchor.start()


@test
def resolve_is_rate_limited_per_address(t):
    f = fed()  # A allows 3 resolutions a minute from one address
    codes = [f.a.get("/federation/resolve", params={"sub": f.b.base,
                                                    "trust_anchor": f.anchor.base})
             for _ in range(5)]
    t.eq([c.status_code for c in codes[:3]], [200, 200, 200])
    t.eq(codes[4].status_code, 429)
    t.eq(codes[4].json()["error"], "too_many_requests")
    t.check(int(codes[4].headers["Retry-After"]) >= 1, "Retry-After")


@test
def check_config_validates_the_trust_anchors_file(t):
    d = tempfile.mkdtemp(prefix="authd-fed-conf-")
    good, bad = os.path.join(d, "good.json"), os.path.join(d, "bad.json")
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="ta")
    json.dump([{"entity_id": "https://ta.example",
                "jwks": {"keys": [key.export_public(as_dict=True)]},
                "required_trust_marks": ["https://ta.example/tm"]}], open(good, "w"))
    json.dump([{"entity_id": "https://ta.example", "jwks": {"keys": []}}], open(bad, "w"))
    rc, out, _ = check_config(f"state_dir = .\nfederation_trust_anchors = {good}\n")
    t.eq(rc, 0, out)
    rc, out, _ = check_config(f"state_dir = .\nfederation_trust_anchors = {bad}\n")
    t.check(rc != 0 and "federation_trust_anchors" in out, out)
    rc, out, _ = check_config(f"state_dir = .\nfederation_trust_anchors = {d}/missing.json\n")
    t.check(rc != 0 and "federation_trust_anchors" in out, out)
    rc, out, _ = check_config("state_dir = .\nfederation_role = province\n")
    t.check(rc != 0 and "federation_role" in out, out)


@test
def zz_teardown(t):
    if _rogue:
        _rogue.stop()
    if _fed:
        _fed.stop()


run()
