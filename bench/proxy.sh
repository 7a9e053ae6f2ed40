#!/usr/bin/env bash
# Compares, in one run, clients talking to redis directly, through HAProxy (TCP mode with the role:master
# tcp-check that HA charts use), through twemproxy, and through Skep's write port (a one-node hive), all
# in front of the same redis-server. For each configuration it runs redis-benchmark against each target in
# alternation for several rounds and prints the median ops/s, p50 and p99 per target and its ratio to
# direct redis. Skep runs twice, as separate one-node hives on the same redis: with its defaults, and with
# --spin-us 50 (an idle event loop polls for redis's reply a while before it sleeps), to show what the
# polling buys in latency and costs in throughput and tail latency.
#
#   bench/proxy.sh [ROUNDS] [REQUESTS] [BASE_PORT]     defaults: 3 200000 7900
#
# SKEP_COMPARE_JAR=path/to/other/skep.jar: the second Skep target runs that build instead, with the same flags as
# the first (no --spin-us), as "skep-cmp": two builds compared in one run, in alternation (before/after a change).
#
# Needs redis-server, redis-benchmark, haproxy and nutcracker (Debian: apt-get install -y redis-server
# haproxy nutcracker). Everything listens on 127.0.0.1; the script stops what it started, by PID.
set -euo pipefail
rounds=${1:-3}
requests=${2:-200000}
base=${3:-7900}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for tool in redis-server redis-benchmark redis-cli haproxy nutcracker java; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install -y redis-server haproxy nutcracker" >&2; exit 1; }
done
[[ -f "$root/agent/target/skep.jar" ]] || (cd "$root" && ./mvnw -B -q -DskipTests -pl agent package)

redis_port=$base; haproxy_port=$((base + 1)); twem_port=$((base + 2)); skep_port=$((base + 3))
peer_port=$((base + 4)); http_port=$((base + 5))
skep1_port=$((base + 7)); peer1_port=$((base + 8)); http1_port=$((base + 9)); sentinel_port=$((base + 10))
sentinel1_port=$((base + 11))
run="$(mktemp -d /tmp/skep-bench-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$run" >"$run/redis.log" 2>&1 &
pids+=($!)

cat >"$run/haproxy.cfg" <<EOF
global
    maxconn 4000
defaults
    mode tcp
    timeout connect 1s
    timeout client 60s
    timeout server 60s
frontend redis_write
    bind 127.0.0.1:$haproxy_port
    default_backend redis_master
backend redis_master
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    tcp-check send info\ replication\r\n
    tcp-check expect string role:master
    tcp-check send QUIT\r\n
    tcp-check expect string +OK
    server r0 127.0.0.1:$redis_port check inter 1s
EOF
haproxy -f "$run/haproxy.cfg" -db >"$run/haproxy.log" 2>&1 &
pids+=($!)

cat >"$run/twemproxy.yml" <<EOF
bench:
  listen: 127.0.0.1:$twem_port
  hash: fnv1a_64
  distribution: ketama
  redis: true
  server_connections: 1
  servers:
   - 127.0.0.1:$redis_port:1
EOF
nutcracker -c "$run/twemproxy.yml" -o "$run/twemproxy.log" -s $((base + 6)) &
pids+=($!)

java ${SKEP_JAVA_OPTS:-} -jar "$root/agent/target/skep.jar" agent --redis "127.0.0.1:$redis_port" --bind 127.0.0.1 \
    --peers "127.0.0.1:$peer_port" --peer-port "$peer_port" --http-port "$http_port" \
    --proxy-port "$skep_port" --read-port 0 --sentinel-port "$sentinel_port" >"$run/skep.log" 2>&1 &
pids+=($!)
# a second agent on the same redis, whose event loops poll for replies (or another build: SKEP_COMPARE_JAR): a hive of
# one of its own (it does not know the first agent), so it too finds the redis master and both simply proxy to it
second_jar="$root/agent/target/skep.jar"; second_flags=(--spin-us 50); second_name=skep-spin
if [[ -n "${SKEP_COMPARE_JAR:-}" ]]; then
    second_jar=$SKEP_COMPARE_JAR; second_flags=(); second_name=skep-cmp
fi
java ${SKEP_JAVA_OPTS:-} -jar "$second_jar" agent --redis "127.0.0.1:$redis_port" --bind 127.0.0.1 \
    --peers "127.0.0.1:$peer1_port" --peer-port "$peer1_port" --http-port "$http1_port" "${second_flags[@]}" \
    --proxy-port "$skep1_port" --read-port 0 --sentinel-port "$sentinel1_port" >"$run/$second_name.log" 2>&1 &
pids+=($!)

ready() { [[ "$(redis-cli -p "$1" SET bench:ready 1 2>/dev/null)" == OK ]]; }
for p in $redis_port $haproxy_port $twem_port $skep_port $skep1_port; do
    for _ in $(seq 1 300); do ready "$p" && break; sleep 0.1; done
    ready "$p" || { echo "target on port $p did not come up (logs in $run)" >&2; exit 1; }
done

names=(redis haproxy twemproxy skep "$second_name")
ports=($redis_port $haproxy_port $twem_port $skep_port $skep1_port)
configs=("-c 50 -P 1" "-c 50 -P 16" "-c 1 -P 1")

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "redis-benchmark -t set,get -n $requests, $rounds rounds, targets in alternation; logs in $run"
for cfg in "${configs[@]}"; do
    n=$requests
    [[ "$cfg" == "-c 1 -P 1" ]] && n=$((requests / 10))
    declare -A rps=() p50=() p99=()
    for r in $(seq 1 "$rounds"); do
        for i in "${!names[@]}"; do
            out=$(redis-benchmark -p "${ports[$i]}" -t set,get -n "$n" $cfg --csv 2>/dev/null)
            # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
            while IFS=, read -r test v_rps _avg _min v50 _p95 v99 _max; do
                test=${test//\"/}; [[ "$test" == SET || "$test" == GET ]] || continue
                key="${names[$i]}:$test"
                rps[$key]+="${v_rps//\"/} "; p50[$key]+="${v50//\"/} "; p99[$key]+="${v99//\"/} "
            done <<<"$out"
        done
    done
    echo
    echo "== $cfg"
    printf '%-11s %-4s %12s %8s %9s %9s\n' target test "ops/s" ratio "p50 ms" "p99 ms"
    for test in SET GET; do
        direct=$(median ${rps[redis:$test]})
        for name in "${names[@]}"; do
            key="$name:$test"
            m=$(median ${rps[$key]})
            printf '%-11s %-4s %12.0f %8.2f %9.3f %9.3f\n' "$name" "$test" "$m" "$(echo "$m / $direct" | bc -l)" \
                "$(median ${p50[$key]})" "$(median ${p99[$key]})"
        done
    done
    unset rps p50 p99
done
