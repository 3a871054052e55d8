#!/usr/bin/env bash
# Runs the store contract suite ($1) against a 3-master Redis Cluster on free loopback ports,
# then the redirect test (MOVED and ASK, by moving empty slots with CLUSTER SETSLOT). Stops
# what it started by PID; exits with the suites' status, ending with the sum of their
# `N passed, N failed`.
. "$(dirname "$0")/../setup-lib.sh" "$@"

wait_for() { # wait_for SECONDS COMMAND...: polls until the command succeeds
    local n=$(($1 * 10)); shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "cluster.sh: timed out waiting for: $*" >&2
    return 1
}

# Each node also needs a cluster bus port (default port + 10000, which may not exist).
read -r -a ALL <<<"$(free_ports 6)"
PORTS=("${ALL[@]:0:3}")
for i in 1 2 3; do
    port=${PORTS[$((i - 1))]}
    mkdir -p "$DIR/n$i"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$DIR/n$i" --save '' --appendonly no --maxmemory 512mb \
        --cluster-enabled yes --cluster-config-file "$DIR/n$i/nodes.conf" \
        --cluster-port "${ALL[$((i + 2))]}" --cluster-node-timeout 2000 --daemonize no --logfile "$DIR/n$i/redis.log" &
    PIDS+=($!)
done
for p in "${PORTS[@]}"; do wait_for 5 redis-cli -p "$p" ping || exit 1; done
redis-cli --cluster create "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" \
    "127.0.0.1:${PORTS[2]}" --cluster-yes >"$DIR/create.log" 2>&1 || {
    cat "$DIR/create.log"
    exit 1
}
cluster_ok() {
    for p in "${PORTS[@]}"; do
        redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' || return 1
    done
}
wait_for 15 cluster_ok || exit 1

URL="redis-cluster://127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]}"
AUTHD_TEST_STORE=$URL "$BIN" | tee "$DIR/suite.out"
rc1=${PIPESTATUS[0]}
AUTHD_TEST_STORE=$URL AUTHD_TEST_CLUSTER_PORTS="${PORTS[*]}" "$BIN" cluster_redirect \
    | tee "$DIR/redirect.out"
rc2=${PIPESTATUS[0]}

p=0 f=0
for o in "$DIR/suite.out" "$DIR/redirect.out"; do
    line=$(tail -n 1 "$o")
    p=$((p + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
    f=$((f + $(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
done
echo "$p passed, $f failed"
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
