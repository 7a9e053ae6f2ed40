package dev.skep.chaos;

import dev.skep.topology.Endpoint;
import dev.skep.up.Supervisor;

import java.io.IOException;

/**
 * A running hive the harness can reach and hurt: every node's redis, write port, Sentinel-compatible
 * endpoint and admin HTTP, and its processes (started by the harness, so their PIDs are known and only they
 * are signalled). Processes that die are restarted by the hive, as Kubernetes would. Called from the
 * harness's main thread and its pollers (the address methods are pure).
 */
interface ChaosHive extends AutoCloseable {
    int size();

    Endpoint redis(int node);

    Endpoint writePort(int node);

    Endpoint sentinel(int node);

    /** The node's agent's admin HTTP ({@code /api/status}). */
    Endpoint http(int node);

    Supervisor.Child redisProcess(int node);

    Supervisor.Child agentProcess(int node);

    /** True when {@link #isolate} works (network namespaces). */
    boolean partitions();

    void isolate(int node) throws IOException;

    void heal(int node) throws IOException;

    /** Where the logs are. */
    String describe();

    @Override
    void close();

    /** The node whose redis is {@code e}, or -1. */
    default int indexOf(Endpoint e) {
        for (int i = 0; i < size(); i++) {
            if (redis(i).equals(e)) {
                return i;
            }
        }
        return -1;
    }
}
