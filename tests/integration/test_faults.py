"""Fault injection on configuration and keys, with real daemons: a policy reload with a
broken file keeps the old policy and the old clients keep working; a key directory with an
unreadable or broken key refuses to start with a message naming the file; a rotation to a
broken key set while running keeps the old keys."""
import base64
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import BUILD, Authd, run, test  # noqa: E402

from jwcrypto import jwk  # noqa: E402


def module(a):
    return [c for c in a.demo()["clients"] if c["client_id"] == "demo-module"][0]


def cc(a):
    m = module(a)
    return a.post("/token", data={"grant_type": "client_credentials"},
                  auth=(m["client_id"], m["client_secret"]))


def wait_event(a, ev, n_before, timeout=6.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        evs = [e for e in a.log_events() if e.get("ev") == ev]
        if len(evs) > n_before:
            return evs[-1]
        time.sleep(0.05)
    return None


def count(a, ev):
    return len([e for e in a.log_events() if e.get("ev") == ev])


@test
def broken_policy_reload_keeps_old_clients_working(t):
    with Authd(population=100) as a:
        t.eq(cc(a).status_code, 200, "before")
        pdir = os.path.join(a.state, "policy")
        # break the file that defines the clients: demo-module disappears from it, and a
        # syntax error makes the whole new set invalid
        files = [f for f in os.listdir(pdir) if f.endswith(".conf")]
        victim = [f for f in files if "demo-module" in open(os.path.join(pdir, f)).read()][0]
        path = os.path.join(pdir, victim)
        good = open(path).read()
        with open(path, "w") as f:
            f.write(good.replace("[client demo-module]", "[client demo-module\nbroken = ="))
        n = count(a, "policy.reload")
        a.reload()
        ev = wait_event(a, "policy.reload", n)
        t.require(ev is not None, "no policy.reload event")
        t.eq(ev["lvl"], "error")
        t.check(victim in ev.get("reason", ""), ev)
        r = cc(a)
        t.eq(r.status_code, 200, "demo-module after a broken reload: " + r.text[:200])
        # and a good reload after the fix still works
        with open(path, "w") as f:
            f.write(good)
        n = count(a, "policy.reload")
        a.reload()
        ev = wait_event(a, "policy.reload", n)
        t.eq(ev and ev.get("result"), "ok")
        t.eq(cc(a).status_code, 200, "after the fix")


def start_fails(a, timeout=10):
    p = subprocess.run([os.path.join(BUILD, "authd"), "-c", a.conf_path],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def key_file(a):
    kdir = os.path.join(a.state, "keys")
    return os.path.join(kdir, [f for f in os.listdir(kdir) if f.endswith(".jwk")][0])


@test
def unreadable_or_broken_key_refuses_to_start_naming_the_file(t):
    a = Authd(population=50)
    a.setup()
    try:
        path = key_file(a)
        good = open(path).read()
        cases = []
        if os.geteuid() != 0:   # root reads mode 0000 files anyway
            cases.append(("mode 0000", lambda: os.chmod(path, 0)))
        cases += [
            ("readable by others", lambda: os.chmod(path, 0o644)),
            ("not JSON", lambda: open(path, "w").write("{not json")),
            ("a directory", lambda: (os.unlink(path), os.mkdir(path))),
            ("missing", lambda: os.unlink(path)),
        ]
        for what, breakit in cases:
            breakit()
            t0 = time.monotonic()
            rc, out = start_fails(a)
            t.check(rc != 0, f"{what}: authd started (rc {rc})")
            t.check(os.path.basename(path) in out, f"{what}: message does not name the file: "
                    + out[-300:])
            t.check(time.monotonic() - t0 < 5, f"{what}: took too long to refuse")
            if os.path.isdir(path):
                os.rmdir(path)
            elif os.path.exists(path):
                os.unlink(path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, good.encode())
            os.close(fd)
            os.chmod(path, 0o600)
        # repaired: it starts
        a.start()
        t.eq(cc(a).status_code, 200)
    finally:
        a.stop()
        shutil.rmtree(a.state, ignore_errors=True)


@test
def rotation_to_a_broken_key_set_keeps_the_old_keys(t):
    with Authd(population=50) as a:
        kdir = os.path.join(a.state, "keys")
        old_kid = json.loads(jwk.JWK.from_json(open(key_file(a)).read()).export_public())["kid"]
        jwks_before = a.get("/jwks").json() if a.get("/jwks").status_code == 200 else None
        # a new "current" key whose file is garbage, the old one demoted to "previous"
        new_kid = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        fd = os.open(os.path.join(kdir, new_kid + ".jwk"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"garbage\"}")
        os.close(fd)
        st_path = os.path.join(kdir, "keyset.json")
        st = json.load(open(st_path))
        now = int(time.time())
        st["keys"][0]["status"] = "previous"
        st["keys"][0]["retire_after"] = now + 3600
        st["keys"].append({"kid": new_kid, "alg": "ES256", "status": "current",
                           "created": now, "retire_after": 0})
        tmp = st_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f)
        os.chmod(tmp, 0o644)
        os.rename(tmp, st_path)
        n = count(a, "keys.reload")
        a.reload()
        ev = wait_event(a, "keys.reload", n)
        t.require(ev is not None, "no keys.reload event")
        t.eq(ev["lvl"], "error")
        t.check(new_kid in ev.get("reason", ""), ev)
        r = cc(a)
        t.eq(r.status_code, 200, r.text[:200])
        head = r.json()["access_token"].split(".")[0]
        hdr = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        t.eq(hdr["kid"], old_kid, "tokens are still signed with the old key")
        if jwks_before is not None:
            t.eq(a.get("/jwks").json(), jwks_before, "the published keys changed")


run()
