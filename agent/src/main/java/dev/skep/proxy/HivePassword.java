package dev.skep.proxy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * The hive password as the proxy uses it: the one its own connections to redis authenticate with, and the ones a
 * client's {@code AUTH password} is accepted with (compared in constant time). Two are accepted while a password
 * is being rotated: the new one and the old, until every redis of the hive has the new one and the window for
 * clients to move has passed. Thread-safe: written by the rotation, read by the event loops at each connection and
 * AUTH.
 */
public final class HivePassword {
    private record State(String current, List<byte[]> accepted) {}

    private volatile State state;

    public HivePassword(String password) {
        set(password, List.of(password));
    }

    /** From now on the proxy authenticates with {@code current} and accepts {@code accepted} from clients. */
    public void set(String current, List<String> accepted) {
        state = new State(current, accepted.stream().map(p -> p.getBytes(StandardCharsets.UTF_8)).toList());
    }

    /** What new connections to redis authenticate with; empty: none. */
    public String current() {
        return state.current();
    }

    /** True when a password is set, so that clients must AUTH. */
    public boolean required() {
        return !state.current().isEmpty();
    }

    /** True when {@code given} is one of the accepted passwords; constant time in each comparison. */
    public boolean accepts(byte[] given) {
        boolean ok = false;
        for (byte[] p : state.accepted()) {
            ok |= MessageDigest.isEqual(p, given);
        }
        return ok;
    }
}
