"""Brokered login across provinces (docs/federation.md "Brokered login"): three live authd
processes, a national trust anchor, province A (region 11, the citizen's home) and province
B (region 31, the broker). A citizen of A signs in to a client of B: B's login page offers
"registered in another province", B registers at A automatically (PAR with private_key_jwt
signed by B's federation key), A's ID token comes back through B's callback, B opens its
own session and the client gets B's code and B's ID token. Also: an acr above the trust
mark's cap refused, A unreachable refused on B's page once B's cached chain expired, logout
at B, and A's back-channel logout ending B's session. A is reached as `localhost` and B as
`127.0.0.1`, so that the two daemons' cookies do not mix in one browser (cookies ignore
ports)."""
import http.server
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, run, test  # noqa: E402
from oidc import Browser, FlowError, claims, hidden, query  # noqa: E402

from jwcrypto import jwk, jws  # noqa: E402


def verify(token, jwks, typ):
    ks = jwk.JWKSet.from_json(json.dumps(jwks))
    s = jws.JWS()
    s.deserialize(token)
    s.verify(ks.get_key(s.jose_header["kid"]))
    assert s.jose_header.get("typ") == typ, s.jose_header
    return json.loads(s.payload)


class Fed:
    """Anchor, A (at `localhost`, region 11) and B (the broker, region 31)."""

    def __init__(self, mark_ial="ial3", cache_s=3600, before_b=None, conf=None):
        self.tmp = tempfile.mkdtemp(prefix="authd-fedb-")
        self.redis = Redis().start()
        r = f"redis://127.0.0.1:{self.redis.port}"
        self.anchor = Authd(conf={"store": r + "/0", "federation_role": "anchor"}).start()
        ajwks = self.anchor.authctl("federation", "jwks").stdout
        self.mark = self.anchor.base + "/trust-marks/province-idp"
        anchors = os.path.join(self.tmp, "anchors.json")
        json.dump([{"entity_id": self.anchor.base, "jwks": json.loads(ajwks),
                    "required_trust_marks": [self.mark]}], open(anchors, "w"))
        common = {"federation_role": "leaf", "federation_authority_hints": self.anchor.base,
                  "federation_trust_anchors": anchors,
                  "federation_cache_max_s": str(cache_s), **(conf or {})}
        self.a = Authd(conf=dict(common, store=r + "/1", federation_region="11"))
        self.a.base = f"http://localhost:{self.a.port}"
        self.a.conf_extra["issuer"] = self.a.base
        self.a.start()
        self.b = Authd(conf=dict(common, store=r + "/2", federation_region="31",
                                 federation_broker="true")).setup()
        if before_b:  # e.g. the test's own clients in B's policy
            before_b(self.b)
        self.b.start()
        self.mark_ial = mark_ial
        for d in (self.a, self.b):
            self.enroll(d)

    def enroll(self, d, ial=None):
        path = os.path.join(self.tmp, f"{d.port}.jwks")
        open(path, "w").write(d.authctl("federation", "jwks").stdout)
        self.anchor.authctl("federation", "enroll", "--entity-id", d.base, "--jwks", path,
                            "--trust-mark", self.mark, *(["--mark-ial", ial] if ial else []))
        for n in (self.a, self.b):  # the new statement at once (else: at cache expiry)
            if n.proc:
                n.authctl("federation", "refresh")

    def stop(self):
        for d in (self.b, self.a, self.anchor):
            d.stop()
            d.__exit__()
        self.redis.stop()


_fed = []


def fed():
    if not _fed:
        _fed.append(Fed())
    return _fed[0]


def start_at_b(f, br, redirect):
    """B's client asks for a login; returns (login page, verifier, params)."""
    r, v, p = br.authorize("demo-app", redirect, "openid")
    assert r.status_code in (302, 303), r.text[:300]
    page = br.s.get(f.b.base + r.headers["Location"], timeout=10)
    return page, v, p


def choose_home(f, br, page, id_number):
    """The "another province" button, then A chosen: returns B's answer (303 to A)."""
    data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "lang": "en", "id_number": id_number}
    chooser = br.s.post(f.b.base + "/federation/login", data=data, timeout=30)
    if chooser.status_code != 200:
        return chooser, chooser
    data = {"authz": hidden(chooser.text, "authz"), "csrf": hidden(chooser.text, "csrf"),
            "lang": "en", "province": f.a.base}
    return chooser, br.s.post(f.b.base + "/federation/login", data=data, allow_redirects=False,
                              timeout=30)


def login_at_a(f, br, r, citizen):
    """From B's redirect to A: A's login form, then back to B's callback; returns B's
    answer to the callback."""
    assert r.status_code == 303, (r.status_code, r.text[:500])
    loc = r.headers["Location"]
    assert loc.startswith(f.a.base + "/authorize?"), loc
    r = br.s.get(loc, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    page = br.s.get(f.a.base + r.headers["Location"], timeout=10)
    data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "id_number": citizen["id_number"], "password": citizen["password"]}
    r = br.s.post(f.a.base + "/login", data=data, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    if r.headers["Location"].startswith("/consent"):  # the citizen agrees to share with B
        page = br.s.get(f.a.base + r.headers["Location"], timeout=10)
        assert f.b.base in page.text, page.text[:500]
        data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
                "action": "approve", "share_id_number": "1"}
        r = br.s.post(f.a.base + "/consent", data=data, allow_redirects=False, timeout=10)
    cb = r.headers["Location"]
    assert cb.startswith(f.b.base + "/federation/callback?"), cb
    return br.s.get(cb, allow_redirects=False, timeout=30)


def brokered(f, br=None, citizen=0):
    """The whole brokered login of A's citizen at B's demo-app; returns (browser, tokens,
    citizen)."""
    br = br or Browser(f.b)
    cz = f.a.demo()["citizens"][citizen]
    redirect = Browser.loopback()
    page, v, _ = start_at_b(f, br, redirect)
    _, r = choose_home(f, br, page, cz["id_number"])
    r = login_at_a(f, br, r, cz)
    code = br.finish(r, redirect)
    return br, br.exchange(code, v, redirect), cz


@test
def b_publishes_relying_party_metadata_for_automatic_registration(t):
    f = fed()
    c = claims(f.b.get("/.well-known/openid-federation").text)
    rp = c["metadata"]["openid_relying_party"]
    t.eq(rp["client_registration_types"], ["automatic"])
    t.eq(rp["redirect_uris"], [f.b.base + "/federation/callback"])
    t.eq(rp["token_endpoint_auth_method"], "private_key_jwt")
    t.eq(rp["jwks"], c["jwks"])  # B's federation keys
    t.eq(rp["backchannel_logout_uri"], f.b.base + "/federation/backchannel_logout")
    t.eq(c["metadata"]["federation_entity"]["region_code"], "31")
    # A (not a broker) publishes none
    ca = claims(f.a.get("/.well-known/openid-federation").text)
    t.check("openid_relying_party" not in ca["metadata"], "A is no relying party")


@test
def b_chain_to_the_anchor_checks_out_with_jwcrypto(t):
    """What A relies on to register B automatically, checked link by link with jwcrypto
    alone: the anchor's configuration (the anchor's JWKS as configured), its statement
    about B, and B's configuration with its relying-party metadata."""
    f = fed()
    ajwks = json.loads(f.anchor.authctl("federation", "jwks").stdout)
    ta = verify(f.anchor.get("/.well-known/openid-federation").text, ajwks,
                "entity-statement+jwt")
    t.eq((ta["iss"], ta["sub"]), (f.anchor.base, f.anchor.base))
    st = verify(f.anchor.get("/federation/fetch", params={"sub": f.b.base}).text, ta["jwks"],
                "entity-statement+jwt")
    t.eq((st["iss"], st["sub"]), (f.anchor.base, f.b.base))
    ec = verify(f.b.get("/.well-known/openid-federation").text, st["jwks"],
                "entity-statement+jwt")
    t.eq((ec["iss"], ec["sub"]), (f.b.base, f.b.base))
    t.eq(ec["authority_hints"], [f.anchor.base])
    t.check(ec["exp"] > time.time() and st["exp"] > time.time(), "not expired")
    t.eq(ec["metadata"]["openid_relying_party"]["jwks"], ec["jwks"])


@test
def login_page_offers_another_province_and_suggests_from_the_id_number(t):
    f = fed()
    br = Browser(f.b)
    page, _, _ = start_at_b(f, br, Browser.loopback())
    t.check('id="login_elsewhere"' in page.text, "button on B's login page")
    chooser, _ = choose_home(f, br, page, "110101199003070016")
    t.check(f'value="{f.a.base}" selected' in chooser.text, chooser.text[:800])
    t.check('id="fed-suggested"' in chooser.text, "suggestion shown")
    t.check(f.b.base not in chooser.text.split('<select')[1].split('</select>')[0],
            "B does not list itself")
    # A's own login page offers no such button (not a broker)
    ra, _, _ = Browser(f.a).authorize("demo-app", Browser.loopback(), "openid")
    pa = f.a.session().get(f.a.base + ra.headers["Location"], timeout=10)
    t.check('login_elsewhere' not in pa.text, "A is no broker")


@test
def citizen_of_a_signs_in_at_b_and_b_issues_its_own_tokens(t):
    f = fed()
    br, tok, cz = brokered(f)
    idt = tok["id_token"]
    b_jwks = f.b.get("/jwks").json()
    c = verify(idt, b_jwks, "JWT") if "typ" in json.loads(
        __import__("base64").urlsafe_b64decode(idt.split(".")[0] + "==")) else claims(idt)
    t.eq(c["iss"], f.b.base)
    t.eq(c["aud"], "demo-app")
    t.eq(c["amr"], ["fed"])
    t.check(c["acr"].startswith("urn:authd:acr:ial"), c["acr"])
    # B's sub is B's own: the same citizen signing in again gets the same sub at B
    _, tok2, _ = brokered(f, Browser(f.b))
    t.eq(claims(tok2["id_token"])["sub"], c["sub"])
    # the brokered login's cost at B: A's chain resolved once per cache lifetime, not per
    # login (docs/federation.md "Cost at B"); both logins above after the first resolution
    fresh = [e for e in f.b.log_events() if e.get("ev") == "fed.resolve"
             and e.get("sub") == f.a.base and e.get("cached") == "no"]
    warm = [e for e in f.b.log_events() if e.get("ev") == "fed.resolve"
            and e.get("sub") == f.a.base and e.get("cached") == "yes"]
    t.check(len(fresh) <= 1, f"A's chain resolved {len(fresh)} times")
    t.check(len(warm) >= 4, f"{len(warm)} cached resolutions")
    print(f"    brokered logins at B: A's chain resolved {len(fresh)} time(s), "
          f"{len(warm)} answers from the cache")
    # and it is not A's sub for B
    t.check(any(e.get("ev") == "fed.broker" and e.get("result") == "ok"
                for e in f.b.log_events()), "fed.broker ok logged")
    t.check(any(e.get("ev") == "fed.client" for e in f.a.log_events()),
            "A registered B automatically")


@test
def a_refuses_a_bare_authorize_from_a_federation_client(t):
    f = fed()
    # automatic registration goes through PAR only: a bare /authorize is refused
    r = f.a.get("/authorize", params={
        "client_id": f.b.base, "response_type": "code", "scope": "openid",
        "redirect_uri": f.b.base + "/federation/callback", "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})
    t.check(r.status_code in (302, 303, 400), r.status_code)
    loc = r.headers.get("Location", "")
    t.check("error=" in loc or r.status_code == 400, loc)
    # an unknown entity is no client at all
    r = f.a.get("/authorize", params={"client_id": "http://127.0.0.1:9/nobody",
                                      "response_type": "code", "scope": "openid"})
    t.eq(r.status_code, 400)


class Listener:
    """A local HTTP server that records the paths it is asked for (answers 404)."""

    def __init__(self):
        self.paths = []
        seen = self.paths

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def authorize_as(d, client_id):
    return d.get("/authorize", params={"client_id": client_id, "response_type": "code",
                                       "scope": "openid"}, allow_redirects=False)


@test
def an_entity_id_is_fetched_only_once_the_anchor_enrolled_it(t):
    f = fed()
    lis = Listener()
    try:
        unknown = lis.base + "/unenrolled"
        # /authorize and /par with the listener as client_id: invalid_client, and A asked
        # only the anchor (the listener receives nothing), also when asked again
        for _ in range(3):
            t.eq(authorize_as(f.a, unknown).status_code, 400)
        r = f.a.post("/par", data={"client_id": unknown, "response_type": "code",
                                   "scope": "openid", "redirect_uri": lis.base + "/cb"})
        t.eq(r.status_code, 401, r.text[:200])
        t.eq(r.json().get("error"), "invalid_client")
        # not entity identifiers (§1.2): refused before anything is asked
        for bad in (f"http://user@127.0.0.1:{lis.port}/x", lis.base + "/x?q=1",
                    lis.base + "/x#f"):
            t.eq(authorize_as(f.a, bad).status_code, 400)
        t.eq(lis.paths, [])
        refused = [e for e in f.a.log_events() if e.get("ev") == "fed.client"
                   and e.get("sub") == unknown]
        t.check(refused and refused[0].get("why") == "fed_not_vouched", refused)
        # once the anchor enrols it (any keys: its own configuration is never served),
        # A fetches the entity's configuration
        enrolled = lis.base + "/enrolled"
        path = os.path.join(f.tmp, "listener.jwks")
        open(path, "w").write(f.b.authctl("federation", "jwks").stdout)
        f.anchor.authctl("federation", "enroll", "--entity-id", enrolled, "--jwks", path)
        t.eq(authorize_as(f.a, enrolled).status_code, 400)
        t.eq(lis.paths, ["/enrolled/.well-known/openid-federation"])
    finally:
        lis.stop()


@test
def automatic_registrations_are_limited_per_address(t):
    f = Fed(conf={"rate_federation_register_per_ip": "3"})
    lis = Listener()
    try:
        def par(cid):
            return f.a.post("/par", data={"client_id": cid, "response_type": "code",
                                          "scope": "openid"})
        # three unknown entity ids are tried (the anchor asked each time), the fourth is
        # refused before anything is asked
        for i in range(3):
            t.eq(par(f"{lis.base}/e{i}").status_code, 401)
        r = par(lis.base + "/e3")
        t.eq(r.status_code, 429, r.text[:200])
        t.eq(r.json().get("error"), "too_many_requests")
        t.check(int(r.headers.get("Retry-After", "0")) >= 1, r.headers)
        r = authorize_as(f.a, lis.base + "/e4")
        t.eq(r.status_code, 429)
        t.check(int(r.headers.get("Retry-After", "0")) >= 1, r.headers)
        # an id refused a moment ago costs nothing: still invalid_client, not 429
        t.eq(par(lis.base + "/e0").status_code, 401)
        # a client of the policy is never limited by it
        t.check(authorize_as(f.a, "demo-app").status_code != 429)
        t.eq(lis.paths, [])
    finally:
        lis.stop()
        f.stop()


@test
def a_rotates_its_token_key_and_the_next_brokered_login_still_works(t):
    f = fed()
    brokered(f)  # B keeps A's JWKS (until A's chain expires)
    reloads = len([e for e in f.a.log_events() if e.get("ev") == "keys.reload"])
    f.a.authctl("keys", "rotate")  # phase 1: the next key published
    f.a.authctl("keys", "rotate")  # phase 2: it signs A's ID tokens now
    deadline = time.time() + 20
    while time.time() < deadline and len(
            [e for e in f.a.log_events() if e.get("ev") == "keys.reload"]) == reloads:
        time.sleep(0.3)
    t.require(len([e for e in f.a.log_events() if e.get("ev") == "keys.reload"]) > reloads,
              "A did not reload its keys")
    _, tok, _ = brokered(f)
    t.check(claims(tok["id_token"])["iss"] == f.b.base, tok)
    # B's kept JWKS did not have the new kid: refetched once, without a restart
    t.check([e for e in f.b.log_events() if e.get("ev") == "fed.broker"
             and e.get("jwks") == "unknown kid: refetched"], "no refetch logged")


@test
def logout_at_b_ends_b_session_only(t):
    f = fed()
    br, tok, _ = brokered(f)
    sid = claims(tok["id_token"])["sid"]
    r = br.s.get(f.b.base + "/end_session", params={"id_token_hint": tok["id_token"]},
                 allow_redirects=False, timeout=10)
    # the confirmation page or a direct logout; post the confirmation when shown
    if r.status_code == 200 and hidden(r.text, "csrf"):
        data = {k: hidden(r.text, k) for k in ("csrf", "id_token_hint", "state",
                                               "post_logout_redirect_uri", "client_id")
                if hidden(r.text, k) is not None}
        data["confirm"] = "1"
        r = br.s.post(f.b.base + "/end_session", data=data, allow_redirects=False, timeout=10)
    t.check(r.status_code in (200, 302, 303), r.status_code)
    # B's session is gone: a new authorization at B asks for a login again
    r, _, _ = br.authorize("demo-app", Browser.loopback(), "openid")
    t.check(r.headers.get("Location", "").startswith("/login"), r.headers.get("Location"))
    t.check(sid, "B's ID token has a sid")


@test
def a_back_channel_logout_ends_the_b_session(t):
    f = fed()
    br, tok, _ = brokered(f)
    # the citizen logs out at A: A notifies B (its back-channel logout URI)
    r = br.s.get(f.a.base + "/end_session", allow_redirects=False, timeout=10)
    if r.status_code == 200 and hidden(r.text, "csrf"):
        data = {"csrf": hidden(r.text, "csrf"), "confirm": "1"}
        r = br.s.post(f.a.base + "/end_session", data=data, allow_redirects=False, timeout=10)
    ended = False
    for _ in range(60):
        if any(e.get("ev") == "fed.broker" and e.get("logout") == "session ended"
               for e in f.b.log_events()):
            ended = True
            break
        time.sleep(0.25)
    t.check(ended, "B ended its session: " + f.b.log_tail(10))
    r, _, _ = br.authorize("demo-app", Browser.loopback(), "openid")
    t.check(r.headers.get("Location", "").startswith("/login"), r.headers.get("Location"))


@test
def bad_logout_tokens_are_refused(t):
    f = fed()
    r = f.b.post("/federation/backchannel_logout", data={"logout_token": "a.b.c"})
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))
    r = f.b.post("/federation/backchannel_logout", data={})
    t.eq((r.status_code, r.json()["error"]), (400, "invalid_request"))


@test
def a_lost_state_is_a_clear_refusal(t):
    f = fed()
    # a callback claiming another issuer than the chosen province (RFC 9207 mix-up)
    br = Browser(f.b)
    cz = f.a.demo()["citizens"][0]
    page, _, _ = start_at_b(f, br, Browser.loopback())
    _, r = choose_home(f, br, page, cz["id_number"])
    loc = r.headers["Location"]
    r = br.s.get(loc, allow_redirects=False, timeout=10)
    page = br.s.get(f.a.base + r.headers["Location"], timeout=10)
    r = br.s.post(f.a.base + "/login", data={
        "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
        "id_number": cz["id_number"], "password": cz["password"]}, allow_redirects=False,
        timeout=10)
    cb = r.headers["Location"]
    if cb.startswith("/consent"):
        page = br.s.get(f.a.base + cb, timeout=10)
        r = br.s.post(f.a.base + "/consent", data={
            "authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "action": "approve", "share_id_number": "1"}, allow_redirects=False, timeout=10)
        cb = r.headers["Location"]
    t.require("iss=" in cb, cb)
    bad = cb.replace("iss=" + query(cb)["iss"].replace(":", "%3A").replace("/", "%2F"),
                     "iss=http%3A%2F%2Fevil.example")
    t.require(bad != cb, cb)
    r = br.s.get(bad, allow_redirects=False, timeout=10)
    t.eq(r.status_code, 400)
    refused_with(t, r.text, "未完成", "did not complete")
    r = f.b.session().get(f.b.base + "/federation/callback",
                          params={"state": "nope", "code": "x"}, timeout=10)
    t.eq(r.status_code, 400)
    r = f.b.session().get(f.b.base + "/federation/callback",
                          params={"state": "nope", "code": "x"},
                          headers={"Accept-Language": "zh"}, timeout=10)
    t.eq(r.status_code, 400)


@test
def brokered_login_in_headless_chromium(t):
    """The pages a person sees, in Chromium (zh): B's login page with the "another
    province" button, the chooser with the suggestion, A's login and consent, then the
    client of B receives B's code."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import urlencode
    from browser import ARTIFACTS, Client, chromium
    f = fed()
    cz = f.a.demo()["citizens"][1]
    with chromium(t) as (wd, cb_port):
        v = secrets.token_urlsafe(48)
        q = {"client_id": "demo-app", "response_type": "code", "scope": "openid",
             "redirect_uri": f"http://127.0.0.1:{cb_port}/callback", "state": "st-fed",
             "nonce": "n-fed", "code_challenge_method": "S256", "ui_locales": "zh-CN",
             "code_challenge": base64.urlsafe_b64encode(
                 hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()}
        Client.event.clear()
        wd.go(f.b.base + "/authorize?" + urlencode(q))
        t.require("/login?authz=" in wd.url(), wd.url())
        wd.go(wd.url() + "&lang=en")  # the way to another province, in English
        t.check("Registered in another province" in wd.cmd("GET", "/source"), "English")
        wd.screenshot(os.path.join(ARTIFACTS, "fed-login-en.png"))
        wd.go(wd.url().replace("&lang=en", "&lang=zh"))
        # a citizen of A types an ID number of region 11: B suggests A
        wd.type(wd.find("#id_number"), "110101199003070016")
        wd.screenshot(os.path.join(ARTIFACTS, "fed-login-zh.png"))
        wd.click(wd.find("#login_elsewhere"))
        wd.wait_url("/federation/login")
        t.check(wd.find("#province") is not None, "chooser shown")
        t.check(wd.find("#fed-suggested") is not None, "suggestion shown")
        t.check("其他省份" in wd.title(), wd.title())
        wd.screenshot(os.path.join(ARTIFACTS, "fed-chooser-zh.png"))
        wd.script(f"document.getElementById('province').value = {json.dumps(f.a.base)};")
        wd.click(wd.find("#fed_submit"))
        u = wd.wait_url(f.a.base + "/login?authz=")
        t.require(u.startswith(f.a.base + "/login?authz="), u)
        wd.type(wd.find("#id_number"), cz["id_number"])
        wd.type(wd.find("#password"), cz["password"])
        wd.click(wd.find("#login_submit"))
        u = wd.wait_url("/consent?authz=")
        if "/consent?authz=" in u and u.startswith(f.a.base):
            wd.screenshot(os.path.join(ARTIFACTS, "fed-home-consent-zh.png"))
            box = wd.find('input[name="share_id_number"]')
            if box:
                wd.click(box)
            wd.click(wd.find('button[value="approve"]'))
        for _ in range(3):  # B's own consent for its client, if asked
            if Client.event.wait(5):
                break
            if "/consent?authz=" in wd.url() and wd.url().startswith(f.b.base):
                wd.click(wd.find('button[value="approve"]'))
        t.require(Client.event.is_set(), f"client not reached; browser at {wd.url()}")
        t.eq(Client.got.get("iss"), f.b.base)
        t.eq(Client.got.get("state"), "st-fed")
        t.check(os.path.getsize(os.path.join(ARTIFACTS, "fed-chooser-zh.png")) > 1000)


def module_of_b(f, *fed_issuers, aud="license"):
    """libauthd-client as a module of B (build/clientlib/authd-client-check), accepting
    tokens of the given other provinces through B's /federation/resolve."""
    import subprocess
    from itest import BUILD
    args = [os.path.join(BUILD, "clientlib", "authd-client-check"), "--issuer", f.b.base,
            "--aud", aud, "--allow-http", "--trust-anchor", f.anchor.base]
    for i in fed_issuers:
        args += ["--federated-issuer", i]
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def check(p, tok):
    p.stdin.write("validate " + tok + "\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def mint_at(d, aud="license", **over):
    """An access token signed with d's token key (its dev state), as d issues them."""
    import subprocess
    import uuid
    from itest import BUILD
    now = int(time.time())
    c = {"iss": d.base, "sub": "s-" + uuid.uuid4().hex[:8], "aud": aud, "exp": now + 300,
         "iat": now, "jti": uuid.uuid4().hex, "client_id": "demo-portal", "scope": "license.read"}
    c.update(over)
    return subprocess.run([os.path.join(BUILD, "clientlib", "mint-token"),
                           os.path.join(d.state, "keys"), "sign", json.dumps(c), "at+jwt"],
                          capture_output=True, text=True, check=True).stdout.strip()


@test
def tokens_of_a_are_honoured_by_b_modules_that_list_a(t):
    f = fed()
    p = module_of_b(f, f.a.base)
    try:
        t.eq(check(p, mint_at(f.b))["status"], "AUTHD_OK")  # B's own, as before
        r = check(p, mint_at(f.a))
        t.eq(r["status"], "AUTHD_OK", r)
        t.eq(r.get("iss"), f.a.base)
        t.eq(check(p, mint_at(f.a, aud="workflow"))["status"], "AUTHD_ERR_AUDIENCE")
        t.eq(check(p, mint_at(f.a, exp=int(time.time()) - 600))["status"], "AUTHD_ERR_EXPIRED")
        # signed by B's key but claiming A: A's keys do not verify it
        t.check(check(p, mint_at(f.b, iss=f.a.base))["status"] in
                ("AUTHD_ERR_UNKNOWN_KEY", "AUTHD_ERR_SIGNATURE"), "A's keys only")
    finally:
        p.stdin.close()
        p.wait(10)
    # a module that does not list A refuses A's tokens
    p = module_of_b(f)
    try:
        t.check(check(p, mint_at(f.a))["status"] in ("AUTHD_ERR_ISSUER", "AUTHD_ERR_UNKNOWN_KEY"),
                "not listed: B's keys only")
    finally:
        p.stdin.close()
        p.wait(10)
    # listed, but its chain to the anchor is refused (not enrolled): refused too
    p = module_of_b(f, "http://127.0.0.1:9")
    try:
        t.check(check(p, mint_at(f.a, iss="http://127.0.0.1:9"))["status"] in
                ("AUTHD_ERR_ISSUER", "AUTHD_ERR_KEYS_UNAVAILABLE"), "unresolvable province")
    finally:
        p.stdin.close()
        p.wait(10)


def refused_with(t, text, zh, en):
    """B's page says why (in either language)."""
    t.check('id="fed-error"' in text and (zh in text or en in text), text[:2000])


def chooser_refusal(f, citizen=0):
    """A brokered login that B refuses on its page: (status, page)."""
    br = Browser(f.b)
    cz = f.a.demo()["citizens"][citizen]
    page, _, _ = start_at_b(f, br, Browser.loopback())
    chooser, r = choose_home(f, br, page, cz["id_number"])
    if r.status_code == 303:
        r = login_at_a(f, br, r, cz)
    return r.status_code, r.text


@test
def an_acr_above_the_trust_mark_is_refused_on_b_page(t):
    f = fed()
    f.enroll(f.a, ial="ial2")  # the anchor vouches for A up to ial2 only
    try:
        status, text = chooser_refusal(f)
        t.eq(status, 403)
        refused_with(t, text, "认证等级高于", "higher assurance")
        t.check(any(e.get("ev") == "fed.broker" and e.get("why") == "fed_acr"
                    for e in f.b.log_events()), "reason logged")
    finally:
        f.enroll(f.a)


@test
def a_province_unreachable_is_a_clear_refusal_once_the_cache_is_gone(t):
    f = fed()
    brokered(f)  # B holds A's chain in its cache
    f.a.stop()
    try:
        # the cache still vouches for A, but A itself cannot be reached
        status, text = chooser_refusal(f)
        t.eq(status, 503)
        refused_with(t, text, "无法连接", "cannot be reached")
        f.b.authctl("federation", "refresh")  # as at the cache's expiry
        status, text = chooser_refusal(f)
        t.eq(status, 503)
        refused_with(t, text, "无法连接", "cannot be reached")
        t.check(any(e.get("ev") == "fed.resolve" and e.get("why") == "fed_unreachable"
                    for e in f.b.log_events()), "reason logged")
    finally:
        f.a.start()


if __name__ == "__main__":
    try:
        run()
    finally:
        if _fed:
            _fed[0].stop()
