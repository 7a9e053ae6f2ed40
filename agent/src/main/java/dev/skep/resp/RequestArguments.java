package dev.skep.resp;

import io.netty.buffer.ByteBuf;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of one request, decoded into byte arrays: the slow path, for the few requests whose
 * arguments the proxy must read (SELECT's db, AUTH's credentials, CLIENT SETNAME's name, CONFIG SET's
 * parameters). The hot path never needs it: {@link RequestScanner} frames and classifies without it.
 * Pure, safe from any thread.
 */
public final class RequestArguments {
    private RequestArguments() {
    }

    /** Argument {@code i} in upper case (command and subcommand names), or "" when absent. */
    public static String upper(List<byte[]> args, int i) {
        return i < args.size()
                ? new String(args.get(i), java.nio.charset.StandardCharsets.UTF_8).toUpperCase(java.util.Locale.ROOT)
                : "";
    }

    /**
     * The arguments of the request that fills the readable bytes of {@code request}: exactly what
     * {@link RequestScanner#scan} framed (skipped empty lines first included). Indices are not moved.
     *
     * @throws IllegalArgumentException the bytes are not one complete request as the scanner frames them
     */
    public static List<byte[]> decode(ByteBuf request) {
        return decode(request, request.readerIndex(), request.readableBytes());
    }

    /** The arguments of the request at [index, index + length) of {@code buf} (absolute indices). */
    static List<byte[]> decode(ByteBuf buf, int index, int length) {
        int end = index + length;
        int p = index;
        while (p < end) {
            if (buf.getByte(p) == '*') {
                int cr = indexOf(buf, p, end, (byte) '\r');
                long count = RespBytes.parseLong(buf, p + 1, cr);
                p = cr + 2;
                if (count == RespBytes.INVALID) {
                    throw notARequest();
                }
                if (count <= 0) {
                    continue; // *0 and *-1 are skipped, as by Redis
                }
                List<byte[]> arguments = new ArrayList<>((int) Math.min(count, 64));
                for (long i = 0; i < count; i++) {
                    cr = indexOf(buf, p, end, (byte) '\r');
                    long bulk = RespBytes.parseLong(buf, p + 1, cr);
                    p = cr + 2;
                    if (bulk < 0 || p + bulk + 2 > end) {
                        throw notARequest();
                    }
                    byte[] argument = new byte[(int) bulk];
                    buf.getBytes(p, argument);
                    arguments.add(argument);
                    p += (int) bulk + 2;
                }
                return arguments;
            }
            int lf = indexOf(buf, p, end, (byte) '\n');
            int lineEnd = lf > p && buf.getByte(lf - 1) == '\r' ? lf - 1 : lf;
            Collector collector = new Collector();
            int count = InlineTokenizer.tokenize(buf, p, lineEnd, collector);
            p = lf + 1;
            if (count == InlineTokenizer.UNBALANCED) {
                throw notARequest();
            }
            if (count > 0) {
                return collector.finish();
            }
        }
        throw notARequest();
    }

    private static int indexOf(ByteBuf buf, int from, int end, byte value) {
        int found = buf.indexOf(from, end, value);
        if (found < 0) {
            throw notARequest();
        }
        return found;
    }

    private static IllegalArgumentException notARequest() {
        return new IllegalArgumentException("not one complete request as RequestScanner frames it");
    }

    /** Collects the arguments of an inline request. */
    private static final class Collector implements InlineTokenizer.Sink {
        private final List<byte[]> arguments = new ArrayList<>();
        private final ByteArrayOutputStream current = new ByteArrayOutputStream();
        private boolean started;

        @Override
        public void begin(int index) {
            flush();
            started = true;
        }

        @Override
        public void append(byte b) {
            current.write(b);
        }

        List<byte[]> finish() {
            flush();
            return arguments;
        }

        private void flush() {
            if (started) {
                arguments.add(current.toByteArray());
                current.reset();
            }
        }
    }
}
