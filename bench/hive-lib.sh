# Helpers of the benchmarks that run a local hive with `skep up` (bench/failover-time.sh, bench/footprint.sh,
# bench/scale.sh); sourced after bench/throughput-lib.sh (bench_ticks, median, $run, $pids), not run. Everything is on
# 127.0.0.1; what they start is recorded in `pids` and stopped by PID.
# shellcheck shell=bash

now_ms() { date +%s%3N; }
# epoch_ms: the same without starting a process (bash 5's EPOCHREALTIME), for polling loops
epoch_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# hive_bench_setup [TOOL...]: what bench/footprint.sh and bench/scale.sh do first (after sourcing throughput-lib.sh,
# server-lib.sh and this): the server (SKEP_SERVER_BIN), the tools they need (redis-server, redis-cli, java, bc and
# TOOLs), bash 5, the jar, a run directory; settle and window, in seconds, from SKEP_FOOTPRINT_SETTLE and
# SKEP_FOOTPRINT_WINDOW (30 each)
hive_bench_setup() {
    settle=${SKEP_FOOTPRINT_SETTLE:-30}
    window=${SKEP_FOOTPRINT_WINDOW:-30}
    bench_server
    bench_need "apt-get install -y redis-server" redis-server redis-cli java bc "$@"
    ((BASH_VERSINFO[0] >= 5)) || { echo "bash 5 or later needed (EPOCHREALTIME)" >&2; exit 1; }
    bench_jar
    bench_start
}

# wait_until SECONDS CMD...: runs CMD every 10 ms until it succeeds (0) or SECONDS pass (1)
wait_until() {
    local deadline=$(($(now_ms) + $1 * 1000))
    shift
    until "$@"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.01
    done
}

# role PORT: the first word of ROLE of the redis on PORT (master, slave), or nothing
role() { redis-cli -p "$1" --no-raw ROLE 2>/dev/null | head -1 | tr -d '"' | sed 's/^1) //' || true; }

# master_port: the port among hive_redis_ports whose redis says it is a master, or nothing
master_port() {
    local p
    for p in "${hive_redis_ports[@]}"; do [[ "$(role "$p")" == master ]] && { echo "$p"; return; }; done
    echo ""
}

# hive_start JAR BASE NODES NAME [UP FLAG...]: starts `java -jar JAR up` with NODES nodes from port BASE, its run
# directory $run/NAME and its output in $run/NAME.log, and waits (120 s at most) until every agent says it is ready.
# Sets hive_pid, hive_log, hive_dir, hive_agents (PID of node i's agent), hive_redis_ports, hive_http_ports and
# hive_write_ports.
hive_start() {
    local jar=$1 base=$2 nodes=$3 name=$4 i line
    shift 4
    hive_dir="$run/$name"
    hive_log="$run/$name.log"
    java -jar "$jar" up --nodes "$nodes" --base-port "$base" --dir "$hive_dir" "$@" >"$hive_log" 2>&1 &
    hive_pid=$!
    pids+=("$hive_pid")
    hive_redis_ports=(); hive_http_ports=(); hive_write_ports=(); hive_agents=()
    for ((i = 0; i < nodes; i++)); do
        hive_redis_ports+=($((base + 10 * i))); hive_write_ports+=($((base + 10 * i + 1)))
        hive_http_ports+=($((base + 10 * i + 5)))
    done
    # `skep up` prints "processes: n0/redis-server=PID ... n0/agent=PID ..." once every node reports a master
    wait_until 120 grep -q '^processes:' "$hive_log" || { echo "hive $name did not come up (log: $hive_log)" >&2; exit 1; }
    line=$(grep -m1 '^processes:' "$hive_log")
    for ((i = 0; i < nodes; i++)); do
        hive_agents+=("$(grep -o "n$i/agent=[0-9]*" <<<"$line" | cut -d= -f2)")
    done
    wait_until 120 hive_all_ready || { echo "hive $name: not every agent ready (log: $hive_log)" >&2; exit 1; }
}

hive_all_ready() {
    local p
    for p in "${hive_http_ports[@]}"; do
        [[ "$(http_get "$p" /readyz)" == 200* ]] || return 1
    done
}

# hive_stop: stops the hive of the last hive_start (SIGTERM to `skep up`, which stops its agents and servers), and
# waits for it (60 s at most, then SIGKILL)
hive_stop() {
    kill -TERM "$hive_pid" 2>/dev/null || true
    wait_until 60 eval '! kill -0 '"$hive_pid"' 2>/dev/null' || kill -KILL "$hive_pid" 2>/dev/null || true
    wait "$hive_pid" 2>/dev/null || true
}

# http_get PORT PATH: "CODE BODY" of GET PATH on 127.0.0.1:PORT, with bash's own /dev/tcp (no process started, so
# that polling disturbs what it measures as little as possible); nothing when nothing answers
http_get() {
    local fd line status="" body="" in_body=0
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$fd"
    # HTTP/1.0: the server closes the connection after its answer
    while IFS= read -r -t 2 -u "$fd" line || [[ -n "$line" ]]; do
        line=${line%$'\r'}
        if [[ -z "$status" ]]; then
            status=$line
        elif ((in_body)); then
            body+="$line"$'\n'
        elif [[ -z "$line" ]]; then
            in_body=1
        fi
    done
    exec {fd}>&-
    [[ "$status" =~ ^HTTP/1\.[01]\ ([0-9]+) ]] || return 0
    echo "${BASH_REMATCH[1]} $body"
}

# cpu_percent SECONDS PID...: per PID, the CPU (user + system) it used over the next SECONDS, in % of one core, one
# per line, all measured over the same window (from /proc: 10 ms ticks, so 1/SECONDS % resolution)
cpu_percent() {
    local secs=$1 p
    shift
    local -a before=()
    for p in "$@"; do before+=("$(bench_ticks "$p")"); done
    sleep "$secs"
    local i=0
    for p in "$@"; do
        echo "scale=2; ($(bench_ticks "$p") - ${before[$i]}) * 100 / $(getconf CLK_TCK) / $secs" | bc
        i=$((i + 1))
    done
}

# rss_mib PID: resident memory in MiB
rss_mib() { echo $(($(awk '/^VmRSS/{print $2}' "/proc/$1/status") / 1024)); }

# started_ms PID: when the process started, in ms since the epoch (/proc's start tick, 10 ms resolution). The boot
# time comes from /proc/uptime (10 ms), not /proc/stat's btime: that one is in whole seconds, truncated, which made
# every process look up to a second older than it is (620 ms on one boot here), as ProcessHandle's startInstant does.
started_ms() {
    local f up now
    read -ra f <"/proc/$1/stat"
    now=$(epoch_ms)
    read -r up _ </proc/uptime
    up=${up/./}
    echo $((now - up * 10 + f[21] * 1000 / $(getconf CLK_TCK)))
}

# mean VALUE...: their arithmetic mean, two decimals
mean() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.2f", NR ? s / NR : 0}'; }

# --- the Sentinel anchor (bench/footprint.sh, bench/crash-failover.sh): real redis-servers and real Sentinels ---

# anchor_redis PORT [REPLICAOF-PORT]: a redis-server on PORT (no persistence, its own directory under $run), a
# replica of REPLICAOF-PORT if given; its PID in redis_pid[PORT] and in pids. Call again to restart a killed one.
declare -A redis_pid
anchor_redis() {
    local p=$1
    mkdir -p "$run/redis-$p"
    redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$run/redis-$p" \
        ${2:+--replicaof 127.0.0.1 $2} >>"$run/redis-$p.log" 2>&1 &
    redis_pid[$p]=$!
    pids+=($!)
}

# anchor_sentinels MASTER-PORT SENTINEL-PORT...: a Sentinel on each port watching the redis on MASTER-PORT as
# mymaster (quorum 2, down-after-milliseconds 1000, and the lines of $sentinel_extra_conf); their PIDs in
# sentinel_pids and in pids
sentinel_pids=()
anchor_sentinels() {
    local master=$1 s
    shift
    for s in "$@"; do
        cat >"$run/sentinel-$s.conf" <<CONF
port $s
bind 127.0.0.1
dir $run
sentinel monitor mymaster 127.0.0.1 $master 2
sentinel down-after-milliseconds mymaster 1000
${sentinel_extra_conf:-}
CONF
        redis-server "$run/sentinel-$s.conf" --sentinel >"$run/sentinel-$s.log" 2>&1 &
        pids+=($!)
        sentinel_pids+=($!)
    done
}
