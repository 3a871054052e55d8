#!/usr/bin/env bash
# Runs the store contract suite ($1) against a standalone redis-server on a free loopback
# port, then again over its unix socket. Stops what it started by PID; exits with the
# suite's status (its last line is the `N passed, N failed` of both runs added up).
. "$(dirname "$0")/../setup-lib.sh" "$@"

PORT=$(free_ports 1)
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$DIR" --save '' --appendonly no --maxmemory 512mb \
    --unixsocket "$DIR/redis.sock" --unixsocketperm 700 --daemonize no \
    --user authd on '>s3cr%t@x' '~*' '&*' '+@all' \
    --logfile "$DIR/redis.log" &
PIDS+=($!)
for _ in $(seq 50); do
    redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
done

AUTHD_TEST_OUTAGE=1 AUTHD_TEST_STORE="redis://authd:s3cr%25t%40x@127.0.0.1:$PORT/3" "$BIN" | tee "$DIR/tcp.out"
rc1=${PIPESTATUS[0]}
AUTHD_TEST_STORE="unix:$DIR/redis.sock?db=4" "$BIN" store_ | tee "$DIR/unix.out"
rc2=${PIPESTATUS[0]}

p=0 f=0
for o in "$DIR/tcp.out" "$DIR/unix.out"; do
    line=$(tail -n 1 "$o")
    p=$((p + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
    f=$((f + $(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
done
echo "$p passed, $f failed"
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
