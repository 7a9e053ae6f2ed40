#!/usr/bin/env bash
# Redis 7.0.15's own test suite (../shared/redis-tests, external mode), file by file, against a plain redis-server
# and through node 0's write port of a 3-node `skep up` hive, both started here with --enable-debug-command yes.
# Prints a table per file (ok / err / exception, direct and through Skep) and every test that passed direct but not
# through the write port; exits 1 when such a test is not listed in bench/redis-suite-known.txt (with its reason).
#
#   bench/redis-suite.sh [--files unit/type/string,unit/quit,...] [--base-port B] [--tarball PATH]
#                        [--agent-arg ARG]... [--known FILE]
#
# --agent-arg passes ARG to every agent (`skep up --agent-arg`), e.g. --agent-arg=--io-threads --agent-arg=1.
# --known names the list of expected differences (default bench/redis-suite-known.txt). A listed test whose
# reason starts with "[skipped]" is not run through the write port (--skiptest): it exercises a command the proxy
# refuses by design, and its error would abort the rest of its file.
#
# Needs tclsh (apt-get install -y tcl) and redis-server 7.0 (redis-cli and redis-benchmark come with it). About
# 10 minutes per target for all 84 files on 2 cores. Traffic stays on 127.0.0.1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files=""
base=7600
agent_args=()
known=""

tarball="$root/../shared/redis-tests/redis-7.0.15-tests.tar.gz"
[[ -f "$tarball" ]] || tarball="$HOME/.cache/skep-tools/redis-7.0.15-tests.tar.gz" # .ci/fetch-redis-tests
while (($#)); do
    case "$1" in
        --files) files="$2"; shift 2 ;;
        --files=*) files="${1#*=}"; shift ;;
        --base-port) base="$2"; shift 2 ;;
        --base-port=*) base="${1#*=}"; shift ;;
        --tarball) tarball="$2"; shift 2 ;;
        --tarball=*) tarball="${1#*=}"; shift ;;
        --agent-arg) agent_args+=("--agent-arg=$2"); shift 2 ;;
        --agent-arg=*) agent_args+=("--agent-arg=${1#*=}"); shift ;;
        --known) known="$2"; shift 2 ;;
        --known=*) known="${1#*=}"; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "redis-suite: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
command -v tclsh >/dev/null || { echo "redis-suite: tclsh is missing: apt-get install -y tcl" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-suite: redis-server is missing: apt-get install -y redis-server" >&2; exit 2; }
[[ -f "$tarball" ]] || { echo "redis-suite: no test suite at $tarball (--tarball PATH, or fetch it: bash .ci/fetch-redis-tests)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/skep-redis-suite.XXXXXX")"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
tar xzf "$tarball" -C "$work"
suite="$work/redis-7.0.15"
mkdir -p "$suite/src"
for b in redis-server redis-cli redis-benchmark redis-check-aof redis-check-rdb; do
    if command -v "$b" >/dev/null; then ln -sf "$(command -v "$b")" "$suite/src/$b"; fi
done
if [[ -z "$files" ]]; then
    files="$(awk '/^set ::all_tests \{/{on=1; next} on && /^\}/{exit} on {print $1}' "$suite/tests/test_helper.tcl" | paste -sd, -)"
fi

direct=$((base + 90))
redis-server --port "$direct" --bind 127.0.0.1 --save "" --appendonly no --enable-debug-command yes \
    --dir "$work" --logfile "$work/direct.log" &
pids+=($!)
"$root/skep" up --nodes 3 --base-port "$base" --dir "$work/hive" \
    --redis-arg=--enable-debug-command --redis-arg=yes ${agent_args[@]+"${agent_args[@]}"} > "$work/up.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
    if grep -q "skep status --http" "$work/up.log" 2>/dev/null && redis-cli -p "$direct" ping >/dev/null 2>&1; then
        break
    fi
    sleep 1
done
grep -q "skep status --http" "$work/up.log" || { echo "redis-suite: the hive did not start; see $work/up.log" >&2; exit 2; }
proxy=$((base + 1))

# run <target-name> <port> <file> [runtest args...]: the suite's output for one file, in $work/<target>/<file>.out
run() {
    local out="$work/$1/${3//\//_}.out"
    local extra=("${@:4}")
    mkdir -p "$work/$1"
    # (colours stripped: the suite colours its [ok] and [err] tags)
    # (a file that hangs through the proxy is cut short: "timed out" in the table; direct, all take under a minute)
    (cd "$suite"; rc=0; timeout 240 ./runtest --host 127.0.0.1 --port "$2" --tags -slow --clients 4 --single "$3" \
        ${extra[@]+"${extra[@]}"} 2>&1 \
        | sed 's/\x1b\[[0-9;]*m//g' > "$out" || rc=$?; [[ $rc -ne 124 ]] || echo "[timeout]: $3" >> "$out") || true
    echo "$out"
}
count() { grep -c "^\[$2\]" "$1" || true; }
names() { sed -n "s/^\[ok\]: \(.*\) ([0-9]* ms)\$/\1/p" "$1" | sort -u; }

known="${known:-$root/bench/redis-suite-known.txt}"
printf '| file | direct ok/err/exception | Skep ok/err/exception | passed direct, not through Skep |\n'
printf '| --- | --- | --- | --- |\n'
unexpected=0
totals=(0 0 0 0 0 0)
IFS=, read -ra list <<< "$files"
for f in "${list[@]}"; do
    d="$(run direct "$direct" "$f")"
    skips=()
    if [[ -f "$known" ]]; then
        while IFS= read -r t; do
            [[ -n "$t" ]] && skips+=(--skiptest "$t")
        done < <(sed -n "s/^$(printf '%s' "$f" | sed 's/[\/&.]/\\&/g'): \(.*\) | \[skipped\].*/\1/p" "$known")
    fi
    s="$(run skep "$proxy" "$f" ${skips[@]+"${skips[@]}"})"
    dc=("$(count "$d" ok)" "$(count "$d" err)" "$(count "$d" exception)")
    sc=("$(count "$s" ok)" "$(count "$s" err)" "$(count "$s" exception)")
    for i in 0 1 2; do totals[i]=$((totals[i] + dc[i])); totals[i+3]=$((totals[i+3] + sc[i])); done
    missing="$(comm -23 <(names "$d") <(names "$s") || true)"
    shown=""
    while IFS= read -r t; do
        [[ -z "$t" ]] && continue
        if [[ -f "$known" ]] && grep -qF "$f: $t |" "$known"; then
            shown+="${shown:+; }(known) $t"
        else
            shown+="${shown:+; }**$t**"
            unexpected=$((unexpected + 1))
        fi
    done <<< "$missing"
    if grep -q '^\[timeout\]' "$s"; then
        shown="${shown:+$shown; }timed out after 240 s"
        grep -q '^\[timeout\]' "$d" || unexpected=$((unexpected + 1))
    fi
    printf '| %s | %s/%s/%s | %s/%s/%s | %s |\n' "$f" "${dc[@]}" "${sc[@]}" "$shown"
done
printf '| all | %s/%s/%s | %s/%s/%s | |\n' "${totals[@]}"
echo "outputs in $work/direct and $work/skep (kept)"
trap - EXIT
cleanup
if ((unexpected > 0)); then
    echo "redis-suite: $unexpected test(s) passed direct but not through the write port, and are not in $known"
    exit 1
fi
echo "redis-suite: every test that passed direct passed through the write port, or is listed with its reason"
