package dev.skep.sentinel;

import dev.skep.sentinel.SentinelView.Instance;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import dev.skep.topology.Topology;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns this node's {@link Topology} and {@link HiveStatus} into the next {@link SentinelView}, and the
 * events Sentinel would publish for the change. Pure: no I/O, no clock, no threads (called on the
 * endpoint's event loop with the time passed in).
 *
 * <p><b>Which master.</b> The topology's master when this node has one. Otherwise (this node is not ready,
 * electing, or just joined) the redis of a live member that reports it is leading, with the highest epoch:
 * a client asking this node must not be sent to a dead master the rest of the hive has replaced, which is
 * also what a Sentinel does once its peers agree. With neither, the last known master is kept, {@code s_down}.
 *
 * <p><b>Events</b>, as Sentinel 7 publishes them: {@code +switch-master <name> <old-ip> <old-port> <new-ip>
 * <new-port>} when the master changes, then {@code +slave} for each replica of the new master (and
 * {@code +sdown} for those that are down); {@code +sdown}/{@code -sdown master <name> <ip> <port>} when the
 * master is lost and comes back; {@code +slave}, {@code +sdown}, {@code -sdown} for replicas appearing,
 * failing and recovering ({@code slave <ip:port> <ip> <port> @ <name> <master-ip> <master-port>}).
 */
final class SentinelTracker {

    private SentinelTracker() {}

    /** The next view and the events that lead to it, in the order Sentinel publishes them. */
    record Result(SentinelView view, List<SentinelEvent> events) {}

    static Result next(String masterName, SentinelView prev, Topology topology, HiveStatus status, long now) {
        Map<Endpoint, HiveStatus.Member> members = new HashMap<>();
        if (status != null) {
            for (HiveStatus.Member m : status.members()) {
                members.putIfAbsent(m.redis(), m);
            }
        }
        Endpoint masterAddress;
        long epoch;
        Set<Endpoint> healthy;
        if (topology.hasMaster()) {
            masterAddress = topology.master();
            epoch = topology.epoch();
            healthy = new HashSet<>(topology.replicas());
        } else {
            Optional<HiveStatus.Member> leader = reportedLeader(status, topology.epoch());
            masterAddress = leader.map(HiveStatus.Member::redis).orElse(null);
            epoch = leader.map(HiveStatus.Member::epoch).orElse(prev.epoch());
            healthy = leader.map(l -> followersOf(l, status)).orElse(Set.of());
        }

        Instance prevMaster = prev.master();
        Instance master;
        if (masterAddress != null) {
            boolean same = prevMaster != null && prevMaster.address().equals(masterAddress);
            HiveStatus.Member m = members.get(masterAddress);
            master = new Instance(masterAddress, runId(m), "master", false, false, 0, lastOk(m, now, same ? prevMaster : null),
                    same ? prevMaster.roleSince() : now, m == null ? 0 : m.replOffset());
        } else if (prevMaster != null) {
            master = new Instance(prevMaster.address(), prevMaster.runId(), prevMaster.roleReported(), true, true,
                    prevMaster.down() ? prevMaster.downSince() : now, prevMaster.lastOkAt(), prevMaster.roleSince(),
                    prevMaster.offset());
        } else {
            return new Result(SentinelView.NONE, List.of());
        }

        boolean sameMaster = prevMaster != null && prevMaster.address().equals(master.address());
        Map<Endpoint, Instance> prevReplicas = new HashMap<>();
        if (sameMaster) {
            for (Instance r : prev.replicas()) {
                prevReplicas.put(r.address(), r);
            }
        }
        Set<Endpoint> candidates = new TreeSet<>(members.keySet());
        candidates.addAll(healthy);
        if (master.down()) {
            candidates.addAll(prevReplicas.keySet()); // kept while the master is lost, whatever the status says
        }
        candidates.remove(master.address());
        List<Instance> replicas = new ArrayList<>();
        for (Endpoint address : candidates) {
            replicas.add(replica(address, members.get(address), prevReplicas.get(address), master.down(),
                    healthy.contains(address), now));
        }
        SentinelView next = new SentinelView(master, epoch, replicas);
        return new Result(next, events(masterName, prev, next));
    }

    /** The live member reporting it leads with the highest epoch (not older than ours), if any. */
    private static Optional<HiveStatus.Member> reportedLeader(HiveStatus status, long ourEpoch) {
        if (status == null) {
            return Optional.empty();
        }
        return status.members().stream()
                .filter(m -> !m.self() && m.alive() && m.state() == NodeState.LEADING && m.epoch() >= ourEpoch)
                .max(Comparator.comparingLong(HiveStatus.Member::epoch));
    }

    /** Redis addresses of the live members that follow {@code leader} in its epoch with their link up. */
    private static Set<Endpoint> followersOf(HiveStatus.Member leader, HiveStatus status) {
        Set<Endpoint> out = new HashSet<>();
        for (HiveStatus.Member m : status.members()) {
            if (m.alive() && m.state() == NodeState.FOLLOWING && leader.node().equals(m.leader())
                    && m.epoch() == leader.epoch() && m.linkUp()) {
                out.add(m.redis());
            }
        }
        return out;
    }

    private static Instance replica(Endpoint address, HiveStatus.Member m, Instance prev, boolean masterDown,
                                    boolean healthy, long now) {
        // while the master is lost, replicas keep the state they had: they did not fail, the master did
        boolean down = masterDown ? (prev == null || prev.down()) : !healthy;
        boolean disconnected = !answering(m);
        long downSince = !down ? 0 : prev != null && prev.down() ? prev.downSince() : now;
        String role = m != null && "MASTER".equals(m.redisRole()) ? "master" : "slave";
        return new Instance(address, runId(m), role, down, disconnected, downSince, lastOk(m, now, prev),
                prev == null ? now : prev.roleSince(), m == null ? 0 : m.replOffset());
    }

    private static String runId(HiveStatus.Member m) {
        return m == null || m.redisRunId() == null ? "" : m.redisRunId();
    }

    /** Its agent is heard and reports its redis answering (a node whose redis fails probes is NOT_READY). */
    private static boolean answering(HiveStatus.Member m) {
        return m != null && m.alive() && m.state() != NodeState.NOT_READY && !"UNKNOWN".equals(m.redisRole());
    }

    /** When the member's agent last reported its redis answering; kept from before while it is not. */
    private static long lastOk(HiveStatus.Member m, long now, Instance prev) {
        if (answering(m)) {
            return now - Math.max(0, m.lastHeardMs());
        }
        return prev == null ? now : prev.lastOkAt();
    }

    static List<SentinelEvent> events(String name, SentinelView prev, SentinelView next) {
        List<SentinelEvent> out = new ArrayList<>();
        Instance was = prev.master();
        Instance is = next.master();
        if (was != null && !was.address().equals(is.address())) {
            out.add(new SentinelEvent("+switch-master", name + " " + was.address().host() + " " + was.address().port()
                    + " " + is.address().host() + " " + is.address().port()));
        } else if (was != null && was.down() != is.down()) {
            out.add(new SentinelEvent(is.down() ? "+sdown" : "-sdown", "master " + name + " " + address(is)));
        }
        if (is.down()) {
            return out;
        }
        Map<Endpoint, Instance> before = new HashMap<>();
        if (was != null && was.address().equals(is.address())) {
            for (Instance r : prev.replicas()) {
                before.put(r.address(), r);
            }
        }
        for (Instance r : next.replicas()) {
            Instance b = before.get(r.address());
            String text = "slave " + r.address() + " " + address(r) + " @ " + name + " " + address(is);
            if (b == null) {
                out.add(new SentinelEvent("+slave", text));
                if (r.down()) {
                    out.add(new SentinelEvent("+sdown", text));
                }
            } else if (b.down() != r.down()) {
                out.add(new SentinelEvent(r.down() ? "+sdown" : "-sdown", text));
            }
        }
        return out;
    }

    private static String address(Instance i) {
        return i.address().host() + " " + i.address().port();
    }
}
