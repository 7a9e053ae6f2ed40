#!/usr/bin/env bash
# What TLS costs through Skep's write port, against what it costs on redis itself, in one run. One redis-server
# listens on a plain port and on a TLS port (tls-auth-clients yes: every client, redis-benchmark included, presents
# a certificate the run's CA signed). In front of it, one-node Skep hives of their own (each names only itself as
# peer, as in bench/proxy.sh), all on the same redis:
#
#   skep-openssl         plain write port and TLS write port, --tls-provider openssl; plain to redis
#   skep-jdk             TLS write port, --tls-provider jdk; plain to redis
#   skep-openssl-tlsr    TLS write port, --tls-provider openssl, --tls-redis (TLS to redis's TLS port too)
#   skep-jdk-tlsr        TLS write port, --tls-provider jdk, --tls-redis
#
# (SKEP_BENCH_TLS_REDIS=no leaves out the last two.) redis-benchmark -t set,get runs against every target in
# alternation (each round starting one target further on), ROUNDS rounds per configuration (-c 50 -P 16 and
# -c 50 -P 1), after one warm-up pass through every agent; it prints the median ops/s, p50 and p99 of each target
# with its ratio to direct redis of the same kind (plain targets to plain redis, TLS targets to TLS redis; the TLS
# redis's own ratio is to plain redis) and the CPU each request cost redis-benchmark, redis and the agent, then
# "Skep TLS / direct TLS" per provider next to "Skep plain / direct plain". The certificates (EC P-256) are made
# with openssl in the run directory.
#
#   bench/tls.sh [ROUNDS] [REQUESTS] [BASE_PORT]     defaults: 3 200000 8100 (ports BASE_PORT .. BASE_PORT+44)
#
# Needs redis-server and redis-benchmark built with TLS (Debian's are), openssl and java. Everything listens on
# 127.0.0.1; the script stops what it started, by PID.
set -euo pipefail
rounds=${1:-3}
requests=${2:-200000}
base=${3:-8100}
source "$(dirname "${BASH_SOURCE[0]}")/throughput-lib.sh"
bench_need "apt-get install -y redis-server openssl" redis-server redis-benchmark redis-cli openssl java bc
bench_jar
jar="$bench_root/agent/target/skep.jar"
bench_start

# certificates: a CA, and certificates it signs for 127.0.0.1, usable as server and as client (PKCS#8 keys)
tls="$run/tls"
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/ca.key" -out "$tls/ca.crt" \
    -days 2 -subj "/CN=Skep bench CA" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nkeyUsage=critical,digitalSignature,keyAgreement\n%s\n' \
    'extendedKeyUsage=serverAuth,clientAuth' >"$tls/ext.cnf"
for who in redis agent client; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/$who.key" -out "$tls/$who.csr" \
        -subj "/CN=$who" 2>/dev/null
    openssl x509 -req -in "$tls/$who.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
        -extfile "$tls/ext.cnf" -out "$tls/$who.crt" 2>/dev/null
done
client_tls="--tls --cert $tls/client.crt --key $tls/client.key --cacert $tls/ca.crt"

redis_port=$base; redis_tls_port=$((base + 1))
redis-server --port "$redis_port" --tls-port "$redis_tls_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$run" --tls-cert-file "$tls/redis.crt" --tls-key-file "$tls/redis.key" --tls-ca-cert-file "$tls/ca.crt" \
    --tls-auth-clients yes >"$run/redis.log" 2>&1 &
pids+=($!)
bench_redis_pid=$!

# agent k: ports base+10+10k .. +4: plain write, TLS write, peer, http, Sentinel endpoint
agent_names=(skep-openssl skep-jdk)
agent_flags=("--tls-provider openssl" "--tls-provider jdk")
if [[ "${SKEP_BENCH_TLS_REDIS:-yes}" != no ]]; then
    agent_names+=(skep-openssl-tlsr skep-jdk-tlsr)
    agent_flags+=("--tls-provider openssl --tls-redis" "--tls-provider jdk --tls-redis")
fi
agent_pids=()
for k in "${!agent_names[@]}"; do
    p=$((base + 10 + 10 * k))
    upstream="127.0.0.1:$redis_port"
    [[ "${agent_flags[$k]}" == *--tls-redis* ]] && upstream="127.0.0.1:$redis_tls_port"
    # shellcheck disable=SC2086 # the flags are a list of words
    bench_agent "${agent_names[$k]}" "$jar" "$upstream" $((p + 2)) $((p + 3)) $((p + 4)) \
        --proxy-port "$p" --tls-proxy-port $((p + 1)) --tls-cert-file "$tls/agent.crt" \
        --tls-key-file "$tls/agent.key" --tls-ca-cert-file "$tls/ca.crt" --tls-auth-clients yes ${agent_flags[$k]}
    agent_pids+=("${pids[-1]}")
done

bench_names=(redis skep redis-tls)
bench_ports=($redis_port $((base + 10)) $redis_tls_port)
bench_flags=("" "" "$client_tls")
bench_proxy_pids=("" "${agent_pids[0]}" "")
declare -A bench_base=([redis]=redis [skep]=redis [redis-tls]=redis)
for k in "${!agent_names[@]}"; do
    bench_names+=("${agent_names[$k]}")
    bench_ports+=($((base + 11 + 10 * k)))
    bench_flags+=("$client_tls")
    bench_proxy_pids+=("${agent_pids[$k]}")
    bench_base[${agent_names[$k]}]=redis-tls
done
for i in "${!bench_names[@]}"; do
    # shellcheck disable=SC2086
    bench_await "${bench_ports[$i]}" ${bench_flags[$i]}
done

echo "redis-benchmark -t set,get -n $requests, $rounds rounds, targets in alternation; logs in $run"
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $(openssl version | cut -d' ' -f1-2) (redis," \
    "redis-benchmark); java $(java -version 2>&1 | head -1 | cut -d'"' -f2); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!bench_names[@]}"; do
    [[ -n "${bench_flags[$i]}" ]] || continue
    # shellcheck disable=SC2086
    negotiated=$(timeout 10 openssl s_client -connect "127.0.0.1:${bench_ports[$i]}" -cert "$tls/client.crt" \
        -key "$tls/client.key" -CAfile "$tls/ca.crt" -brief </dev/null 2>&1 |
        sed -n 's/^Protocol version: //p; s/^Ciphersuite: //p' | paste -sd' ' || true)
    printf '%-17s TLS: %s\n' "${bench_names[$i]}" "${negotiated:-?}"
done
for k in "${!agent_names[@]}"; do
    printf '%-17s %s\n' "${agent_names[$k]}" "$(grep -o 'provider=[A-Z]*' "$run/${agent_names[$k]}.log" | head -1)"
done

# warm-up: the agents' JIT compiles their TLS paths before the first measured round
for i in "${!bench_names[@]}"; do
    [[ "${bench_names[$i]}" == skep* ]] || continue
    # shellcheck disable=SC2086
    timeout "$bench_timeout" redis-benchmark -p "${bench_ports[$i]}" ${bench_flags[$i]} -t set,get \
        -n $((requests / 4)) -c 50 -P 16 -q >/dev/null
done

configs=("-c 50 -P 16" "-c 50 -P 1")
declare -A summary=()
for cfg in "${configs[@]}"; do
    bench_rounds "$rounds" "$requests" "$cfg" 1
    bench_table "$cfg"
    bench_cpu_table "$cfg"
    for test in SET GET; do
        for name in skep redis-tls "${agent_names[@]}"; do
            summary[$cfg:$test:$name]=$(bench_ratio "$name" "$test")
        done
    done
done

echo
echo "== Skep / direct, median ops/s (TLS targets over direct TLS redis, plain over direct plain redis)"
header=$(printf '%-11s %-4s %12s %12s' config test "plain skep" "redis tls")
for name in "${agent_names[@]}"; do header+=$(printf ' %17s' "$name"); done
echo "$header" | tee "$run/summary.txt"
for cfg in "${configs[@]}"; do
    for test in SET GET; do
        line=$(printf '%-11s %-4s %12s %12s' "$cfg" "$test" "${summary[$cfg:$test:skep]}" \
            "${summary[$cfg:$test:redis-tls]}")
        for name in "${agent_names[@]}"; do line+=$(printf ' %17s' "${summary[$cfg:$test:$name]}"); done
        echo "$line" | tee -a "$run/summary.txt"
    done
done
echo "(plain skep: Skep plain / direct plain; redis tls: direct TLS / direct plain; then Skep TLS / direct TLS per agent)"
echo "load at the end: $(cut -d" " -f1-3 /proc/loadavg)"
