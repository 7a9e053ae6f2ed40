package dev.skep.proxy;

import dev.skep.resp.RespWriter;
import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * {@code --quorum majority}: the {@code WAIT} the proxy sends after writes, and how many replicas it needs. The
 * count is fixed when the writes are sent and travels with the WAIT, so that the answer is judged against what
 * those writes needed then, whatever the topology says by the time it comes back.
 *
 * <p>Why: a leader cut off from its replicas steps down and publishes a topology with no master (no count). A
 * WAIT judged against the count of that moment, 0, passed as enough and its writes were acknowledged although no
 * replica had them; the partition's winner then lacked them (issue 14, {@code bench/chaos} partition rounds).
 * Shared by the shared and dedicated upstream paths.
 *
 * @param replicas  replicas that must confirm the writes before this WAIT (at least 1)
 * @param timeoutMs how long redis may wait for them before answering with fewer
 */
record WriteConfirmation(int replicas, long timeoutMs) {
    WriteConfirmation {
        if (replicas < 1) {
            throw new IllegalArgumentException("a write confirmation needs at least one replica, not " + replicas);
        }
    }

    /** The {@code WAIT <replicas> <timeoutMs>} request. */
    byte[] request() {
        return RespWriter.request("WAIT", Integer.toString(replicas), Long.toString(timeoutMs));
    }

    /** The stricter of two confirmations (a batch whose writes were sent under different counts needs the larger). */
    WriteConfirmation max(WriteConfirmation other) {
        return other == null || other.replicas <= replicas ? this : other;
    }

    /**
     * Reads (and releases) redis's answer to {@link #request()}: null when enough replicas confirmed the writes
     * before it, otherwise the error (without its '-') each of those writes gets instead of its reply. Anything
     * but an integer (an error reply, a protocol surprise) confirms nothing.
     */
    String unconfirmed(ByteBuf waitReply) {
        long confirmed = -1;
        try {
            if (waitReply.readableBytes() > 3 && waitReply.getByte(waitReply.readerIndex()) == ':') {
                confirmed = Long.parseLong(waitReply.toString(waitReply.readerIndex() + 1,
                        waitReply.readableBytes() - 3, StandardCharsets.US_ASCII));
            }
        } catch (NumberFormatException e) {
            confirmed = -1;
        } finally {
            waitReply.release();
        }
        if (confirmed >= replicas) {
            return null;
        }
        return "NOREPLICAS " + Math.max(0, confirmed) + " of the " + replicas + " replicas needed confirmed the "
                + "command within " + timeoutMs + " ms (--quorum majority): it ran on the master but may not "
                + "survive a failover";
    }
}
