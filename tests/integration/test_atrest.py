"""Personal data at rest (docs/crypto.md, "Data at rest"): registration and login against a
real redis-server, then a dump of Redis taken into the test's own directory holds no ID
number, name or phone of the citizens in plaintext; `authctl keys rotate-data --no-walk`
under a loop of logins fails no request, and a login moves its record to the new key id;
`authctl keys rotate-data` with its walk (docs/keys.md) moves every record, also of citizens
who never log in, while logins go on and fail none, then a dump names only the new key id,
`check` says the older ones are needed by nothing, and an interrupted walk resumes."""
import csv
import html
import os
import re
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urljoin

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import BUILD, Authd, Redis, run, test  # noqa: E402

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
    out, results = logins_while(lambda: A.authctl("keys", "rotate-data", "--no-walk"))
    t.check("key id m2" in out.stdout, out.stdout + out.stderr)
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


def kid_of(v):
    return v.split(b".")[1].decode() if v.startswith(b"s1.") else "plaintext"


def all_sealed_kids():
    """The key id of every sealed field of every account record."""
    out = set()
    for k in cli("--scan", "--pattern", "authd:acct:{*}").split():
        for f in (b"id_number", b"name", b"phone", b"phone_verified"):
            v = cli("HGET", k, f).rstrip(b"\n")
            if v:
                out.add(kid_of(v))
    return out


def current_gen():
    return int(cli("GET", "authd:datakey:{gen}").strip() or b"1")


def logins_while(fn):
    """Runs fn() while the registered citizens log in over and over; (fn's result, logins)."""
    stop = threading.Event()
    results = []

    def loop(c):
        while not stop.is_set():
            results.append(login(c))

    workers = [threading.Thread(target=loop, args=(c,)) for c in CITIZENS]
    for w in workers:
        w.start()
    try:
        time.sleep(0.5)
        out = fn()
        time.sleep(0.5)
    finally:
        stop.set()
        for w in workers:
            w.join()
    return out, results


@test
def rotate_data_walk_reseals_every_record_while_logins_go_on(t):
    n_accounts = len(cli("--scan", "--pattern", "authd:acct:{*}").split())
    t.check(n_accounts >= len(DEMO["citizens"]) + 2, f"{n_accounts} account records")
    new = "m%d" % (current_gen() + 1)
    # slow enough (a few records a second) that the logins race the walk's re-seals
    rate = max(2, n_accounts // 2)
    out, results = logins_while(lambda: A.authctl("keys", "rotate-data", "--rate", str(rate),
                                                  "--batch", "5", check=False))
    t.eq(out.returncode, 0, out.stdout + out.stderr)
    t.check(f"key id {new}" in out.stdout and "walk done" in out.stdout, out.stdout + out.stderr)
    print(f"walk under load: {len(results)} logins, {results.count(False)} failed; "
          f"{out.stdout.strip().splitlines()[-1]}")
    t.check(len(results) >= 4, f"only {len(results)} logins")
    t.eq(results.count(False), 0, f"{results.count(False)} of {len(results)} logins failed")
    # every record, of citizens who logged in and of those who never did, names the new key
    t.eq(all_sealed_kids(), {new})
    raw = dump()
    t.check(("s1.%s." % new).encode() in raw)
    for old in range(1, current_gen()):
        t.check(("s1.m%d." % old).encode() not in raw, f"a blob under m{old} in the dump")
    for c in CITIZENS + DEMO["citizens"]:
        t.check(c["id_number"].encode() not in raw, "an ID number in plaintext in the dump")
        t.check(c["name"].encode("utf-8") not in raw, "a name in plaintext in the dump")
        if c.get("phone"):
            t.check(c["phone"].encode() not in raw, "a phone number in plaintext in the dump")
    # the older key ids are needed by nothing: check says so, and status shows the walk done
    chk = A.authctl("keys", "rotate-data", "check", check=False)
    t.eq(chk.returncode, 0, chk.stdout + chk.stderr)
    t.check(" 0 under an older key id" in chk.stdout, chk.stdout)
    st = A.authctl("keys", "rotate-data", "status")
    t.check(f"current data key: {new}" in st.stdout and ", done" in st.stdout, st.stdout)
    # and everyone still logs in, the ones who never did before too
    for c in CITIZENS + DEMO["citizens"][:3]:
        t.check(login(c), "a login after the walk failed")


@test
def an_interrupted_walk_resumes_where_it_stopped(t):
    new = "m%d" % (current_gen() + 1)
    out = A.authctl("keys", "rotate-data", "--no-walk")
    t.check(f"key id {new}" in out.stdout, out.stdout)
    chk = A.authctl("keys", "rotate-data", "check", check=False)
    t.eq(chk.returncode, 1, chk.stdout + chk.stderr)  # everything is under the older key
    p = subprocess.Popen([os.path.join(BUILD, "authctl"), "-c", A.conf_path, "keys", "rotate-data", "walk", "--rate", "1",
                          "--batch", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(2.5)
    p.send_signal(signal.SIGINT)
    so, se = p.communicate(timeout=20)
    t.eq(p.returncode, 4, so + se)
    t.check("progress saved" in se, se)
    st = A.authctl("keys", "rotate-data", "status")
    t.check("not finished" in st.stdout, st.stdout)
    kids = all_sealed_kids()
    t.check(new in kids and len(kids) == 2, f"after the interruption: {kids}")
    out = A.authctl("keys", "rotate-data", "walk", "--rate", "1000", check=False)
    t.eq(out.returncode, 0, out.stdout + out.stderr)
    t.check("resuming the walk" in out.stderr, out.stderr)
    t.eq(all_sealed_kids(), {new})
    t.eq(A.authctl("keys", "rotate-data", "check", check=False).returncode, 0)


@test
def sm4_gcm_is_refused_at_config_load_by_name(t):
    from itest import check_config
    code, out, _ = check_config("data_cipher = sm4-gcm\n")
    t.check(code != 0, out)
    t.check("SM4-GCM" in out, out)
    t.check("sm4-ctr-hmac-sm3" in out, out)  # the message names what to use instead
    code, out, _ = check_config("state_dir = .\ndata_cipher = sm4-ctr-hmac-sm3\n")
    t.eq(code, 0, out)


try:
    run()
finally:
    A.stop()
    RD.stop()
