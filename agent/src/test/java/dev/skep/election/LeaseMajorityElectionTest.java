package dev.skep.election;

import dev.skep.lease.LeaseRecord;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.LongFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --election lease} with {@code --quorum majority}: a node leads only with both the Lease and a majority. A
 * leader cut off from its peers steps down once it no longer surely has a majority following it, even though it can
 * still renew its Lease, fences its redis and gives the Lease back, so that the majority side elects a leader without
 * waiting for the Lease to expire. A node claims the Lease only once a majority backs it (each node backs one
 * candidate at a time): one that hears no majority never claims it, even a free one, and nor does one that is the
 * best candidate in its own view only.
 *
 * <p>Three real {@link Election}s in virtual time, wired as {@link ElectionLoop} wires them: statuses delivered
 * within a millisecond unless a link is cut, an API server that stores each write by compare-and-swap on the
 * version and answers at once, each redis modelled just enough (role, master, offset, fence), and a tick when a
 * leader's hold runs out ({@link Election#leaseExpiresAt()}).
 */
class LeaseMajorityElectionTest {
    private static final long HB = 250;
    private static final long PEER_TIMEOUT = 3 * HB;
    /** Long, so that a leader that still renews holds its Lease for seconds more: the majority must act first. */
    private static final int LEASE_S = 10;

    @Test
    void aLeaderCutOffFromItsPeersStepsDownWhileItsLeaseIsStillValidAndGivesItBack() {
        Hive hive = new Hive(Quorum.MAJORITY);
        Node leader = hive.runUntilOneLeadsAllFollowing(15_000);
        hive.runFor(2_000);
        assertThat(hive.api.holder()).isEqualTo(leader.peer.toString());
        long epoch = leader.election.epoch();

        long cutAt = hive.now;
        int claims = leader.claims;
        hive.isolateFromPeers(leader); // it still reaches the API server and renews its Lease
        long stillHeldUntil = leader.election.guard().leaseExpiresAt();
        while (leader.election.state() == NodeState.LEADING && hive.now < cutAt + 5_000) {
            stillHeldUntil = leader.election.guard().leaseExpiresAt();
            hive.step();
        }
        long steppedDownAt = hive.now;
        assertThat(leader.election.state()).isNotEqualTo(NodeState.LEADING);
        assertThat(steppedDownAt - cutAt).as("within a peer timeout and a heartbeat of the cut")
                .isLessThanOrEqualTo(PEER_TIMEOUT + HB);
        assertThat(stillHeldUntil).as("its Lease alone would have let it lead on").isGreaterThan(steppedDownAt + HB);
        assertThat(leader.records).anyMatch(r -> r.kind().equals("stepped-down")
                && r.message().contains("no majority (--quorum majority)"));
        assertThat(leader.fenced).as("clients writing to its redis directly are refused too").isTrue();
        assertThat(leader.election.topology().master()).as("its proxies stop sending writes").isNull();

        Node next = hive.runUntilLeading(hive.others(leader), 5_000);
        assertThat(next.election.epoch()).isGreaterThan(epoch);
        assertThat(hive.now - cutAt).as("the Lease was given back: no wait for it to expire")
                .isLessThan(LEASE_S * 1000L / 2);
        assertThat(hive.api.holder()).isEqualTo(next.peer.toString());
        hive.runFor(3_000);
        assertThat(leader.claims).as("the minority side never asks for the Lease again").isEqualTo(claims);
        assertThat(leader.election.state()).isNotEqualTo(NodeState.LEADING);
        assertThat(hive.maxWritableLeaders).isEqualTo(1);
    }

    @Test
    void withNoMajorityAnywhereNobodyClaimsTheLeaseEvenAFreeOne() {
        Hive hive = new Hive(Quorum.MAJORITY);
        hive.runFor(HB); // every node has heard the others, and none proposes yet (it listens for a peer timeout)
        hive.nodes.forEach(hive::isolateFromPeers);
        // past the time a young agent waits before it elects itself alone (ElectionSettings.purgeAfterMs)
        long pastYoung = hive.nodes.get(0).election.settings().purgeAfterMs() + 5_000;
        hive.runFor(pastYoung);
        for (Node x : hive.nodes) {
            assertThat(x.claims).as("node " + x.id + " asks for the Lease").isZero();
            assertThat(x.election.state()).isNotIn(NodeState.PROMOTING, NodeState.LEADING);
        }
        assertThat(hive.api.stored).as("the Lease was never written").isNull();

        // the same split without --quorum majority: the Lease alone decides, and one of them leads
        Hive none = new Hive(Quorum.NONE);
        none.runFor(HB);
        none.nodes.forEach(none::isolateFromPeers);
        none.runFor(pastYoung);
        assertThat(none.nodes.stream().mapToInt(x -> x.claims).sum()).isPositive();
        assertThat(none.nodes).filteredOn(Node::writableLeader).hasSize(1)
                .allMatch(x -> x.peer.toString().equals(none.api.holder()));
        assertThat(none.maxWritableLeaders).isEqualTo(1);
    }

    @Test
    void aCandidateThatAMajorityDoesNotBackDoesNotAskForTheLease() {
        Hive hive = new Hive(Quorum.MAJORITY);
        Node a = hive.nodes.get(0);
        hive.runFor(HB);
        // a hears everyone but nobody hears it: a sees itself the best candidate, the others back the best they hear
        for (Node y : hive.others(a)) {
            hive.cut[a.id][y.id] = true;
        }
        Node leader = hive.runUntilLeading(hive.nodes, 5_000);
        hive.runFor(3_000);
        assertThat(leader).isNotSameAs(a);
        assertThat(a.claims).as("the best candidate in its own view, backed by nobody else").isZero();
        assertThat(a.election.state()).isEqualTo(NodeState.FOLLOWING);
        assertThat(hive.api.holder()).isEqualTo(leader.peer.toString());
    }

    /** One node: its election, and its redis as the effects leave it. */
    private static final class Node {
        final int id;
        final Endpoint peer;
        final Endpoint redis;
        final Election election;
        final List<Effect.Record> records = new ArrayList<>();
        RedisRole role = RedisRole.MASTER;
        Node master;
        long offset;
        boolean fenced;
        long nextTick;
        long leaseCheckAt;
        int claims;

        Node(int id, Quorum quorum, long offset) {
            this.id = id;
            this.peer = new Endpoint("10.0.0." + (id + 1), 7380);
            this.redis = new Endpoint(peer.host(), 6379);
            this.offset = offset;
            this.nextTick = id * 80L; // not in step with each other
            this.election = new Election(new ElectionSettings(peer, redis, 8080, HB, PEER_TIMEOUT, 3, Long.MAX_VALUE,
                    5000, quorum, LEASE_S), 0);
        }

        RedisSnapshot snapshot(boolean linkUp) {
            return role == RedisRole.MASTER
                    ? new RedisSnapshot("run-" + id, 1, "7.0.15", RedisRole.MASTER, null, 0, false, false, offset,
                            offset, 0, fenced, 60)
                    : new RedisSnapshot("run-" + id, 1, "7.0.15", RedisRole.REPLICA, master.redis.host(),
                            master.redis.port(), linkUp, false, offset, offset, 0, fenced, 60);
        }

        boolean writableLeader() {
            return election.state() == NodeState.LEADING && role == RedisRole.MASTER && !fenced;
        }
    }

    /** The Kubernetes API server's part: one Lease, written by compare-and-swap on its version. */
    private static final class ApiServer {
        LeaseRecord stored;
        private int versions;

        /** The record stored and whether it was {@code next}'s write; a conflict answers with the current record. */
        LeaseRecord write(LeaseRecord next, boolean[] ok) {
            String current = stored == null ? null : stored.resourceVersion();
            ok[0] = next.resourceVersion() == null ? stored == null : next.resourceVersion().equals(current);
            if (ok[0]) {
                stored = new LeaseRecord(next.holder(), next.epoch(), next.durationSeconds(), next.renewTimeMillis(),
                        next.transitions(), Integer.toString(++versions));
            }
            return stored;
        }

        String holder() {
            return stored == null ? "" : stored.holder();
        }
    }

    private record Delivery(long at, long seq, Node to, LongFunction<ElectionEvent> event) {}

    /** Three nodes, the first with the most data, in virtual time; every link up until cut. */
    private static final class Hive {
        static final long STEP = 5;
        final List<Node> nodes = new ArrayList<>();
        final ApiServer api = new ApiServer();
        final PriorityQueue<Delivery> queue = new PriorityQueue<>((x, y) -> x.at != y.at ? Long.compare(x.at, y.at)
                : Long.compare(x.seq, y.seq));
        final boolean[][] cut = new boolean[3][3];
        long now;
        long seq;
        int maxWritableLeaders;

        Hive(Quorum quorum) {
            for (int i = 0; i < 3; i++) {
                nodes.add(new Node(i, quorum, 300 - 100L * i));
            }
            for (Node x : nodes) {
                Set<Endpoint> peers = Set.copyOf(others(x).stream().map(y -> y.peer).toList());
                deliver(x, 0, t -> new ElectionEvent.PeersDiscovered(peers, t));
            }
        }

        List<Node> others(Node x) {
            return nodes.stream().filter(y -> y != x).toList();
        }

        void isolateFromPeers(Node x) {
            for (Node y : others(x)) {
                cut[x.id][y.id] = true;
                cut[y.id][x.id] = true;
            }
        }

        void runFor(long ms) {
            long until = now + ms;
            while (now < until) {
                step();
            }
        }

        Node runUntilOneLeadsAllFollowing(long withinMs) {
            long until = now + withinMs;
            while (now < until) {
                step();
                for (Node x : nodes) {
                    if (x.election.state() == NodeState.LEADING && others(x).stream().allMatch(y ->
                            y.election.state() == NodeState.FOLLOWING && x.peer.equals(y.election.leader()))) {
                        return x;
                    }
                }
            }
            throw new AssertionError("no leader followed by all within " + withinMs + " ms");
        }

        Node runUntilLeading(List<Node> among, long withinMs) {
            long until = now + withinMs;
            while (now < until) {
                step();
                for (Node x : among) {
                    if (x.writableLeader()) {
                        return x;
                    }
                }
            }
            throw new AssertionError("none of " + among.stream().map(x -> x.id).toList() + " leads within "
                    + withinMs + " ms");
        }

        /** One step: heartbeats (tick, probe, Lease read), deliveries due, replication, the count of leaders. */
        void step() {
            now += STEP;
            for (Node x : nodes) {
                if (now >= x.nextTick) {
                    x.nextTick += HB;
                    deliver(x, now, ElectionEvent.Tick::new);
                    deliver(x, now, t -> new ElectionEvent.ProbeSucceeded(x.snapshot(linked(x, x.master)), t));
                    LeaseRecord lease = api.stored;
                    deliver(x, now, t -> new ElectionEvent.LeaseObserved(lease, t));
                }
            }
            while (!queue.isEmpty() && queue.peek().at() <= now) {
                Delivery d = queue.poll();
                dispatch(d.to(), d.event().apply(now));
            }
            for (Node x : nodes) {
                if (x.writableLeader()) {
                    x.offset += 1; // clients' writes
                } else if (x.role == RedisRole.REPLICA && linked(x, x.master)) {
                    x.offset = x.master.offset;
                }
            }
            maxWritableLeaders = Math.max(maxWritableLeaders,
                    (int) nodes.stream().filter(x -> x.writableLeader() && x.election.guard().leaseExpiresAt() > now).count());
        }

        boolean linked(Node x, Node y) {
            return y != null && !cut[x.id][y.id] && !cut[y.id][x.id];
        }

        private void deliver(Node to, long at, LongFunction<ElectionEvent> event) {
            queue.add(new Delivery(at, seq++, to, event));
        }

        private void dispatch(Node x, ElectionEvent event) {
            for (Effect effect : x.election.handle(event)) {
                execute(x, effect);
            }
            long at = x.election.guard().leaseExpiresAt();
            if (at != Long.MAX_VALUE && at != x.leaseCheckAt) {
                x.leaseCheckAt = at; // as ElectionLoop: a check when the hold runs out
                deliver(x, Math.max(now + 1, at + 1), ElectionEvent.Tick::new);
            }
        }

        private void execute(Node x, Effect effect) {
            if (effect instanceof Effect.Broadcast b) {
                for (Node y : others(x)) {
                    if (!cut[x.id][y.id]) {
                        deliver(y, now + 1, t -> new ElectionEvent.PeerStatusReceived(b.status(), t));
                    }
                }
            } else if (effect instanceof Effect.Record r) {
                x.records.add(r);
            } else if (effect instanceof Effect.Promote p) {
                x.role = RedisRole.MASTER;
                x.master = null;
                x.fenced = false; // RedisController.promote lifts the fence first
                deliver(x, now + 2, t -> new ElectionEvent.PromotionFinished(p.epoch(), true, "role:master", t));
            } else if (effect instanceof Effect.Follow f) {
                x.fenced = true; // RedisController.follow fences first
                x.role = RedisRole.REPLICA;
                x.master = nodes.stream().filter(y -> y.redis.equals(f.master())).findFirst().orElseThrow();
            } else if (effect instanceof Effect.Detach) {
                x.fenced = true; // as does detach
                x.role = RedisRole.MASTER;
                x.master = null;
            } else if (effect instanceof Effect.FenceWrites f) {
                x.fenced = f.minReplicas() > 0;
            } else if (effect instanceof Effect.Probe) {
                deliver(x, now + 1, t -> new ElectionEvent.ProbeSucceeded(x.snapshot(linked(x, x.master)), t));
            } else if (effect instanceof Effect.WriteLease w) {
                if (w.kind() == Effect.LeaseWrite.CLAIM) {
                    x.claims++;
                }
                long sentAt = now;
                boolean[] ok = new boolean[1];
                LeaseRecord stored = api.write(w.next(), ok);
                deliver(x, now + 1, t -> new ElectionEvent.LeaseWritten(w.kind(), ok[0], stored, sentAt,
                        ok[0] ? "stored" : "changed meanwhile", t));
            }
        }
    }
}
