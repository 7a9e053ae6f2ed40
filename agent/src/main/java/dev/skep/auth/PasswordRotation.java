package dev.skep.auth;

/**
 * A rotation of the hive password as one agent drives it, decided without I/O: the password file names a new
 * password; the agent has its own redis accept it next to the old one; once every live redis of the hive accepts
 * it, the agent switches to it (its connections, {@code masterauth}, the proxy's connections); a window later, so
 * that clients still holding the old one can move, the old one is removed from its redis. Every agent does the
 * same with its own redis, and the condition for switching is the same for all, so the hive moves together; no
 * connection is cut on the way: established ones stay authenticated, replication links included.
 *
 * <p>Immutable: {@link #next} says what to do, {@link #after} the state once it is done. Called by one thread.
 *
 * @param inUse      the password the agent authenticates with now
 * @param incoming   the new password its redis accepts next to {@code inUse}; null when none
 * @param retired    the old password still accepted after the switch, until removed; null when none
 * @param switchedAt when the agent switched to {@code inUse} (ms), for the window
 */
public record PasswordRotation(String inUse, String incoming, String retired, long switchedAt) {

    /** What the agent does next. */
    public sealed interface Step {
        /** Nothing to do now. */
        record Wait() implements Step {}

        /** Have the local redis accept {@code password} too (the proxy accepts it from clients as well). */
        record Accept(String password) implements Step {}

        /** Authenticate with {@code password} from now on, everywhere; {@code old} stays accepted. */
        record Switch(String password, String old) implements Step {}

        /** Remove {@code old} from the local redis and from what the proxy accepts. */
        record Retire(String old) implements Step {}
    }

    /** No rotation under way: {@code password} is the one. */
    public static PasswordRotation steady(String password) {
        return new PasswordRotation(password, null, null, 0);
    }

    /**
     * The next step, given the password the file names now, whether every live redis of the hive accepts the
     * incoming one, and the time.
     */
    public Step next(String file, boolean hiveAcceptsIncoming, long nowMs, long windowMs) {
        if (retired != null) {
            return nowMs - switchedAt >= windowMs ? new Step.Retire(retired) : new Step.Wait();
        }
        if (incoming != null && incoming.equals(file)) {
            return hiveAcceptsIncoming ? new Step.Switch(incoming, inUse) : new Step.Wait();
        }
        if (!file.equals(inUse) && !file.isEmpty()) {
            return new Step.Accept(file); // a new password, or one changed again before the hive took the last
        }
        return new Step.Wait();
    }

    /** The state once {@code step} is done. */
    public PasswordRotation after(Step step, long nowMs) {
        if (step instanceof Step.Accept a) {
            return new PasswordRotation(inUse, a.password(), null, 0);
        }
        if (step instanceof Step.Switch s) {
            return new PasswordRotation(s.password(), null, s.old(), nowMs);
        }
        if (step instanceof Step.Retire) {
            return steady(inUse);
        }
        return this;
    }

    /** The passwords a client may authenticate with now. */
    public java.util.List<String> accepted() {
        java.util.List<String> out = new java.util.ArrayList<>();
        out.add(inUse);
        if (incoming != null) {
            out.add(incoming);
        }
        if (retired != null) {
            out.add(retired);
        }
        return out;
    }

    @Override
    public String toString() {
        return "PasswordRotation[" + (incoming != null ? "accepting a new password" : retired != null
                ? "switched, the old one retired at the end of the window" : "steady") + "]";
    }
}
