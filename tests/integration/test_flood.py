"""Store exhaustion through /authorize (issue 13, defect 2): each stored parameter has a cap
(invalid_request above it, to the client once its redirect URI is known, else a 400 page:
RFC 6749 §4.1.2.1); /authorize and /end_session have per-address token buckets (429 with
Retry-After, RFC 6585 §4); and new pending requests may not use the store's reserve, so a
flood that fills a small store leaves room for the citizens already in a login.

The flood comes from other loopback addresses (127.0.0.0/8 all reach the daemon), so each
has its own bucket, as separate attackers would."""
import http.client
import os
import sys
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, run, test  # noqa: E402
from oidc import Browser, hidden, pkce  # noqa: E402

PER_IP = 40
WINDOW = 86400  # a bucket gains a token every WINDOW / PER_IP s: none during a test
FLOOD_IPS = [f"127.0.0.{i}" for i in range(10, 22)]  # 12 x 40 pending requests: ~1.6 MB
A = Authd(population=300, conf={
    "store_max_memory_mb": 1, "store_reserve_percent": 25, "rate_window_s": WINDOW,
    "rate_authorize_per_ip": PER_IP, "rate_end_session_per_ip": 5})
A.start()
CB = Browser.loopback()


def params(**extra):
    p = {"client_id": "demo-app", "response_type": "code", "scope": "openid profile",
         "redirect_uri": CB, "state": "st", "nonce": "n", "code_challenge": pkce()[1],
         "code_challenge_method": "S256"}
    p.update(extra)
    return p


class From:
    """Requests from one loopback source address over one keep-alive connection."""

    def __init__(self, ip, port=None):
        self.ip = ip
        self.port = port or A.port
        self.c = None

    def get(self, path):
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                                    source_address=(self.ip, 0))
            try:
                self.c.request("GET", path)
                r = self.c.getresponse()
                r.read()
                return r
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
                if attempt:
                    raise


def location_query(r):
    return {k: v[0] for k, v in parse_qs(urlsplit(r.getheader("Location", "")).query).items()}


def big(n, ch="x"):
    return ch * n


@test
def each_stored_parameter_has_a_cap(t):
    src = From("127.0.0.2")
    caps = {"state": 512, "nonce": 256, "login_hint": 256, "ui_locales": 64}
    for name, cap in caps.items():
        r = src.get("/authorize?" + urlencode(params(**{name: big(cap)})))
        t.eq(r.status, 302, f"{name} at its cap")
        t.check(r.getheader("Location", "").startswith("/login?authz="), f"{name} at its cap")
        r = src.get("/authorize?" + urlencode(params(**{name: big(cap + 1)})))
        t.eq(r.status, 302, f"{name} over its cap")
        q = location_query(r)
        t.check(r.getheader("Location", "").startswith(CB), f"{name}: to the client")
        t.eq(q.get("error"), "invalid_request", name)
        t.check(name in q.get("error_description", ""), f"{name}: {q}")
        t.eq(q.get("state"), None if name == "state" else "st", f"{name}: state echoed")
    # claims: a valid claims request, padded with JSON whitespace
    claims = '{"userinfo":{"name":null}}'
    for n, ok in ((2048, True), (2049, False)):
        r = src.get("/authorize?" + urlencode(params(claims=claims + " " * (n - len(claims)))))
        q = location_query(r)
        t.eq(q.get("error"), None if ok else "invalid_request", f"claims of {n} bytes")
    # before the redirect URI is known: a 400 page, never a redirect
    r = src.get("/authorize?" + urlencode(params(client_id="nobody", state=big(600))))
    t.eq(r.status, 400)
    r = src.get("/authorize?" + urlencode(params(redirect_uri="https://evil.example/cb",
                                                 nonce=big(300))))
    t.eq(r.status, 400)


@test
def authorize_has_a_per_address_limit(t):
    src, other = From("127.0.0.3"), From("127.0.0.4")
    q = "/authorize?" + urlencode(params(client_id="nobody"))  # cheap: an error page
    codes = [src.get(q).status for _ in range(PER_IP)]
    t.eq(codes, [400] * PER_IP)
    r = src.get(q)
    t.eq(r.status, 429)
    ra = r.getheader("Retry-After", "")
    t.check(ra.isdigit() and 1 <= int(ra) <= WINDOW // PER_IP, f"Retry-After {ra!r}")
    t.eq(other.get(q).status, 400, "another address has its own bucket")


@test
def end_session_has_a_per_address_limit(t):
    src, other = From("127.0.0.5"), From("127.0.0.6")
    codes = [src.get("/end_session").status for _ in range(5)]
    t.check(429 not in codes, f"{codes}")
    r = src.get("/end_session")
    t.eq(r.status, 429)
    t.check(r.getheader("Retry-After", "").isdigit(), "Retry-After")
    t.check(other.get("/end_session").status != 429, "another address has its own bucket")


def finish(a, b, r, verifier):
    """Takes a browser from the answer of its /authorize (r) through login and consent to
    the tokens; returns the token response or raises with what the server said."""
    for _ in range(4):
        loc = r.headers.get("Location", "")
        if r.status_code not in (302, 303):
            raise AssertionError(f"{r.status_code}: {r.text[:300]}")
        if loc.startswith(CB):
            q = {k: v[0] for k, v in parse_qs(urlsplit(loc).query).items()}
            if "code" not in q:
                raise AssertionError(loc)
            return b.exchange(q["code"], verifier, CB)
        page = b.s.get(urljoin(a.base, loc), allow_redirects=False, timeout=10)
        data = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf")}
        if loc.startswith("/login"):
            cz = b.citizens[0]
            data.update(id_number=cz["id_number"], password=cz["password"])
            r = b.s.post(a.base + "/login", data=data, allow_redirects=False, timeout=10)
        else:
            data.update(action="approve")
            r = b.s.post(a.base + "/consent", data=data, allow_redirects=False, timeout=10)
    raise AssertionError("no code after login and consent")


def flood_then_login(t, a, ips):
    """A citizen on the login page; a flood from ips (each up to its limit and one more, with
    maximal stored parameters) until the store is in its reserve; then the citizen logs in
    and gets tokens."""
    b = Browser(a)
    r, verifier, _ = b.authorize("demo-app", CB, "openid profile")
    t.require(r.headers.get("Location", "").startswith("/login?authz="), r.headers)
    fat = dict(state=big(512), nonce=big(256), login_hint=big(256), ui_locales=big(64),
               claims='{"userinfo":{"name":null}}' + " " * 2000)
    seen = {}
    for ip in ips:
        src = From(ip, a.port)
        for _ in range(PER_IP + 1):
            r2 = src.get("/authorize?" + urlencode(params(**fat)))
            err = location_query(r2).get("error") if r2.status == 302 else None
            key = (r2.status, err or ("login" if r2.status == 302 else None))
            seen[key] = seen.get(key, 0) + 1
    t.check(seen.get((302, "login"), 0) > 50, f"the flood stored requests: {seen}")
    t.eq(seen.get((429, None)), len(ips), f"one 429 per address: {seen}")
    t.check(seen.get((302, "temporarily_unavailable"), 0) > 0,
            f"the store refused the rest: {seen}")
    t.eq(set(seen) - {(302, "login"), (429, None), (302, "temporarily_unavailable")}, set(),
         f"nothing else: {seen}")
    # a new request now finds the store in its reserve ...
    r3 = From("127.0.0.254", a.port).get("/authorize?" + urlencode(params(**fat)))
    t.eq(location_query(r3).get("error"), "temporarily_unavailable", f"{r3.status}")
    # ... but the citizen who was already in a login gets through, tokens and all
    try:
        tok = finish(a, b, r, verifier)
    except AssertionError as e:
        t.require(False, f"the citizen's login failed: {e}")
    t.check("access_token" in tok and "id_token" in tok, f"{tok}")
    t.check(a.get("/healthz").status_code == 200, "authd is still up")


@test
def a_flood_leaves_room_for_a_citizen_already_in_a_login(t):
    flood_then_login(t, A, FLOOD_IPS)


@test
def a_flood_of_a_redis_store_leaves_room_too(t):
    # Redis's own bound: 3 MB maxmemory (about 1 MB of it Redis itself), a 25 % reserve
    with Redis(["--maxmemory", "3mb"]) as redis:
        with Authd(population=300, conf={
                "store": redis.url(), "store_reserve_percent": 25, "rate_window_s": WINDOW,
                "rate_authorize_per_ip": PER_IP}) as a:
            flood_then_login(t, a, [f"127.0.1.{i}" for i in range(1, 25)])


try:
    run()
finally:
    A.stop()
