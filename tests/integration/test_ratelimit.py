"""Abuse resistance against a live daemon: token buckets per address and per client on
/token, /introspect and /revoke, per ID number on the login form, answered with 429 and
Retry-After (RFC 6585 §4); the login form's answer never tells whether a number has an
account."""
import os
import re
import sys
from urllib.parse import urljoin

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, run, test  # noqa: E402
from oidc import Browser, hidden  # noqa: E402

LIMITS = {"rate_window_s": 600, "rate_token_per_client": 4, "rate_token_per_ip": 8,
          "rate_introspect_per_client": 3, "rate_login_per_idnum": 3,
          "lockout_failures": 100, "login_rate_per_ip": 0}
A = Authd(conf=LIMITS, population=300)
A.setup()
A.start()


def client(cid):
    return [c for c in A.demo()["clients"] if c["client_id"] == cid][0]


def cc(auth, ip_header=None):
    return A.post("/token", data={"grant_type": "client_credentials"}, auth=auth)


def idnum(body17):
    """A well-formed 18-digit number (GB 11643 check digit)."""
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * k for c, k in zip(body17, w))
    return body17 + "10X98765432"[s % 11]


def limited(t, r, error="too_many_requests"):
    t.eq(r.status_code, 429, r.text[:200])
    ra = r.headers.get("Retry-After", "")
    t.check(ra.isdigit() and 1 <= int(ra) <= 600, f"Retry-After {ra!r}")
    if error:
        t.eq(r.json()["error"], error)


@test
def token_per_client_bucket_answers_429_with_retry_after(t):
    m = client("demo-module")
    for i in range(4):
        t.eq(cc((m["client_id"], m["client_secret"])).status_code, 200, f"request {i}")
    limited(t, cc((m["client_id"], m["client_secret"])))
    # another client's bucket is its own: its answer is not 429
    p = client("demo-portal")
    t.check(cc((p["client_id"], p["client_secret"])).status_code != 429)


@test
def token_per_address_bucket_counts_failed_authentication(t):
    # 4 + 1 requests from this address so far; bad secrets spend the address's tokens too
    # (and never a client's: nobody can exhaust a client by naming it)
    m = client("demo-module")
    codes = [cc((m["client_id"], "wrong")).status_code for _ in range(3)]
    t.eq(codes, [401, 401, 401])
    limited(t, cc(("demo-module", "wrong")))


@test
def introspect_and_revoke_share_the_client_bucket(t):
    p = client("demo-portal")
    auth = (p["client_id"], p["client_secret"])
    for path in ("/introspect", "/revoke", "/introspect"):
        t.eq(A.post(path, data={"token": "x"}, auth=auth).status_code, 200, path)
    limited(t, A.post("/revoke", data={"token": "x"}, auth=auth))


def login_form(b):
    r, _, _ = b.authorize("demo-app", b.loopback(), "openid")
    page = b.s.get(urljoin(A.base, r.headers["Location"]), allow_redirects=False, timeout=10)
    return {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf")}


def post_login(b, form, number, password):
    return b.s.post(A.base + "/login", data=dict(form, id_number=number, password=password),
                    allow_redirects=False, timeout=10)


@test
def login_error_does_not_tell_whether_a_number_has_an_account(t):
    b = Browser(A)
    form = login_form(b)
    known = b.citizens[1]["id_number"]
    unknown = idnum("11010119900307123")
    r1 = post_login(b, form, known, "not-the-password")
    r2 = post_login(b, form, unknown, "not-the-password")
    t.eq(r1.status_code, r2.status_code)
    t.eq(r1.status_code, 401)

    def norm(r, n):
        body = r.text.replace(n, "NUMBER")
        return re.sub(r'name="csrf" value="[^"]*"', 'name="csrf"', body)
    t.eq(norm(r1, known), norm(r2, unknown), "the two pages differ")


@test
def login_per_number_bucket_says_how_long_to_wait(t):
    b = Browser(A)
    form = login_form(b)
    victim, other = b.citizens[2]["id_number"], b.citizens[3]["id_number"]
    for _ in range(3):
        t.eq(post_login(b, form, victim, "wrong-password").status_code, 401)
    r = post_login(b, form, victim, "wrong-password")
    limited(t, r, error=None)
    t.check("Try again in" in r.text or "后重试" in r.text, r.text[:300])
    # the right password of an account without a second factor is slowed too while the
    # bucket is empty (with one, it goes on to it: docs/security.md, "Lockout and throttling")
    t.eq(post_login(b, form, victim, b.citizens[2]["password"]).status_code, 429)
    # other numbers are not affected
    t.eq(post_login(b, form, other, "wrong-password").status_code, 401)
    # a number without an account has a bucket just the same
    ghost = idnum("11010119850101001")
    codes = [post_login(b, form, ghost, "x-password").status_code for _ in range(4)]
    t.eq(codes, [401, 401, 401, 429])


@test
def limits_off_by_default(t):
    with Authd(population=100) as a:
        m = [c for c in a.demo()["clients"] if c["client_id"] == "demo-module"][0]
        codes = {a.post("/token", data={"grant_type": "client_credentials"},
                        auth=(m["client_id"], m["client_secret"])).status_code
                 for _ in range(30)}
        t.eq(codes, {200})


try:
    run()
finally:
    A.stop()
