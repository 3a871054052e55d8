"""The HTTP population base (adapt/popbase_http.c) against a real `authctl popbase serve`
over mutual TLS with the dev PKI: answers, certificate checks on both sides, timeouts,
5xx retries, a hanging server, the circuit breaker, and the answer cache.

The client side is `authctl -c CONF popbase lookup --stdin`, one process per test, so the
breaker and the memory-store cache live across its queries; it reports each query's
latency ("us") and the backend's counters ("stats"). Faults are switched while the
server runs by rewriting its --fault-file (renamed into place, read at every request).
Latency checks are upper bounds with wide slack (bounded latency is the property)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from oidc import Browser  # noqa: E402
from itest import BUILD, ROOT, Authd, Redis, free_port, run, stop_pid, test, wait_port

AUTHCTL = os.path.join(BUILD, "authctl")
SLACK_MS = 400  # process scheduling on a loaded 2-core machine

W = tempfile.mkdtemp(prefix="authd-pophttp-")


def sh(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60, **kw)


def check_char(d17):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * k for c, k in zip(d17, w)) % 11]


def setup_world():
    sh(os.path.join(ROOT, "certs", "dev-pki"), W)
    sh(os.path.join(ROOT, "certs", "dev-pki"), os.path.join(W, "other"))  # another anchor
    csv, idx, key = (os.path.join(W, n) for n in ("pop.csv", "pop.idx", "popbase.key"))
    sh(AUTHCTL, "popbase", "gen", "--count", "2000", "--seed", "11", "--out", csv)
    sh(AUTHCTL, "popbase", "compile", csv, idx, "--key", key)
    rows = [l.split(",") for l in open(csv, encoding="utf-8").read().splitlines()[1:]]
    normal = [r for r in rows if r[5] == "normal"]
    cancelled = [r for r in rows if r[5] != "normal"]
    known = {r[0][:17] for r in rows}
    base = normal[0][0][:14]
    absent = next(base + "%03d" % s for s in range(1000) if base + "%03d" % s not in known)
    return {
        "idx": idx, "key": key, "pki": os.path.join(W, "pki"),
        "other": os.path.join(W, "other", "pki"),
        "people": [(r[0], r[1], r[3].replace("-", ""), r[2], r[4]) for r in normal[:6]],
        "cancelled": (cancelled[0][0], cancelled[0][1]),
        "absent": absent + check_char(absent),
    }


WORLD = setup_world()
PKI = WORLD["pki"]


def pki(name, other=False):
    return os.path.join(WORLD["other"] if other else PKI, name)


class Server:
    """`authctl popbase serve` on a free port with a fault file."""

    def __init__(self, cert="popbase-server", other_ca=False, faults=None):
        self.port = free_port()
        self.fault_file = os.path.join(W, "faults-%d" % self.port)
        self.set_faults(**(faults or {}))
        self.args = [AUTHCTL, "popbase", "serve", "--index", WORLD["idx"], "--key", WORLD["key"],
                     "--listen", "127.0.0.1:%d" % self.port,
                     "--tls-cert", pki(cert + ".crt", other_ca),
                     "--tls-key", pki(cert + ".key", other_ca),
                     "--client-ca", pki("ca-bundle.crt"), "--fault-file", self.fault_file]
        self.proc = None

    def set_faults(self, **kw):
        text = "".join("%s=%s\n" % (k, int(v) if isinstance(v, bool) else v)
                       for k, v in kw.items())
        with open(self.fault_file + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.fault_file + ".tmp", self.fault_file)

    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def start(self):
        self.log = open(self.fault_file + ".log", "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=self.log)
        if not wait_port(self.port, 10, self.proc):
            raise RuntimeError("popbase serve did not start")
        return self

    def stop(self):
        rc = stop_pid(self.proc) if self.proc else None
        self.proc = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


class Client:
    """`authctl -c CONF popbase lookup --stdin` with popbase = the server's URL and a
    memory store as the cache; settings are popbase_* config keys without the prefix."""

    def __init__(self, url, **settings):
        conf = {
            "state_dir": W, "store": "memory:", "popbase": url,
            "popbase_name_key": WORLD["key"],
            "popbase_tls_cert": pki("popbase-client.crt"),
            "popbase_tls_key": pki("popbase-client.key"),
            "popbase_tls_ca": pki("ca-bundle.crt"),
            "popbase_retries": 0, "popbase_breaker_failures": 100,
        }
        conf.update({"popbase_" + k: v for k, v in settings.items()})
        self.conf = os.path.join(W, "client-%d.conf" % free_port())
        with open(self.conf, "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in conf.items()))
        self.proc = subprocess.Popen([AUTHCTL, "-c", self.conf, "popbase", "lookup", "--stdin"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)

    def line(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        if not out:
            raise RuntimeError("lookup driver died: " + self.proc.stderr.read())
        return json.loads(out)

    def ask(self, number, name):
        return self.line("%s %s" % (number, name))

    def stats(self):
        return self.line("stats")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def person(i=0):
    return WORLD["people"][i]


def ms(r):
    return r["us"] / 1000.0


@test
def answers_match_mismatch_not_found_and_cancelled_over_mutual_tls(t):
    n, name, bd, sex, region = person(0)
    with Server() as s, Client(s.url()) as c:
        r = c.ask(n, name)
        t.eq(r["answer"], "match")
        t.eq((r["birth_date"].replace("-", ""), r["sex"], r["region"]), (bd, sex, region))
        t.eq(c.ask(n, "\u3000" + name + " ")["answer"], "match", "name not normalized")
        t.eq(c.ask(n, name + "x")["answer"], "mismatch")
        t.eq(c.ask(WORLD["absent"], name)["answer"], "not_found")
        t.eq(c.ask(*WORLD["cancelled"])["answer"], "cancelled")
        t.eq(c.ask(n, "\x01")["answer"], "mismatch", "an unusable name matches nobody")
        t.check("error" in c.ask(n[:17] + ("0" if n[17] != "0" else "1"), name), "bad check digit")
        t.eq(c.line("ping")["ping"], "ok")
        st = c.stats()
        t.eq(st["failures"], 0)
        # 5 asks + ping: the normalized name was a cache hit, the bad number never left
        t.eq((st["requests"], st["cache_hits"]), (6, 1))


def raw_get(port, path, cert=None, ca=None, **kw):
    import requests
    s = requests.Session()
    s.trust_env = False
    return s.request(kw.pop("method", "GET"), "https://127.0.0.1:%d%s" % (port, path),
                     cert=cert, verify=ca or pki("ca-bundle.crt"), timeout=10, **kw)


CLIENT_CERT = (pki("popbase-client.crt"), pki("popbase-client.key"))


@test
def server_refuses_a_client_without_a_valid_certificate(t):
    with Server() as s:
        r = raw_get(s.port, "/v1/health")
        t.eq(r.status_code, 403, "no client certificate")
        t.eq(r.json()["error"], "access_denied")
        r = raw_get(s.port, "/v1/health", cert=(pki("popbase-client.crt", True),
                                               pki("popbase-client.key", True)))
        t.eq(r.status_code, 403, "client certificate from another CA")
        r = raw_get(s.port, "/v1/health", cert=(pki("popbase-server.crt"),
                                               pki("popbase-server.key")))
        t.eq(r.status_code, 403, "a server certificate (no clientAuth) used as a client's")
        t.eq(raw_get(s.port, "/v1/health", cert=CLIENT_CERT).status_code, 200)


@test
def server_rejects_bad_requests_with_the_right_status(t):
    n, name = person(0)[:2]
    with Server() as s:
        def post(body, ctype="application/json", path="/v1/verify"):
            return raw_get(s.port, path, cert=CLIENT_CERT, method="POST", data=body,
                           headers={"Content-Type": ctype})
        t.eq(post(json.dumps({"id_number": n, "name": name}).encode()).json()["result"], "match")
        t.eq(post(b"{not json").status_code, 400, "not JSON")
        t.eq(post(b'{"id_number": "%s"}' % n.encode()).status_code, 400, "no name")
        t.eq(post(b'{"id_number": 1, "name": "x"}').status_code, 400, "number not a string")
        t.eq(post(b'["x"]').status_code, 400, "not an object")
        t.eq(post(b'{"id_number":"1","id_number":"2","name":"x"}').status_code, 400, "duplicate")
        t.eq(post(json.dumps({"id_number": n[:17] + "Y", "name": name}).encode()).status_code,
             400, "bad number")
        t.eq(post(b"{}", ctype="text/plain").status_code, 415, "content type")
        t.eq(post(b"{" + b" " * 5000 + b"}").status_code, 413, "body over 4 KiB")
        t.eq(post(b"{}", path="/v1/nope").status_code, 404, "unknown path")
        t.eq(raw_get(s.port, "/v1/verify", cert=CLIENT_CERT).status_code, 405, "GET verify")
        t.eq(post(b"", path="/v1/health").status_code, 405, "POST health")


@test
def server_usage_errors_exit_2(t):
    base = [AUTHCTL, "popbase", "serve", "--index", WORLD["idx"], "--key", WORLD["key"],
            "--listen", "127.0.0.1:%d" % free_port(), "--tls-cert", pki("popbase-server.crt"),
            "--tls-key", pki("popbase-server.key")]
    p = subprocess.run(base, capture_output=True, text=True, timeout=10)
    t.eq(p.returncode, 2, "no --client-ca: mutual TLS is not optional")
    p = subprocess.run(base + ["--client-ca", pki("ca-bundle.crt"), "--fault-error-rate", "2"],
                       capture_output=True, text=True, timeout=10)
    t.eq(p.returncode, 2, "error rate over 1")
    p = subprocess.run(base[:-6] + ["--listen", "nowhere"] + base[-4:] +
                       ["--client-ca", pki("ca-bundle.crt")],
                       capture_output=True, text=True, timeout=10)
    t.eq(p.returncode, 2, "bad --listen")


@test
def client_refuses_a_server_certificate_from_another_ca(t):
    n, name = person(0)[:2]
    with Server(other_ca=True) as s, Client(s.url(), retries=2) as c:
        t.eq(c.ask(n, name)["answer"], "unavailable")
        st = c.stats()
        t.eq((st["requests"], st["retries"], st["failures"]), (1, 0, 1),
             "a certificate failure is not retried")
        t.eq(c.line("ping")["ping"], "unavailable")


@test
def client_refuses_plain_http_and_missing_certificates(t):
    n, name = person(0)[:2]
    p = subprocess.run([AUTHCTL, "popbase", "lookup", "--url", "http://127.0.0.1:1", n, name],
                       capture_output=True, text=True, timeout=10)
    t.eq(p.returncode, 1)
    t.check("mutual TLS" in p.stderr, p.stderr)
    p = subprocess.run([AUTHCTL, "popbase", "lookup", "--url", "https://127.0.0.1:1", n, name],
                       capture_output=True, text=True, timeout=10)
    t.eq(p.returncode, 1)
    t.check("popbase_tls_cert" in p.stderr, p.stderr)


@test
def slow_server_within_the_timeout_answers(t):
    n, name = person(1)[:2]
    with Server(faults={"delay_ms": 150}) as s, Client(s.url(), timeout_ms=1500) as c:
        r = c.ask(n, name)
        t.eq(r["answer"], "match")
        t.check(ms(r) >= 150, "the delay was not applied: %s" % r)


@test
def slow_server_beyond_the_timeout_fails_with_bounded_latency(t):
    n, name = person(1)[:2]
    timeout, retries = 300, 1
    with Server(faults={"delay_ms": 3000}) as s, \
            Client(s.url(), timeout_ms=timeout, retries=retries) as c:
        r = c.ask(n, name)
        t.eq(r["answer"], "unavailable")
        bound = timeout * (retries + 1) + 20 + SLACK_MS  # + the one back-off, <= 20 ms
        t.check(ms(r) <= bound, "took %.0f ms, bound %d" % (ms(r), bound))
        st = c.stats()
        t.eq((st["requests"], st["retries"]), (2, 1))


@test
def hanging_server_fails_with_bounded_latency_and_recovers(t):
    n, name = person(2)[:2]
    timeout, retries = 250, 2
    with Server(faults={"hang": True}) as s, \
            Client(s.url(), timeout_ms=timeout, connect_timeout_ms=200, retries=retries) as c:
        r = c.ask(n, name)
        t.eq(r["answer"], "unavailable")
        bound = timeout * (retries + 1) + 20 + 40 + SLACK_MS
        t.check(ms(r) <= bound, "took %.0f ms, bound %d" % (ms(r), bound))
        t.eq(c.line("ping")["ping"], "unavailable")
        s.set_faults()
        t.eq(c.ask(n, name)["answer"], "match", "service back")
        t.eq(s.stop(), 0, "serve did not stop cleanly")


@test
def server_errors_are_retried_then_unavailable(t):
    n, name = person(3)[:2]
    with Server(faults={"error_rate": 1, "status": 503}) as s, Client(s.url(), retries=2) as c:
        t.eq(c.ask(n, name)["answer"], "unavailable")
        st = c.stats()
        t.eq((st["requests"], st["retries"], st["failures"]), (3, 2, 3))
        s.set_faults(error_rate=1, status=500)
        t.eq(c.ask(n, name)["answer"], "unavailable")
        s.set_faults()
        t.eq(c.ask(n, name)["answer"], "match")


@test
def client_errors_are_not_retried(t):
    n, name = person(3)[:2]
    with Server() as s, Client(s.url() + "/wrong-prefix", retries=3) as c:
        t.eq(c.ask(n, name)["answer"], "unavailable", "404 must fail closed")
        st = c.stats()
        t.eq((st["requests"], st["retries"]), (1, 0), "a 4xx was retried")


@test
def breaker_opens_fails_fast_probes_and_closes(t):
    n, name = person(4)[:2]
    open_ms = 600
    with Server(faults={"error_rate": 1}) as s, \
            Client(s.url(), breaker_failures=3, breaker_open_ms=open_ms) as c:
        for _ in range(3):
            t.eq(c.ask(n, name)["answer"], "unavailable")
        st = c.stats()
        t.eq((st["requests"], st["breaker_opens"], st["breaker_open"]), (3, 1, 1))
        r = c.ask(n, name)
        t.eq(r["answer"], "unavailable")
        t.check(ms(r) < 5, "an open breaker answered in %.2f ms" % ms(r))
        t.eq(c.line("ping")["ping"], "unavailable")
        t.eq(c.stats()["requests"], 3, "the open breaker let a request through")
        time.sleep(open_ms / 1000 + 0.1)
        t.eq(c.ask(n, name)["answer"], "unavailable", "half-open probe against a failing service")
        st = c.stats()
        t.eq((st["requests"], st["breaker_open"]), (4, 1), "one probe, then open again")
        t.check(ms(c.ask(n, name)) < 5, "re-opened breaker not failing fast")
        s.set_faults()  # the service recovers
        t.eq(c.ask(n, name)["answer"], "unavailable", "still open until the probe")
        time.sleep(open_ms / 1000 + 0.1)
        t.eq(c.ask(n, name)["answer"], "match", "the probe succeeds")
        st = c.stats()
        t.eq((st["requests"], st["breaker_open"], st["breaker_opens"]), (5, 0, 1))
        t.eq(c.ask(*person(5)[:2])["answer"], "match", "closed again")


@test
def cache_answers_while_the_service_is_down_and_never_keeps_unavailable(t):
    (n, name), (n2, name2) = person(0)[:2], person(1)[:2]
    s = Server()  # not started yet
    with Client(s.url(), cache_match_ttl_s=60, cache_miss_ttl_s=1) as c:
        t.eq(c.ask(n2, name2)["answer"], "unavailable", "nobody listening yet")
        s.start()
        try:
            t.eq(c.ask(n, name)["answer"], "match")
            t.eq(c.ask(WORLD["absent"], name)["answer"], "not_found")
            t.eq(c.ask(n2, name2)["answer"], "match", "unavailable was cached")
        finally:
            t.eq(s.stop(), 0)
        before = c.stats()
        r = c.ask(n, " " + name)
        t.eq(r["answer"], "match", "cached match with the service down")
        t.eq(r.get("birth_date", "").replace("-", ""), person(0)[2], "cached attributes")
        t.eq(c.ask(WORLD["absent"], name)["answer"], "not_found", "cached not_found")
        after = c.stats()
        t.eq(after["requests"], before["requests"], "a cached answer went to the service")
        t.eq(after["cache_hits"] - before["cache_hits"], 2)
        time.sleep(2.1)  # past the 1 s not_found TTL
        t.eq(c.ask(WORLD["absent"], name)["answer"], "unavailable", "not_found did not expire")
        t.eq(c.ask(n, name)["answer"], "match", "the match TTL is 60 s")


@test
def authd_starts_with_the_https_population_service(t):
    """authd wires popbase = https:// with its popbase_* settings and the store cache;
    /readyz pings /v1/health over mutual TLS."""
    with Server() as s:
        conf = {"popbase": s.url(), "popbase_tls_cert": pki("popbase-client.crt"),
                "popbase_tls_key": pki("popbase-client.key"),
                "popbase_tls_ca": pki("ca-bundle.crt"), "popbase_retries": 0,
                "popbase_breaker_failures": 100}
        with Authd(conf=conf, population=100) as a:
            t.eq(a.get("/readyz").status_code, 200, a.log_tail())
            ev = [e for e in a.log_events() if e.get("ev") == "authd.start"]
            t.eq(ev and ev[0].get("popbase"), "http")
            # a citizen of the service's population registers while it is up
            n, name = person(3)[:2]
            pw = "Long-enough-pass-1"
            r = a.post("/api/register", json={"id_number": n, "name": name, "password": pw})
            t.eq(r.status_code, 201, r.text)
            # the service goes away: registration fails closed, logins go on, and the node
            # stays in the load balancer as degraded
            s.stop()
            r = a.get("/readyz")
            t.eq(r.status_code, 200)
            t.eq(r.json().get("status"), "degraded")
            n2, name2 = person(4)[:2]
            r = a.post("/api/register", json={"id_number": n2, "name": name2, "password": pw})
            t.eq(r.status_code, 503, r.text)
            t.eq(r.json().get("error"), "temporarily_unavailable")
            b = Browser(a)
            redirect = b.loopback()
            code, verifier, _ = b.code("demo-app", redirect, "openid profile",
                                       citizen={"id_number": n, "password": pw})
            t.check("id_token" in b.exchange(code, verifier, redirect), "login failed")


@test
def authctl_user_add_builds_the_population_base_as_authd_does(t):
    """`authctl user add` gets its population base from the same composition root as
    authd (compose/compose.c): the answer cache settings apply to it too, so the match it
    got is cached in the shared Redis store (it was built without them: nothing cached)."""
    n, name = person(5)[:2]
    state = tempfile.mkdtemp(dir=W)
    master = os.path.join(state, "master.key")
    with open(master, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(master, 0o600)
    with Server() as s, Redis() as r:
        conf = os.path.join(W, "user-add.conf")
        with open(conf, "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in {
                "state_dir": state, "store": r.url(), "popbase": s.url(),
                "popbase_name_key": WORLD["key"],
                "popbase_tls_cert": pki("popbase-client.crt"),
                "popbase_tls_key": pki("popbase-client.key"),
                "popbase_tls_ca": pki("ca-bundle.crt"), "popbase_retries": 0,
                "popbase_cache_match_ttl_s": 60}.items()))
        p = subprocess.run([AUTHCTL, "-c", conf, "user", "add", "--id-number", n, "--name", name,
                            "--password-stdin"], input="Long-enough-pass-1\n",
                           capture_output=True, text=True, timeout=60)
        t.eq(p.returncode, 0, p.stderr)
        keys = subprocess.run(["redis-cli", "-p", str(r.port), "--raw", "KEYS", "authd:pop:*"],
                              capture_output=True, text=True, timeout=10).stdout.split()
        t.eq(len(keys), 1, "the match was not cached: %r" % keys)


@test
def server_stops_cleanly_on_sigterm_while_a_request_hangs(t):
    n, name = person(0)[:2]
    with Server(faults={"hang": True}) as s, Client(s.url(), timeout_ms=3000) as c:
        c.proc.stdin.write("%s %s\n" % (n, name))
        c.proc.stdin.flush()
        time.sleep(0.3)  # the request is in the server now, hanging
        t.eq(s.stop(), 0, "exit code on SIGTERM")
        t.eq(json.loads(c.proc.stdout.readline())["answer"], "unavailable")


try:
    run()
finally:
    shutil.rmtree(W, ignore_errors=True)
