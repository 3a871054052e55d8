"""The shape of the tree (docs/architecture.md, CONTRIBUTING.md), checked on the sources:
ports and flows never name an adapter, only the composition root opens adapters, libcurl
has one home, and the repository refers to no document outside itself."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from itest import ROOT, run, test  # noqa: E402

SRC = os.path.join(ROOT, "authd", "src")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def sources(sub=""):
    for d, _, files in os.walk(os.path.join(SRC, sub)):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                p = os.path.join(d, f)
                yield os.path.relpath(p, SRC), open(p, encoding="utf-8").read()


def includes(text):
    return INCLUDE.findall(text)


@test
def ports_and_flows_never_include_an_adapter(t):
    for layer in ("port", "flow", "core", "http"):
        for path, text in sources(layer):
            bad = [i for i in includes(text) if i.startswith(("adapt/", "compose/"))]
            t.eq(bad, [], path)


@test
def only_the_composition_root_opens_adapters(t):
    """main.c and authctl reach adapters through compose/ (authctl's `popbase compile`,
    `serve` and `keys` work on the file formats themselves and may include those)."""
    ctors = re.compile(r"\b(store_mem_open|store_redis_open|popbase_http_open|notify_http_open|"
                       r"notify_file_open|outbound_curl_open)\s*\(")
    for path, text in sources():
        if path.startswith(("compose/", "adapt/")):
            continue
        t.eq(ctors.findall(text), [], path)


@test
def libcurl_is_called_from_one_adapter(t):
    users = [p for p, text in sources() if "curl/curl.h" in includes(text)]
    t.eq(users, ["adapt/outbound_curl.c"])


@test
def no_reference_to_documents_outside_the_repository(t):
    outside = re.compile(r"\.\./shared|ARCHITECTURE\.md|LIBRARY-NOTES|\bSTYLE(\.md)?\b|"
                         r"docs/assurance\.md")
    skip = {".git", "build", "corpus", "node_modules"}
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in skip]
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, ROOT)
            if rel == "tests/integration/test_layering.py":
                continue
            try:
                text = open(p, encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            for n, line in enumerate(text.splitlines(), 1):
                t.check(not outside.search(line), f"{rel}:{n}: {line.strip()[:100]}")


@test
def every_docs_file_named_in_the_tree_exists(t):
    named = re.compile(r"\bdocs/([a-z0-9_-]+\.md)")
    # the project's own files only: `make bench` installs npm packages (with their own docs/
    # links) beside the bench scripts, untracked and absent from a clone
    tracked = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True,
                             check=True).stdout.decode().split("\0")
    for rel in tracked:
        f = os.path.basename(rel)
        if not f.endswith((".c", ".h", ".md", ".py", ".sh", ".mk")) and f != "Makefile":
            continue
        p = os.path.join(ROOT, rel)
        if not os.path.isfile(p):
            continue
        text = open(p, encoding="utf-8", errors="replace").read()
        for m in sorted(set(named.findall(text))):
            t.check(os.path.exists(os.path.join(ROOT, "docs", m)),
                    f"{rel} names docs/{m}, which does not exist")


run()
