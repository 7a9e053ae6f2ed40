#!/usr/bin/env bash
# Measures, on a local hive started with `skep up`, how long a failover takes after kill -9 of the master's
# redis: from the kill to a new master confirmed by ROLE on its redis, and to the killed node (restarted
# empty by `skep up` after 1 s) being a linked replica with all the data again. Prints each try and the
# medians, and the agents' resident memory when idle.
#
#   bench/failover-time.sh [TRIES] [BASE_PORT] [KEYS]      defaults: 5 7600 10000
#
# SKEP_SERVER_BIN=<dir>: the hive's servers are that directory's redis-server or valkey-server (e.g. a
# .ci/build-servers build; bench/server-lib.sh) instead of the PATH's.
#
# Everything runs on 127.0.0.1; the script stops the hive it started (by PID) when it ends.
set -euo pipefail
tries=${1:-5}
base=${2:-7600}
keys=${3:-10000}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v redis-cli >/dev/null || { echo "redis-cli not found: apt-get install -y redis-tools" >&2; exit 1; }
source "$root/bench/server-lib.sh"
source "$root/bench/throughput-lib.sh"
source "$root/bench/hive-lib.sh"
bench_server

run="$(mktemp -d /tmp/skep-failover-XXXXXX)"
"$root/skep" up --base-port "$base" --dir "$run/hive" >"$run/up.log" 2>&1 &
up_pid=$!
trap 'kill -TERM $up_pid 2>/dev/null; wait $up_pid 2>/dev/null || true' EXIT

ports=($base $((base + 10)) $((base + 20)))
hive_redis_ports=("${ports[@]}") # master_port (bench/hive-lib.sh) looks among these
# the master that every node's agent agrees on (from the HTTP status of node 0)
agreed_master() {
    java -jar "$root/agent/target/skep.jar" status --json --http "127.0.0.1:$((base + 5))" 2>/dev/null \
        | python3 -c 'import json,sys; s=json.load(sys.stdin); m=s.get("master"); print(m.split(":")[1] if m and s.get("ready") else "")' 2>/dev/null || true
}
steady() { # one master, two linked replicas with all the keys, agents agree
    local m; m=$(master_port); [[ -n "$m" ]] || return 1
    [[ "$(agreed_master)" == "$m" ]] || return 1
    for p in "${ports[@]}"; do
        [[ "$p" == "$m" ]] && continue
        redis-cli -p "$p" INFO replication | grep -q "master_link_status:up" || return 1
        [[ "$(redis-cli -p "$p" DBSIZE)" == "$keys" ]] || return 1
    done
}

echo "waiting for the hive (log: $run/up.log)..."
wait_until 120 bash -c "[[ -n \"\$(redis-cli -p ${ports[0]} PING 2>/dev/null)\" ]]"
wait_until 60 eval '[[ -n "$(master_port)" && "$(agreed_master)" == "$(master_port)" ]]'
m=$(master_port)
echo "master on $m: writing $keys keys"
redis-cli -p "$m" EVAL "for i=1,tonumber(ARGV[1]) do redis.call('SET','key:'..i,i) end return 1" 0 "$keys" >/dev/null
wait_until 30 steady

promote=(); rejoin=()
for t in $(seq 1 "$tries"); do
    m=$(master_port)
    pid=$(redis-cli -p "$m" INFO server | awk -F: '/^process_id:/{print $2}' | tr -d '\r')
    start=$(now_ms)
    kill -9 "$pid"
    # the new master is confirmed when a survivor's redis says ROLE master and the other survivor's redis
    # replicates it (right after the kill both survivors detach, and both say master for a moment)
    survivors=(); for p in "${ports[@]}"; do [[ "$p" != "$m" ]] && survivors+=("$p"); done
    new=""
    while :; do
        a=${survivors[0]}; b=${survivors[1]}
        if [[ "$(role "$a")" == master ]] && redis-cli -p "$b" INFO replication | grep -q "master_port:$a"; then new=$a; break; fi
        if [[ "$(role "$b")" == master ]] && redis-cli -p "$a" INFO replication | grep -q "master_port:$b"; then new=$b; break; fi
        (( $(now_ms) - start < 30000 )) || { echo "no new master after 30 s" >&2; exit 1; }
        sleep 0.005
    done
    promoted=$(( $(now_ms) - start ))
    keys_on_new=$(redis-cli -p "$new" DBSIZE)
    wait_until 60 eval '[[ "$(role '"$m"')" == slave ]] && redis-cli -p '"$m"' INFO replication | grep -q master_link_status:up && [[ "$(redis-cli -p '"$m"' DBSIZE)" == '"$keys"' ]]' \
        || { echo "node on $m did not come back with the data within 60 s" >&2; exit 1; }
    back=$(( $(now_ms) - start ))
    printf 'try %d: master %d killed; %d promoted after %d ms with %d keys; %d back as replica with all keys after %d ms\n' \
        "$t" "$m" "$new" "$promoted" "$keys_on_new" "$m" "$back"
    [[ "$keys_on_new" == "$keys" ]] || { echo "DATA LOST: new master has $keys_on_new of $keys keys" >&2; exit 1; }
    promote+=("$promoted"); rejoin+=("$back")
    wait_until 30 steady
done

echo "kill -9 of the master's redis -> new master confirmed by ROLE: median $(median "${promote[@]}") ms (tries: ${promote[*]})"
echo "kill -9 -> restarted node a replica with all $keys keys: median $(median "${rejoin[@]}") ms (tries: ${rejoin[*]})"
sleep 5
for pid in $(pgrep -f -- "--peer-port $((base + 4))|--peer-port $((base + 14))|--peer-port $((base + 24))" || true); do
    echo "agent pid $pid idle RSS: $(( $(awk '/VmRSS/{print $2}' /proc/$pid/status) / 1024 )) MiB"
done
