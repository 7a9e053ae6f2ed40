package dev.skep.netns;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Clients behind a Kubernetes Service, as a separate program run inside a client namespace of a
 * {@link NetnsHive} (the test JVM itself cannot reach the namespaces). Each writer connects to one of the
 * Service's endpoints (a file of {@code host:port} lines that the test rewrites as pods become ready or start
 * terminating), authenticates, and alternates {@code SET} of a new key and {@code INCR} of its counter,
 * recording every acknowledgement. When its connection is closed or reset it notes the request it had sent
 * (its outcome is unknown to it) and connects to another endpoint, as a client of a Service does.
 *
 * <p>When the stop file appears, every writer stops and the program checks the acknowledged writes through
 * the Service and on every redis listed in the pods file (each must hold every acknowledged key and counter,
 * waiting up to 15 s for replicas to catch up), then writes a report (a properties file) and exits.
 *
 * <p>Usage: {@code ServiceClients <dir> <password> <writers>}; {@code dir} holds {@code endpoints},
 * {@code pods}, and receives {@code progress}, {@code report}; {@code stop} ends the run.
 */
public final class ServiceClients {
    /** At most 250 requests a second per writer. */
    private static final long PACE_NANOS = 4_000_000;
    private static final int TIMEOUT_MS = 15_000; // beyond the agents' 5 s hold: a held request is not a failure

    private final Path dir;
    private final String password;
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong connectFailures = new AtomicLong();
    private final Map<String, String> errorSamples = new ConcurrentHashMap<>();

    private ServiceClients(Path dir, String password) {
        this.dir = dir;
        this.password = password;
    }

    /** What one writer did. */
    private static final class Tally {
        final List<String> ackedKeys = new ArrayList<>();
        long ackedIncrs;
        final List<String> cutKeys = new ArrayList<>();
        long cutIncrs;
    }

    public static void main(String[] args) throws Exception {
        ServiceClients c = new ServiceClients(Paths.get(args[0]), args[1]);
        int writers = Integer.parseInt(args[2]);
        List<Thread> threads = new ArrayList<>();
        List<Tally> tallies = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            Tally t = new Tally();
            tallies.add(t);
            int id = w;
            Thread th = new Thread(() -> c.write(id, t), "writer-" + w);
            threads.add(th);
            th.start();
        }
        while (threads.stream().anyMatch(Thread::isAlive)) {
            c.writeAtomically("progress", Long.toString(c.acked.get()));
            for (Thread th : threads) {
                th.join(100);
            }
        }
        c.writeAtomically("progress", Long.toString(c.acked.get()));
        c.report(tallies);
    }

    private boolean stopping() {
        return Files.exists(dir.resolve("stop"));
    }

    private Jedis connect(int attempt) {
        List<String> endpoints;
        try {
            endpoints = Files.readAllLines(dir.resolve("endpoints")).stream().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        if (endpoints.isEmpty()) {
            return null;
        }
        String[] hp = endpoints.get(Math.floorMod(attempt, endpoints.size())).split(":");
        Jedis j = new Jedis(hp[0], Integer.parseInt(hp[1]), TIMEOUT_MS);
        try {
            j.auth(password);
            return j;
        } catch (RuntimeException e) {
            j.close();
            connectFailures.incrementAndGet();
            return null;
        }
    }

    private void write(int id, Tally t) {
        Jedis j = null;
        int attempt = id;
        long next = System.nanoTime();
        for (long n = 0; !stopping(); ) {
            // paced: the agents, on this shared 2-core machine, must not be starved by the load generator
            // (in a cluster each pod has a node of its own); a pace, not a wait for a condition
            next += PACE_NANOS;
            long ahead = next - System.nanoTime();
            if (ahead > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(ahead);
            } else if (ahead < -1_000_000_000L) {
                next = System.nanoTime(); // after a long hold, no burst to catch up
            }
            if (j == null) {
                j = connect(attempt++);
                if (j == null) {
                    pause(20); // a retry's backoff, as a client library would
                    continue;
                }
            }
            String key = "ru:k:" + id + ":" + n;
            boolean set = n % 2 == 0;
            try {
                if (set) {
                    j.set(key, Long.toString(n));
                    t.ackedKeys.add(key);
                } else {
                    j.incr("ru:c:" + id);
                    t.ackedIncrs++;
                }
                acked.incrementAndGet();
                n++;
            } catch (JedisDataException e) {
                errors.incrementAndGet();
                errorSamples.putIfAbsent(e.getMessage(), key);
                n++;
            } catch (JedisConnectionException e) {
                // sent (maybe), never answered: the report says whether it ran
                if (set) {
                    t.cutKeys.add(key);
                } else {
                    t.cutIncrs++;
                }
                n++;
                j.close();
                j = null;
                reconnects.incrementAndGet();
            }
        }
        if (j != null) {
            j.close();
        }
    }

    private void report(List<Tally> tallies) throws IOException {
        Properties r = new Properties();
        r.setProperty("acked", Long.toString(acked.get()));
        r.setProperty("errors", Long.toString(errors.get()));
        r.setProperty("errorSamples", new TreeMap<>(errorSamples).toString());
        r.setProperty("reconnects", Long.toString(reconnects.get()));
        r.setProperty("connectFailures", Long.toString(connectFailures.get()));
        long cuts = 0;
        for (Tally t : tallies) {
            cuts += t.cutKeys.size() + t.cutIncrs;
        }
        r.setProperty("cuts", Long.toString(cuts));
        Jedis service = null;
        for (int attempt = 0; service == null && attempt < 100; attempt++) {
            service = connect(attempt);
        }
        // through the Service: which acknowledged writes are gone, which cut requests ran after all
        long lost = 0;
        long cutsThatRan = 0;
        for (int w = 0; w < tallies.size(); w++) {
            Tally t = tallies.get(w);
            lost += missing(service, t.ackedKeys);
            cutsThatRan += t.cutKeys.size() - missing(service, t.cutKeys);
            String v = service.get("ru:c:" + w);
            long counter = v == null ? 0 : Long.parseLong(v);
            lost += Math.max(0, t.ackedIncrs - counter);
            cutsThatRan += Math.max(0, counter - t.ackedIncrs);
        }
        r.setProperty("lost", Long.toString(lost));
        r.setProperty("cutsThatRan", Long.toString(cutsThatRan));
        long expectedKeys = service.dbSize();
        service.close();
        // on every redis: the same data (replicas may be a moment behind: up to 15 s to catch up)
        for (String pod : Files.readAllLines(dir.resolve("pods")).stream().filter(l -> !l.isBlank()).toList()) {
            long deadline = System.nanoTime() + 15_000_000_000L;
            long missing;
            long size;
            do {
                try (Jedis redis = new Jedis(pod, 6379, TIMEOUT_MS)) {
                    redis.auth(password);
                    missing = 0;
                    for (int w = 0; w < tallies.size(); w++) {
                        missing += missing(redis, tallies.get(w).ackedKeys);
                        String v = redis.get("ru:c:" + w);
                        missing += Math.max(0, tallies.get(w).ackedIncrs - (v == null ? 0 : Long.parseLong(v)));
                    }
                    size = redis.dbSize();
                }
            } while ((missing > 0 || size != expectedKeys) && System.nanoTime() < deadline && pause(200));
            r.setProperty("pod." + pod + ".missing", Long.toString(missing));
            r.setProperty("pod." + pod + ".keys", size + " (through the Service: " + expectedKeys + ")");
            r.setProperty("pod." + pod + ".ok", Boolean.toString(missing == 0 && size == expectedKeys));
        }
        StringBuilder text = new StringBuilder();
        new TreeMap<>(r).forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        writeAtomically("report", text.toString());
    }

    private static long missing(Jedis j, List<String> keys) {
        long missing = 0;
        for (int from = 0; from < keys.size(); from += 500) {
            List<String> batch = keys.subList(from, Math.min(keys.size(), from + 500));
            missing += j.mget(batch.toArray(String[]::new)).stream().filter(v -> v == null).count();
        }
        return missing;
    }

    private void writeAtomically(String name, String text) throws IOException {
        Path tmp = dir.resolve(name + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static boolean pause(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
