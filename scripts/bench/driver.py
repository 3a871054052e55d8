#!/usr/bin/python3
"""Multi-step load driver for scripts/bench/run (Debian's python3 with requests).

  driver.py authd-login  --base URL --demo STATE/demo.json --conc N --seconds S [--no-token]
      full browser-style logins: GET /authorize (code, PKCE S256) -> GET /login -> POST /login
      with a demo citizen's ID number and password (-> consent when asked) -> code -> POST
      /token as demo-portal. Each login is a fresh browser (own cookies).
  driver.py authd-sso    --base URL --demo STATE/demo.json
      one login without the token step; prints the browser's Cookie header (its SSO session),
      for the code loader (wrk GET /authorize with that cookie).
  driver.py glewlwyd-sso --conf DIR/bench.json
      one Glewlwyd login (POST /api/auth/); prints the Cookie header of its session and, on
      a second line, the query of GET /api/oidc/auth for the code client (for pace --hop)
  driver.py glewlwyd-login --conf DIR/bench.json --conc N --seconds S
      Glewlwyd's own flow: POST /api/auth/ (username, password) -> GET /api/oidc/auth
      (code, PKCE S256) -> code -> POST /api/oidc/token.

  driver.py op-login --conf DIR/bench.json --conc N --seconds S
      oidc-provider (scripts/bench/oidc-provider/server.mjs): GET /auth (code, PKCE S256,
      scope "openid api") -> its minimal interaction: POST /interaction/UID/login (login,
      password) -> POST /interaction/UID/confirm (consent, a fresh browser each time) ->
      code -> POST /token as bench-code
  driver.py op-sso --conf DIR/bench.json
      one such login; prints the browser's Cookie header and the /auth query (pace --hop)

Login results print as one line "BENCHJSON {...}" like the wrk scripts (rps = completed
logins per second; p50/p99 of one whole login; errors = logins that failed, with the
first failure's reason in "first_error").
"""
import argparse
import base64
import hashlib
import html
import json
import re
import secrets
import sys
import threading
import time
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import requests

VERIFIER = "bench-" + "v" * 60
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


class Fail(Exception):
    pass


def field(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    if not m:
        raise Fail(f"page has no {name} field")
    return html.unescape(m.group(1))


def portal(demo):
    return next(c for c in demo["clients"] if c["client_id"] == "demo-portal")


def authd_to_code(base, demo, citizen, s):
    """One browser login up to the code. Returns the code."""
    cl = portal(demo)
    redirect = cl["redirect_uris"][0]
    q = {"response_type": "code", "client_id": cl["client_id"], "redirect_uri": redirect,
         "scope": "openid", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
         "code_challenge": CHALLENGE, "code_challenge_method": "S256"}
    r = s.get(base + "/authorize?" + urlencode(q), allow_redirects=False)
    for _ in range(6):
        if r.status_code not in (302, 303):
            raise Fail(f"{urlparse(r.url).path}: HTTP {r.status_code}")
        loc = urljoin(r.url, r.headers["Location"])
        if loc.startswith(redirect):
            got = parse_qs(urlparse(loc).query)
            if "code" not in got:
                raise Fail("redirect without code: " + ",".join(got.get("error", ["?"])))
            return got["code"][0]
        page = s.get(loc, allow_redirects=False)
        path = urlparse(loc).path
        if page.status_code != 200:
            raise Fail(f"{path}: HTTP {page.status_code}")
        form = {"authz": field(page.text, "authz"), "csrf": field(page.text, "csrf")}
        if path == "/login":
            form.update(id_number=citizen["id_number"], password=citizen["password"])
        elif path == "/consent":
            form.update(action="approve")
        else:
            raise Fail("unexpected page " + path)
        r = s.post(base + path, data=form, allow_redirects=False)
    raise Fail("too many redirects")


def authd_login(base, demo, citizen, token):
    s = requests.Session()
    code = authd_to_code(base, demo, citizen, s)
    if not token:
        return
    cl = portal(demo)
    r = s.post(base + "/token", auth=(cl["client_id"], cl["client_secret"]),
               data={"grant_type": "authorization_code", "code": code,
                     "redirect_uri": cl["redirect_uris"][0], "code_verifier": VERIFIER})
    if r.status_code != 200 or "id_token" not in r.json():
        raise Fail(f"/token: HTTP {r.status_code}")


def glewlwyd_query(c):
    return {"response_type": "code", "client_id": c["client_id"], "redirect_uri": c["redirect_uri"],
            "scope": c["scope"], "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
            "code_challenge": CHALLENGE, "code_challenge_method": "S256",
            "g_continue": ""}  # what Glewlwyd's login page adds once the user is logged in


def glewlwyd_session(conf):
    s = requests.Session()
    u = conf["user"]
    r = s.post(conf["login"], json={"username": u["username"], "password": u["password"]})
    if r.status_code != 200:
        raise Fail(f"/api/auth/: HTTP {r.status_code}")
    return s


def glewlwyd_login(conf):
    s = glewlwyd_session(conf)
    c = conf["code"]
    r = s.get(conf["authorize"] + "?" + urlencode(glewlwyd_query(c)), allow_redirects=False)
    loc = r.headers.get("Location", "")
    got = parse_qs(urlparse(loc).query)
    if r.status_code != 302 or "code" not in got:
        raise Fail(f"/api/oidc/auth: HTTP {r.status_code} {loc[:80]}")
    r = s.post(conf["token"], auth=(c["client_id"], c["client_secret"]),
               data={"grant_type": "authorization_code", "code": got["code"][0],
                     "redirect_uri": c["redirect_uri"], "code_verifier": VERIFIER})
    if r.status_code != 200 or "id_token" not in r.json():
        raise Fail(f"/api/oidc/token: HTTP {r.status_code}")


def op_query(c):
    return {"response_type": "code", "client_id": c["client_id"], "redirect_uri": c["redirect_uri"],
            "scope": c["scope"], "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
            "code_challenge": CHALLENGE, "code_challenge_method": "S256"}


def op_to_code(conf, user, s):
    """One oidc-provider browser login up to the code (its own session in s)."""
    c = conf["code"]
    r = s.get(conf["authorize"] + "?" + urlencode(op_query(c)), allow_redirects=False)
    for _ in range(10):
        if r.status_code not in (302, 303):
            raise Fail(f"{urlparse(r.url).path}: HTTP {r.status_code} {r.text[:80]}")
        loc = urljoin(r.url, r.headers["Location"])
        if loc.startswith(c["redirect_uri"]):
            got = parse_qs(urlparse(loc).query)
            if "code" not in got:
                raise Fail("redirect without code: " + ",".join(got.get("error", ["?"])))
            return got["code"][0]
        path = urlparse(loc).path
        if path.startswith("/interaction/"):
            page = s.get(loc, allow_redirects=False)
            if page.status_code != 200:
                raise Fail(f"{path}: HTTP {page.status_code}")
            if "prompt=login" in page.text:
                r = s.post(loc + "/login", data={"login": user["id"], "password": user["password"]},
                           allow_redirects=False)
            elif "prompt=consent" in page.text:
                r = s.post(loc + "/confirm", data={}, allow_redirects=False)
            else:
                raise Fail(f"{path}: unexpected prompt {page.text[:40]}")
        else:
            r = s.get(loc, allow_redirects=False)
    raise Fail("too many redirects")


def op_login(conf, user):
    s = requests.Session()
    code = op_to_code(conf, user, s)
    c = conf["code"]
    r = s.post(conf["token"], auth=(c["client_id"], c["client_secret"]),
               data={"grant_type": "authorization_code", "code": code,
                     "redirect_uri": c["redirect_uri"], "code_verifier": VERIFIER})
    if r.status_code != 200 or "id_token" not in r.json():
        raise Fail(f"/token: HTTP {r.status_code} {r.text[:80]}")


def pct(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def load(fn, conc, seconds, label, count=0):
    """Runs fn(i) in conc threads for `seconds` (or until `count` runs when count > 0);
    prints the BENCHJSON line."""
    lat, errs, lock = [], [], threading.Lock()
    start = time.monotonic()
    end = start + seconds

    def worker(k):
        i = k
        while time.monotonic() < end and not (count and len(lat) + len(errs) >= count):
            t0 = time.monotonic()
            try:
                fn(i)
                ok, why = True, None
            except (Fail, requests.RequestException, ValueError, KeyError) as e:
                ok, why = False, str(e)[:120]
            with lock:
                (lat.append((time.monotonic() - t0) * 1000) if ok else errs.append(why))
            i += conc

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.monotonic() - start
    out = {"label": label, "requests": len(lat) + len(errs), "ok": len(lat), "seconds": round(el, 3),
           "rps": round(len(lat) / el, 2), "p50_ms": round(pct(lat, 50), 2),
           "p90_ms": round(pct(lat, 90), 2), "p99_ms": round(pct(lat, 99), 2),
           "max_ms": round(max(lat), 2) if lat else 0, "errors": len(errs),
           "err_status": len(errs), "conc": conc}
    if errs:
        out["first_error"] = errs[0]
    print("BENCHJSON " + json.dumps(out, ensure_ascii=False))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["authd-login", "authd-sso", "glewlwyd-login", "glewlwyd-sso",
                                    "op-login", "op-sso"])
    ap.add_argument("--base")
    ap.add_argument("--demo")
    ap.add_argument("--conf")
    ap.add_argument("--conc", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--no-token", action="store_true")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    if a.cmd in ("glewlwyd-login", "glewlwyd-sso", "op-login", "op-sso"):
        with open(a.conf) as f:
            conf = json.load(f)
    if a.cmd == "op-sso":
        s = requests.Session()
        try:
            op_to_code(conf, conf["users"][0], s)
        except (Fail, requests.RequestException) as e:
            sys.exit(f"driver.py: login failed: {e}")
        # the session's cookies (path /), not the finished interactions' (/interaction/UID)
        print("; ".join(f"{c.name}={c.value}" for c in s.cookies if c.path == "/"))
        print(urlencode(op_query(conf["code"])))
        return
    if a.cmd == "op-login":
        us = conf["users"]
        load(lambda i: op_login(conf, us[i % len(us)]), a.conc, a.seconds, a.label)
        return
    if a.cmd == "glewlwyd-sso":
        try:
            s = glewlwyd_session(conf)
        except (Fail, requests.RequestException) as e:
            sys.exit(f"driver.py: login failed: {e}")
        print("; ".join(f"{c.name}={c.value}" for c in s.cookies))
        print(urlencode(glewlwyd_query(conf["code"])))
        return
    if a.cmd == "glewlwyd-login":
        load(lambda i: glewlwyd_login(conf), a.conc, a.seconds, a.label)
        return
    with open(a.demo, encoding="utf-8") as f:
        demo = json.load(f)
    cits = demo["citizens"]
    if a.cmd == "authd-sso":
        s = requests.Session()
        try:
            authd_to_code(a.base, demo, cits[0], s)
        except (Fail, requests.RequestException) as e:
            sys.exit(f"driver.py: login failed: {e}")
        print("; ".join(f"{c.name}={c.value}" for c in s.cookies))
        return
    load(lambda i: authd_login(a.base, demo, cits[i % len(cits)], not a.no_token),
         a.conc, a.seconds, a.label, a.count)


if __name__ == "__main__":
    main()
