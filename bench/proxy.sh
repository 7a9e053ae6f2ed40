#!/usr/bin/env bash
# Compares, in one run, clients talking to redis directly, through HAProxy (TCP mode with the role:master
# tcp-check that HA charts use), through twemproxy, and through Skep's write port (a one-node hive), all
# in front of the same redis-server. For each configuration it runs redis-benchmark against each target in
# alternation for several rounds and prints the median ops/s, p50 and p99 per target and its ratio to
# direct redis. Skep runs twice, as separate one-node hives on the same redis: with its defaults, and with
# --spin-us 50 (an idle event loop polls for redis's reply a while before it sleeps), to show what the
# polling buys in latency and costs in throughput and tail latency. After each table, the CPU each request cost
# redis-benchmark, redis and the proxy in front of it (from /proc: steadier than ops/s on a shared machine).
#
#   bench/proxy.sh [ROUNDS] [REQUESTS] [BASE_PORT]     defaults: 3 200000 7900
#
# SKEP_COMPARE_JAR=path/to/other/skep.jar: the second Skep target runs that build instead, with the same flags as
# the first (no --spin-us), as "skep-cmp": two builds compared in one run, in alternation (before/after a change).
#
# SKEP_IO_URING=1: one more Skep target, "skep-uring", the first build with --io-transport io_uring (Netty's io_uring
# transport instead of epoll), as a sixth hive of one on the same redis.
#
# SKEP_COMPARE_JAVA_OPTS="...": the second Skep target runs with these JVM options instead of SKEP_JAVA_OPTS (with
# no --spin-us), as "skep-cmp": two sets of JVM options compared in one run (e.g. `skep up`'s agent options against
# the JVM's defaults); with SKEP_COMPARE_JAR too, that build with these options.
#
# SKEP_SERVER_BIN=<dir>: every target is in front of that directory's redis-server or valkey-server (e.g. a
# .ci/build-servers build; bench/server-lib.sh) instead of the PATH's; redis-benchmark stays the PATH's.
#
# Needs redis-server, redis-benchmark, haproxy and nutcracker (Debian: apt-get install -y redis-server
# haproxy nutcracker). Everything listens on 127.0.0.1; the script stops what it started, by PID.
set -euo pipefail
rounds=${1:-3}
requests=${2:-200000}
base=${3:-7900}
source "$(dirname "${BASH_SOURCE[0]}")/throughput-lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"
bench_server
root=$bench_root
bench_need "apt-get install -y redis-server haproxy nutcracker" redis-server redis-benchmark redis-cli haproxy nutcracker java
bench_jar

redis_port=$base; haproxy_port=$((base + 1)); twem_port=$((base + 2)); skep_port=$((base + 3))
peer_port=$((base + 4)); http_port=$((base + 5))
skep1_port=$((base + 7)); peer1_port=$((base + 8)); http1_port=$((base + 9)); sentinel_port=$((base + 10))
sentinel1_port=$((base + 11))
uring_port=$((base + 12)); peer2_port=$((base + 13)); http2_port=$((base + 14)); sentinel2_port=$((base + 15))
bench_start

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$run" >"$run/redis.log" 2>&1 &
pids+=($!)
bench_redis_pid=$!

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
haproxy_pid=$!

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
twem_pid=$!

bench_agent skep "$root/agent/target/skep.jar" "127.0.0.1:$redis_port" "$peer_port" "$http_port" "$sentinel_port" \
    --proxy-port "$skep_port"
skep_pid=${pids[-1]}
# a second agent on the same redis, whose event loops poll for replies (or another build: SKEP_COMPARE_JAR): a hive of
# one of its own (it does not know the first agent), so it too finds the redis master and both simply proxy to it
second_jar="$root/agent/target/skep.jar"; second_flags=(--spin-us 50); second_name=skep-spin
if [[ -n "${SKEP_COMPARE_JAR:-}" ]]; then
    second_jar=$SKEP_COMPARE_JAR; second_flags=(); second_name=skep-cmp
fi
if [[ -n "${SKEP_COMPARE_JAVA_OPTS+set}" ]]; then
    second_flags=(); second_name=skep-cmp; bench_java_opts=$SKEP_COMPARE_JAVA_OPTS
fi
bench_agent "$second_name" "$second_jar" "127.0.0.1:$redis_port" "$peer1_port" "$http1_port" "$sentinel1_port" \
    --proxy-port "$skep1_port" "${second_flags[@]}"
second_pid=${pids[-1]}
unset bench_java_opts

bench_names=(redis haproxy twemproxy skep "$second_name")
bench_ports=($redis_port $haproxy_port $twem_port $skep_port $skep1_port)
bench_flags=("" "" "" "" "")
# the process in front of redis per target, for the CPU each request costs it (bench_cpu_table)
bench_proxy_pids=("" "$haproxy_pid" "$twem_pid" "$skep_pid" "$second_pid")
if [[ "${SKEP_IO_URING:-}" == 1 ]]; then
    bench_agent skep-uring "$root/agent/target/skep.jar" "127.0.0.1:$redis_port" "$peer2_port" "$http2_port" \
        "$sentinel2_port" --proxy-port "$uring_port" --io-transport io_uring
    bench_names+=(skep-uring); bench_ports+=("$uring_port"); bench_flags+=(""); bench_proxy_pids+=("${pids[-1]}")
fi

for p in "${bench_ports[@]}"; do bench_await "$p"; done
declare -A bench_base=()
for name in "${bench_names[@]}"; do bench_base[$name]=redis; done
configs=("-c 50 -P 1" "-c 50 -P 16" "-c 1 -P 1")

echo "redis-benchmark -t set,get -n $requests, $rounds rounds, targets in alternation; logs in $run"
for cfg in "${configs[@]}"; do
    n=$requests
    [[ "$cfg" == "-c 1 -P 1" ]] && n=$((requests / 10))
    bench_rounds "$rounds" "$n" "$cfg"
    bench_table "$cfg"
    bench_cpu_table "$cfg"
done
