"""/metrics lives on its own listener (metrics_listen, loopback by default), never on the
public one, and no label tells a per-request outcome the answer did not already tell: the
population base's mismatch, not_found and cancelled are one `refused` count, since
/api/register answers all three with the same 403."""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import BUILD, Authd, free_port, run, test  # noqa: E402
from itest import check_config as itest_check_config  # noqa: E402

AUTHD = os.path.join(BUILD, "authd")


def families(text):
    from prometheus_client.parser import text_string_to_metric_families
    return {f.name: f for f in text_string_to_metric_families(text)}


def popbase_counts(a):
    r = a.metrics()
    fam = families(r.text)["authd_popbase_answers"]
    return {s.labels["outcome"]: s.value for s in fam.samples if s.name.endswith("_total")}


def with_check(first17):
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * k for c, k in zip(first17, w)) % 11]


_a = Authd(population=300)
_a.start()


@test
def public_listener_does_not_serve_metrics(t):
    r = _a.get("/metrics")
    t.eq(r.status_code, 404, r.text[:200])
    t.check("authd_" not in r.text, r.text[:200])
    r = _a.metrics()
    t.eq(r.status_code, 200)
    t.check(r.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), r.headers)
    fams = families(r.text)
    for name in ("authd_build_info", "authd_http_requests", "authd_http_request_duration_seconds",
                 "authd_popbase_answers", "authd_store_errors", "authd_http_head_timeouts"):
        t.check(name in fams, f"{name} missing from {list(fams)}")
    samples = [s for s in fams["authd_http_requests"].samples
               if s.labels.get("route") == "unmatched" and s.labels.get("status") == "404"]
    t.check(samples and samples[0].value >= 1, "the public 404 for /metrics is not counted")


@test
def metrics_listener_serves_nothing_else(t):
    for path in ("/healthz", "/token", "/.well-known/openid-configuration", "/api/register"):
        t.eq(_a.metrics(path).status_code, 404, path)
    t.eq(_a.metrics().status_code, 200)
    import requests
    r = requests.post(f"http://127.0.0.1:{_a.metrics_port}/metrics", timeout=5)
    t.eq(r.status_code, 405)


@test
def register_outcomes_share_one_label(t):
    with open(os.path.join(_a.state, "population.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    demo = {c["id_number"] for c in _a.demo()["citizens"]}
    normal = [r for r in rows if r["status"] == "normal" and r["id_number"] not in demo]
    cancelled = [r for r in rows if r["status"] == "cancelled"]
    known = {r["id_number"] for r in rows}
    nobody = next(n for n in (with_check("11010120000101%03d" % i) for i in range(999))
                  if n not in known)
    tries = {
        "mismatch": {"id_number": normal[0]["id_number"], "name": normal[1]["name"]},
        "not_found": {"id_number": nobody, "name": normal[1]["name"]},
    }
    if cancelled:
        tries["cancelled"] = {"id_number": cancelled[0]["id_number"],
                              "name": cancelled[0]["name"]}
    bodies = {}
    for what, b in tries.items():
        before = popbase_counts(_a)
        r = _a.post("/api/register", json=dict(b, password="Strong-pass-42"))
        t.eq(r.status_code, 403, f"{what}: {r.text}")
        bodies[what] = r.text
        after = popbase_counts(_a)
        t.eq(sorted(after), ["match", "refused", "unavailable"], what)
        moved = {k for k in after if after[k] != before.get(k)}
        t.eq(moved, {"refused"}, f"{what}: counters that moved")
    t.eq(len(set(bodies.values())), 1, bodies)


def check_config(text):
    return itest_check_config(text, "-t")


@test
def metrics_listen_is_loopback_by_default_and_checked(t):
    rc, out, _ = check_config("state_dir = .\n")
    t.eq(rc, 0, out)
    t.check("metrics_listen = 127.0.0.1:9464" in out, out)
    rc, out, path = check_config("state_dir = .\nlisten = 127.0.0.1:8080\n"
                                 "metrics_listen = 127.0.0.1:8080\n")
    t.check(rc != 0 and f"{path}:3: metrics_listen: must not use the port of listen" in out, out)
    rc, out, path = check_config("state_dir = .\nmetrics_listen = nowhere\n")
    t.check(rc != 0 and f"{path}:2: metrics_listen:" in out, out)
    rc, out, _ = check_config("state_dir = .\nmetrics_listen = off\n")
    t.eq(rc, 0, out)


@test
def metrics_listen_off_serves_no_metrics_anywhere(t):
    port = free_port()
    b = Authd(state_dir=_a.state, conf={"metrics_listen": "off"})
    b.port = port
    b.base = f"http://127.0.0.1:{port}"
    lines = [l for l in open(_a.conf_path).read().splitlines()
             if l.split("=")[0].strip() not in ("listen", "issuer", "metrics_listen")]
    lines += [f"listen = 127.0.0.1:{port}", f"issuer = {b.base}", "metrics_listen = off"]
    open(b.conf_path, "w").write("\n".join(lines) + "\n")
    try:
        b.start()
        t.eq(b.get("/metrics").status_code, 404)
        t.eq(b.get("/healthz").status_code, 200)
    finally:
        b.stop()


try:
    run()
finally:
    _a.stop()
    shutil.rmtree(_a.state, ignore_errors=True)
