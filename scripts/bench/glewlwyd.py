#!/usr/bin/python3
"""The peer for scripts/bench/run: Glewlwyd 2.7.5 from Debian in a private directory.

  glewlwyd.py conf  --dir D --port P [--db-dir T] [--journal wal|delete]
                                              write D/glewlwyd.conf (from the package's own
                                              /etc/glewlwyd/glewlwyd.conf) and the SQLite
                                              file (the package's schema and admin user) in
                                              T (default D), journal mode WAL (default)
  glewlwyd.py setup --dir D --url URL [--client-auth secret|password]
                                              on the running server, through its admin API:
                                              an OIDC plugin instance signing ES256, a
                                              client_credentials client, a code+PKCE client,
                                              a user with a password who granted the client;
                                              writes D/bench.json (ids, secrets, endpoints)

The admin account is the one the schema creates (admin / password), on loopback only.

Glewlwyd at its best (issue 20; docs/performance.md, "Glewlwyd at its best"): the runner
puts the database in a tmpfs directory (--db-dir under /dev/shm) in WAL mode and gives the
clients a `client_secret` (Glewlwyd's OIDC.md, "Client secret vs password": compared as
is). The package defaults (--db-dir D on disk, --journal delete, --client-auth password)
cost 20-100 ms a token here: a client *password* is checked with PBKDF2-SHA256 at 150 000
iterations (G_PBKDF2_ITERATOR_DEFAULT of the SQLite client backend) on every
client_secret_basic request, and SQLite's default rollback journal fsyncs about 8 times a
token (two write transactions) on this machine's virtual disk.
"""
import argparse
import gzip
import json
import os
import re
import secrets
import sqlite3
import sys

import requests
from jwcrypto import jwk

SCHEMA = "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz"
PKG_CONF = "/etc/glewlwyd/glewlwyd.conf"
PLUGIN = "oidc"


def conf(d, port, db_dir=None, journal="wal"):
    os.makedirs(d, exist_ok=True)
    db_dir = os.path.abspath(db_dir or d)
    os.makedirs(db_dir, exist_ok=True)
    with open(PKG_CONF) as f:
        text = f.read()
    url = f"http://127.0.0.1:{port}"
    subs = [
        (r"(?m)^port=.*$", f'port={port}\nbind_address="127.0.0.1"'),
        (r"(?m)^external_url=.*$", f'external_url="{url}"'),
        (r"(?m)^log_mode=.*$", 'log_mode="file"'),
        (r"(?m)^log_level=.*$", 'log_level="ERROR"'),
        (r"(?m)^log_file=.*$", f'log_file="{d}/glewlwyd.log"'),
        (r"(?m)^cookie_domain=.*$", 'cookie_domain="127.0.0.1"'),
        (r"(?m)^cookie_secure=.*$", "cookie_secure=0"),
        (r'path = "/var/cache/glewlwyd/glewlwyd.db"', f'path = "{db_dir}/glewlwyd.db"'),
    ]
    for pat, rep in subs:
        text, n = re.subn(pat, rep, text, count=1)
        if n != 1:
            sys.exit(f"glewlwyd.py: {PKG_CONF} has no line for {pat}")
    with open(os.path.join(d, "glewlwyd.conf"), "w") as f:
        f.write(text)
    db = os.path.join(db_dir, "glewlwyd.db")
    if os.path.exists(db):
        os.unlink(db)
    with gzip.open(SCHEMA, "rt") as f:
        sql = f.read()
    con = sqlite3.connect(db)
    con.executescript(sql)
    con.commit()
    # journal_mode is stored in the file (WAL stays on for Glewlwyd's own connection)
    mode = con.execute(f"PRAGMA journal_mode={journal}").fetchone()[0]
    con.close()
    if mode.lower() != journal:
        sys.exit(f"glewlwyd.py: journal_mode {journal} refused ({mode})")


def ok(r, what):
    if r.status_code not in (200, 201, 204):
        sys.exit(f"glewlwyd.py: {what}: HTTP {r.status_code} {r.text[:300]}")
    return r


def plugin_params(url, key_json):
    return {
        "iss": f"{url}/api/{PLUGIN}",
        "jwt-type": "ecdsa", "jwt-key-size": "256",
        "jwks-private": key_json, "default-kid": "bench", "jwks-show": True,
        "access-token-duration": 600, "refresh-token-duration": 1209600, "code-duration": 600,
        "refresh-token-rolling": True, "refresh-token-one-use": "never",
        "allow-non-oidc": True,  # client_credentials is "non-OIDC" to Glewlwyd
        "auth-type-code-enabled": True, "auth-type-token-enabled": False,
        "auth-type-id-token-enabled": True, "auth-type-none-enabled": False,
        "auth-type-password-enabled": False, "auth-type-client-enabled": True,
        "auth-type-device-enabled": False, "auth-type-refresh-enabled": True,
        "scope": [], "additional-parameters": [], "claims": [],
        "subject-type": "public", "secret-type": "pairwise",
        "allowed-scope": ["openid", "bench"],
        "pkce-allowed": True, "pkce-method-plain-allowed": False,
        "introspection-revocation-allowed": True,
        "introspection-revocation-auth-scope": [],
        "introspection-revocation-allow-target-client": True,
        "request-parameter-allow": False, "session-management-allowed": False,
        "name-claim": "no", "email-claim": "no", "scope-claim": "no",
        "address-claim": {"type": "no"},
    }


def setup(d, url, client_auth="secret"):
    s = requests.Session()
    api = url + "/api"
    ok(s.post(api + "/auth/", json={"username": "admin", "password": "password"}), "admin login")
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="bench", alg="ES256", use="sig")
    keys = json.dumps({"keys": [json.loads(key.export_private())]})
    ok(s.post(api + "/scope/", json={"name": "bench", "display_name": "bench",
                                     "description": "bench", "password_required": False,
                                     "scheme": {}}), "scope")
    ok(s.post(api + "/mod/plugin/", json={"module": "oidc", "name": PLUGIN, "display_name": PLUGIN,
                                         "enabled": True,
                                         "parameters": plugin_params(url, keys)}), "oidc plugin")
    cc_secret, code_secret, pw = (secrets.token_urlsafe(24) for _ in range(3))
    redirect = "http://127.0.0.1/cb"
    # "secret": the client_secret property, compared as is; "password": a PBKDF2 hash
    # (150 000 iterations) checked on every authenticated request
    cred = "client_secret" if client_auth == "secret" else "password"
    ok(s.post(api + "/client/", json={
        "client_id": "bench-cc", "name": "bench-cc", "enabled": True, "confidential": True,
        cred: cc_secret, "authorization_type": ["client_credentials"],
        "scope": ["bench"], "redirect_uri": [],
        "token_endpoint_auth_method": ["client_secret_basic"]}), "client bench-cc")
    ok(s.post(api + "/client/", json={
        "client_id": "bench-code", "name": "bench-code", "enabled": True, "confidential": True,
        cred: code_secret, "authorization_type": ["code", "refresh_token"],
        "scope": [], "redirect_uri": [redirect],
        "token_endpoint_auth_method": ["client_secret_basic"]}), "client bench-code")
    ok(s.post(api + "/user/", json={"username": "citizen", "name": "citizen", "enabled": True,
                                    "password": pw, "scope": ["openid", "g_profile"]}), "user")
    u = requests.Session()
    ok(u.post(api + "/auth/", json={"username": "citizen", "password": pw}), "user login")
    ok(u.put(api + "/auth/grant/bench-code", json={"scope": "openid"}), "user grant")
    out = {
        "url": url, "api": api, "oidc": f"{api}/{PLUGIN}",
        "discovery": f"{api}/{PLUGIN}/.well-known/openid-configuration",
        "jwks": f"{api}/{PLUGIN}/jwks", "token": f"{api}/{PLUGIN}/token",
        "introspect": f"{api}/{PLUGIN}/introspect", "authorize": f"{api}/{PLUGIN}/auth",
        "login": f"{api}/auth/",
        "cc": {"client_id": "bench-cc", "client_secret": cc_secret, "scope": "bench"},
        "code": {"client_id": "bench-code", "client_secret": code_secret,
                 "redirect_uri": redirect, "scope": "openid"},
        "user": {"username": "citizen", "password": pw},
    }
    path = os.path.join(d, "bench.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(out, f, indent=1)
    # A first call of each endpoint, to fail here rather than under load.
    ok(requests.get(out["discovery"]), "discovery")
    ok(requests.get(out["jwks"]), "jwks")
    ok(requests.post(out["token"], data={"grant_type": "client_credentials", "scope": "bench"},
                     auth=("bench-cc", cc_secret)), "client_credentials")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["conf", "setup"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int)
    ap.add_argument("--url")
    ap.add_argument("--db-dir")
    ap.add_argument("--journal", choices=["wal", "delete"], default="wal")
    ap.add_argument("--client-auth", choices=["secret", "password"], default="secret")
    a = ap.parse_args()
    d = os.path.abspath(a.dir)
    if a.cmd == "conf":
        conf(d, a.port, a.db_dir, a.journal)
    else:
        setup(d, a.url, a.client_auth)


if __name__ == "__main__":
    main()
