"""Integration-test harness: free loopback ports, real processes started and stopped by
PID, and a tiny runner that prints one line per failure and `N passed, N failed`.

    from itest import test, run, Authd
    @test
    def healthz_answers(t):
        with Authd() as a:
            r = a.get("/healthz"); t.eq(r.status_code, 200)
    run()
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("AUTHD_TEST_BUILD", "build"))
sys.path.insert(0, os.path.dirname(__file__))

_tests = []


def test(fn):
    _tests.append(fn)
    return fn


class Failure(Exception):
    pass


class T:
    def __init__(self, name):
        self.name = name
        self.failures = []

    def check(self, cond, msg="check failed"):
        if not cond:
            frame = traceback.extract_stack(limit=3)[0]
            self.failures.append(f"{os.path.basename(frame.filename)}:{frame.lineno}: {msg}")
        return cond

    def eq(self, got, want, msg=""):
        return self.check(got == want, f"{msg} got {got!r}, want {want!r}")

    def require(self, cond, msg="require failed"):
        if not cond:
            frame = traceback.extract_stack(limit=2)[0]
            raise Failure(f"{os.path.basename(frame.filename)}:{frame.lineno}: {msg}")


def run():
    only = sys.argv[1] if len(sys.argv) > 1 else None
    passed = failed = 0
    for fn in _tests:
        if only and only not in fn.__name__:
            continue
        t = T(fn.__name__)
        try:
            fn(t)
        except Failure as e:
            t.failures.append(str(e))
        except Exception:
            t.failures.append(traceback.format_exc())
        if t.failures:
            failed += 1
            print(f"FAIL {fn.__name__}")
            for f in t.failures:
                for line in str(f).splitlines():
                    print(f"  {line}")
        else:
            passed += 1
            print(f"PASS {fn.__name__}")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def stop_pid(proc, sig=signal.SIGTERM, timeout=5.0):
    """Stops a process by PID; returns its exit code (None if it had to be killed)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


class Redis:
    """A real redis-server on a free loopback port, no persistence, stopped by PID."""

    def __init__(self, extra=()):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="authd-redis-")
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "no", "--daemonize", "no"] + self.extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.port, 10, self.proc):
            raise RuntimeError("redis-server did not start")
        return self

    def stop(self):
        if self.proc:
            stop_pid(self.proc)
            self.proc = None

    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Authd:
    """A live authd with a fresh state dir made by scripts/dev-setup (dev keys, demo
    policy, small population), on a free loopback port, with its metrics listener on
    another (metrics_port; unless conf sets metrics_listen). conf: extra config lines."""

    def __init__(self, conf=None, population=2000, state_dir=None, env=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.metrics_port = free_port()
        self.own_state = state_dir is None
        self.state = state_dir or tempfile.mkdtemp(prefix="authd-state-")
        self.conf_extra = conf or {}
        self.population = population
        self.env = env
        self.proc = None
        self.log_path = os.path.join(self.state, "authd.log")

    def setup(self):
        subprocess.run([os.path.join(ROOT, "scripts", "dev-setup"), "--port", str(self.port),
                        "--state-dir", self.state, "--population", str(self.population),
                        "--quiet"], check=True, env=dict(os.environ, BUILD=BUILD))
        if self.conf_extra:
            path = os.path.join(self.state, "authd.conf")
            lines = open(path).read().splitlines()
            keys = set(self.conf_extra)
            lines = [l for l in lines if l.split("=")[0].strip() not in keys]
            lines += [f"{k} = {v}" for k, v in self.conf_extra.items()]
            open(path, "w").write("\n".join(lines) + "\n")
        return self

    @property
    def conf_path(self):
        return os.path.join(self.state, "authd.conf")

    def demo(self):
        with open(os.path.join(self.state, "demo.json")) as f:
            return json.load(f)

    def start(self, wait=True):
        if not os.path.exists(self.conf_path):
            self.setup()
        if "metrics_listen" not in self.conf_extra:
            # a port of its own each start: several daemons may share one state dir
            lines = [l for l in open(self.conf_path).read().splitlines()
                     if l.split("=")[0].strip() != "metrics_listen"]
            lines.append(f"metrics_listen = 127.0.0.1:{self.metrics_port}")
            open(self.conf_path, "w").write("\n".join(lines) + "\n")
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BUILD, "authd"), "-c", self.conf_path],
                                     stdout=self.logf, stderr=self.logf, env=self.env)
        if wait and not wait_port(self.port, 15, self.proc):
            raise RuntimeError("authd did not start: " + self.log_tail())
        return self

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        rc = None
        if self.proc:
            rc = stop_pid(self.proc, sig, timeout)
            self.proc = None
            self.logf.close()
        return rc

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def log_lines(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def log_events(self):
        out = []
        for l in self.log_lines():
            try:
                out.append(json.loads(l))
            except ValueError:
                pass
        return out

    def log_tail(self, n=20):
        return "\n".join(self.log_lines()[-n:])

    def authctl(self, *args, check=True, input=None):
        return subprocess.run([os.path.join(BUILD, "authctl"), "-c", self.conf_path, *args],
                              capture_output=True, text=True, check=check, input=input)

    def session(self):
        import requests
        s = requests.Session()
        s.trust_env = False
        return s

    def get(self, path, **kw):
        import requests
        kw.setdefault("timeout", 10)
        kw.setdefault("allow_redirects", False)
        return requests.get(self.base + path, **kw)

    def metrics(self, path="/metrics", **kw):
        """GET on the metrics listener."""
        import requests
        kw.setdefault("timeout", 10)
        return requests.get(f"http://127.0.0.1:{self.metrics_port}{path}", **kw)

    def post(self, path, **kw):
        import requests
        kw.setdefault("timeout", 10)
        kw.setdefault("allow_redirects", False)
        return requests.post(self.base + path, **kw)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
        if self.own_state and not os.environ.get("AUTHD_KEEP_STATE"):
            shutil.rmtree(self.state, ignore_errors=True)


def sibling_daemon(state, base_conf, conf=None):
    """Another authd on a state directory set up once (state, whose authd.conf lines are
    base_conf), with its own free port and the extra settings conf: for files of tests that
    each need a daemon of their own, where setting up a state is the slow part."""
    a = Authd(state_dir=state)
    a.port = free_port()
    a.base = f"http://127.0.0.1:{a.port}"
    extra = dict(conf or {})
    extra.update({"listen": f"127.0.0.1:{a.port}", "issuer": a.base})
    lines = [l for l in base_conf if l.split("=")[0].strip() not in extra]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    open(a.conf_path, "w").write("\n".join(lines) + "\n")
    return a


def check_config(text, flag="-t"):
    """authd FLAG -c on a config file holding text (in a fresh directory with an empty
    policy/): (exit code, stdout + stderr, the file's path)."""
    d = tempfile.mkdtemp(prefix="authd-conf-")
    try:
        os.makedirs(os.path.join(d, "policy"))
        path = os.path.join(d, "a.conf")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([os.path.join(BUILD, "authd"), flag, "-c", path], capture_output=True,
                           text=True)
        return p.returncode, p.stdout + p.stderr, path
    finally:
        shutil.rmtree(d)

