package dev.skep.sentinel;

import dev.skep.topology.Endpoint;

import java.util.List;

/**
 * What the Sentinel-compatible endpoint tells clients: the master it monitors and that master's replicas,
 * as Sentinel would describe them. Immutable; built by {@link SentinelTracker} on the endpoint's own event
 * loop, read by every event loop that answers a client.
 *
 * @param master   the master, down or up; null while no master has been known yet (the endpoint then
 *                 answers as a Sentinel that does not monitor the name)
 * @param epoch    the leadership epoch of that master (Sentinel's {@code config-epoch})
 * @param replicas every redis of the hive other than the master, sorted by address; the healthy ones are up
 */
public record SentinelView(Instance master, long epoch, List<Instance> replicas) {
    /** Before any master is known. */
    public static final SentinelView NONE = new SentinelView(null, 0, List.of());

    public SentinelView {
        replicas = List.copyOf(replicas);
    }

    /** The same view with every address as {@code address} maps it (a redis's TLS port for TLS clients). */
    public SentinelView withAddresses(java.util.function.UnaryOperator<Endpoint> address) {
        return new SentinelView(master == null ? null : master.at(address.apply(master.address())), epoch,
                replicas.stream().map(r -> r.at(address.apply(r.address()))).toList());
    }

    public boolean knowsMaster() {
        return master != null;
    }

    /** The replicas that are up (not {@code s_down}). */
    public long healthyReplicas() {
        return replicas.stream().filter(r -> !r.down()).count();
    }

    /**
     * One redis as Sentinel describes it. Times are wall-clock milliseconds; replies show them as ages.
     *
     * @param address      the announced address clients connect to
     * @param runId        its redis {@code run_id}, or "" when unknown
     * @param roleReported what the redis itself reports: "master" or "slave"
     * @param down         {@code s_down}: the master is lost, or a replica is not a healthy replica of it
     * @param disconnected {@code disconnected}: its agent is silent, or reports its redis not answering
     * @param downSince    when it went down (0 when up)
     * @param lastOkAt     when its agent last reported its redis answering
     * @param roleSince    since when it has been listed in this role for the current master
     * @param offset       replication offset it reported
     */
    public record Instance(Endpoint address, String runId, String roleReported, boolean down, boolean disconnected,
                           long downSince, long lastOkAt, long roleSince, long offset) {
        /** This instance at {@code other}. */
        Instance at(Endpoint other) {
            return new Instance(other, runId, roleReported, down, disconnected, downSince, lastOkAt, roleSince, offset);
        }

        /** Sentinel's {@code flags} field: {@code s_down}, the role, {@code disconnected}, in Sentinel's order. */
        String flags(String role) {
            StringBuilder f = new StringBuilder();
            if (down) {
                f.append("s_down,");
            }
            f.append(role);
            if (disconnected) {
                f.append(",disconnected");
            }
            return f.toString();
        }
    }
}
