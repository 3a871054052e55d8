"""authd on a real redis-server that dies and comes back under load: every request is
answered (503 temporarily_unavailable while the store is down), nothing crashes, and
service resumes by itself within a second of Redis returning. The login load variant kills
Redis (SIGKILL, AOF with fsync on every write, so what was acknowledged survives) under
browser logins, registrations and client_credentials, then checks that no session or
account was left half-written."""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, run, stop_pid, test, wait_port  # noqa: E402
from oidc import Browser, FlowError, hidden  # noqa: E402


def load(a, stop, results):
    import requests
    s = requests.Session()
    s.trust_env = False
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            r = s.get(a.base + "/readyz", timeout=5)
            results.append((time.monotonic(), r.status_code, time.monotonic() - t0))
        except Exception as e:  # noqa: BLE001 — any transport error is a failure here
            results.append((time.monotonic(), repr(e), time.monotonic() - t0))


@test
def redis_outage_under_load_is_answered_and_recovers(t):
    with Redis() as redis:
        with Authd(conf={"store": redis.url(), "store_command_timeout_ms": 300,
                         "store_connect_timeout_ms": 200}, population=500) as a:
            t.eq(a.get("/readyz").status_code, 200)
            stop, results = threading.Event(), []
            threads = [threading.Thread(target=load, args=(a, stop, results)) for _ in range(4)]
            for th in threads:
                th.start()
            time.sleep(0.5)
            stop_pid(redis.proc)          # the store dies under load
            down_at = time.monotonic()
            time.sleep(1.5)
            r = a.get("/readyz")
            t.eq(r.status_code, 503)
            t.eq(r.json().get("reason"), "store unavailable")
            restart_at = time.monotonic()
            redis.proc = subprocess.Popen(  # back on the same port
                ["redis-server", "--port", str(redis.port), "--bind", "127.0.0.1", "--dir",
                 redis.dir, "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t.require(wait_port(redis.port, 10), "redis did not restart")
            up_at = time.monotonic()
            deadline = up_at + 5
            first_ok = None
            while time.monotonic() < deadline:
                ok = [x for x in results if x[0] > up_at and x[1] == 200]
                if ok:
                    first_ok = ok[0][0]
                    break
                time.sleep(0.02)
            stop.set()
            for th in threads:
                th.join()
            t.check(first_ok is not None and first_ok - up_at < 1.0,
                    f"recovered {None if first_ok is None else round(first_ok - up_at, 3)} s "
                    "after Redis returned")
            errors = [x for x in results if not isinstance(x[1], int)]
            t.eq(errors, [], "requests without an HTTP answer")
            # (up to up_at authd may already be back: it can notice Redis before wait_port)
            during = [x for x in results if down_at + 0.1 < x[0] < restart_at]
            t.check(during and all(x[1] == 503 for x in during),
                    {x[1] for x in during})
            t.check(max(x[2] for x in during) < 1.0, "a request waited over 1 s during the outage")
            t.check(a.proc.poll() is None, "authd died")
            t.eq(a.get("/healthz").status_code, 200)


# ---- login load through an outage ---------------------------------------------------------

def redis_start(redis):
    redis.proc = subprocess.Popen(
        ["redis-server", "--port", str(redis.port), "--bind", "127.0.0.1", "--dir", redis.dir,
         "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return wait_port(redis.port, 10)


def redis_cli(redis, *args):
    p = subprocess.run(["redis-cli", "-p", str(redis.port), "--raw", *args],
                       capture_output=True, text=True, timeout=10)
    return p.stdout.splitlines()


def record(results, kind, fn):
    t0 = time.monotonic()
    try:
        r = fn()
        text = r.text if r.status_code == 503 else r.text[:400]
        results.append((t0, kind, r.status_code, text, time.monotonic() - t0))
        return r
    except Exception as e:  # noqa: BLE001 — a transport error is a failure here
        results.append((t0, kind, repr(e), "", time.monotonic() - t0))
        return None


def login_once(a, results, cz):
    """authorize -> login form -> POST /login, recording each answer."""
    b = Browser(a)
    r = record(results, "authorize", lambda: b.authorize("demo-app", b.loopback(), "openid")[0])
    if r is None or r.status_code != 302 or not r.headers["Location"].startswith("/login"):
        return
    page = record(results, "login-page",
                  lambda: b.s.get(a.base + r.headers["Location"], timeout=10))
    if page is None or page.status_code != 200:
        return
    form = {"authz": hidden(page.text, "authz"), "csrf": hidden(page.text, "csrf"),
            "id_number": cz["id_number"], "password": cz["password"]}
    record(results, "login", lambda: b.s.post(a.base + "/login", data=form,
                                              allow_redirects=False, timeout=10))


def login_load(a, stop, results, citizens):
    i = 0
    while not stop.is_set():
        login_once(a, results, citizens[i % len(citizens)])
        i += 1


def cc_load(a, stop, results, module):
    s = a.session()
    while not stop.is_set():
        record(results, "token", lambda: s.post(
            a.base + "/token", data={"grant_type": "client_credentials"},
            auth=(module["client_id"], module["client_secret"]), timeout=10))


def register_load(a, stop, results, people):
    s = a.session()
    while not stop.is_set() and people:
        p = people.pop()
        record(results, "register", lambda: s.post(
            a.base + "/api/register", timeout=10,
            json={"id_number": p[0], "name": p[1], "password": "outage-test-pw-" + p[0][-4:]}))


def answered_well(x):
    """During an outage: the normal answer, or 503 temporarily_unavailable / the page's
    "try again later"."""
    _, kind, status, text, _ = x
    if not isinstance(status, int):
        return False
    if status == 503:
        return "temporarily_unavailable" in text or "login_unavailable" in text \
            or "try again later" in text or "稍后再试" in text
    if kind == "authorize" and status == 302:   # RFC 6749 §4.1.2.1 error redirects too
        return True
    ok = {"authorize": (302,), "login-page": (200,), "login": (302, 303),
          "token": (200,), "register": (201, 409, 403)}
    return status in ok[kind]


@test
def login_load_through_a_redis_kill_leaves_nothing_half_written(t):
    with Redis() as redis:
        stop_pid(redis.proc)
        t.require(redis_start(redis), "redis with AOF did not start")
        conf = {"store": redis.url(), "store_command_timeout_ms": 300,
                "store_connect_timeout_ms": 200, "login_rate_per_ip": 0,
                "register_rate_per_ip": 0, "rate_login_per_idnum": 0,
                "argon2_memory_kib": 4096, "argon2_iterations": 1}
        with Authd(conf=conf, population=400) as a:
            demo = a.demo()
            citizens = demo["citizens"]
            module = [c for c in demo["clients"] if c["client_id"] == "demo-module"][0]
            taken = {c["id_number"] for c in citizens}
            with open(os.path.join(a.state, "population.csv"), encoding="utf-8") as f:
                people = [l.strip().split(",")[:2] for l in f.readlines()[1:]]
            people = [p for p in people if p[0] not in taken][:150]
            # sessions made before the outage
            before = []
            for i in range(3):
                b = Browser(a)
                b.code("demo-app", b.loopback(), "openid", citizen=i)
                before.append(b)
            stop, results = threading.Event(), []
            threads = [threading.Thread(target=login_load, args=(a, stop, results, citizens)),
                       threading.Thread(target=login_load, args=(a, stop, results, citizens)),
                       threading.Thread(target=cc_load, args=(a, stop, results, module)),
                       threading.Thread(target=register_load, args=(a, stop, results, people))]
            for th in threads:
                th.start()
            time.sleep(0.6)
            stop_pid(redis.proc, signal.SIGKILL)   # the store dies mid-write
            down_at = time.monotonic()
            time.sleep(1.5)
            restart_at = time.monotonic()
            t.require(redis_start(redis), "redis did not restart")
            up_at = time.monotonic()
            deadline = up_at + 5
            first_login = None
            while time.monotonic() < deadline and first_login is None:
                ok = [x for x in results if x[0] > up_at and x[1] == "login" and x[2] in (302, 303)]
                first_login = ok[0][0] + ok[0][4] if ok else None
                time.sleep(0.02)
            stop.set()
            for th in threads:
                th.join()

            bad = [x[:3] + (x[3][-600:],) for x in results if not answered_well(x)]
            t.eq(bad, [], "requests answered wrongly")
            during = [x for x in results if down_at + 0.1 < x[0] < restart_at]
            t.check(len(during) > 10, f"only {len(during)} requests during the outage")
            # (403: the population base refused the person, which needs no store)
            t.eq([x[:4] for x in during
                  if x[1] in ("login", "register") and x[2] not in (503, 403)], [],
                 "logins or registrations that did not fail closed during the outage")
            t.check(max(x[4] for x in results) < 2.0, "a request waited over 2 s")
            t.check(first_login is not None and first_login - up_at < 1.0,
                    f"first login {None if first_login is None else round(first_login - up_at, 3)}"
                    " s after Redis returned")
            t.check(a.proc.poll() is None, "authd died")
            # sessions from before: still good (a code without a login form) or cleanly gone
            for b in before:
                r, _, _ = b.authorize("demo-app", b.loopback(), "openid")
                loc = r.headers.get("Location", "")
                t.check(r.status_code == 302 and ("code=" in loc or loc.startswith("/login")),
                        f"{r.status_code} {loc[:80]}\n" + a.log_tail(3))
            # no account record without its fields, no session record without its account
            for key in redis_cli(redis, "--scan", "--pattern", "authd:acct:*"):
                if redis_cli(redis, "TYPE", key) != ["hash"]:
                    continue
                fields = set(redis_cli(redis, "HKEYS", key))
                t.check({"pw", "id_number", "name", "status"} <= fields, f"{key}: {fields}")
            for key in redis_cli(redis, "--scan", "--pattern", "authd:sess:*"):
                if redis_cli(redis, "TYPE", key) == ["hash"]:
                    fields = set(redis_cli(redis, "HKEYS", key))
                    t.check({"acct", "sid", "created", "last_seen"} <= fields,
                            f"{key}: {fields}")


run()
