"""Personal data at rest (docs/crypto.md, "Data at rest"): registration and login against a
real redis-server, then a dump of Redis taken into the test's own directory holds no ID
number, name or phone of the citizens in plaintext; `authctl keys rotate-data` under a loop
of logins fails no request, and a login moves its record to the new key id."""
import csv
import html
import os
import re
import subprocess
import sys
import threading
import time
from urllib.parse import urljoin

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, run, test  # noqa: E402

# no compression in the dump: a plaintext value must appear as its bytes if it is there
RD = Redis(["--rdbcompression", "no"]).start()
A = Authd(population=300, conf={"store": RD.url(), "login_rate_per_ip": 0,
                                "rate_authorize_per_ip": 0, "rate_login_per_idnum": 0,
                                "register_rate_per_ip": 0})
A.start()
DEMO = A.demo()
CB = "http://127.0.0.1:8081/oidc/callback"
PORTAL = [c for c in DEMO["clients"] if c["client_id"] == "demo-portal"][0]


def cli(*args):
    return subprocess.run(["redis-cli", "-p", str(RD.port), *args], capture_output=True,
                          check=True).stdout


def dump():
    """SAVE into the Redis's own directory; the bytes of the dump."""
    cli("SAVE")
    with open(os.path.join(RD.dir, "dump.rdb"), "rb") as f:
        return f.read()


def registered():
    """Two citizens of the population registered through the API (not the demo ones)."""
    demo = {c["id_number"] for c in DEMO["citizens"]}
    with open(os.path.join(A.state, "population.csv"), newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "normal"
                and r["id_number"] not in demo][:2]
    out = []
    for i, r in enumerate(rows):
        c = {"id_number": r["id_number"], "name": r["name"], "phone": "1391234%04d" % (i + 7),
             "password": "Strong-pass-42"}
        resp = A.post("/api/register", json=c)
        if resp.status_code not in (200, 201):
            raise RuntimeError(f"register: {resp.status_code} {resp.text}")
        out.append(c)
    return out


CITIZENS = registered()


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, page)
    return html.unescape(m.group(1)) if m else None


def login(c):
    """/authorize -> /login -> POST the password; True when it leads on (consent or code)."""
    s = A.session()
    r = s.get(A.base + "/authorize", params={
        "client_id": "demo-portal", "response_type": "code", "scope": "openid profile",
        "redirect_uri": CB, "state": "s", "nonce": "n", "code_challenge_method": "S256",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
        allow_redirects=False, timeout=10)
    if r.status_code != 302 or not r.headers["Location"].startswith("/login?"):
        return False
    page = s.get(urljoin(A.base, r.headers["Location"]), timeout=10)
    r = s.post(A.base + "/login", data={"authz": hidden(page.text, "authz"),
                                         "csrf": hidden(page.text, "csrf"),
                                         "id_number": c["id_number"],
                                         "password": c["password"]},
               allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    return r.status_code in (302, 303) and (loc.startswith("/consent?") or "code=" in loc)


def record_kids():
    """The key id of every account record's id_number blob."""
    out = []
    for k in cli("--scan", "--pattern", "authd:acct:{*}").split():
        v = cli("HGET", k, "id_number")
        out.append(v.split(b".")[1].decode() if v.startswith(b"s1.") else "plaintext")
    return out


@test
def dump_holds_no_plaintext_id_number_name_or_phone(t):
    for c in CITIZENS + DEMO["citizens"][:2]:
        t.check(login(c), f"login of a citizen failed")
    # control: a value written in plaintext is found in a dump taken this way
    cli("SET", "authd:control:{atrest}", CITIZENS[0]["id_number"] + CITIZENS[0]["name"])
    raw = dump()
    t.check(CITIZENS[0]["id_number"].encode() in raw
            and CITIZENS[0]["name"].encode("utf-8") in raw, "the control is not in the dump")
    cli("DEL", "authd:control:{atrest}")
    raw = dump()
    # the dump is readable: the records are in it, sealed
    t.check(b"authd:acct:{" in raw and b"s1.m1." in raw, "no sealed account record in the dump")
    people = CITIZENS + DEMO["citizens"]
    for c in people:
        t.check(c["id_number"].encode() not in raw, "an ID number in plaintext in the dump")
        t.check(c["name"].encode("utf-8") not in raw, "a name in plaintext in the dump")
        if c.get("phone"):
            t.check(c["phone"].encode() not in raw, "a phone number in plaintext in the dump")
    t.check(set(record_kids()) == {"m1"}, f"records: {record_kids()}")


@test
def rotate_data_under_logins_fails_no_request(t):
    stop = threading.Event()
    results = []

    def loop(c):
        while not stop.is_set():
            results.append(login(c))

    workers = [threading.Thread(target=loop, args=(c,)) for c in CITIZENS]
    for w in workers:
        w.start()
    time.sleep(1.0)
    out = A.authctl("keys", "rotate-data")
    t.check("key id m2" in out.stdout, out.stdout + out.stderr)
    time.sleep(1.5)
    stop.set()
    for w in workers:
        w.join()
    t.check(len(results) >= 4, f"only {len(results)} logins")
    print(f"rotate-data under load: {len(results)} logins, {results.count(False)} failed")
    t.eq(results.count(False), 0, f"{results.count(False)} of {len(results)} logins failed")
    # the logged-in citizens are under m2 now; every record still opens (a login of one
    # that stayed under m1)
    kids = record_kids()
    t.check(kids.count("m2") >= len(CITIZENS), f"records: {kids}")
    t.check("plaintext" not in kids, f"records: {kids}")
    stale = [c for c in DEMO["citizens"][2:3]]
    for c in stale:
        t.check(login(c), "a citizen under the old key id could not log in")
    t.check(b"s1.m2." in dump())
    t.check(set(record_kids()) <= {"m1", "m2"}, f"records: {record_kids()}")


@test
def sm4_gcm_is_refused_at_config_load_by_name(t):
    from itest import check_config
    code, out, _ = check_config("data_cipher = sm4-gcm\n")
    t.check(code != 0, out)
    t.check("SM4-GCM" in out, out)


try:
    run()
finally:
    A.stop()
    RD.stop()
