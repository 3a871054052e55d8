"""The citizen's access log (/account/access-log, docs/accounts.md "The access log") with two
live authd nodes on one real redis-server: real releases of the ID number (the ID token and
/userinfo with the id_number scope) served by either node show on the citizen's page on
both nodes, newest first, with the service's display name and the masked number; another
citizen's page never shows them; the chain with its per-account index still verifies with
`authctl audit verify`; without a session the page sends the citizen to log in; a bad
`before` is a 400 page. In headless Chromium: the account page links to the log, which is
read in zh (screenshot build/test-artifacts/access-log-zh.png) and en."""
import json
import os
import re
import subprocess
import sys
import tempfile
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, Redis, run, sibling_daemon, test  # noqa: E402
from oidc import Browser  # noqa: E402
from browser import ARTIFACTS, Chromium, install_browser  # noqa: E402

PORTAL_CB = "http://127.0.0.1:8081/oidc/callback"
RD = Redis().start()
A = Authd(population=300, conf={"store": RD.url()})
A.setup()
BASE = open(A.conf_path).read().splitlines()
A.start()
B = sibling_daemon(A.state, BASE)
B.start()
DEMO = A.demo()
CITIZENS = DEMO["citizens"]
PORTAL = [c for c in DEMO["clients"] if c["client_id"] == "demo-portal"][0]
AUTH = (PORTAL["client_id"], PORTAL["client_secret"])
PORTAL_NAME = "示例政务门户 Demo portal"  # its policy name (policy/examples/demo.conf.in)


def masked(idn):
    return idn[:6] + "*" * 8 + idn[-4:]


def release(node, citizen):
    """A login at node sharing id_number, then /userinfo: two releases. Returns the
    browser, whose cookie jar holds the citizen's SSO session."""
    b = Browser(node)
    code, v, _ = b.code("demo-portal", PORTAL_CB, "openid profile id_number", citizen=citizen)
    tk = b.exchange(code, v, PORTAL_CB, auth=AUTH)
    r = node.get("/userinfo", headers={"Authorization": "Bearer " + tk["access_token"]})
    assert r.json().get("id_number") == CITIZENS[citizen]["id_number"], r.text
    return b


def log_page(node, s, **params):
    r = s.get(node.base + "/account/access-log", params=params, allow_redirects=False,
              timeout=10)
    assert r.status_code == 200, (r.status_code, r.headers.get("Location"), r.text[:300])
    return r.text


def entries(text):
    return re.findall(r'<li class="access access-([a-z-]+)" data-seq="(\d+)">', text)


@test
def releases_from_both_nodes_show_on_the_citizens_page_only(t):
    b0 = release(A, 0)
    release(B, 0)
    b1 = release(B, 1)
    for node in (A, B):
        text = log_page(node, b0.s, lang="en")
        got = entries(text)
        t.eq([k for k, _ in got], ["release"] * 4, f"{node.base}: {got}")
        seqs = [int(s) for _, s in got]
        t.eq(seqs, sorted(seqs, reverse=True), "newest first")
        t.check(masked(CITIZENS[0]["id_number"]) in text, "the masked number is shown")
        t.check(CITIZENS[0]["id_number"] not in text, "never the full number")
        t.check(masked(CITIZENS[1]["id_number"]) not in text, "another citizen's release")
        t.check("Your ID number was released to a service" in text, text[:400])
        t.check(PORTAL_NAME in text, "the service's name")
    other = log_page(A, b1.s, lang="zh")
    t.eq(len(entries(other)), 2, "the other citizen sees their own two")
    t.check(masked(CITIZENS[0]["id_number"]) not in other, "citizen 0's records leaked")
    t.check("您的身份证号已提供给服务" in other, other[:400])
    # a third citizen with a session but no release: nothing
    b2 = Browser(A)
    b2.code("demo-portal", PORTAL_CB, "openid profile", citizen=2)
    empty = log_page(B, b2.s, lang="en")
    t.eq(entries(empty), [])
    t.check('id="access-empty"' in empty, empty[:400])


@test
def the_chain_with_its_index_still_verifies(t):
    release(A, 3)
    path = os.path.join(tempfile.mkdtemp(prefix="authd-acclog-"), "log")
    A.authctl("audit", "export", path)
    recs = [json.loads(l) for l in open(path)]
    t.check(all("acct" in r["f"] for r in recs if r["ev"] == "claims.id_number"), "acct")
    p = A.authctl("audit", "verify", path, check=False)
    t.eq(p.returncode, 0, p.stdout + p.stderr)
    keys = subprocess.run(["redis-cli", "-p", str(RD.port), "--scan", "--pattern",
                           "authd:audit:{chain}:acct:*"], capture_output=True, text=True,
                          timeout=10).stdout.split()
    t.check(len(keys) >= 3, f"one index per account: {keys}")
    for k in keys:
        typ = subprocess.run(["redis-cli", "-p", str(RD.port), "TYPE", k], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        t.eq(typ, "zset", k)
    # an index lost (or a chain written before it): `authctl audit reindex` rebuilds it
    b = release(A, 3)
    before = entries(log_page(A, b.s))
    subprocess.run(["redis-cli", "-p", str(RD.port), "DEL"] + keys, capture_output=True,
                   timeout=10, check=True)
    t.eq(entries(log_page(A, b.s)), [], "the index is gone")
    p = A.authctl("audit", "reindex", check=False)
    t.eq(p.returncode, 0, p.stdout + p.stderr)
    t.check("reindexed (" in p.stderr, p.stderr)
    t.eq(entries(log_page(B, b.s)), before, "the same log again, on the other node too")


@test
def without_a_session_log_in_first_and_bad_paging_is_400(t):
    s = A.session()
    r = s.get(A.base + "/account/access-log", allow_redirects=False, timeout=10)
    t.eq(r.status_code, 302)
    t.check(urlsplit(r.headers["Location"]).path == "/authorize", r.headers["Location"])
    t.check("client_id=authd-account" in r.headers["Location"], r.headers["Location"])
    b = release(A, 4)
    for bad in ("abc", "0", "-1", "99999999999999999999"):
        r = b.s.get(A.base + "/account/access-log", params={"before": bad, "lang": "en"},
                    allow_redirects=False, timeout=10)
        t.eq(r.status_code, 400, f"before={bad}")
        t.check("This request is not valid" in r.text, r.text[:300])
    r = b.s.post(A.base + "/account/access-log", data={}, allow_redirects=False, timeout=10)
    t.eq(r.status_code, 405)
    # paging: the second page of one record, then no older link
    text = log_page(A, b.s)
    first = entries(text)
    t.eq(len(first), 2)
    text = log_page(A, b.s, before=first[0][1])
    t.eq([s for _, s in entries(text)], [first[1][1]])
    t.check('id="access-older"' not in text and 'id="access-newer"' in text, text[-600:])


@test
def access_log_in_headless_chromium(t):
    ok, why = install_browser()
    t.require(ok, "Chromium could not be installed; the access log must be tested in a "
                  "browser:\n" + why)
    c = CITIZENS[2]  # only a session so far (the first test): its two releases now
    release(A, 2)
    with Chromium() as wd:
        wd.go(A.base + "/account")
        t.require("/login?authz=" in wd.wait_url("/login?authz="), wd.url())
        wd.type(wd.find("#id_number"), c["id_number"])
        wd.type(wd.find("#password"), c["password"])
        wd.click(wd.find("#login_submit"))
        t.require(urlsplit(wd.wait_url("/account?")).path == "/account", wd.url())
        wd.go(A.base + "/account?lang=zh")
        wd.click(wd.find("#access-log-link"))
        u = wd.wait_url("/account/access-log")
        t.require(urlsplit(u).path == "/account/access-log", u)
        src = wd.cmd("GET", "/source")
        wd.screenshot(os.path.join(ARTIFACTS, "access-log-zh.png"))
        t.check("谁查看过我的信息" in wd.title(), wd.title())
        t.eq(len(entries(src)), 2, "the two releases")
        t.check("您的身份证号已提供给服务" in src and masked(c["id_number"]) in src, src[:600])
        t.check("北京时间" in src, "times in Beijing time")
        t.check("随登录凭证（ID 令牌）" in src and "用户信息接口" in src, "how it was released")
        wd.go(A.base + "/account/access-log?lang=en")
        t.check("Who looked at my data" in wd.title(), wd.title())
        wd.screenshot(os.path.join(ARTIFACTS, "access-log-en.png"))
        wd.click(wd.find("#access-back"))
        t.require(urlsplit(wd.wait_url("/account?")).path == "/account", wd.url())


try:
    run()
finally:
    for d in (B, A):
        d.stop()
    RD.stop()
