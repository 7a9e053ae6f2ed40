#!/usr/bin/env bash
# Measures what `--dual-channel-replication` (Valkey's dual-channel-replication-enabled) changes in a full resync:
# a replica killed (kill -9) and restarted empty, as a pod comes back, resyncs from a master holding KEYS keys while
# a writer keeps writing to it. Per try: the time from the restart to the replica linked and done syncing, the
# master's peak memory for its replica's output buffer meanwhile (INFO memory mem_clients_slaves, sampled every
# 20 ms), and the keys the replica then holds. Tries alternate with and without, in one run; prints each and the
# medians.
#
#   SKEP_SERVER_BIN=~/.cache/skep-tools/servers/valkey-8.1.1/bin bench/dual-channel.sh [TRIES] [KEYS] [BASE_PORT]
#   defaults: 3 (each way) 1000000 8300
#
# The servers are run directly, with the settings the agent applies (repl-diskless-sync-delay 0, the option on both
# sides): the option's effect is the server's, and the agent's own part in a resync (pointing the replica at the
# master) is the same either way. Needs a server with the option (Valkey 8.0 and later: .ci/build-servers), and
# redis-benchmark for the writer. Everything runs on 127.0.0.1; the script stops what it started, by PID.
set -euo pipefail
tries=${1:-3}
keys=${2:-1000000}
base=${3:-8300}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/bench/server-lib.sh"
bench_server
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found: apt-get install -y redis-tools" >&2; exit 1; }

run="$(mktemp -d /tmp/skep-dual-channel-XXXXXX)"
pids=(); replica_pid=""; writer_pid=""
cleanup() {
    local p
    for p in "${pids[@]}" $replica_pid $writer_pid; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
master=$base; replica=$((base + 1))
now_ms() { date +%s%3N; }
field() { redis-cli -p "$1" INFO "$2" 2>/dev/null | awk -F: -v f="$3" '$1 == f { sub(/\r/, "", $2); print $2 }'; }

redis-server --port "$master" --bind 127.0.0.1 --save "" --appendonly no --dir "$run" --enable-debug-command local \
    --repl-diskless-sync yes --repl-diskless-sync-delay 0 >"$run/master.log" 2>&1 &
pids+=($!)
until [[ "$(redis-cli -p "$master" PING 2>/dev/null)" == PONG ]]; do sleep 0.05; done
if ! redis-cli -p "$master" CONFIG SET dual-channel-replication-enabled no | grep -q OK; then
    echo "$(redis-server --version): no dual-channel-replication-enabled (Valkey 8.0 and later)" >&2
    exit 1
fi
redis-cli -p "$master" DEBUG POPULATE "$keys" key 100 >/dev/null
echo "master on $master: $keys keys, $(field "$master" memory used_memory_human) used; logs in $run"

# a writer over the whole run, 4 connections, 16 pipelined: SETs over a keyspace of its own a tenth of KEYS (its
# key:<12 digits> names are not DEBUG POPULATE's key:<n>), so the dataset grows by that at most, early on, and the
# tries compare
redis-benchmark -p "$master" -t set -r $((keys / 10)) -n 2000000000 -c 4 -P 16 -d 100 -q >/dev/null 2>&1 &
writer_pid=$!
sleep 5 # the writer's keyspace mostly filled before the first try

# resync MODE NAME: restarts the replica empty with dual-channel MODE (yes|no); sets took_ms, peak_bytes, got_keys
# (globals: it must run in this shell, which keeps the replica's PID for the next kill)
resync() {
    local mode=$1 start peak=0 b dir="$run/replica-$2"
    [[ -n "$replica_pid" ]] && { kill -9 "$replica_pid" 2>/dev/null || true; wait "$replica_pid" 2>/dev/null || true; }
    redis-cli -p "$master" CONFIG SET dual-channel-replication-enabled "$mode" >/dev/null
    mkdir -p "$dir"
    start=$(now_ms)
    # the killed replica's port is free again once it is reaped (above); its run_id is new, its dataset empty
    redis-server --port "$replica" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
        --replicaof 127.0.0.1 "$master" --dual-channel-replication-enabled "$mode" >"$dir/replica.log" 2>&1 &
    replica_pid=$!
    # not up before the new process answers: a PING from it (the old one is gone) comes first
    until [[ "$(redis-cli -p "$replica" PING 2>/dev/null)" == PONG ]]; do
        kill -0 "$replica_pid" 2>/dev/null || { echo "replica exited (log: $dir/replica.log)" >&2; exit 1; }
        sleep 0.01
    done
    while :; do
        b=$(field "$master" memory mem_clients_slaves); [[ -n "$b" ]] && ((b > peak)) && peak=$b
        if [[ "$(field "$replica" replication master_link_status)" == up \
              && "$(field "$replica" replication master_sync_in_progress)" == 0 ]]; then
            break
        fi
        (( $(now_ms) - start < 300000 )) || { echo "no sync within 300 s (logs in $dir)" >&2; exit 1; }
        sleep 0.02
    done
    took_ms=$(( $(now_ms) - start )); peak_bytes=$peak; got_keys=$(redis-cli -p "$replica" DBSIZE)
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
declare -A ms=() peak=()
for t in $(seq 1 "$tries"); do
    for mode in no yes; do
        resync "$mode" "$t-$mode"
        m=$took_ms; p=$peak_bytes; k=$got_keys
        printf 'try %d, dual-channel %-3s: in sync after %6d ms, master peak replica buffer %6.1f MiB, %d keys\n' \
            "$t" "$mode" "$m" "$(echo "$p / 1048576" | bc -l)" "$k"
        ms[$mode]+="$m "; peak[$mode]+="$p "
    done
done
for mode in no yes; do
    # shellcheck disable=SC2086
    printf 'dual-channel %-3s: median %d ms to in sync, median peak replica buffer %.1f MiB (tries: %s)\n' "$mode" \
        "$(median ${ms[$mode]})" "$(echo "$(median ${peak[$mode]}) / 1048576" | bc -l)" "${ms[$mode]% }"
done
echo "writer: redis-benchmark -t set -c 4 -P 16 -d 100 throughout; $(uptime)"
