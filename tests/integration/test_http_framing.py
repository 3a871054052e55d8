"""HTTP/1.1 message framing and the request head, over raw sockets (RFC 9112): every
ambiguous head is refused with 400 and the connection closed, so a proxy in front and
authd can never disagree about where a request ends (request smuggling); the head has a
size limit (max_header_bytes, exact) and a deadline (request_head_timeout_s, slowloris)."""
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
from itest import Authd, free_port, run, sibling_daemon, test  # noqa: E402

_state = tempfile.mkdtemp(prefix="authd-framing-")
_shared = Authd(state_dir=_state, population=200).setup()
_base_conf = open(_shared.conf_path).read().splitlines()
_daemon = None


def daemon(conf=None):
    """A daemon on the shared state with its own port and the given extra settings."""
    return sibling_daemon(_state, _base_conf, conf)


def shared():
    """One daemon with the default settings for the tests that only send requests."""
    global _daemon
    if _daemon is None:
        _daemon = daemon().start()
    return _daemon


def exchange(port, data, timeout=3.0):
    """Sends data; reads until the server closes (closed=True) or is silent for timeout
    seconds (closed=False). Returns (bytes received, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return out, True
            except socket.timeout:
                return out, False
            if not chunk:
                return out, True
            out += chunk
    finally:
        s.close()


def statuses(data):
    """The status codes of the responses in data, in order."""
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", data)]


NEXT = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"  # pipelined after a bad request


def refused(t, req, want=400, what=""):
    """req (with a pipelined request behind it) gets one `want` answer, then the close."""
    data, closed = exchange(shared().port, req + NEXT)
    t.eq(statuses(data), [want], f"{what}: {data[:200]!r}")
    t.check(closed, f"{what}: connection left open")


@test
def two_content_lengths_are_refused_and_close(t):
    refused(t, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 34"
               b"\r\n\r\n", what="different lengths")
    refused(t, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3"
               b"\r\n\r\nabc", what="same length twice")


@test
def content_length_with_transfer_encoding_is_refused_and_closes(t):
    refused(t, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", what="CL + TE")
    refused(t, b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Length: 5\r\n\r\n0\r\n\r\n", what="TE + CL")


@test
def other_transfer_encodings_are_refused(t):
    refused(t, b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
               b"0\r\n\r\n", want=501, what="unknown coding")
    refused(t, b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", what="TE twice")
    refused(t, b"POST /healthz HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"0\r\n\r\n", what="TE in HTTP/1.0")


@test
def whitespace_before_a_colon_is_refused(t):
    refused(t, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Foo : bar\r\n\r\n", what="space")
    refused(t, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length\t: 0\r\n\r\n", what="tab")
    refused(t, b"GET /healthz HTTP/1.1\r\nHost: x\r\n: nameless\r\n\r\n", what="empty name")


@test
def bad_request_targets_are_refused(t):
    refused(t, b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", what="space in the target")
    refused(t, b"GET /healthz?a=\x01 HTTP/1.1\r\nHost: x\r\n\r\n", what="control character")
    refused(t, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", what="bare CR")


@test
def bare_lf_line_ends_are_refused(t):
    refused(t, b"GET /healthz HTTP/1.1\nHost: x\r\n\r\n", what="after the request line")
    refused(t, b"GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", what="between headers")
    refused(t, b"GET /healthz HTTP/1.1\nHost: x\n\n", what="everywhere")
    refused(t, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\n", what="the empty line")
    # with nothing behind it (the check must not read past the head: review finding)
    data, closed = exchange(shared().port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\n")
    t.eq(statuses(data), [400], f"the empty line, nothing behind: {data[:200]!r}")
    t.check(closed, "the empty line, nothing behind: connection left open")


@test
def a_nul_in_the_last_header_line_is_refused(t):
    # libmicrohttpd reports the value up to the NUL; a NUL in an earlier line breaks the
    # chain of lines, one in the last line only shortens the head (review finding)
    refused(t, b"GET /healthz HTTP/1.1\r\nX-A: b\r\nHost: a\x00\r\n\r\n", what="Host: a NUL, last")
    refused(t, b"GET /healthz HTTP/1.1\r\nHost: a\x00\r\nX-A: b\r\n\r\n", what="Host: a NUL, first")
    refused(t, b"POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\x00\r\n\r\n"
               b"0\r\n\r\n", what="Transfer-Encoding: chunked NUL, last")


@test
def folded_header_lines_are_refused(t):
    refused(t, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", what="obs-fold")


@test
def host_is_required_once_in_http_1_1(t):
    refused(t, b"GET /healthz HTTP/1.1\r\nX-A: b\r\n\r\n", what="no Host")
    refused(t, b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", what="two Hosts")
    data, closed = exchange(shared().port, b"GET /healthz HTTP/1.0\r\n\r\n")
    t.eq(statuses(data), [200], f"HTTP/1.0 without Host: {data[:100]!r}")


@test
def well_formed_requests_still_work(t):
    port = shared().port
    # keep-alive with two pipelined requests
    data, closed = exchange(port, NEXT + NEXT, timeout=1.0)
    t.eq(statuses(data), [200, 200], data[:200])
    t.check(not closed, "keep-alive connection closed")
    # a chunked body and a Content-Length body on one connection
    data, _ = exchange(port, b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                             b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                             b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                       + NEXT, timeout=1.0)
    t.eq(statuses(data), [405, 405, 200], data[:300])
    # HTTP/1.0 with a body, header values with spaces and tabs, an empty value
    data, closed = exchange(port, b"POST /healthz HTTP/1.0\r\nContent-Length: 2\r\n\r\nab")
    t.eq(statuses(data), [405], data[:100])
    data, _ = exchange(port, b"GET /healthz HTTP/1.1\r\nHost:x\r\nX-A: \t b c \r\nX-E:\r\n\r\n",
                       timeout=1.0)
    t.eq(statuses(data), [200], data[:100])


def head_of(size):
    """A GET /healthz head of exactly size bytes (request line + headers + empty line)."""
    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
    pad = size - len(start) - 4
    return start + b"p" * pad + b"\r\n\r\n"


@test
def header_limit_is_exactly_max_header_bytes(t):
    port = shared().port
    for size in (8192, 16384):
        data, _ = exchange(port, head_of(size), timeout=1.0)
        t.eq(statuses(data), [200], f"head of {size} bytes: {data[:80]!r}")
    for size in (16385, 18000, 20000):
        data, closed = exchange(port, head_of(size) + NEXT)
        t.eq(statuses(data), [431], f"head of {size} bytes: {data[:80]!r}")
        t.check(closed, f"head of {size} bytes: connection left open")
    # the same limit counted over many headers
    many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-H%04d: %s\r\n" % (i, b"v" * 90) for i in range(200)) + b"\r\n"
    data, _ = exchange(port, many)
    t.eq(statuses(data), [431], f"{len(many)} bytes in 200 headers")


@test
def slow_head_is_cut_at_the_deadline(t):
    """A head sent one line a second (each line resets the idle timeout) is closed when
    request_head_timeout_s has passed; a slow but steady client within it is served, and a
    keep-alive connection gets a new deadline for each request."""
    with daemon(conf={"request_head_timeout_s": 3, "connection_timeout_s": 2}) as a:
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        start = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        got, closed_at = b"", None
        s.settimeout(0.2)
        for i in range(12):
            try:
                s.sendall(b"X-Slow-%d: y\r\n" % i)
            except OSError:
                closed_at = time.monotonic() - start
                break
            t_end = time.monotonic() + 1.0
            while time.monotonic() < t_end:
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    closed_at = time.monotonic() - start
                    break
                got += chunk
            if closed_at is not None:
                break
        s.close()
        t.check(closed_at is not None, "slow head still open after 12 s")
        t.check(closed_at is not None and closed_at < 5.0, f"closed after {closed_at}")
        t.check(got == b"" or statuses(got) == [408], got[:100])

        # slow-ish but within the deadline: four pieces 0.6 s apart, twice on one connection
        # (each request of a keep-alive connection has a deadline of its own)
        s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
        for _ in range(2):
            for i, piece in enumerate((b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n",
                                       b"X-A: b\r\n", b"\r\n")):
                if i:
                    time.sleep(0.6)
                s.sendall(piece)
            data = s.recv(4096)
            t.eq(statuses(data), [200], data[:100])
        s.close()


@test
def slow_heads_do_not_hold_connections_from_others(t):
    with daemon(conf={"request_head_timeout_s": 2}) as a:
        socks = []
        stop = threading.Event()

        def drip(s):
            i = 0
            while not stop.is_set():
                try:
                    s.sendall(b"X-%d: y\r\n" % i)
                except OSError:
                    return
                i += 1
                time.sleep(0.5)
        threads = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", a.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
            th = threading.Thread(target=drip, args=(s,), daemon=True)
            th.start()
            threads.append(th)
        time.sleep(3.5)
        closed = 0
        for s in socks:
            s.settimeout(0.5)
            try:
                data = s.recv(4096)
                closed += data == b"" or statuses(data) == [408]
            except (ConnectionResetError, BrokenPipeError):
                closed += 1
            except socket.timeout:
                pass
        stop.set()
        for s in socks:
            s.close()
        t.eq(closed, 20, "dripping connections still open after the deadline")
        t.eq(a.get("/healthz").status_code, 200)


try:
    run()
finally:
    if _daemon is not None:
        _daemon.stop()
    shutil.rmtree(_state, ignore_errors=True)
