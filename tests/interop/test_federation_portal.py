"""Brokered login through a real third-party portal (issue 18, "must show"): Apache httpd +
mod_auth_openidc protects a page as a portal of province B; a citizen of province A signs
in there: the portal sends the browser to B, B's login page to A (brokered login,
docs/federation.md), A back to B, B back to the portal, which shows the page with B's
claims. The portal sees a normal login by B. Three live authd processes (anchor, A, B) as
in tests/integration/test_federation_broker.py."""
import os
import sys
from urllib.parse import urljoin

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
from itest import run, test  # noqa: E402

import test_portal_apache as portal  # noqa: E402  (Apache, its client at B)
import test_federation_broker as fb  # noqa: E402
from rpkit import BCReceiver  # noqa: E402
import itest  # noqa: E402

itest._tests.clear()  # the imported files' own tests run from their own files

_env = {}


def env():
    if not _env:
        bc = BCReceiver().start()
        f = fb.Fed(before_b=lambda b: portal.write_clients(b, bc.uri))
        _env.update(f=f, bc=bc, apache=portal.Apache(f.b.base, portal.PORTAL_SECRET).start())
    return _env["f"], _env["apache"]


@test
def citizen_of_a_signs_in_to_the_apache_portal_of_b(t):
    f, _ = env()
    br = f.b.session()
    cz = f.a.demo()["citizens"][0]
    r = br.get(portal.PORTAL + "/private/claims", allow_redirects=False, timeout=10)
    t.require(r.status_code == 302 and r.headers["Location"].startswith(f.b.base + "/authorize?"),
              f"portal did not send us to B: {r.status_code} {r.headers.get('Location')}")
    r = br.get(r.headers["Location"], allow_redirects=False, timeout=10)
    t.require(r.headers.get("Location", "").startswith("/login?"), r.text[:300])
    page = br.get(urljoin(f.b.base, r.headers["Location"]), timeout=10)
    t.check('id="login_elsewhere"' in page.text, "B offers another province")

    class Br:  # the helpers of test_federation_broker take a Browser; they use .s
        s = br
    _, r = fb.choose_home(f, Br, page, cz["id_number"])
    r = fb.login_at_a(f, Br, r, cz)
    t.require(r.status_code in (302, 303) and r.headers["Location"].startswith(portal.PORTAL_CB),
              f"B did not return to the portal: {r.status_code} {r.headers.get('Location')} "
              f"{r.text[:300]}")
    r = br.get(r.headers["Location"], allow_redirects=False, timeout=10)
    t.require(r.status_code == 302, f"portal callback: {r.status_code} {r.text[:300]}")
    r = br.get(urljoin(portal.PORTAL, r.headers["Location"]), allow_redirects=False, timeout=10)
    t.require(r.status_code == 200, f"protected page: {r.status_code} {r.text[:300]}")
    text = r.content.decode("utf-8")  # the CGI answers text/plain without a charset
    got = dict(l.split("=", 1) for l in text.splitlines() if "=" in l)
    t.eq(got.get("OIDC_CLAIM_iss"), f.b.base)  # a normal login by B
    t.check(got.get("OIDC_CLAIM_acr", "").startswith("urn:authd:acr:ial"), got)
    t.eq(got.get("OIDC_CLAIM_amr"), "fed")
    # the portal's profile claims come from B's account of the citizen (A's name)
    t.eq(got.get("OIDC_CLAIM_name"), cz.get("name", got.get("OIDC_CLAIM_name")))


if __name__ == "__main__":
    try:
        run()
    finally:
        if _env:
            _env["apache"].stop()
            _env["bc"].stop()
            _env["f"].stop()
