package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * Says that a client was closed for what the proxy held for it, at most one line a second per event loop (a flood of
 * clients that stopped reading must not flood the log too); the lines left out are counted in the next one.
 * Confined to its event loop.
 */
final class OverloadLog {
    private static final Logger log = LoggerFactory.getLogger(LoopContext.class);
    private final long loopShare;
    private final long clientLimit;
    private long lastLine;
    private int notLogged;

    OverloadLog(long loopShare, long clientLimit) {
        this.loopShare = loopShare;
        this.clientLimit = clientLimit;
    }

    /** Client {@code client} of {@code port} was closed holding {@code bytes}: for the loop's total, or its own. */
    void closed(String client, Port port, long bytes, boolean total) {
        long now = System.nanoTime();
        if (lastLine != 0 && now - lastLine < TimeUnit.SECONDS.toNanos(1)) {
            notLogged++;
            return;
        }
        String others = notLogged == 0 ? "" : " (and " + notLogged + " more since the last such line)";
        lastLine = now;
        notLogged = 0;
        String why = total
                ? "its clients together held more than this event loop's share (" + mib(loopShare) + ") of the "
                        + "bound, and this one the most"
                : "more than the " + mib(clientLimit) + " one client may have held";
        log.warn("closed client {} of the {} port: the proxy held {} of replies it had not read, {}{}", client,
                port == Port.WRITE ? "write" : "read", mib(bytes), why, others);
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
    }
}
