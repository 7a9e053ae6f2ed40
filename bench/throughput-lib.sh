# Helpers the throughput benchmarks (bench/proxy.sh, bench/tls.sh) share; sourced, not run. They start what they
# measure on 127.0.0.1, record every PID they start in `pids` and stop those (and only those) when the script exits.
#
# A script sets three arrays naming its targets, index by index: bench_names (how the tables call them),
# bench_ports, bench_flags (extra redis-benchmark flags of that target, e.g. its TLS certificates; "" for none),
# and bench_base (name -> the name of the target its ratio is to), then calls bench_rounds and bench_table for each
# redis-benchmark configuration. With bench_redis_pid (the redis-server's PID) and bench_proxy_pids (index by index:
# the PID of the proxy in front of that target, "" for none) set too, bench_rounds also measures the CPU each request
# cost redis-benchmark, redis and the proxy, and bench_cpu_table prints it.
# shellcheck shell=bash

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# seconds one redis-benchmark may take before the script gives up (every load here is bounded in count and time)
bench_timeout=${SKEP_BENCH_TIMEOUT:-600}

# bench_need HINT TOOL...: exits saying how to install them (HINT) when a tool is missing
bench_need() {
    local hint=$1 tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$tool not found: $hint" >&2; exit 1; }
    done
}

# builds agent/target/skep.jar when it is not there
bench_jar() {
    [[ -f "$bench_root/agent/target/skep.jar" ]] || (cd "$bench_root" && ./mvnw -B -q -DskipTests -pl agent package)
}

# bench_start: a run directory for logs and files ($run), and the PIDs to stop at exit ($pids)
bench_start() {
    run="$(mktemp -d /tmp/skep-bench-XXXXXX)"
    pids=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}

# bench_agent NAME JAR REDIS PEER_PORT HTTP_PORT SENTINEL_PORT [FLAG...]: starts a Skep agent from JAR as a one-node
# hive of its own (its only peer is itself, so it promotes REDIS, host:port, and proxies to it), with no read port,
# its log in $run/NAME.log; FLAGs add its write ports (--proxy-port, --tls-proxy-port) and anything else. Its JVM
# options: $bench_java_opts when set, else $SKEP_JAVA_OPTS.
bench_agent() {
    local name=$1 jar=$2 redis=$3 peer=$4 http=$5 sentinel=$6
    shift 6
    # shellcheck disable=SC2086 # a list of words
    java ${bench_java_opts-${SKEP_JAVA_OPTS:-}} -jar "$jar" agent --redis "$redis" --bind 127.0.0.1 \
        --peers "127.0.0.1:$peer" --peer-port "$peer" --http-port "$http" --sentinel-port "$sentinel" \
        --read-port 0 "$@" >"$run/$name.log" 2>&1 &
    pids+=($!)
}

# bench_await PORT [REDIS-CLI FLAG...]: waits (30 s at most) until a SET through PORT answers OK, or exits
bench_await() {
    local port=$1 _
    shift
    for _ in $(seq 1 300); do
        [[ "$(redis-cli -p "$port" "$@" SET bench:ready 1 2>/dev/null)" == OK ]] && return 0
        sleep 0.1
    done
    echo "target on port $port did not come up (logs in $run)" >&2
    exit 1
}

# bench_ticks PID...: the user + system CPU clock ticks the processes have used so far
bench_ticks() {
    local t=0 p f
    for p in "$@"; do
        read -ra f <"/proc/$p/stat"
        t=$((t + f[13] + f[14]))
    done
    echo "$t"
}

# the ticks of this script's children that have ended and been waited for (redis-benchmark, through timeout and $(...))
bench_child_ticks() {
    local f
    read -ra f <"/proc/$$/stat"
    echo $((f[15] + f[16]))
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# bench_rounds ROUNDS REQUESTS CONFIG [ROTATE]: runs `redis-benchmark -t set,get -n REQUESTS CONFIG --csv` against
# every target in alternation, ROUNDS times, and collects ops/s, p50 and p99 in rps, p50, p99 ("name:SET" -> the
# values of every round). With ROTATE=1 each round starts one target further on, so that no target always runs
# right after the same other one.
bench_rounds() {
    local rounds=$1 n=$2 cfg=$3 rotate=${4:-0} count=${#bench_names[@]} r k i out test v_rps _avg _min v50 _p95 v99 _max
    local cpu=0 proxy c0 r0 x0 per
    [[ -n "${bench_redis_pid:-}" ]] && cpu=1
    # µs of CPU per request: ticks * 10^6 / ticks per second / requests (SET and GET: 2n)
    per="1000000 / $(getconf CLK_TCK) / (2 * $n)"
    declare -gA rps=() p50=() p99=() cpu_client=() cpu_redis=() cpu_proxy=()
    for r in $(seq 0 $((rounds - 1))); do
        for k in $(seq 0 $((count - 1))); do
            i=$k
            [[ "$rotate" == 1 ]] && i=$(((k + r) % count))
            if ((cpu)); then
                proxy=${bench_proxy_pids[$i]:-}
                c0=$(bench_child_ticks); r0=$(bench_ticks "$bench_redis_pid"); x0=0
                [[ -n "$proxy" ]] && x0=$(bench_ticks "$proxy")
            fi
            # shellcheck disable=SC2086 # cfg and the flags are lists of words
            out=$(timeout "$bench_timeout" redis-benchmark -p "${bench_ports[$i]}" ${bench_flags[$i]} -t set,get -n "$n" \
                $cfg --csv 2>/dev/null) || {
                echo "redis-benchmark against ${bench_names[$i]} (port ${bench_ports[$i]}) failed or took over" \
                    "$bench_timeout s (logs in $run)" >&2
                exit 1
            }
            if ((cpu)); then
                cpu_client[${bench_names[$i]}]+="$(echo "scale=3; ($(bench_child_ticks) - $c0) * $per" | bc) "
                cpu_redis[${bench_names[$i]}]+="$(echo "scale=3; ($(bench_ticks "$bench_redis_pid") - $r0) * $per" | bc) "
                if [[ -n "$proxy" ]]; then
                    cpu_proxy[${bench_names[$i]}]+="$(echo "scale=3; ($(bench_ticks "$proxy") - $x0) * $per" | bc) "
                fi
            fi
            # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
            while IFS=, read -r test v_rps _avg _min v50 _p95 v99 _max; do
                test=${test//\"/}
                [[ "$test" == SET || "$test" == GET ]] || continue
                rps[${bench_names[$i]}:$test]+="${v_rps//\"/} "
                p50[${bench_names[$i]}:$test]+="${v50//\"/} "
                p99[${bench_names[$i]}:$test]+="${v99//\"/} "
            done <<<"$out"
        done
    done
}

# bench_table CONFIG: per target and test, the median ops/s, its ratio to its base target (bench_base), p50, p99
bench_table() {
    local cfg=$1 width=11 name test key base m
    for name in "${bench_names[@]}"; do ((${#name} > width)) && width=${#name}; done
    echo
    echo "== $cfg"
    printf "%-${width}s %-4s %12s %8s %9s %9s\n" target test "ops/s" ratio "p50 ms" "p99 ms"
    for test in SET GET; do
        for name in "${bench_names[@]}"; do
            key="$name:$test"
            base=$(median ${rps[${bench_base[$name]}:$test]})
            m=$(median ${rps[$key]})
            printf "%-${width}s %-4s %12.0f %8.2f %9.3f %9.3f\n" "$name" "$test" "$m" "$(echo "$m / $base" | bc -l)" \
                "$(median ${p50[$key]})" "$(median ${p99[$key]})"
        done
    done
}

# bench_ratio NAME TEST: NAME's median ops/s over its base target's, two decimals
bench_ratio() {
    printf '%.2f' "$(echo "$(median ${rps[$1:$2]}) / $(median ${rps[${bench_base[$1]}:$2]})" | bc -l)"
}

# bench_cpu_table CONFIG: per target, the median CPU per request (SET and GET together) of redis-benchmark, of redis
# and of the proxy, and their sum, in µs (/proc's clock ticks: 10 ms each, so a few per cent at best)
bench_cpu_table() {
    local cfg=$1 width=11 name c r x
    for name in "${bench_names[@]}"; do ((${#name} > width)) && width=${#name}; done
    echo
    echo "== $cfg: CPU per request, µs (user + system, median of the rounds)"
    printf "%-${width}s %15s %8s %8s %8s\n" target redis-benchmark redis proxy total
    for name in "${bench_names[@]}"; do
        c=$(median ${cpu_client[$name]})
        r=$(median ${cpu_redis[$name]})
        x=0
        [[ -n "${cpu_proxy[$name]:-}" ]] && x=$(median ${cpu_proxy[$name]})
        printf "%-${width}s %15.1f %8.1f %8s %8.1f\n" "$name" "$c" "$r" \
            "$([[ -n "${cpu_proxy[$name]:-}" ]] && printf '%.1f' "$x" || echo -)" "$(echo "$c + $r + $x" | bc -l)"
    done
}
