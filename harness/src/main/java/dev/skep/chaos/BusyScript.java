package dev.skep.chaos;

import dev.skep.redis.RedisErrorReply;
import dev.skep.redis.RespClient;
import dev.skep.topology.Endpoint;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The {@code busy-redis} fault: a Lua script that loops on {@code TIME} until the busy time has passed, sent
 * directly to one redis (not through a proxy) from a connection and a thread of its own, so the round's
 * clock goes on while redis answers no one else. The script only reads the clock: it changes no data and
 * adds nothing to the replication stream. It ends by itself; if its reply has not come a margin after the
 * busy time, {@link #await} sends {@code SCRIPT KILL} (a script that wrote nothing can be killed).
 *
 * <p>Redis answers other clients {@code -BUSY} only once a script has run {@code busy-reply-threshold} (5 s by
 * default); shorter, it does not answer them at all, which is what an agent's probe meets.
 *
 * <p>Threads: {@link #start} and {@link #await} from the harness's main thread; the script runs on its own.
 */
final class BusyScript {
    static final String SCRIPT = "local t=redis.call('TIME') local s=t[1]*1000000+t[2] "
            + "while true do local n=redis.call('TIME') if n[1]*1000000+n[2]-s >= ARGV[1]*1000 then break end end return 1";
    private static final Duration CONNECT = Duration.ofSeconds(1);
    private static final long MARGIN_MS = 10_000;

    private final Endpoint redis;
    private final int busyMs;
    private final CountDownLatch sent = new CountDownLatch(1);
    private final Thread thread;
    private volatile String outcome = "no reply yet";
    private volatile long tookMs = -1;

    private BusyScript(Endpoint redis, int busyMs) {
        this.redis = redis;
        this.busyMs = busyMs;
        this.thread = new Thread(this::run, "chaos-busy-script");
        thread.setDaemon(true);
    }

    /**
     * Connects to {@code redis}, checks it answers, and sends the script; returns once it is about to go out
     * (within 2 s; if the connection or the check failed by then, the outcome says so).
     */
    static BusyScript start(Endpoint redis, int busyMs) throws InterruptedException {
        BusyScript b = new BusyScript(redis, busyMs);
        b.thread.start();
        b.sent.await(2, TimeUnit.SECONDS);
        return b;
    }

    private void run() {
        try (RespClient c = new RespClient(redis, null, CONNECT, Duration.ofMillis(busyMs + MARGIN_MS))) {
            try {
                c.call("PING"); // connected and answering: the script is what makes it busy
            } catch (IOException | RedisErrorReply e) {
                outcome = "not sent, redis did not answer PING: " + e.getMessage();
                return;
            } finally {
                sent.countDown();
            }
            long start = System.nanoTime();
            try {
                Object reply = c.call("EVAL", SCRIPT, "0", Integer.toString(busyMs));
                tookMs = (System.nanoTime() - start) / 1_000_000;
                outcome = Long.valueOf(1).equals(reply) ? "returned after " + tookMs + " ms" : "replied " + reply + " after " + tookMs + " ms";
            } catch (IOException | RedisErrorReply e) {
                tookMs = (System.nanoTime() - start) / 1_000_000;
                outcome = "failed after " + tookMs + " ms: " + e.getMessage();
            }
        }
    }

    /**
     * Waits for the script's reply, at most the busy time plus a margin from now; past that, asks redis to
     * kill it and waits a little more. Returns what happened, for the round's line.
     */
    String await() throws InterruptedException {
        thread.join(busyMs + MARGIN_MS + 1_000);
        if (thread.isAlive()) {
            String kill;
            try (RespClient c = new RespClient(redis, null, CONNECT, Duration.ofSeconds(2))) {
                kill = String.valueOf(c.call("SCRIPT", "KILL"));
            } catch (IOException | RedisErrorReply e) {
                kill = e.getMessage();
            }
            thread.join(5_000);
            return "no reply in " + (busyMs + MARGIN_MS) + " ms; SCRIPT KILL: " + kill + "; " + outcome;
        }
        return outcome;
    }
}
