#!/usr/bin/env bash
# Measures, on a local hive started with `skep up`, the longest stall a client writing through a write port
# sees when the master's redis is killed with kill -9: one client sends INCR in a loop through node 0's write
# port (B+1); each try kills the current master's redis and records the longest gap between two successful
# replies and the error replies received. Prints each try and the median.
#
#   bench/write-stall.sh [TRIES] [BASE_PORT]      defaults: 5 7500
#
# Everything runs on 127.0.0.1; the script stops the hive it started (by PID) when it ends.
set -euo pipefail
tries=${1:-5}
base=${2:-7500}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v redis-cli >/dev/null || { echo "redis-cli not found: apt-get install -y redis-tools" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

run="$(mktemp -d /tmp/skep-stall-XXXXXX)"
"$root/skep" up --base-port "$base" --dir "$run/hive" >"$run/up.log" 2>&1 &
up_pid=$!
trap 'kill -TERM $up_pid 2>/dev/null; wait $up_pid 2>/dev/null || true' EXIT

ports=($base $((base + 10)) $((base + 20)))
master_port() {
    for p in "${ports[@]}"; do
        [[ "$(redis-cli -p "$p" ROLE 2>/dev/null | head -1)" == master ]] \
            && redis-cli -p "$p" INFO replication | grep -q "connected_slaves:2" && { echo "$p"; return; }
    done
    echo ""
}
echo "waiting for the hive (log: $run/up.log)..."
for _ in $(seq 1 600); do [[ -n "$(master_port)" && "$(redis-cli -p $((base + 1)) PING 2>/dev/null)" == PONG ]] && break; sleep 0.1; done

stalls=()
for t in $(seq 1 "$tries"); do
    for _ in $(seq 1 300); do [[ -n "$(master_port)" ]] && break; sleep 0.1; done
    m=$(master_port)
    pid=$(redis-cli -p "$m" INFO server | awk -F: '/^process_id:/{print $2}' | tr -d '\r')
    result=$(python3 - "$((base + 1))" "$pid" <<'EOF'
import os, signal, socket, sys, time
port, victim = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(10)
f = s.makefile("rb")
def incr():
    s.sendall(b"*2\r\n$4\r\nINCR\r\n$5\r\nstall\r\n")
    line = f.readline()
    return line.startswith(b":"), line
start = time.monotonic(); last_ok = start; longest = 0.0; errors = []; killed_at = None; n = 0
while time.monotonic() - start < 4.0 and n < 1_000_000:     # bounded in time and count
    n += 1
    if killed_at is None and time.monotonic() - start > 1.0:
        os.kill(victim, signal.SIGKILL); killed_at = time.monotonic()
    ok, line = incr()
    now = time.monotonic()
    if ok:
        longest = max(longest, now - last_ok); last_ok = now
    else:
        errors.append(line.decode().strip())
print(int(longest * 1000), len(errors), n, "|".join(errors)[:200])
EOF
)
    read -r stall errs sent detail <<<"$result"
    printf 'try %d: master %s killed; longest stall %d ms; %d error replies of %d requests %s\n' "$t" "$m" "$stall" "$errs" "$sent" "${detail:+($detail)}"
    stalls+=("$stall")
    # the killed redis comes back empty after 1 s and resyncs: wait for a full hive again
    for _ in $(seq 1 300); do
        n=0; for p in "${ports[@]}"; do redis-cli -p "$p" PING >/dev/null 2>&1 && n=$((n + 1)); done
        [[ $n == 3 && -n "$(master_port)" ]] && break; sleep 0.1
    done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "longest write stall through a write port after kill -9 of the master's redis: median $(median "${stalls[@]}") ms (tries: ${stalls[*]})"
