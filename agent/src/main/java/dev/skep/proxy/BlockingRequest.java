package dev.skep.proxy;

import dev.skep.resp.RequestArguments;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The blocking commands the proxy may send again after a change of master, and how: where each carries its
 * timeout, and the same request with only what is left of it. A blocking command that a master answers with
 * {@code -UNBLOCKED} (it became a replica while the command waited) or {@code -READONLY} (it was postponed by
 * the handover's {@code CLIENT PAUSE WRITE} and ran once the server was a replica) did not run; sent again to
 * the new master it waits there for the rest of its time, so the client sees one command that waited as long
 * as it asked. Pure: no I/O, no state.
 */
final class BlockingRequest {
    private BlockingRequest() {}

    /** How a command gives its timeout. */
    private enum Unit { SECONDS, MILLISECONDS }

    /** Where a timeout is: its argument index and unit. */
    private record Timeout(int index, Unit unit) {}

    /** True when {@code args} is a blocking command that can be re-sent with its timeout reduced. */
    static boolean resendable(List<byte[]> args) {
        return timeout(args) != null;
    }

    /**
     * {@code args} with the timeout reduced by {@code elapsedMs}: a timeout of 0 (wait for ever) stays 0, one
     * that has run out becomes the smallest the command accepts (1 ms), so that redis answers the timeout in
     * its own words. A timeout that is not a number is left as it is: redis gives the error it would have given.
     */
    static List<byte[]> withElapsed(List<byte[]> args, long elapsedMs) {
        Timeout t = timeout(args);
        if (t == null) {
            return args;
        }
        String given = new String(args.get(t.index()), StandardCharsets.US_ASCII);
        String left;
        try {
            if (t.unit() == Unit.MILLISECONDS) {
                long ms = Long.parseLong(given);
                if (ms <= 0) {
                    return args;
                }
                left = Long.toString(Math.max(1, ms - elapsedMs));
            } else {
                double seconds = Double.parseDouble(given);
                if (!(seconds > 0) || Double.isInfinite(seconds)) {
                    return args;
                }
                long ms = (long) Math.ceil(seconds * 1000) - elapsedMs;
                left = String.format(Locale.ROOT, "%.3f", Math.max(1, ms) / 1000.0);
            }
        } catch (NumberFormatException e) {
            return args;
        }
        List<byte[]> out = new ArrayList<>(args);
        out.set(t.index(), left.getBytes(StandardCharsets.US_ASCII));
        return out;
    }

    /** Where the timeout of {@code args} is, or null when it is not a blocking command this class knows. */
    private static Timeout timeout(List<byte[]> args) {
        int n = args.size();
        String cmd = RequestArguments.upper(args, 0);
        return switch (cmd) {
            // BLPOP key [key ...] timeout; BRPOPLPUSH source destination timeout; BLMOVE ... timeout
            case "BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX" -> n >= 3 ? new Timeout(n - 1, Unit.SECONDS) : null;
            case "BRPOPLPUSH" -> n == 4 ? new Timeout(3, Unit.SECONDS) : null;
            case "BLMOVE" -> n == 6 ? new Timeout(5, Unit.SECONDS) : null;
            // BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
            case "BLMPOP", "BZMPOP" -> n >= 5 ? new Timeout(1, Unit.SECONDS) : null;
            // XREAD [COUNT count] [BLOCK milliseconds] STREAMS ...; XREADGROUP GROUP group consumer [...] STREAMS ...
            case "XREAD" -> block(args, 1);
            case "XREADGROUP" -> block(args, 4);
            default -> null;
        };
    }

    /** The BLOCK option among the options from {@code from} up to STREAMS (after which come keys and ids). */
    private static Timeout block(List<byte[]> args, int from) {
        for (int i = from; i < args.size() - 1; i++) {
            String option = RequestArguments.upper(args, i);
            if (option.equals("STREAMS")) {
                return null;
            }
            if (option.equals("BLOCK")) {
                return new Timeout(i + 1, Unit.MILLISECONDS);
            }
        }
        return null;
    }
}
