package dev.skep.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free TCP ports on 127.0.0.1 for integration tests.
 *
 * <p>Ports are picked at random in {@value #LOW}..{@value #HIGH}, below Linux's ephemeral range (32768 and up),
 * so the kernel will not hand the same port to some outgoing connection between the check and the moment
 * the test binds it. A port is free when a socket can bind it on 127.0.0.1 right now; this JVM never hands
 * out the same port twice, so fixtures started by one test run do not collide with each other. Another
 * process may still take a port before the test binds it: fixtures that can, retry on a new port.
 */
public final class FreePorts {
    static final int LOW = 20000;
    static final int HIGH = 32000;
    private static final int ATTEMPTS = 2000;
    private static final Set<Integer> handedOut = new HashSet<>();
    /** 127.0.0.1 itself, not whatever "localhost" resolves to (::1 with IPv6 preferred). */
    private static final InetAddress LOOPBACK = loopback();

    private FreePorts() {
    }

    /** A free loopback port. */
    public static int freePort() {
        return freeBlock(1);
    }

    /**
     * The first of {@code count} consecutive free loopback ports ({@code first .. first + count - 1}), for tests
     * that start several nodes with predictable addresses.
     */
    public static synchronized int freeBlock(int count) {
        if (count < 1 || count > 100) {
            throw new IllegalArgumentException("count: " + count + " (expected: 1..100)");
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int first = LOW + random.nextInt(HIGH - LOW - count);
            if (allFree(first, count)) {
                for (int p = first; p < first + count; p++) {
                    handedOut.add(p);
                }
                return first;
            }
        }
        throw new IllegalStateException("no block of " + count + " free ports on 127.0.0.1 in "
                + LOW + ".." + HIGH + " after " + ATTEMPTS + " attempts");
    }

    private static boolean allFree(int first, int count) {
        for (int p = first; p < first + count; p++) {
            if (handedOut.contains(p) || !isFree(p)) {
                return false;
            }
        }
        return true;
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress("127.0.0.1", new byte[] {127, 0, 0, 1});
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** True when a socket can bind 127.0.0.1:{@code port} right now. */
    public static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            // like redis-server and Netty, which bind with SO_REUSEADDR: a port with connections lingering in
            // TIME_WAIT is usable by them, so it counts as free here too
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(LOOPBACK, port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
