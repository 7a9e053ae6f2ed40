package dev.skep.chaos;

import dev.skep.redis.InfoParser;
import dev.skep.redis.RedisErrorReply;
import dev.skep.redis.RedisRole;
import dev.skep.redis.RedisSnapshot;
import dev.skep.redis.RespClient;
import dev.skep.topology.Endpoint;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Tells when a hive has settled: exactly one redis is a master, every other redis replicates it with its link
 * up, and every agent names it on its Sentinel-compatible endpoint. Used by the harness's main thread only
 * (it owns the connections).
 */
final class Convergence implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofMillis(500);
    private final ChaosHive hive;
    private final List<RespClient> redis = new ArrayList<>();
    private final List<RespClient> sentinel = new ArrayList<>();
    private String last = "";

    Convergence(ChaosHive hive) {
        this.hive = hive;
        for (int i = 0; i < hive.size(); i++) {
            redis.add(new RespClient(hive.redis(i), null, TIMEOUT, TIMEOUT));
            sentinel.add(new RespClient(hive.sentinel(i), null, TIMEOUT, TIMEOUT));
        }
    }

    /** The master's index when the hive is settled now; -1 otherwise. */
    int check() {
        List<RedisSnapshot> snaps = snapshots();
        StringBuilder seen = new StringBuilder();
        int master = -1;
        int masters = 0;
        for (int i = 0; i < snaps.size(); i++) {
            RedisSnapshot s = snaps.get(i);
            seen.append(" node ").append(i).append(": ").append(s == null ? "down" : s.role() == RedisRole.MASTER ? "master"
                    : s.role() + " of " + s.masterHost() + ":" + s.masterPort() + (s.linkUp() ? " up" : " down"));
            if (s != null && s.role() == RedisRole.MASTER) {
                masters++;
                master = i;
            }
        }
        boolean ok = masters == 1;
        for (int i = 0; ok && i < snaps.size(); i++) {
            RedisSnapshot s = snaps.get(i);
            Endpoint m = hive.redis(master);
            ok = (i == master || (s != null && s.inSyncWith(m.host(), m.port()))) && m.equals(named(i));
        }
        last = seen.toString().strip();
        return ok ? master : -1;
    }

    /** Polls until settled or {@code bound} passes; the master's index, or -1. */
    int await(Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        while (true) {
            int m = check();
            if (m >= 0 || System.nanoTime() > deadline) {
                return m;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }
    }

    /** True when every replica's replication offset equals master {@code m}'s (nothing left to replicate). */
    boolean caughtUp(int m) {
        List<RedisSnapshot> snaps = snapshots();
        if (snaps.get(m) == null) {
            return false;
        }
        long offset = snaps.get(m).replOffset();
        return snaps.stream().allMatch(s -> s != null && s.replOffset() == offset);
    }

    /** What the last {@link #check()} saw, for messages. */
    String lastSeen() {
        return last;
    }

    private List<RedisSnapshot> snapshots() {
        List<RedisSnapshot> out = new ArrayList<>();
        for (RespClient c : redis) {
            try {
                out.add(InfoParser.parse(String.valueOf(c.call("INFO", "replication"))));
            } catch (IOException | RedisErrorReply e) {
                out.add(null);
            }
        }
        return out;
    }

    private Endpoint named(int node) {
        try {
            if (sentinel.get(node).call("SENTINEL", "get-master-addr-by-name", "mymaster") instanceof List<?> l && l.size() == 2) {
                return new Endpoint(String.valueOf(l.get(0)), Integer.parseInt(String.valueOf(l.get(1))));
            }
        } catch (IOException | RedisErrorReply | IllegalArgumentException e) {
            // not answering, or no master yet
        }
        return null;
    }

    @Override
    public void close() {
        redis.forEach(RespClient::close);
        sentinel.forEach(RespClient::close);
    }
}
