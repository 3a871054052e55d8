"""The daemon's spine against a live process: health, readiness, metrics, config checks,
request limits, slow clients, graceful shutdown and policy reload."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, BUILD, free_port, run, sibling_daemon, test  # noqa: E402
from itest import check_config as itest_check_config  # noqa: E402

AUTHD = os.path.join(BUILD, "authd")

# One dev state shared by the tests that only need a running daemon (setup is the slow part).
_state = tempfile.mkdtemp(prefix="authd-daemon-")
_shared = Authd(state_dir=_state, population=1000).setup()
_base_conf = open(_shared.conf_path).read().splitlines()


def daemon(conf=None):
    """A daemon on the shared state with its own port and the given extra settings."""
    return sibling_daemon(_state, _base_conf, conf)


def check_config(text):
    return itest_check_config(text, "--check-config")


@test
def version_prints(t):
    p = subprocess.run([AUTHD, "--version"], capture_output=True, text=True)
    t.eq(p.returncode, 0)
    t.check(p.stdout.startswith("authd "), p.stdout)


@test
def check_config_accepts_the_dev_config(t):
    p = subprocess.run([AUTHD, "-t", "-c", _shared.conf_path], capture_output=True, text=True)
    t.eq(p.returncode, 0, p.stderr)
    t.check("store = memory:" in p.stdout, p.stdout)
    t.check("configuration ok" in p.stdout)


@test
def check_config_refuses_misspelled_key(t):
    rc, out, path = check_config("state_dir = .\nlisen = 127.0.0.1:8080\n")
    t.check(rc != 0)
    t.check(f"{path}:2: lisen: unknown key" in out, out)


@test
def check_config_refuses_bad_value(t):
    rc, out, path = check_config("state_dir = .\n# comment\nthreads = lots\n")
    t.check(rc != 0)
    t.check(f"{path}:3: threads: must be a whole number" in out, out)
    rc, out, path = check_config("state_dir = .\nlog_level = loud\n")
    t.check(rc != 0 and f"{path}:2: log_level:" in out, out)


@test
def check_config_refuses_plain_http_off_loopback(t):
    rc, out, path = check_config("state_dir = .\nlisten = 0.0.0.0:8080\n")
    t.check(rc != 0)
    t.check(f"{path}:2: listen: plain HTTP on a non-loopback address is refused" in out, out)
    rc, out, _ = check_config("state_dir = .\nlisten = 0.0.0.0:8080\nallow_insecure_http = true\n")
    t.eq(rc, 0, out)


@test
def check_config_refuses_bad_policy_with_line(t):
    d = tempfile.mkdtemp(prefix="authd-pol-")
    try:
        os.makedirs(os.path.join(d, "policy"))
        with open(os.path.join(d, "policy", "x.conf"), "w") as f:
            f.write("[client a]\ntype = confidential\ncolour = blue\n")
        with open(os.path.join(d, "a.conf"), "w") as f:
            f.write("state_dir = .\n")
        p = subprocess.run([AUTHD, "-t", "-c", os.path.join(d, "a.conf")], capture_output=True,
                           text=True)
        t.check(p.returncode != 0)
        t.check("x.conf:3: colour: unknown key" in p.stderr, p.stderr)
    finally:
        shutil.rmtree(d)


@test
def health_ready_metrics(t):
    from prometheus_client.parser import text_string_to_metric_families
    with daemon() as a:
        r = a.get("/healthz")
        t.eq(r.status_code, 200)
        r = a.get("/readyz")
        t.eq(r.status_code, 200)
        t.eq(r.json()["status"], "ready")
        t.eq(a.get("/nope").status_code, 404)
        t.eq(a.post("/healthz").status_code, 405)
        r = a.metrics()  # its own listener (test_metrics)
        t.eq(r.status_code, 200)
        fams = {f.name: f for f in text_string_to_metric_families(r.text)}
        t.check("authd_http_requests" in fams, list(fams))
        t.check("authd_http_request_duration_seconds" in fams, list(fams))
        t.check("authd_build_info" in fams)
        t.check("authd_popbase_answers" in fams, list(fams))
        t.check("authd_store_errors" in fams, list(fams))
        samples = [s for s in fams["authd_http_requests"].samples
                   if s.labels.get("route") == "healthz" and s.labels.get("status") == "200"]
        t.check(samples and samples[0].value >= 1, samples)


@test
def log_lines_are_json_without_secrets(t):
    with daemon() as a:
        a.get("/healthz?login_hint=11010519491231002X")
        time.sleep(0.2)
    evs = a.log_events()
    reqs = [e for e in evs if e.get("ev") == "http.request"]
    t.check(reqs, a.log_tail())
    for k in ("ts", "lvl", "req", "method", "path", "status", "us"):
        t.check(k in reqs[0], f"missing {k} in {reqs[0]}")
    t.check(not any("11010519491231002X" in l for l in a.log_lines()), "ID number in the log")


@test
def keep_alive_is_kept(t):
    with daemon() as a:
        s = a.session()
        for _ in range(5):
            r = s.get(a.base + "/healthz")
            t.eq(r.status_code, 200)
            t.check(r.headers.get("Connection", "").lower() != "close", r.headers)


def raw(port, data, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


@test
def oversized_body_is_413(t):
    with daemon() as a:
        body = b"a=" + b"x" * (1 << 20)
        try:
            r = a.post("/healthz", data=body)
            t.eq(r.status_code, 413)
        except Exception as e:  # the server may close before the client finished sending
            t.check("reset" in str(e).lower() or "broken" in str(e).lower(), str(e))
        out = raw(a.port, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        t.check(out.startswith(b"HTTP/1.1 413"), out[:80])
        # chunked upload with no length: the cap applies as it arrives
        chunk = b"x" * 70000
        req = (b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
        out = raw(a.port, req)
        t.check(out.startswith(b"HTTP/1.1 413"), out[:80])
        t.eq(a.get("/healthz").status_code, 200)


@test
def oversized_header_is_refused(t):
    with daemon() as a:
        out = raw(a.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 100 * 1024
                  + b"\r\n\r\n")
        t.check(out.startswith(b"HTTP/1.1 431"), out[:80])
        t.eq(a.get("/healthz").status_code, 200)


@test
def garbage_requests_do_no_harm(t):
    with daemon() as a:
        for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"GET /healthz?" + b"%" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"):
            raw(a.port, junk, timeout=2)
        t.eq(a.get("/healthz").status_code, 200)


@test
def slow_loris_times_out_and_others_are_served(t):
    with daemon(conf={"connection_timeout_s": 2}) as a:
        socks = []
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", a.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(s)
        start = time.monotonic()
        t.eq(a.get("/healthz", timeout=2).status_code, 200)
        t.check(time.monotonic() - start < 1.0, "a healthy client waited behind slow ones")
        time.sleep(3.5)
        closed = 0
        for s in socks:
            s.settimeout(0.5)
            try:
                if s.recv(100) == b"":
                    closed += 1
            except (ConnectionResetError, socket.timeout):
                closed += 1 if isinstance(sys.exc_info()[1], ConnectionResetError) else 0
            s.close()
        t.eq(closed, 40, "idle slow connections not closed by the timeout")
        t.eq(a.get("/healthz").status_code, 200)


@test
def sigterm_during_burst_answers_in_flight_and_exits_zero(t):
    a = daemon()
    a.start()
    # 20 requests in flight: headers sent, body not yet
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", a.port))
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
        socks.append(s)
    time.sleep(0.3)
    # and a burst of keep-alive clients
    errors, done = [], []
    stop = threading.Event()

    def client():
        import requests
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.get(a.base + "/healthz", timeout=3)
                done.append(r.status_code)
            except requests.ConnectionError:
                break  # refused after the listener closed: never a half answer
            except Exception as e:  # noqa
                errors.append(repr(e))
                break
    threads = [threading.Thread(target=client) for _ in range(4)]
    for th in threads:
        th.start()
    time.sleep(0.3)
    start = time.monotonic()
    a.proc.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    answered = 0
    for s in socks:
        s.sendall(b"cd")
        s.settimeout(2)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        answered += data.startswith(b"HTTP/1.1 405")
        s.close()
    stop.set()
    for th in threads:
        th.join()
    try:
        rc = a.proc.wait(3)
    except subprocess.TimeoutExpired:
        rc = None
    elapsed = time.monotonic() - start
    a.stop()
    t.eq(answered, 20, "in-flight requests answered after SIGTERM")
    t.eq(errors, [], "burst clients saw errors other than refusal")
    t.check(len(done) > 10, f"burst made {len(done)} requests")
    t.eq(rc, 0, "exit code")
    t.check(elapsed < 2.0, f"took {elapsed:.2f}s to stop")


def listen_inode(port):
    """The inode of the socket listening on 127.0.0.1:port (/proc/net/tcp, state 0A)."""
    want = f"0100007F:{port:04X}"
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        if f[1] == want and f[3] == "0A":
            return f[9]
    return None


@test
def sigterm_keeps_listen_socket_until_stop_and_refuses_new_connections(t):
    """microhttpd.h (MHD_quiesce_daemon): with internal threads the listening socket must
    not be closed until after MHD_stop_daemon. Closing it at once let a worker's epoll_ctl
    fail with EBADF, and libmicrohttpd's panic aborted the daemon with requests in flight
    (scripts/stop-stress counts that over many stops). During the drain the socket stays
    open in the process, yet new connections are refused at once."""
    a = daemon()
    a.start()
    inode = listen_inode(a.port)
    t.require(inode is not None, "no listening socket in /proc/net/tcp")
    held = socket.create_connection(("127.0.0.1", a.port))
    held.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
    time.sleep(0.3)
    a.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # quiesced, draining: the held request is still in flight
    fd_dir = f"/proc/{a.proc.pid}/fd"
    links = set()
    for fd in os.listdir(fd_dir):
        try:
            links.add(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            pass
    t.check(f"socket:[{inode}]" in links,
            "listening socket closed during the drain (before MHD_stop_daemon)")
    try:
        socket.create_connection(("127.0.0.1", a.port), timeout=2).close()
        refused = False
    except ConnectionRefusedError:
        refused = True
    t.check(refused, "a new connection during the drain was not refused")
    held.sendall(b"cd")
    held.settimeout(3)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = held.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    held.close()
    t.check(data.startswith(b"HTTP/1.1 405"), f"in-flight request answered {data[:40]!r}")
    try:
        rc = a.proc.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    a.stop()
    t.eq(rc, 0, "exit code")


@test
def listen_socket_is_in_no_libmicrohttpd_epoll_set(t):
    """A stop must not need MHD_quiesce_daemon: in 0.9.75 it races with the epoll thread
    pool over the listening socket (a panic at daemon.c:5531 or 4976 on ENOENT). authd
    accepts itself (http/acceptor.c), so no epoll set of the library holds that socket."""
    with daemon() as a:
        inode = listen_inode(a.port)
        pid = a.proc.pid
        listen_fds, epolls = [], []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link == f"socket:[{inode}]":
                listen_fds.append(fd)
            elif link == "anon_inode:[eventpoll]":
                epolls.append(fd)
        t.require(len(listen_fds) == 1 and epolls, f"listen {listen_fds}, epoll {epolls}")
        holding = [e for e in epolls
                   if re.search(rf"^tfd:\s+{listen_fds[0]}\s",
                                open(f"/proc/{pid}/fdinfo/{e}").read(), re.M)]
        t.eq(holding, [], "epoll sets holding the listening socket")


@test
def sighup_with_broken_policy_keeps_the_old_one(t):
    a = daemon()
    pol = os.path.join(a.state, "policy", "zz-broken.conf")
    try:
        a.start()
        with open(pol, "w") as f:
            f.write("[client x]\nnonsense = 1\n")
        a.reload()
        time.sleep(0.5)
        t.eq(a.get("/healthz").status_code, 200)
        evs = [e for e in a.log_events() if e.get("ev") == "policy.reload"]
        t.check(evs and evs[-1]["lvl"] == "error" and "zz-broken.conf:2" in evs[-1]["reason"],
                evs)
        os.unlink(pol)
        a.reload()
        time.sleep(0.5)
        evs = [e for e in a.log_events() if e.get("ev") == "policy.reload"]
        t.check(evs and evs[-1]["result"] == "ok", evs)
    finally:
        if os.path.exists(pol):
            os.unlink(pol)
        t.eq(a.stop(), 0)


@test
def sighup_right_after_start_never_kills(t):
    """Signals are blocked before any thread starts, so an early SIGHUP cannot land on a
    thread that would take the default action (terminate)."""
    for _ in range(5):
        a = daemon()
        a.start()
        a.reload()
        time.sleep(0.2)
        t.check(a.proc.poll() is None, "authd died on an early SIGHUP")
        t.eq(a.stop(), 0)


try:
    run()
finally:
    shutil.rmtree(_state, ignore_errors=True)
