#!/usr/bin/env bash
# Measures what clients that never read their replies cost the others on the same write port. On a local hive
# started with `skep up`, one client sends PING and GET of a small key, one at a time, through node 0's write
# port (B+1) for SECONDS and records each latency: first with nothing else going on (idle), then while FLOODERS
# other clients pipeline GET of a VALUE_MB value through the same write port without ever reading a reply (each
# sends 100 GETs every 50 ms, at most 20000, and opens a new connection when the proxy closes its own); then
# again with flooders that first exchange a PING, as client libraries do on connecting (HELLO, CLIENT SETINFO),
# so that the proxy has seen a small reply of theirs before the flood. Prints p50, p99 and max of each run,
# requests that got no answer within 5 s, what happened to the flooders, node 0's agent resident memory (the
# largest seen, sampled every 100 ms), the master redis's used memory, failovers during the run (a redis too busy
# to answer the agents' probes is failed over) and, when the agent has it, what its proxy held for clients
# (skep_proxy_held_bytes) and the connections it closed for it.
#
#   bench/slow-readers.sh [SECONDS] [BASE_PORT] [FLOODERS] [VALUE_MB]     defaults: 10 7600 6 1
#
# Everything runs on 127.0.0.1; the script stops what it started (by PID) when it ends.
set -euo pipefail
seconds=${1:-10}
base=${2:-7600}
flooders=${3:-6}
value_mb=${4:-1}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for tool in redis-cli python3 ss curl; do
    command -v "$tool" >/dev/null || { echo "$tool not found (apt-get install -y redis-tools python3 iproute2 curl)" >&2; exit 1; }
done
write=$((base + 1)); http=$((base + 5))

run="$(mktemp -d /tmp/skep-slow-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
"$root/skep" up --base-port "$base" --dir "$run/hive" >"$run/up.log" 2>&1 &
pids+=($!)

echo "waiting for the hive (log: $run/up.log)..."
for _ in $(seq 1 600); do
    [[ "$(redis-cli -p "$write" SET bench:ready 1 2>/dev/null)" == OK ]] && break
    sleep 0.1
done
[[ "$(redis-cli -p "$write" SET bench:ready 1 2>/dev/null)" == OK ]] || { echo "the write port $write never took a write" >&2; exit 1; }
agent=$(ss -ltnpH "sport = :$write" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[[ -n "$agent" ]] || { echo "no process listens on $write" >&2; exit 1; }
echo "node 0's agent: PID $agent; its write port: $write"

python3 - "$write" "$value_mb" <<'EOF'
import socket, sys
port, mb = int(sys.argv[1]), int(sys.argv[2])
value = b"v" * (mb << 20)
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(10)
s.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%s\r\n*3\r\n$3\r\nSET\r\n$5\r\nsmall\r\n$5\r\nhello\r\n" % (len(value), value))
f = s.makefile("rb")
assert f.readline() == b"+OK\r\n" and f.readline() == b"+OK\r\n"
EOF

cat >"$run/measure.py" <<'EOF'
# One client, one request at a time (PING, then GET small, alternately), a 1 ms pause between them, for the
# given seconds (and at most 100000 requests). A request unanswered after 5 s counts as lost; the client then
# reconnects. Prints: p50_ms p99_ms max_ms answered lost
import socket, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
reqs = [(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n"), (b"*2\r\n$3\r\nGET\r\n$5\r\nsmall\r\n", b"$5\r\nhello\r\n")]
def connect():
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
s = connect(); lat = []; lost = 0; end = time.monotonic() + seconds; i = 0
while time.monotonic() < end and i < 100000:
    req, want = reqs[i % 2]; i += 1
    t0 = time.perf_counter()
    try:
        s.sendall(req); got = b""
        while len(got) < len(want):
            chunk = s.recv(len(want) - len(got))
            if not chunk:
                raise ConnectionError("closed")
            got += chunk
        lat.append((time.perf_counter() - t0) * 1000)
        if got != want:
            raise ConnectionError("unexpected reply %r" % got)
    except (OSError, ConnectionError):
        lost += 1; s.close(); s = connect()
    time.sleep(0.001)
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
print("%.3f %.3f %.3f %d %d" % (pick(0.50), pick(0.99), lat[-1] if lat else float("nan"), len(lat), lost))
EOF

cat >"$run/flood.py" <<'EOF'
# N clients, each pipelining GET big (100 every 50 ms, at most 20000) and never reading a reply, until the
# given seconds are over; with "ping" as 4th argument each first sends PING and reads its +PONG. A client whose
# connection the proxy closes (reset or broken pipe on send) counts the close and connects again after 100 ms.
# Prints: connections closes gets_sent
import select, socket, sys, threading, time
port, n, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
handshake = len(sys.argv) > 4 and sys.argv[4] == "ping"
batch = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 100
end = time.monotonic() + seconds
stats = {"connections": 0, "closes": 0, "sent": 0}; lock = threading.Lock()
def flooder():
    sent = 0
    while time.monotonic() < end and sent < 20000:
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.connect(("127.0.0.1", port))
        if handshake:
            s.settimeout(5); s.sendall(b"*1\r\n$4\r\nPING\r\n")
            got = b""
            while not got.endswith(b"\r\n"):
                got += s.recv(64)
        s.setblocking(False)
        with lock: stats["connections"] += 1
        pending = b""; next_batch = time.monotonic()
        try:
            while time.monotonic() < end and sent < 20000:
                if not pending and time.monotonic() >= next_batch:
                    pending = batch; next_batch = time.monotonic() + 0.05
                if pending:
                    _, w, _ = select.select([], [s], [], 0.05)
                    if w:
                        k = s.send(pending); pending = pending[k:]
                        if not pending:
                            sent += 100
                            with lock: stats["sent"] += 100
                else:
                    time.sleep(0.01)
            s.close()
        except (ConnectionResetError, BrokenPipeError):
            with lock: stats["closes"] += 1
            s.close(); time.sleep(0.1)
threads = [threading.Thread(target=flooder) for _ in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print(stats["connections"], stats["closes"], stats["sent"])
EOF

# Samples the agent's resident memory every 100 ms (at most 10 minutes) and keeps the largest, in kB.
rss_now() { awk '/^VmRSS:/{print $2}' "/proc/$agent/status"; }
sample_rss() {
    local max=0 v
    for _ in $(seq 1 6000); do
        v=$(rss_now 2>/dev/null) || break
        ((v > max)) && max=$v && echo "$max" >"$1"
        sleep 0.1
    done
}
metric() { curl -s -m 5 "http://127.0.0.1:$http/metrics" | awk -v m="$1" '$1 ~ "^"m {s += $2} END {printf "%d", s}'; }

phase() { # name, flood: no | yes | ping (flooders exchange a PING first)
    local name=$1 flood=$2 sampler flood_pid="" changes
    changes=$(metric skep_leader_changes_total)
    echo 0 >"$run/rss-$name"
    sample_rss "$run/rss-$name" & sampler=$!
    pids+=($sampler)
    if [[ $flood != no ]]; then
        python3 "$run/flood.py" "$write" "$flooders" "$((seconds + 1))" "$flood" >"$run/flood-$name" &
        flood_pid=$!
        pids+=($flood_pid)
    fi
    read -r p50 p99 max answered lost < <(python3 "$run/measure.py" "$write" "$seconds")
    local held redis_mem
    held=$(metric skep_proxy_held_bytes)
    for p in $base $((base + 10)) $((base + 20)); do
        [[ "$(timeout 5 redis-cli -p "$p" ROLE 2>/dev/null | head -1)" == master ]] || continue
        redis_mem=$(timeout 5 redis-cli -p "$p" INFO memory | awk -F: '/^used_memory_human:/{print $2}' | tr -d '\r')
    done
    [[ -n $flood_pid ]] && wait "$flood_pid"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    printf '%-10s PING/GET through the write port: p50 %s ms, p99 %s ms, max %s ms (%s answered, %s lost after 5 s)\n' \
        "$name" "$p50" "$p99" "$max" "$answered" "$lost"
    printf '           agent RSS: at most %d MiB during the run' "$(( $(cat "$run/rss-$name") / 1024 ))"
    [[ $flood != no ]] && printf ', held for clients at the end of it: %s bytes' "${held:-?}"
    printf '; master redis used_memory at the end: %s; changes of master: %d\n' "$redis_mem" \
        "$(( $(metric skep_leader_changes_total) - changes ))"
    if [[ $flood != no ]]; then
        read -r conns closes sent <"$run/flood-$name"
        printf '           %d flooders: %d connections, %d closed by the proxy, %d GETs of %d MB sent\n' \
            "$flooders" "$conns" "$closes" "$sent" "$value_mb"
    fi
}

echo "agent RSS at start: $(( $(rss_now) / 1024 )) MiB; its proxy's bound on what it holds for clients: $(metric skep_proxy_held_limit_bytes) bytes"
phase idle no
phase flood yes
sleep 1
phase flood-ping ping
sleep 1
phase after no
echo "agent RSS at the end: $(( $(rss_now) / 1024 )) MiB; connections it closed for holding too much: $(metric skep_proxy_overload_closed_total)"
