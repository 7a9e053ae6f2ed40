package dev.skep.election;

/**
 * What {@link ElectionSimulationTest} prints after many schedules of one mode: each figure summed over them (a
 * schedule that failed counts up to its failure). Same seeds, same figures: a change in them is a change in what the
 * election does.
 */
final class SimFigures {
    private final String mode;
    private final boolean majority;
    private final boolean lease;
    int handoversDone;
    private int handoversAbandoned;
    private long twoLeadersMs;
    private long twoLeadingStatesMs;
    private long restartedUnprobedMs;
    private final long[] leaseWrites = new long[4];
    private final long[] acked = new long[SimAcks.Excluded.values().length + 1];
    private final long[] holdersLost = new long[SimAcks.Excluded.values().length];

    SimFigures(boolean hostile, boolean majority, boolean lease) {
        this.mode = (hostile ? "hostile" : "reliable") + (majority ? " majority" : "") + (lease ? " lease" : "");
        this.majority = majority;
        this.lease = lease;
    }

    String mode() {
        return mode;
    }

    void add(Sim sim) {
        handoversDone += sim.handoversDone;
        handoversAbandoned += sim.handoversAbandoned;
        twoLeadersMs += sim.invariants.twoLeadersMs;
        twoLeadingStatesMs += sim.invariants.twoLeadingStatesMs;
        restartedUnprobedMs += sim.invariants.restartedUnprobedMs;
        for (int i = 0; i < leaseWrites.length; i++) {
            leaseWrites[i] += sim.api.leaseWrites[i];
        }
        if (majority) {
            long[] w = sim.acks.acknowledgedWrites();
            for (int i = 0; i < w.length; i++) {
                acked[i] += w[i];
            }
            acked[w.length] += sim.acks.ackChecks;
            for (int i = 0; i < holdersLost.length; i++) {
                holdersLost[i] += sim.acks.holdersLost[i];
            }
        }
    }

    void print(int runs) {
        System.out.printf("%s schedules: %d ms in all with two writable leaders at once over %d schedules of %d s%n",
                mode, twoLeadersMs, runs, (Sim.FAULT_PHASE + Sim.HEAL_PHASE) / 1000);
        if (lease) {
            System.out.printf("%s schedules: %d ms in all with two nodes in state LEADING at once (writable or not,"
                    + " Lease valid or not)%n", mode, twoLeadingStatesMs);
            System.out.printf("%s schedules: %d ms in all with a leader's redis restarted (empty, unpaused), not yet"
                    + " probed, while another node leads on the Lease%n", mode, restartedUnprobedMs);
            System.out.printf("%s schedules: Lease writes: %d stored, %d refused (409), %d failed or timed out;"
                    + " %d step-downs that fenced writes%n", mode, leaseWrites[0], leaseWrites[1], leaseWrites[2],
                    leaseWrites[3]);
        }
        if (majority) {
            System.out.printf("%s schedules: %d acknowledged writes, checked on the redis of every later epoch's leader"
                    + " (%d checks); excluded as a crash may have destroyed them: %d after a redis that held them when"
                    + " acknowledged lost its data (%d times to its own crash, %d to a resync from a master that had"
                    + " restarted empty), %d acknowledged by a leader whose redis had restarted empty unnoticed%n",
                    mode, acked[0], acked[4], acked[1] + acked[2], holdersLost[1], holdersLost[2], acked[3]);
        }
        System.out.printf("%s schedules: %d handovers completed, %d abandoned or refused%n", mode, handoversDone,
                handoversAbandoned);
    }
}
