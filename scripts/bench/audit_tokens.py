#!/usr/bin/python3
"""For the audit section of scripts/bench/run: one code-flow login of a demo citizen at
demo-portal without and one with the id_number scope (tests/harness/oidc.py's Browser, the
login and consent pages as a person goes through them); writes the two access tokens to
OUT.plain and OUT.audited (one line each: wrk values.lua sends it as a Bearer token).
    audit_tokens.py BASE_URL STATE_DIR OUT"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "harness"))
from oidc import Browser  # noqa: E402

CB = "http://127.0.0.1:8081/oidc/callback"  # demo-portal's redirect URI (demo.conf.in)


class Daemon:
    """What Browser needs of a daemon: its base URL, HTTP sessions, its demo.json."""

    def __init__(self, base, state):
        self.base, self.state = base, state

    def session(self):
        import requests
        s = requests.Session()
        s.trust_env = False
        return s

    def demo(self):
        with open(os.path.join(self.state, "demo.json")) as f:
            return json.load(f)


def main():
    base, state, out = sys.argv[1:4]
    d = Daemon(base, state)
    portal = next(c for c in d.demo()["clients"] if c["client_id"] == "demo-portal")
    auth = (portal["client_id"], portal["client_secret"])
    for name, scope in (("plain", "openid profile"), ("audited", "openid profile id_number")):
        b = Browser(d)
        code, v, _ = b.code("demo-portal", CB, scope, citizen=0)
        tk = b.exchange(code, v, CB, auth=auth)
        with open(f"{out}.{name}", "w") as f:
            f.write(tk["access_token"] + "\n")


if __name__ == "__main__":
    main()
