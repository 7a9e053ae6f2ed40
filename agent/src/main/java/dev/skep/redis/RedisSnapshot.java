package dev.skep.redis;

/**
 * What one probe of the local redis saw (PING, then INFO): immutable, made on the redis I/O thread and
 * handed to the control thread.
 *
 * @param runId          {@code run_id} from INFO server: changes when redis restarts
 * @param processId      {@code process_id} from INFO server
 * @param version        the server and its version: {@code redis 7.0.15}, {@code valkey 8.1.1} ({@link ServerVersion}); null when
 *                       INFO did not say
 * @param role           {@code role}
 * @param masterHost     {@code master_host} (replicas only, else null)
 * @param masterPort     {@code master_port} (replicas only, else 0)
 * @param linkUp         {@code master_link_status:up} (replicas only)
 * @param syncInProgress {@code master_sync_in_progress:1} (replicas only)
 * @param replOffset     {@code master_repl_offset}: how much of the replication stream this redis holds
 * @param keys           total keys over all databases (INFO keyspace)
 * @param connectedReplicas {@code connected_slaves}
 * @param fenced         redis refuses writes for want of replicas: {@code min-replicas-to-write} is set (INFO
 *                       replication then shows {@code min_slaves_good_slaves}); how Skep fences a redis that no
 *                       agent leads
 * @param uptimeSeconds  {@code uptime_in_seconds}: with {@code processId}, tells the process apart from another
 *                       that has its PID in another PID namespace (see {@link RedisProcess})
 * @param replId         {@code master_replid}: the history its data belongs to. A master gets a new one when it is
 *                       promoted; a replica takes its master's once a sync (full or partial) has succeeded
 * @param replId2        {@code master_replid2}: the id its data had before its last promotion or detach (all
 *                       zeros, or empty, when none), whose history is a prefix of its data
 */
public record RedisSnapshot(
        String runId,
        long processId,
        String version,
        RedisRole role,
        String masterHost,
        int masterPort,
        boolean linkUp,
        boolean syncInProgress,
        long replOffset,
        long keys,
        int connectedReplicas,
        boolean fenced,
        long uptimeSeconds,
        String replId,
        String replId2) {

    public RedisSnapshot {
        replId = replId == null ? "" : replId;
        replId2 = replId2 == null || replId2.chars().allMatch(c -> c == '0') ? "" : replId2;
    }

    /** A snapshot without a previous replication id. */
    public RedisSnapshot(String runId, long processId, String version, RedisRole role, String masterHost,
            int masterPort, boolean linkUp, boolean syncInProgress, long replOffset, long keys, int connectedReplicas,
            boolean fenced, long uptimeSeconds, String replId) {
        this(runId, processId, version, role, masterHost, masterPort, linkUp, syncInProgress, replOffset, keys,
                connectedReplicas, fenced, uptimeSeconds, replId, "");
    }

    /** A snapshot without a replication id (tests, simulations). */
    public RedisSnapshot(String runId, long processId, String version, RedisRole role, String masterHost,
            int masterPort, boolean linkUp, boolean syncInProgress, long replOffset, long keys, int connectedReplicas,
            boolean fenced, long uptimeSeconds) {
        this(runId, processId, version, role, masterHost, masterPort, linkUp, syncInProgress, replOffset, keys,
                connectedReplicas, fenced, uptimeSeconds, "", "");
    }

    /** A snapshot of a redis that is not fenced and whose uptime is unknown (tests, simulations). */
    public RedisSnapshot(String runId, long processId, String version, RedisRole role, String masterHost,
            int masterPort, boolean linkUp, boolean syncInProgress, long replOffset, long keys, int connectedReplicas) {
        this(runId, processId, version, role, masterHost, masterPort, linkUp, syncInProgress, replOffset, keys,
                connectedReplicas, false, 0);
    }

    /** True when this redis is a replica of {@code host:port} with its link up and no sync running. */
    public boolean inSyncWith(String host, int port) {
        return role == RedisRole.REPLICA && port == masterPort && host.equals(masterHost) && linkUp && !syncInProgress;
    }

    /** True when this redis is configured as a replica of {@code host:port} (link up or not). */
    public boolean replicates(String host, int port) {
        return role == RedisRole.REPLICA && port == masterPort && host.equals(masterHost);
    }
}
