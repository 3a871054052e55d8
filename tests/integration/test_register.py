"""Real-name registration against a live daemon: the JSON API (POST /api/register) and the
page (GET/POST /register) with pairs drawn from the daemon's own synthetic population.
Login and lockout are tested at the flow level (tests/unit/flow/test_account.c)."""
import csv
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
import json  # noqa: E402

from itest import Authd, Redis, run, test  # noqa: E402

NOT_VERIFIED = "the ID number and name could not be verified"


def population(a):
    with open(os.path.join(a.state, "population.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class People:
    """Hands out records of the population, each once, by status."""

    def __init__(self, a):
        demo = {c["id_number"] for c in a.demo()["citizens"]}
        self.rows = [r for r in population(a) if r["id_number"] not in demo]
        self.used = set()

    def take(self, status="normal"):
        for r in self.rows:
            if r["status"] == status and r["id_number"] not in self.used:
                self.used.add(r["id_number"])
                return r
        raise AssertionError(f"no {status} record left")


def api(a, body, **kw):
    return a.post("/api/register", json=body, **kw)


def body(row, password="Strong-pass-42", phone="13912345678", name=None):
    return {"id_number": row["id_number"], "name": name or row["name"], "phone": phone,
            "password": password}


def check_error(t, r, status, error, desc_part=None):
    t.eq(r.status_code, status, r.text)
    try:
        j = r.json()
    except ValueError:
        t.check(False, f"not JSON: {r.text!r}")
        return
    t.eq(j.get("error"), error, r.text)
    if desc_part:
        t.check(desc_part in j.get("error_description", ""), r.text)


def with_check(first17):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * k for c, k in zip(first17, w)) % 11]


_a = Authd(population=2000)
_a.start()
_people = People(_a)


@test
def api_registers_a_population_pair_once(t):
    row = _people.take()
    r = api(_a, body(row))
    t.eq(r.status_code, 201, r.text)
    t.eq(r.json(), {"status": "registered"})
    t.eq(r.headers.get("Cache-Control"), "no-store")
    # the same number again, even with the right name: 409
    check_error(t, api(_a, body(row, password="Other-pass-43")), 409, "already_registered",
                "id_number")
    ev = [e for e in _a.log_events() if e.get("ev") == "account.register" and
          e.get("rc") == "RC_OK"]
    t.check(ev and all(row["id_number"] not in str(e) for e in ev), "log holds the number")


@test
def api_refuses_the_number_with_another_name(t):
    row, other = _people.take(), _people.take()
    check_error(t, api(_a, body(row, name=other["name"])), 403, "access_denied", NOT_VERIFIED)
    # nothing was written: the right name still registers
    t.eq(api(_a, body(row)).status_code, 201)


@test
def api_refuses_cancelled_and_deceased_records_and_unknown_numbers(t):
    for status in ("cancelled", "deceased"):
        row = _people.take(status)
        check_error(t, api(_a, body(row)), 403, "access_denied", NOT_VERIFIED)
    nobody = with_check("11010120000101" + "999")
    known = {r["id_number"] for r in _people.rows}
    if nobody not in known:
        check_error(t, api(_a, {"id_number": nobody, "name": "张三",
                                "password": "Strong-pass-42"}), 403, "access_denied", NOT_VERIFIED)


@test
def api_demo_citizens_exist_after_start(t):
    for c in _a.demo()["citizens"]:
        check_error(t, api(_a, {"id_number": c["id_number"], "name": c["name"],
                                "password": "Strong-pass-42"}), 409, "already_registered")


@test
def api_rejects_each_bad_id_number_reason(t):
    row = _people.take()
    n = row["id_number"]
    bad_check = n[:17] + ("0" if n[17] != "0" else "1")
    cases = {
        "18 characters": n[:17],
        "17 digits": n[:16] + "A" + n[17],
        "check digit": bad_check,
        "birth date": with_check(n[:6] + "20991231" + n[14:17]),
        "province": with_check("99" + n[2:17]),
    }
    for why, num in cases.items():
        r = api(_a, body(row) | {"id_number": num})
        check_error(t, r, 400, "invalid_request", "id_number:")
        t.check(why in r.json().get("error_description", ""), f"{why}: {r.text}")
    t.eq(api(_a, body(row)).status_code, 201)  # none of them wrote anything


@test
def api_rejects_weak_passwords_naming_the_field(t):
    row = _people.take()
    b = row["birth_date"]
    for pw, why in (("short", "too short"), (row["id_number"], "ID number"),
                    (b.replace("-", ""), "birth date"), (b, "birth date"),
                    ("13912345678", "mobile")):
        r = api(_a, body(row, password=pw))
        check_error(t, r, 400, "invalid_request", "password:")
        t.check(why in r.json().get("error_description", ""), f"{pw}: {r.text}")
    check_error(t, api(_a, body(row, password="x" * 257)), 400, "invalid_request", "password:")


@test
def api_rejects_bad_phone_and_name(t):
    row = _people.take()
    for phone in ("23912345678", "1391234567", "1391234567x"):
        check_error(t, api(_a, body(row, phone=phone)), 400, "invalid_request", "phone:")
    check_error(t, api(_a, body(row) | {"name": "   "}), 400, "invalid_request", "name:")
    check_error(t, api(_a, body(row) | {"name": "张\u0001三"}), 400, "invalid_request", "name:")


@test
def api_rejects_malformed_bodies(t):
    row = _people.take()
    hdr = {"Content-Type": "application/json"}
    check_error(t, _a.post("/api/register", data="{not json", headers=hdr), 400,
                "invalid_request", "JSON")
    check_error(t, _a.post("/api/register", data="[1]", headers=hdr), 400, "invalid_request")
    dup = ('{"id_number":"%s","name":"%s","name":"x","password":"Strong-pass-42"}'
           % (row["id_number"], row["name"]))
    check_error(t, _a.post("/api/register", data=dup.encode(), headers=hdr), 400,
                "invalid_request")
    check_error(t, api(_a, body(row) | {"name": 7}), 400, "invalid_request", "name:")
    check_error(t, api(_a, body(row) | {"password": None}), 400, "invalid_request", "password:")
    b = body(row)
    del b["id_number"]
    check_error(t, api(_a, b), 400, "invalid_request", "id_number:")
    check_error(t, _a.post("/api/register", data="id_number=1"), 415, "invalid_request",
                "application/json")
    check_error(t, _a.post("/api/register", data=b'{"a":"' + b"x" * 5000 + b'"}', headers=hdr),
                413, "invalid_request")
    t.eq(_a.get("/api/register").status_code, 405)
    t.eq(api(_a, body(row)).status_code, 201)


def form_token(html):
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    return m.group(1) if m else None


def form_post(s, fields, token=True, url="/register", lang=None):
    page = s.get(_a.base + url, timeout=10,
                 headers={"Accept-Language": lang} if lang else None)
    data = {"csrf": form_token(page.text)} if token else {}
    data.update(fields)
    return s.post(_a.base + "/register", data=data, timeout=10, allow_redirects=False,
                  headers={"Accept-Language": lang} if lang else None)


def form_fields(row, **kw):
    f = {"id_number": row["id_number"], "name": row["name"], "phone": "13912345678",
         "password": "Strong-pass-42", "password2": "Strong-pass-42", "consent": "yes"}
    f.update(kw)
    return f


@test
def form_page_has_labels_csrf_cookie_and_languages(t):
    s = _a.session()
    r = s.get(_a.base + "/register", timeout=10)
    t.eq(r.status_code, 200)
    t.check('<html lang="zh-CN">' in r.text and "实名注册" in r.text)
    for name in ("id_number", "name", "phone", "password", "password2", "consent"):
        t.check(f'<label for="{name}"' in r.text or f'for="{name}">' in r.text, name)
        t.check(f'id="{name}" name="{name}"' in r.text, name)
    t.check(form_token(r.text), "no CSRF token")
    cookie = r.headers.get("Set-Cookie", "")
    for attr in ("authd_reg=", "HttpOnly", "SameSite=Strict", "Max-Age="):
        t.check(attr in cookie, cookie)
    t.check("frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", ""))
    en = _a.get("/register?ui_locales=en")
    t.check('<html lang="en">' in en.text and "Citizen ID number" in en.text)
    en = _a.get("/register", headers={"Accept-Language": "en-GB,en;q=0.9"})
    t.check('<html lang="en">' in en.text)


@test
def form_registers_and_links_back_only_to_authorize(t):
    row = _people.take()
    ret = "/authorize?client_id=demo-portal&response_type=code"
    r = form_post(_a.session(), form_fields(row, return_to=ret), lang="en")
    t.eq(r.status_code, 200, r.text[:400])
    t.check("Registration complete" in r.text, r.text[:400])
    t.check('href="/authorize?client_id=demo-portal&amp;response_type=code"' in r.text)
    row = _people.take()
    r = form_post(_a.session(), form_fields(row, return_to="https://evil.example/authorize?"))
    t.eq(r.status_code, 200)
    t.check("evil.example" not in r.text)
    t.check("注册成功" in r.text)
    check_error(t, api(_a, body(row)), 409, "already_registered")


@test
def login_pages_register_link_leads_back_into_the_login_in_progress(t):
    """Issue 13 #7: the login page's "register" link used to lose the pending request
    (its return_to, /login?authz=ID, was dropped): after registering, the citizen must be
    able to go on with that same authorization request."""
    import html
    from urllib.parse import urljoin
    s = _a.session()
    cb = "http://127.0.0.1:8081/oidc/callback"
    r = s.get(_a.base + "/authorize", params={
        "client_id": "demo-portal", "response_type": "code", "scope": "openid profile",
        "redirect_uri": cb, "state": "keep-me", "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"}, allow_redirects=False, timeout=10)
    t.require(r.headers.get("Location", "").startswith("/login?authz="), r.headers)
    login_url = r.headers["Location"]
    page = s.get(urljoin(_a.base, login_url), timeout=10)
    m = re.search(r'href="(/register\?[^"]*)"', page.text)
    t.require(m, "no register link on the login page")
    row = _people.take()
    reg = s.get(urljoin(_a.base, html.unescape(m.group(1))), timeout=10)
    data = dict(form_fields(row), csrf=form_token(reg.text))
    data["return_to"] = re.search(r'name="return_to" value="([^"]*)"', reg.text) and \
        html.unescape(re.search(r'name="return_to" value="([^"]*)"', reg.text).group(1))
    t.require(data["return_to"], "the registration form lost the login in progress")
    done = s.post(_a.base + "/register", data=data, timeout=10, allow_redirects=False)
    t.eq(done.status_code, 200, done.text[:300])
    link = re.search(r'<p class="links"><a href="([^"]*)"', done.text)
    t.require(link, "no link back to the login on the success page")
    t.eq(html.unescape(link.group(1)), login_url)
    back = s.get(urljoin(_a.base, html.unescape(link.group(1))), timeout=10)
    t.eq(back.status_code, 200)
    csrf = re.search(r'name="csrf" value="([^"]*)"', back.text).group(1)
    r = s.post(_a.base + "/login", data={"authz": login_url.split("=", 1)[1], "csrf": csrf,
                                         "id_number": row["id_number"],
                                         "password": "Strong-pass-42"},
               allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    t.check(loc.startswith(cb + "?") and "code=" in loc and "state=keep-me" in loc,
            f"{r.status_code} {loc}")


@test
def form_refuses_missing_or_wrong_csrf_token(t):
    row = _people.take()
    r = form_post(_a.session(), form_fields(row), token=False)
    t.eq(r.status_code, 403)
    t.check("页面已过期" in r.text)
    r = form_post(_a.session(), form_fields(row, csrf="0" * 64), token=False)
    t.eq(r.status_code, 403)
    # a token without its cookie (another browser) is refused too
    token = form_token(_a.get("/register").text)
    r = _a.post("/register", data=dict(form_fields(row), csrf=token))
    t.eq(r.status_code, 403)
    t.eq(api(_a, body(row)).status_code, 201)  # nothing was written


@test
def form_escapes_values_and_places_errors_by_field(t):
    row = _people.take()
    s = _a.session()
    r = form_post(s, form_fields(row, name="<script>alert(1)</script>"), lang="en")
    t.eq(r.status_code, 403)
    t.check("&lt;script&gt;alert(1)&lt;/script&gt;" in r.text, "name not escaped back")
    t.check("<script>" not in r.text, "raw script in page")
    t.check("could not be verified" in r.text)
    r = form_post(s, form_fields(row, id_number=row["id_number"][:17]), lang="en")
    t.eq(r.status_code, 400)
    t.check('id="id_number-err"' in r.text and "must be 18 characters" in r.text)
    t.check("Strong-pass-42" not in r.text, "password echoed")
    t.check(f'value="{row["id_number"][:17]}"' in r.text, "ID number not kept")
    r = form_post(s, form_fields(row, password2="Strong-pass-43"), lang="en")
    t.eq(r.status_code, 400)
    t.check('id="password2-err"' in r.text and "do not match" in r.text)
    r = form_post(s, form_fields(row, consent=""), lang="en")
    t.eq(r.status_code, 400)
    t.check('id="consent-err"' in r.text)
    r = form_post(s, form_fields(row, password="short", password2="short"))
    t.eq(r.status_code, 400)
    t.check('id="password-err"' in r.text and "密码太短" in r.text)
    r = form_post(s, form_fields(row, phone="123"), lang="en")
    t.check('id="phone-err"' in r.text)
    r = s.post(_a.base + "/register", data="a=1&a=2", timeout=10,
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    t.eq(r.status_code, 400)
    t.eq(form_post(s, form_fields(row)).status_code, 200)
    r = form_post(s, form_fields(row), lang="en")
    t.eq(r.status_code, 409)
    t.check('id="id_number-err"' in r.text and "already registered" in r.text)


@test
def registration_is_rate_limited_per_ip(t):
    with Authd(population=500, conf={"register_rate_per_ip": "3"}) as a:
        people = People(a)
        codes = [api(a, body(people.take())).status_code for _ in range(3)]
        t.eq(codes, [201, 201, 201])
        r = api(a, body(people.take()))
        check_error(t, r, 429, "too_many_requests", "try again in")
        ra = r.headers.get("Retry-After", "")
        t.check(ra.isdigit() and 0 < int(ra) <= 60, ra)


@test
def authctl_user_commands_share_the_daemons_redis_store(t):
    with Redis() as red, Authd(population=500, conf={"store": red.url()}) as a:
        people = People(a)
        row = people.take()
        p = a.authctl("user", "add", "--id-number", row["id_number"], "--name", row["name"],
                      "--phone", "13912345678", "--password-stdin", input="Strong-pass-42\n",
                      check=False)
        t.eq(p.returncode, 0, p.stderr)
        j = json.loads(p.stdout)
        t.eq(j["ial"], "ial3")
        t.eq(j["id_number"], row["id_number"][:6] + "*" * 8 + row["id_number"][14:])
        t.eq(j["name"], row["name"][0] + "*")
        t.eq(j["phone"], "139****5678")
        # the daemon sees the account the tool wrote
        check_error(t, api(a, body(row)), 409, "already_registered")
        # and the tool sees the one the daemon wrote
        row2 = people.take()
        t.eq(api(a, body(row2)).status_code, 201)
        p = a.authctl("user", "show", row2["id_number"], check=False)
        t.eq(p.returncode, 0, p.stderr)
        j = json.loads(p.stdout)
        t.eq((j["status"], j["lockout"]["locked"]), ("active", False))
        t.check("argon2" not in p.stdout and row2["id_number"] not in p.stdout, p.stdout)
        for verb, status in (("disable", "disabled"), ("enable", "active")):
            p = a.authctl("user", verb, row2["id_number"], check=False)
            t.eq((p.returncode, json.loads(p.stdout)["status"]), (0, status), p.stderr)
        t.eq(a.authctl("user", "unlock", row2["id_number"], check=False).returncode, 0)
        # refusals: another name (1), malformed number (1), no account (1), usage (2)
        other = people.take()
        p = a.authctl("user", "add", "--id-number", other["id_number"], "--name", row["name"],
                      "--password-stdin", input="Strong-pass-42\n", check=False)
        t.eq(p.returncode, 1)
        t.check("could not be verified" in p.stderr, p.stderr)
        t.eq(a.authctl("user", "show", "123", check=False).returncode, 1)
        t.eq(a.authctl("user", "show", other["id_number"], check=False).returncode, 1)
        t.eq(a.authctl("user", "frobnicate", check=False).returncode, 2)
        # operators may skip the population base: the account is ial2
        nobody = with_check("11010120000101" + "997")
        p = a.authctl("user", "add", "--id-number", nobody, "--name", "某人", "--password-stdin",
                      "--skip-popbase", input="Strong-pass-42\n", check=False)
        t.eq(p.returncode, 0, p.stderr)
        t.eq(json.loads(p.stdout)["ial"], "ial2")


@test
def authctl_user_warns_that_a_memory_store_is_private(t):
    p = _a.authctl("user", "show", _a.demo()["citizens"][0]["id_number"], check=False)
    t.eq(p.returncode, 1)
    t.check("only useful with Redis" in p.stderr, p.stderr)


if __name__ == "__main__":
    try:
        run()
    finally:
        _a.__exit__()
