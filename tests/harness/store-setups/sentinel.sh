#!/usr/bin/env bash
# Runs the store contract suite ($1) against Redis Sentinel on free loopback ports: a master,
# two replicas and one sentinel (quorum 1, down-after 1000 ms), with durable writes waiting
# for one replica. Two replicas, so that after a failover the promoted master still has one
# and durable writes can be acknowledged again. Then the failover test kills the master by
# PID during a stream of durable writes. Stops what it started by PID; exits with the
# suites' status, ending with the sum of their `N passed, N failed`.
. "$(dirname "$0")/../setup-lib.sh" "$@"

# node NAME PORT [ARGS...]: a redis-server with its own dir, in the background.
node() {
    local name=$1 port=$2; shift 2
    mkdir -p "$DIR/$name"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$DIR/$name" --save '' \
        --appendonly no --repl-diskless-sync-delay 0 --daemonize no --maxmemory 512mb \
        --logfile "$DIR/$name/redis.log" "$@" &
    PIDS+=($!)
}

wait_for() { # wait_for SECONDS COMMAND...: polls until the command succeeds
    local n=$(($1 * 10)); shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "sentinel.sh: timed out waiting for: $*" >&2
    return 1
}

read -r MPORT R1PORT R2PORT SPORT <<<"$(free_ports 4)"
node master "$MPORT"
MASTER_PID=${PIDS[-1]}
wait_for 5 redis-cli -p "$MPORT" ping || exit 1
node replica1 "$R1PORT" --replicaof 127.0.0.1 "$MPORT"
node replica2 "$R2PORT" --replicaof 127.0.0.1 "$MPORT"
synced() { redis-cli -p "$MPORT" info replication | grep -c 'state=online' | grep -qx 2; }
known() { [ "$(redis-cli -p "$SPORT" sentinel replicas authd | grep -c '^ip$')" -eq 2 ]; }
wait_for 10 synced || exit 1
mkdir -p "$DIR/sentinel"
cat >"$DIR/sentinel/sentinel.conf" <<CONF
port $SPORT
bind 127.0.0.1
dir $DIR/sentinel
logfile $DIR/sentinel/sentinel.log
sentinel monitor authd 127.0.0.1 $MPORT 1
sentinel down-after-milliseconds authd 1000
sentinel failover-timeout authd 5000
sentinel parallel-syncs authd 2
CONF
redis-server "$DIR/sentinel/sentinel.conf" --sentinel --daemonize no &
PIDS+=($!)

wait_for 15 known || exit 1

URL="redis-sentinel://127.0.0.1:$SPORT/authd"
AUTHD_TEST_STORE=$URL AUTHD_TEST_DURABLE_REPLICAS=1 "$BIN" | tee "$DIR/suite.out"
rc1=${PIPESTATUS[0]}
AUTHD_TEST_STORE=$URL AUTHD_TEST_DURABLE_REPLICAS=1 AUTHD_TEST_SENTINEL_FAILOVER=1 \
    AUTHD_TEST_MASTER_PID=$MASTER_PID "$BIN" sentinel_failover | tee "$DIR/failover.out"
rc2=${PIPESTATUS[0]}

p=0 f=0
for o in "$DIR/suite.out" "$DIR/failover.out"; do
    line=$(tail -n 1 "$o")
    p=$((p + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")))
    f=$((f + $(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
done
echo "$p passed, $f failed"
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
