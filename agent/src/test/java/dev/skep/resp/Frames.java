package dev.skep.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Test helpers: RESP bytes from text, and a feeder that plays the proxy's part (append what arrives, scan
 * until NEED_MORE, consume each frame) over chosen splits of a byte stream.
 */
final class Frames {
    private Frames() {
    }

    /** The bytes of {@code text}, one byte per character (ISO-8859-1), so "\u00ff" is the byte 0xff. */
    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A multibulk request of these arguments. */
    static byte[] multibulk(String... arguments) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(bytes("*" + arguments.length + "\r\n"));
        for (String argument : arguments) {
            byte[] data = bytes(argument);
            out.writeBytes(bytes("$" + data.length + "\r\n"));
            out.writeBytes(data);
            out.writeBytes(bytes("\r\n"));
        }
        return out.toByteArray();
    }

    static byte[] concat(List<byte[]> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        parts.forEach(out::writeBytes);
        return out.toByteArray();
    }

    /** Cut points for every split of {@code length} bytes into two fragments (cut at 1 .. length-1). */
    static List<int[]> everyTwoFragmentSplit(int length) {
        List<int[]> splits = new ArrayList<>();
        for (int cut = 1; cut < length; cut++) {
            splits.add(new int[] {cut, length});
        }
        return splits;
    }

    /** Cut points for feeding {@code length} bytes one at a time. */
    static int[] byteByByte(int length) {
        int[] cuts = new int[length];
        for (int i = 0; i < length; i++) {
            cuts[i] = i + 1;
        }
        return cuts;
    }

    /**
     * Feeds {@code stream} in fragments ending at {@code cuts} (increasing, the last = stream length) and
     * checks that after every fragment exactly the frames that are complete have been reported, each with its
     * exact length: {@code frameLengths} in order, none before its last byte arrived. Between fragments the
     * unread bytes are sometimes moved to the start of the buffer (discardReadBytes), which the scanners'
     * contract allows. Returns the frame lengths the scanner reported.
     */
    static List<Integer> feed(ToIntFunction<ByteBuf> scan, byte[] stream, int[] cuts, List<Integer> frameLengths) {
        // a heap buffer (read through getByte), then a direct one, as the proxy reads sockets into (read at its address)
        feed(scan, stream, cuts, frameLengths, Unpooled.buffer());
        return feed(scan, stream, cuts, frameLengths, direct(0));
    }

    /** An empty direct buffer with a memory address: what the scanners read without Netty's per-byte checks. */
    static ByteBuf direct(int capacity) {
        ByteBuf buf = Unpooled.directBuffer(capacity);
        assertThat(buf.hasMemoryAddress()).as("a direct buffer read at its address").isTrue();
        return buf;
    }

    private static List<Integer> feed(ToIntFunction<ByteBuf> scan, byte[] stream, int[] cuts, List<Integer> frameLengths,
            ByteBuf in) {
        List<Integer> ends = new ArrayList<>();
        int end = 0;
        for (int length : frameLengths) {
            end += length;
            ends.add(end);
        }
        List<Integer> reported = new ArrayList<>();
        int consumed = 0;
        int from = 0;
        for (int i = 0; i < cuts.length; i++) {
            in.writeBytes(stream, from, cuts[i] - from);
            from = cuts[i];
            int length;
            while ((length = scan.applyAsInt(in)) != -1) {
                reported.add(length);
                in.skipBytes(length);
                consumed += length;
            }
            int arrived = from;
            int expectedConsumed = ends.stream().filter(e -> e <= arrived).reduce(0, Math::max);
            assertThat(consumed).as("bytes consumed after %d of %d bytes arrived", arrived, stream.length)
                    .isEqualTo(expectedConsumed);
            if (i % 2 == 1) {
                in.discardReadBytes();
            }
        }
        in.release();
        assertThat(reported).isEqualTo(frameLengths);
        return reported;
    }

    /**
     * Feeds {@code stream} byte by byte and returns the exception the scanner throws, checking that it comes
     * with the last byte: not before the bytes that make the error are all there (Redis would still wait).
     */
    static RespProtocolException failByteByByte(ToIntFunction<ByteBuf> scan, byte[] stream) {
        ByteBuf in = direct(0);
        int i = 0;
        try {
            for (; i < stream.length; i++) {
                in.writeByte(stream[i]);
                int length;
                while ((length = scan.applyAsInt(in)) != -1) {
                    in.skipBytes(length);
                }
            }
        } catch (RespProtocolException e) {
            assertThat(i).as("the error comes with the last byte").isEqualTo(stream.length - 1);
            return e;
        } finally {
            in.release();
        }
        throw new AssertionError("no protocol error after all " + stream.length + " bytes");
    }
}
