# The server a benchmark runs, sourced by bench/proxy.sh and bench/failover-time.sh; not run.
#
# SKEP_SERVER_BIN=<dir> (as for the tests, docs/testing.md): that directory's redis-server, else its valkey-server,
# instead of the PATH's. A directory of this run's own, put first on the PATH, holds `redis-server` pointing at it,
# so that everything that starts a server by that name (the scripts themselves, `skep up`) starts this one. The
# clients (redis-cli, redis-benchmark) stay the PATH's: the same client against every server, so the figures of two
# servers compare.
# shellcheck shell=bash

# bench_server: applies SKEP_SERVER_BIN (or exits saying what is wrong) and prints the server every run starts
bench_server() {
    local exe="" n shim
    if [[ -n "${SKEP_SERVER_BIN:-}" ]]; then
        for n in redis-server valkey-server; do
            [[ -x "$SKEP_SERVER_BIN/$n" ]] && { exe="$SKEP_SERVER_BIN/$n"; break; }
        done
        if [[ -z "$exe" ]]; then
            echo "SKEP_SERVER_BIN=$SKEP_SERVER_BIN holds no redis-server or valkey-server (build one with .ci/build-servers)" >&2
            exit 2
        fi
        shim="$(mktemp -d /tmp/skep-server-XXXXXX)"
        ln -s "$exe" "$shim/redis-server"
        export PATH="$shim:$PATH"
    fi
    command -v redis-server >/dev/null || { echo "redis-server not found: apt-get install -y redis-server" >&2; exit 1; }
    echo "server: $(redis-server --version) ($(readlink -f "$(command -v redis-server)"))"
}
