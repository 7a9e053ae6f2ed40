#!/usr/bin/env bash
# The agent's footprint on a local hive started with `skep up` (3 nodes, the default 250 ms heartbeat, the JVM
# options `skep up` gives its agents), beside a real Redis Sentinel's in the same run:
#   - idle CPU of each agent, in % of one core, from /proc over a window (after the hive has settled);
#   - resident memory (RSS) of each agent idle, and of node 0's agent under load: redis-benchmark through its write
#     port (-c 50 -P 16, bounded in requests and time), the highest RSS sampled during the load, and the ops/s;
#   - start-up: node 1's agent is killed (kill -9) and `skep up` starts it again; from the new process's start
#     (/proc) to its /livez answering 200, and to its /api/status showing a live peer (a peer's message received).
# The anchor: three redis-sentinel processes (redis-server --sentinel, down-after-milliseconds 1000) watching a
# master and two replicas of their own, measured over the same idle window. Two floors of the JVM's own, started with
# the JVM options of the first hive's agents (bench/floor/, compiled here with javac): "jvm-floor", a JVM that only
# sleeps, and "netty-floor", the same JVM serving an idle Netty echo port with the Netty of skep.jar: their RSS is
# what any agent on this JVM pays before its own code.
#
#   bench/footprint.sh [ROUNDS] [BASE_PORT] [REQUESTS]     defaults: 3 8100 200000
#
# SKEP_COMPARE_JAR=path/to/other/skep.jar: that build runs too, as "skep-cmp", with the JVM options of its own
# `skep up`, in alternation with this one (one hive at a time, same ports): before/after a change in one run.
# A copied jar does not use the class-data archive made beside its first path (the archive records the class path):
# make it again beside the copy, or the "before" runs without it and starts slower:
#   java -XX:ArchiveClassesAtExit=DIR/skep.jsa -Xlog:cds=off -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
#        -cp DIR/skep.jar dev.skep.app.CdsTraining
# SKEP_FOOTPRINT_SETTLE (30) and SKEP_FOOTPRINT_WINDOW (30): seconds from every agent ready to the idle window, and
# the window's length (a tick is 10 ms: the resolution is 1/WINDOW % of a core).
#
# Ports: BASE.. BASE+25 (the hive), BASE+300.. BASE+312 (the Sentinel anchor). Everything listens on 127.0.0.1; the
# script stops what it started, by PID.
set -euo pipefail
rounds=${1:-3}
base=${2:-8100}
requests=${3:-200000}
source "$(dirname "${BASH_SOURCE[0]}")/throughput-lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/hive-lib.sh"
hive_bench_setup redis-benchmark
bench_need "a JDK: apt-get install -y openjdk-17-jdk-headless" javac

targets=(skep); jars=("$bench_root/agent/target/skep.jar")
if [[ -n "${SKEP_COMPARE_JAR:-}" ]]; then
    targets+=(skep-cmp); jars+=("$SKEP_COMPARE_JAR")
fi

# a way to wait a few ms without starting a process: read from a FIFO nobody writes to
mkfifo "$run/never"
exec {never}<>"$run/never"
pause() { read -r -t "$1" -u "$never" _ || true; }

# --- the anchor: 3 sentinels watching a master and 2 replicas of their own
s_redis=($((base + 300)) $((base + 301)) $((base + 302))); s_ports=($((base + 310)) $((base + 311)) $((base + 312)))
anchor_redis "${s_redis[0]}"
anchor_redis "${s_redis[1]}" "${s_redis[0]}"
anchor_redis "${s_redis[2]}" "${s_redis[0]}"
anchor_sentinels "${s_redis[0]}" "${s_ports[@]}"
sentinels=("${sentinel_pids[@]}")
wait_until 60 eval '[[ "$(redis-cli -p '"${s_ports[0]}"' SENTINEL master mymaster 2>/dev/null | grep -A1 -x num-other-sentinels | tail -1)" == 2 ]]' \
    || { echo "the sentinels did not find each other (logs in $run)" >&2; exit 1; }

# the floors, compiled now, started with the first hive's agents' JVM options (floor_start)
javac -d "$run/floor" "$bench_root/bench/floor/Floor.java"
javac -d "$run/floor" -cp "${jars[0]}" "$bench_root/bench/floor/NettyFloor.java"
floors=(); floor_names=(jvm-floor netty-floor)
# floor_start AGENT_PID: the two floor JVMs, with that agent's JVM options but its class-data archive (the JDK's own
# archive stays on), and its environment's MALLOC_ARENA_MAX
floor_start() {
    local opts=() a arena
    mapfile -d '' -t a <"/proc/$1/cmdline"
    for x in "${a[@]:1}"; do
        [[ "$x" == -cp || "$x" == -jar ]] && break
        [[ "$x" == -XX:SharedArchiveFile=* ]] || opts+=("$x")
    done
    arena=$(tr '\0' '\n' <"/proc/$1/environ" | grep '^MALLOC_ARENA_MAX=' || echo MALLOC_ARENA_MAX=)
    env "$arena" "${a[0]}" "${opts[@]}" -cp "$run/floor" Floor >"$run/jvm-floor.log" 2>&1 &
    pids+=($!); floors+=($!)
    env "$arena" "${a[0]}" "${opts[@]}" -Dio.netty.jfr.enabled=false -cp "$run/floor:${jars[0]}" NettyFloor \
        >"$run/netty-floor.log" 2>&1 &
    pids+=($!); floors+=($!)
    wait_until 30 eval 'grep -qx up "$run/jvm-floor.log" && grep -qx up "$run/netty-floor.log"' \
        || { echo "the floor JVMs did not start (logs in $run)" >&2; exit 1; }
}

# restart_times NODE: kill -9 of that node's agent; `skep up` starts it again after 1 s. Prints "LIVEZ_MS PEER_MS":
# from the new process's start to /livez 200, and to /api/status listing a live peer besides itself.
restart_times() {
    local i=$1 port=${hive_http_ports[$1]} before pid start t_live="" t_peer="" deadline
    before=$(grep -c "node $i: agent restarted" "$hive_log" || true)
    kill -9 "${hive_agents[$i]}"
    wait_until 20 eval '(( $(grep -c "node '"$i"': agent restarted" "$hive_log" || true) > '"$before"' ))' \
        || { echo "agent of node $i not restarted (log: $hive_log)" >&2; exit 1; }
    pid=$(grep "node $i: agent restarted" "$hive_log" | tail -1 | grep -o 'pid [0-9]*' | cut -d' ' -f2)
    hive_agents[i]=$pid
    start=$(started_ms "$pid")
    deadline=$(($(epoch_ms) + 30000))
    until [[ "$(http_get "$port" /livez)" == 200* ]]; do
        (($(epoch_ms) < deadline)) || { echo "no /livez from the restarted agent (pid $pid)" >&2; exit 1; }
        pause 0.005
    done
    t_live=$(epoch_ms)
    # the query marks this as a peer's poll: an operator's view would make this build ask its peers first
    until [[ "$(http_get "$port" '/api/status?poll=traffic' | grep -o '"alive":true' | wc -l)" -ge 2 ]]; do
        (($(epoch_ms) < deadline)) || { echo "the restarted agent (pid $pid) heard no peer" >&2; exit 1; }
        pause 0.005
    done
    t_peer=$(epoch_ms)
    # the agent's own figure, from its log (builds that log the first status heard from a peer)
    logged=$(grep -o 'first status from a peer: .*, [0-9]* ms after' "$hive_dir/node-$i/agent.log" 2>/dev/null | tail -1 \
        | grep -o '[0-9]* ms after' | cut -d' ' -f1 || true)
    echo "$((t_live - start)) $((t_peer - start)) ${logged:--}"
}

declare -A cpu=() cpu_max=() rss=() rss_max=() rss_load=() ops_set=() ops_get=() livez=() peer=() f_rss=()
s_cpu=(); s_rss=()
echo "rounds $rounds, settle $settle s, idle window $window s, load: redis-benchmark -t set,get -n $requests -c 50 -P 16; logs in $run"
for r in $(seq 1 "$rounds"); do
    for k in "${!targets[@]}"; do
        # alternate which build goes first
        t=$(((k + r) % ${#targets[@]}))
        name=${targets[$t]}
        hive_start "${jars[$t]}" "$base" 3 "$name-$r"
        ((${#floors[@]})) || floor_start "${hive_agents[0]}"
        sleep "$settle"
        mapfile -t c < <(cpu_percent "$window" "${hive_agents[@]}" "${sentinels[@]}")
        agent_cpu=("${c[@]:0:3}"); sent_cpu=("${c[@]:3}")
        agent_rss=(); for p in "${hive_agents[@]}"; do agent_rss+=("$(rss_mib "$p")"); done
        for p in "${sentinels[@]}"; do s_rss+=("$(rss_mib "$p")"); done
        s_cpu+=("${sent_cpu[@]}")
        # RSS of node 0's agent under load, sampled every 0.2 s
        out="$run/$name-$r.bench.csv"
        timeout "$bench_timeout" redis-benchmark -p "${hive_write_ports[0]}" -t set,get -n "$requests" -c 50 -P 16 \
            --csv >"$out" 2>/dev/null &
        load=$!
        peak=0
        while kill -0 "$load" 2>/dev/null; do
            m=$(rss_mib "${hive_agents[0]}"); ((m > peak)) && peak=$m
            sleep 0.2
        done
        wait "$load" || { echo "redis-benchmark through ${hive_write_ports[0]} failed (logs in $run)" >&2; exit 1; }
        set_ops=$(awk -F, '$1=="\"SET\""{gsub(/"/,"",$2); print $2}' "$out")
        get_ops=$(awk -F, '$1=="\"GET\""{gsub(/"/,"",$2); print $2}' "$out")
        read -r live pe logged < <(restart_times 1)
        printf '%-8s round %d: idle CPU %% %s; RSS idle MiB %s; RSS under load %d MiB (SET %s, GET %s ops/s); /livez %d ms, peer %d ms after start (agent log: %s)\n' \
            "$name" "$r" "${agent_cpu[*]}" "${agent_rss[*]}" "$peak" "$set_ops" "$get_ops" "$live" "$pe" "$logged"
        cpu[$name]+="$(mean "${agent_cpu[@]}") "
        cpu_max[$name]+="$(printf '%s\n' "${agent_cpu[@]}" | sort -g | tail -1) "
        rss[$name]+="$(mean "${agent_rss[@]}") "
        rss_max[$name]+="$(printf '%s\n' "${agent_rss[@]}" | sort -g | tail -1) "
        rss_load[$name]+="$peak "; ops_set[$name]+="$set_ops "; ops_get[$name]+="$get_ops "
        livez[$name]+="$live "; peer[$name]+="$pe "
        hive_stop
    done
    printf '%-8s round %d: idle CPU %% %s; RSS MiB %s\n' sentinel "$r" "${sent_cpu[*]}" "$(for p in "${sentinels[@]}"; do rss_mib "$p"; done | xargs)"
    for f in 0 1; do
        f_rss[${floor_names[$f]}]+="$(rss_mib "${floors[$f]}") "
    done
    printf 'floors   round %d: RSS MiB jvm-floor %s, netty-floor %s\n' "$r" "$(rss_mib "${floors[0]}")" "$(rss_mib "${floors[1]}")"
done

echo
echo "== medians of $rounds rounds (idle: mean of the 3 agents, and the highest agent)"
printf '%-10s %9s %8s %9s %8s %10s %10s %10s %9s %8s\n' target "CPU %" "max %" "RSS MiB" "max" "load MiB" "SET ops/s" "GET ops/s" "livez ms" "peer ms"
for name in "${targets[@]}"; do
    printf '%-10s %9.2f %8.2f %9.1f %8.0f %10.0f %10.0f %10.0f %9.0f %8.0f\n' "$name" "$(median ${cpu[$name]})" \
        "$(median ${cpu_max[$name]})" "$(median ${rss[$name]})" "$(median ${rss_max[$name]})" \
        "$(median ${rss_load[$name]})" "$(median ${ops_set[$name]})" "$(median ${ops_get[$name]})" \
        "$(median ${livez[$name]})" "$(median ${peer[$name]})"
done
printf '%-10s %9.2f %8.2f %9.1f %8.0f\n' redis-sentinel "$(median "${s_cpu[@]}")" \
    "$(printf '%s\n' "${s_cpu[@]}" | sort -g | tail -1)" "$(median "${s_rss[@]}")" \
    "$(printf '%s\n' "${s_rss[@]}" | sort -g | tail -1)"
for name in "${floor_names[@]}"; do
    printf '%-10s %9s %8s %9.1f\n' "$name" - - "$(median ${f_rss[$name]})"
done
