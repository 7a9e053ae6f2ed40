package dev.skep.chaos;

import dev.skep.netns.NetnsHive;
import dev.skep.topology.Endpoint;
import dev.skep.up.Supervisor;

import java.io.IOException;

/**
 * A {@link NetnsHive} with a client leg: every node on a host of its own (network namespace), peers found
 * through DNS, and partitions. The harness must run in a network namespace of its own ({@code bench/chaos}
 * starts it under {@code unshare --net}), since the client leg is created there.
 */
final class NetnsChaosHive implements ChaosHive {
    private final NetnsHive hive;

    NetnsChaosHive(NetnsHive hive) {
        this.hive = hive;
    }

    @Override
    public int size() {
        return hive.size();
    }

    @Override
    public Endpoint redis(int node) {
        return hive.redisEndpoint(node);
    }

    @Override
    public Endpoint writePort(int node) {
        return new Endpoint(NetnsHive.address(node), NetnsHive.WRITE_PORT);
    }

    @Override
    public Endpoint sentinel(int node) {
        return new Endpoint(NetnsHive.address(node), NetnsHive.SENTINEL_PORT);
    }

    @Override
    public Endpoint http(int node) {
        return new Endpoint(NetnsHive.address(node), NetnsHive.HTTP_PORT);
    }

    @Override
    public Supervisor.Child redisProcess(int node) {
        return hive.redisProcess(node);
    }

    @Override
    public Supervisor.Child agentProcess(int node) {
        return hive.agentProcess(node);
    }

    @Override
    public boolean partitions() {
        return true;
    }

    @Override
    public void isolate(int node) throws IOException {
        hive.isolate(node);
    }

    @Override
    public void heal(int node) throws IOException {
        hive.heal(node);
    }

    @Override
    public String describe() {
        return "hive in network namespaces (" + NetnsHive.address(0) + ".." + NetnsHive.address(hive.size() - 1)
                + ", peers from DNS " + NetnsHive.SERVICE + "), logs in " + hive.runDir();
    }

    @Override
    public void close() {
        hive.close();
    }
}
