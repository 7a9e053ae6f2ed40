package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.internal.PlatformDependent;

/**
 * The bytes of the buffer a scanner is reading, read one at a time without Netty's checks on each: the scanners
 * read every byte of a request's lines, and {@code ByteBuf.getByte} checks the index and the reference count at
 * each call (and, for the pooled buffers of Netty 4.2, goes through the buffer's root), which was most of the cost
 * of framing a {@code SET} (docs/benchmarks.md, "Proxy at -P 16").
 *
 * <p>Where the buffer has a memory address (the direct buffers Netty reads sockets into), bytes are read from that
 * address; otherwise (heap or composite buffers, tests) through {@code getByte}. The caller must read only within
 * the readable bytes of the buffer as they were when it was {@link #attach attached}, and only while it holds the
 * buffer: that is what the scanners check against their {@code available} count before every read, and what makes
 * the unchecked read safe.
 *
 * <p>Not thread-safe: one per scanner, on its connection's event loop.
 */
final class ScanView {
    private ByteBuf buf = Unpooled.EMPTY_BUFFER;
    /** The address of the buffer's index 0; 0 when it has none. */
    private long address;

    /** A view of {@code buf}, for the cold paths that read a buffer once. */
    static ScanView of(ByteBuf buf) {
        ScanView view = new ScanView();
        view.attach(buf);
        return view;
    }

    /** Reads {@code buf} from now on (its absolute indices). */
    void attach(ByteBuf buf) {
        this.buf = buf;
        this.address = buf.hasMemoryAddress() ? buf.memoryAddress() : 0;
    }

    /** The byte at absolute index {@code index}, which the caller knows to be readable. */
    byte get(int index) {
        return address != 0 ? PlatformDependent.getByte(address + index) : buf.getByte(index);
    }

    /** The first index in [from, to) holding {@code value}, or -1; the range must be readable. */
    int indexOf(int from, int to, byte value) {
        if (address == 0) {
            return buf.indexOf(from, to, value);
        }
        for (int i = from; i < to; i++) {
            if (PlatformDependent.getByte(address + i) == value) {
                return i;
            }
        }
        return -1;
    }
}
