#!/usr/bin/env bash
# How the hive's cost grows with its size: for each N, a local hive of N nodes (`skep up --nodes N`, default 250 ms
# heartbeat), and per node:
#   - peer bytes per second sent and received (skep_peer_{sent,received}_bytes_total on /metrics, over the window),
#     also per peer (divided by N-1): constant if the peer traffic grows linearly with the hive;
#   - idle CPU of the agents in % of one core (mean and highest, from /proc over the same window), also per peer;
#   - failover time: kill -9 of the master's redis -> a survivor's redis is master and every other survivor's redis
#     replicates it (as bench/failover-time.sh confirms it, ROLE on each redis), TRIES times, median.
# It ends saying whether a per-peer figure grew by more than half from the smallest hive to the largest (faster than
# linear per node).
#
#   bench/scale.sh [SIZES] [BASE_PORT] [TRIES]     defaults: "3 5 9 15" 8100 3
#
# SKEP_FOOTPRINT_SETTLE (30) and SKEP_FOOTPRINT_WINDOW (30): seconds from every agent ready to the window, and its
# length. Ports BASE.. BASE+10*(N-1)+5. Everything listens on 127.0.0.1; the script stops what it started, by PID.
set -euo pipefail
sizes=(${1:-3 5 9 15})
base=${2:-8100}
tries=${3:-3}
source "$(dirname "${BASH_SOURCE[0]}")/throughput-lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/server-lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/hive-lib.sh"
hive_bench_setup
jar="$bench_root/agent/target/skep.jar"

# resp_role PORT: "master", or "slave MASTER_PORT STATE" (ROLE over bash's /dev/tcp: no process per question, so
# that a large hive is polled quickly); nothing when the redis does not answer
resp_role() {
    local fd l
    local -a lines=()
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
    printf '*1\r\n$4\r\nROLE\r\n' >&"$fd"
    # master: *3 $6 master :offset *N...; slave: *5 $5 slave $9 host :port $9 connected :offset
    while ((${#lines[@]} < 10)) && IFS= read -r -t 1 -u "$fd" l; do
        lines+=("${l%$'\r'}")
        [[ "${lines[2]:-}" == master ]] && break
        [[ "${lines[2]:-}" == slave ]] && ((${#lines[@]} >= 9)) && break
    done
    exec {fd}>&-
    if [[ "${lines[2]:-}" == master ]]; then
        echo master
    elif [[ "${lines[2]:-}" == slave ]]; then
        echo "slave ${lines[5]#:} ${lines[7]:-}"
    fi
}

# confirmed MASTER SURVIVOR...: MASTER's redis says master and every other survivor's replicates it
confirmed() {
    local m=$1 p
    shift
    [[ "$(resp_role "$m")" == master ]] || return 1
    for p in "$@"; do
        [[ "$p" == "$m" ]] && continue
        [[ "$(resp_role "$p")" == "slave $m "* ]] || return 1
    done
}

# steady: one master, every other redis a connected replica of it
steady() {
    local m
    m=$(master_port)
    [[ -n "$m" ]] && confirmed "$m" "${hive_redis_ports[@]}" || return 1
    local p
    for p in "${hive_redis_ports[@]}"; do
        [[ "$p" == "$m" ]] || [[ "$(resp_role "$p")" == "slave $m connected" ]] || return 1
    done
}

# peer_bytes PORT: "SENT RECEIVED MESSAGES_SENT" of that agent's counters
peer_bytes() {
    local m
    m=$(http_get "$1" /metrics)
    awk '/^skep_peer_sent_bytes_total/{s=$2} /^skep_peer_received_bytes_total/{r=$2} /^skep_peer_messages_sent_total/{n=$2}
        END {printf "%d %d %d\n", s, r, n}' <<<"$m"
}

declare -A r_cpu=() r_cpu_max=() r_sent=() r_recv=() r_fail=() r_msgs=()
echo "sizes ${sizes[*]}, settle $settle s, window $window s, $tries kills each; logs in $run"
for n in "${sizes[@]}"; do
    hive_start "$jar" "$base" "$n" "hive-$n"
    sleep "$settle"
    declare -a b0=() b1=()
    for p in "${hive_http_ports[@]}"; do b0+=("$(peer_bytes "$p")"); done
    mapfile -t c < <(cpu_percent "$window" "${hive_agents[@]}")
    for p in "${hive_http_ports[@]}"; do b1+=("$(peer_bytes "$p")"); done
    sent=(); recv=(); msgs=()
    for i in "${!b0[@]}"; do
        read -r s0 v0 n0 <<<"${b0[$i]}"; read -r s1 v1 n1 <<<"${b1[$i]}"
        sent+=($(((s1 - s0) / window))); recv+=($(((v1 - v0) / window))); msgs+=($(((n1 - n0) / window)))
    done
    r_msgs[$n]=$(mean "${msgs[@]}")
    r_cpu[$n]=$(mean "${c[@]}"); r_cpu_max[$n]=$(printf '%s\n' "${c[@]}" | sort -g | tail -1)
    r_sent[$n]=$(mean "${sent[@]}"); r_recv[$n]=$(mean "${recv[@]}")
    times=()
    for t in $(seq 1 "$tries"); do
        wait_until 60 steady || { echo "hive of $n not steady (log: $hive_log)" >&2; exit 1; }
        m=$(master_port)
        pid=$(redis-cli -p "$m" INFO server | awk -F: '/^process_id:/{print $2}' | tr -d '\r')
        survivors=(); for p in "${hive_redis_ports[@]}"; do [[ "$p" != "$m" ]] && survivors+=("$p"); done
        start=$(epoch_ms)
        kill -9 "$pid"
        new=""
        while [[ -z "$new" ]]; do
            for p in "${survivors[@]}"; do
                [[ "$(resp_role "$p")" == master ]] && confirmed "$p" "${survivors[@]}" && { new=$p; break; }
            done
            (($(epoch_ms) - start < 30000)) || { echo "no new master 30 s after the kill (N=$n)" >&2; exit 1; }
        done
        times+=($(($(epoch_ms) - start)))
    done
    r_fail[$n]=$(median "${times[@]}")
    printf 'N=%-2d idle CPU %% per agent: %s; peer bytes/s per node sent %s received %s (%s messages/s sent); failover ms: %s\n' \
        "$n" "${c[*]}" "${r_sent[$n]}" "${r_recv[$n]}" "${r_msgs[$n]}" "${times[*]}"
    hive_stop
done

echo
echo "== per node (idle CPU: mean and highest agent; bytes: mean of the nodes; per peer: divided by N-1)"
printf '%3s %8s %8s %11s %11s %13s %9s %11s %13s\n' N "CPU %" "max %" "sent B/s" "recv B/s" "sent B/s/peer" "B/message" "CPU %/peer" \
    "failover ms"
for n in "${sizes[@]}"; do
    printf '%3d %8.2f %8.2f %11.0f %11.0f %13.0f %9.0f %11.3f %13.0f\n' "$n" "${r_cpu[$n]}" "${r_cpu_max[$n]}" "${r_sent[$n]}" \
        "${r_recv[$n]}" "$(echo "${r_sent[$n]} / ($n - 1)" | bc -l)" "$(echo "${r_sent[$n]} / ${r_msgs[$n]}" | bc -l)" \
        "$(echo "${r_cpu[$n]} / ($n - 1)" | bc -l)" "${r_fail[$n]}"
done
first=${sizes[0]}; last=${sizes[-1]}
for what in sent cpu; do
    if [[ $what == sent ]]; then a=${r_sent[$first]}; z=${r_sent[$last]}; else a=${r_cpu[$first]}; z=${r_cpu[$last]}; fi
    ratio=$(echo "($z / ($last - 1)) / ($a / ($first - 1))" | bc -l)
    verdict="linear or less"
    (($(echo "$ratio > 1.5" | bc -l))) && verdict="FASTER THAN LINEAR"
    printf '%s per node per peer, N=%d over N=%d: %.2f (%s)\n' "$what" "$last" "$first" "$ratio" "$verdict"
done
