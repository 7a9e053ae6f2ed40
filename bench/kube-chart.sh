#!/usr/bin/env bash
# The Helm chart on a real single-node Kubernetes (.ci/kube-node: kube-apiserver, kubelet, kube-proxy... 1.20.2),
# with writers through the `skep` Service (its ClusterIP, through kube-proxy's rules) that record every
# acknowledged write (dev.skep.chaos.ServiceWrites: bench/chaos's writers and lost-write check):
#
#   bench/kube-chart.sh [SCENARIO...]    default: install reads delete-master kill-master upgrade scale lease
#     install        helm install (images loaded from podman, pullPolicy Never); time until every pod is Ready
#     reads          a write through `skep`, read back through `skep-read`
#     delete-master  kubectl delete pod <the master's pod> under writes (graceful: the agent hands over)
#     kill-master    kubectl delete pod --grace-period=1 <the master's pod> under writes (no time to hand over)
#     upgrade        helm upgrade that rolls every pod (a new pod annotation) under writes; waits for the rollout
#     scale          kubectl scale 3 -> 5 -> 3 under writes
#     lease          reinstall with --set agent.election=lease (the chart's RBAC, a real ServiceAccount token),
#                    then kubectl delete pod <the master's pod> under writes, and the Lease's holder before/after
#
# HELM_SETS="agent.quorum=majority ..." adds --set flags to every install. Each scenario prints the machine's load
# average before and after, and the election events the agents logged meanwhile (a starved agent misses
# heartbeats: "[leader-lost] ... silent for more than 750 ms" is the hive electing again).
#
# Needs the node up (.ci/kube-node up) and the images in podman (SKEP_IMAGE, REDIS_IMAGE; default localhost/skep:dev
# and localhost/skep-redis:7, what .ci/build-images builds). Writers: WRITERS (8). Traffic stays inside the node's
# network namespace. Exit status 1 when a scenario lost an acknowledged write or failed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node="$root/.ci/kube-node"
ns=skep
release=skep
skep_image=${SKEP_IMAGE:-localhost/skep:dev}
redis_image=${REDIS_IMAGE:-localhost/skep-redis:7}
writers=${WRITERS:-8}
harness_jar="$root/harness/target/skep-harness.jar"
[[ -f "$harness_jar" ]] || (cd "$root" && ./mvnw -B -q -DskipTests package) >&2
jar="$(mktemp -d /tmp/skep-kube-jar.XXXXXX)/skep-harness.jar"
cp "$harness_jar" "$jar"
trap 'rm -rf "$(dirname "$jar")"' EXIT

k() { "$node" exec kubectl -n "$ns" "$@"; }
h() { "$node" exec helm -n "$ns" "$@"; }
sel="app.kubernetes.io/instance=$release"
sets=(--set "image.repository=${skep_image%:*}" --set "image.tag=${skep_image##*:}" --set image.pullPolicy=Never
      --set "redis.image.repository=${redis_image%:*}" --set "redis.image.tag=${redis_image##*:}"
      --set redis.image.pullPolicy=Never)
for extra in ${HELM_SETS:-}; do sets+=(--set "$extra"); done
failed=0

say() { echo "== $(date -u +%H:%M:%S) $*"; }
svc_ip() { k get service "$1" -o jsonpath='{.spec.clusterIP}'; }
password() { k get secret "$release-auth" -o jsonpath='{.data.password}' | base64 -d; }
wait_ready() { # expected pods
    local end=$((SECONDS + 300))
    while ((SECONDS < end)); do
        local ready
        ready=$(k get pods -l "$sel" -o jsonpath='{range .items[*]}{.metadata.deletionTimestamp}{"|"}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -cx '|True' || true)
        local all
        all=$(k get pods -l "$sel" --no-headers 2>/dev/null | wc -l)
        ((ready == $1 && all == $1)) && return 0
        sleep 1
    done
    say "pods not ready after 300 s:"; k get pods -o wide; return 1
}
# the master's pod, from the Sentinel-compatible endpoint (the master's address is its pod IP)
master_pod() {
    local ip
    ip=$("$node" exec redis-cli -h "$(svc_ip "$release-sentinel")" -p 26379 SENTINEL get-master-addr-by-name mymaster | head -1)
    k get pods -l "$sel" -o jsonpath="{range .items[?(@.status.podIP==\"$ip\")]}{.metadata.name}{end}"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
writes() { # action [after-ms]
    local out start=$SECONDS load_before
    load_before=$(loadavg)
    # the password through the environment, not the command line (which ps shows)
    out=$(REDIS_PASSWORD="$(password)" "$node" exec java -cp "$jar" dev.skep.chaos.ServiceWrites \
        --write "$(svc_ip "$release"):6379" --writers "$writers" --warmup-ms 5000 --after-ms "${2:-10000}" \
        --action "$1" 2>&1) || failed=1
    echo "$out" | sed 's/^/   /'
    grep -q '^RESULT action_exit=0 ' <<<"$out" || failed=1
    local events
    events=$(k logs -l "$sel" -c skep --tail=-1 --since="$((SECONDS - start + 2))s" 2>/dev/null \
        | grep -oE '\[(leader-lost|election|promoted|handed-over|stepped-down)\]' | sort | uniq -c | tr -s ' ' | tr '\n' ' ' || true)
    say "load average before: $load_before, after: $(loadavg); the remaining pods' election events meanwhile: ${events:-none}"
}

install() { # extra helm args
    k get namespace "$ns" >/dev/null 2>&1 || "$node" exec kubectl create namespace "$ns" >/dev/null
    "$node" load "$skep_image" "$redis_image" >/dev/null 2>&1
    local start=$SECONDS
    h install "$release" "$root/deploy/helm/skep" "${sets[@]}" "$@" >/dev/null
    wait_ready 3
    say "installed: 3 pods Ready $((SECONDS - start)) s after helm install"
    k get pods -o wide
}

for scenario in "${@:-install reads delete-master kill-master upgrade scale lease}"; do
    for s in $scenario; do
        case "$s" in
            install)
                h uninstall "$release" >/dev/null 2>&1 || true
                install
                ;;
            reads)
                pw=$(password)
                w=$("$node" exec redis-cli -h "$(svc_ip "$release")" -a "$pw" --no-auth-warning SET kube:read ok)
                sleep 1
                r=$("$node" exec redis-cli -h "$(svc_ip "$release-read")" -a "$pw" --no-auth-warning GET kube:read)
                role=$("$node" exec redis-cli -h "$(svc_ip "$release-read")" -a "$pw" --no-auth-warning ROLE | head -1)
                say "reads: SET through $release: $w; GET through $release-read: $r (ROLE there: $role)"
                [[ "$r" == ok ]] || failed=1
                ;;
            delete-master)
                m=$(master_pod)
                say "delete-master: kubectl delete pod $m (the master) under $writers writers"
                writes "kubectl -n $ns delete pod $m" 15000
                wait_ready 3 && say "new master: $(master_pod)"
                ;;
            kill-master)
                m=$(master_pod)
                say "kill-master: kubectl delete pod --grace-period=1 $m (the master) under $writers writers"
                writes "kubectl -n $ns delete pod --grace-period=1 $m" 15000
                wait_ready 3 && say "new master: $(master_pod)"
                ;;
            upgrade)
                say "upgrade: helm upgrade rolling every pod under $writers writers (master before: $(master_pod))"
                writes "helm -n $ns upgrade $release $root/deploy/helm/skep --reuse-values --set podAnnotations.rolled=r$RANDOM >/dev/null && kubectl -n $ns rollout status deployment/$release --timeout=300s" 10000
                wait_ready 3 && say "master after: $(master_pod)"; k get pods -o wide
                ;;
            scale)
                say "scale: 3 -> 5 -> 3 under $writers writers"
                writes "kubectl -n $ns scale deployment/$release --replicas=5 && kubectl -n $ns rollout status deployment/$release --timeout=300s && kubectl -n $ns get pods -o wide && kubectl -n $ns scale deployment/$release --replicas=3 && kubectl -n $ns rollout status deployment/$release --timeout=300s" 10000
                wait_ready 3; k get pods -o wide
                ;;
            lease)
                h uninstall "$release" >/dev/null 2>&1 || true
                k wait --for=delete pod -l "$sel" --timeout=120s >/dev/null 2>&1 || true
                k delete lease --all >/dev/null 2>&1 || true
                install --set agent.election=lease
                say "lease: holder $(k get lease -o jsonpath='{range .items[*]}{.metadata.name}={.spec.holderIdentity} transitions={.spec.leaseTransitions}{end}'); token: $(k get pod "$(master_pod)" -o jsonpath='{.spec.serviceAccountName}')"
                m=$(master_pod)
                say "lease: kubectl delete pod $m (the master) under $writers writers"
                writes "kubectl -n $ns delete pod $m" 15000
                wait_ready 3
                say "lease: holder after $(k get lease -o jsonpath='{range .items[*]}{.metadata.name}={.spec.holderIdentity} transitions={.spec.leaseTransitions}{end}'), master $(master_pod)"
                ;;
            *) echo "unknown scenario $s" >&2; exit 2 ;;
        esac
    done
done
exit $failed
