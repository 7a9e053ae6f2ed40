package dev.skep.election;

import dev.skep.lease.LeaseRecord;

import java.util.PriorityQueue;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * {@code --election lease} in a {@link Sim}: the Kubernetes API server as a compare-and-swap store of one Lease,
 * and each agent's single lease thread, whose requests take time, time out (possibly applied all the same) and can
 * be cut off, with the API server itself down at times.
 */
final class SimApiServer {
    private final Sim sim;
    /** Timed steps of API requests (arrival at the server, the answer's return), in virtual time. */
    private final PriorityQueue<Action> actions = new PriorityQueue<>();
    /** The Lease as the API server stores it; null until created (it is never deleted). */
    LeaseRecord stored;
    private long versions;
    private long apiDownUntil = -1;
    /** While down: whether the API server refuses connections at once, or is silent (requests time out). */
    private boolean apiRefuses;
    /** Lease writes stored, refused with 409, failed (timed out or unreachable); fencing step-downs. */
    final long[] leaseWrites = new long[4];

    SimApiServer(Sim sim) {
        this.sim = sim;
    }

    /** A step of an API request, run at {@code at}. */
    record Action(long at, long seq, Runnable step) implements Comparable<Action> {
        @Override
        public int compareTo(Action o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** An API server's answer: {@code ok} false is a 409 Conflict; {@code lease} is the Lease (null: none). */
    record Answer(boolean ok, LeaseRecord lease) {}

    /** A node cut off from the API server (the leader, half the time), or the API server down for a while. */
    void injectFault() {
        if (sim.rnd.nextBoolean()) {
            SimNode x = sim.rnd.nextBoolean() ? sim.leaderOrAny() : sim.nodes[sim.rnd.nextInt(sim.n)];
            long forMs = 300 + sim.rnd.nextInt(3700);
            x.apiCutUntil = Math.max(x.apiCutUntil, sim.now + forMs);
            sim.log("cut " + x.id + " from the API server for " + forMs + " ms");
        } else if (apiDownUntil < sim.now) {
            long forMs = 300 + sim.rnd.nextInt(3200);
            apiDownUntil = sim.now + forMs;
            apiRefuses = sim.rnd.nextBoolean();
            sim.log("API server down for " + forMs + " ms (" + (apiRefuses ? "refusing connections" : "silent") + ")");
        }
    }

    /** The faults stop: the API server is up and every node reaches it. */
    void heal() {
        apiDownUntil = -1;
        for (SimNode x : sim.nodes) {
            x.apiCutUntil = -1;
        }
    }

    void expireOutage() {
        if (apiDownUntil >= 0 && sim.now >= apiDownUntil) {
            apiDownUntil = -1;
            sim.log("API server back");
        }
    }

    void reconnect(SimNode x) {
        if (x.apiCutUntil >= 0 && sim.now >= x.apiCutUntil) {
            x.apiCutUntil = -1;
            sim.log(x.id + " reaches the API server again");
        }
    }

    private boolean apiCut(SimNode x) {
        return sim.now < x.apiCutUntil;
    }

    private boolean apiDown() {
        return sim.now < apiDownUntil;
    }

    /**
     * One way of an API request: a few ms; in hostile schedules, until the faults stop, now and then up to a
     * second (two such in a row can cost a leader its Lease: the hive must converge once they stop).
     */
    private long apiLatency() {
        return sim.hostile && sim.now < Sim.FAULT_PHASE && sim.rnd.nextInt(25) == 0 ? 1 + sim.rnd.nextInt(1000)
                : 1 + sim.rnd.nextInt(5);
    }

    /** Runs the API requests' steps that are due, then lets every idle lease thread start its next request. */
    void leaseThreads() {
        while (!actions.isEmpty() && actions.peek().at() <= sim.now) {
            actions.poll().step().run();
        }
        if (sim.lease) {
            for (SimNode x : sim.nodes) {
                pumpLease(x);
            }
        }
    }

    private void at(long when, Runnable step) {
        actions.add(new Action(when, sim.seq++, step));
    }

    /** What the agent's {@link Effect.WriteLease} does: queued on its lease thread. */
    void write(SimNode x, Effect.WriteLease w) {
        x.leaseWrites.add(w);
        pumpLease(x);
    }

    /**
     * As LeaseShell's thread: one request at a time; a queued write goes before the next read, which
     * comes a heartbeat after the last one ended (scheduleWithFixedDelay).
     */
    private void pumpLease(SimNode x) {
        if (!sim.lease || x.election == null || x.leaseBusy) {
            return;
        }
        Effect.WriteLease w = x.leaseWrites.poll();
        if (w != null) {
            startWrite(x, w);
        } else if (sim.now >= x.nextLeaseRead) {
            startRead(x);
        }
    }

    private void startRead(SimNode x) {
        x.leaseBusy = true;
        request(x, () -> new Answer(true, stored), a -> {
            x.leaseBusy = false;
            x.nextLeaseRead = sim.now + Sim.HB;
            if (Sim.VERBOSE) {
                sim.log(x.id + " lease thread: read " + (a == null ? "failed" : String.valueOf(a.lease())));
            }
            if (a != null) { // a failed read is only logged by the shell
                sim.network.enqueue(x, sim.now, new ElectionEvent.LeaseObserved(a.lease(), 0));
            }
            pumpLease(x);
        });
    }

    /** As LeaseShell's writes: on a 409 the Lease is read back, and that read may fail too. */
    private void startWrite(SimNode x, Effect.WriteLease w) {
        x.leaseBusy = true;
        long sentAt = sim.now;
        request(x, () -> store(x, w), a -> {
            if (a == null) {
                leaseWrites[2]++;
                written(x, w, false, null, sentAt, "timed out");
            } else if (a.ok()) {
                leaseWrites[0]++;
                written(x, w, true, a.lease(), sentAt, "stored");
            } else {
                leaseWrites[1]++;
                request(x, () -> new Answer(true, stored),
                        r -> written(x, w, false, r == null ? null : r.lease(), sentAt, "changed meanwhile"));
            }
        });
    }

    private void written(SimNode x, Effect.WriteLease w, boolean ok, LeaseRecord lease, long sentAt, String detail) {
        x.leaseBusy = false;
        if (Sim.VERBOSE) {
            sim.log(x.id + " lease thread: " + w.kind() + " sent at " + sentAt + ": " + detail + ", " + lease);
        }
        sim.network.enqueue(x, sim.now, new ElectionEvent.LeaseWritten(w.kind(), ok, lease, sentAt, detail, 0));
        pumpLease(x);
    }

    /** The API server's compare-and-swap: create when the version is null, replace when it matches, else 409. */
    private Answer store(SimNode from, Effect.WriteLease w) {
        LeaseRecord next = w.next();
        String current = stored == null ? null : stored.resourceVersion();
        boolean matches = next.resourceVersion() == null ? stored == null : next.resourceVersion().equals(current);
        if (!matches) {
            sim.log("api: " + w.kind() + " of " + from.id + " at version " + next.resourceVersion() + " refused (409, at "
                    + current + ")");
            return new Answer(false, null);
        }
        stored = new LeaseRecord(next.holder(), next.epoch(), next.durationSeconds(), next.renewTimeMillis(),
                next.transitions(), Long.toString(++versions));
        if (w.kind() != Effect.LeaseWrite.RENEW || Sim.VERBOSE) {
            sim.log("api: " + w.kind() + " of " + from.id + " stored: holder '" + stored.holder() + "' epoch "
                    + stored.epoch() + " version " + versions);
        }
        return new Answer(true, stored);
    }

    /**
     * One HTTP request of {@code x}'s lease client: {@code atServer} runs when (and if) it reaches the API
     * server, whether or not the agent still lives; {@code answer} gets its result back on the lease thread,
     * or null when the client gave up after {@link Sim#API_TIMEOUT} (the request may have been applied all the
     * same) or the connection was refused. Nothing reaches a thread of an agent that died meanwhile.
     */
    private void request(SimNode x, Supplier<Answer> atServer, Consumer<Answer> answer) {
        int incarnation = x.incarnation;
        boolean[] done = new boolean[1];
        Consumer<Answer> once = a -> {
            if (!done[0] && x.incarnation == incarnation && x.election != null) {
                done[0] = true;
                answer.accept(a);
            }
        };
        if (!apiCut(x) && apiDown() && apiRefuses) {
            at(sim.now + 1 + sim.rnd.nextInt(5), () -> once.accept(null));
            return;
        }
        at(sim.now + Sim.API_TIMEOUT, () -> once.accept(null));
        if (apiCut(x) || apiDown()) {
            return; // the packets go nowhere: the client times out
        }
        at(sim.now + apiLatency(), () -> {
            if (apiCut(x) || apiDown()) {
                return;
            }
            Answer a = atServer.get();
            at(sim.now + apiLatency(), () -> {
                if (!apiCut(x)) {
                    once.accept(a);
                }
            });
        });
    }
}
