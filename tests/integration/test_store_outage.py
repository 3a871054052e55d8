"""authd on a real redis-server that dies and comes back under load: every request is
answered (503 temporarily_unavailable while the store is down), nothing crashes, and
service resumes by itself within a second of Redis returning."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, run, stop_pid, test, wait_port  # noqa: E402


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
            during = [x for x in results if down_at + 0.1 < x[0] < up_at]
            t.check(during and all(x[1] == 503 for x in during),
                    {x[1] for x in during})
            t.check(max(x[2] for x in during) < 1.0, "a request waited over 1 s during the outage")
            t.check(a.proc.poll() is None, "authd died")
            t.eq(a.get("/healthz").status_code, 200)


run()
