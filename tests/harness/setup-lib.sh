# Sourced by tests/harness/store-setups/*.sh (not run by tests/run itself): the suite binary
# in BIN, a scratch DIR, processes started in PIDS and stopped by PID on exit, and
# free_ports. Usage: `. "$(dirname "$0")/../setup-lib.sh" "$@"`.
set -u
BIN=$1
DIR=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$DIR"
}
trap cleanup EXIT

# free_ports N: N distinct free loopback ports (all bound at once, so never the same twice).
free_ports() {
    /usr/bin/python3 -c 'import socket,sys
ss=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}
