package dev.skep.proxy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Helpers for the arguments of a request already decoded ({@code resp.RequestArguments}): names in upper case,
 * and the encoding of the requests the proxy sends itself (state replay, re-sent blocking commands). Used only
 * on the rare path, never for the plain commands that the proxy forwards without looking inside. Pure.
 */
final class RequestArgs {
    private RequestArgs() {}

    /** Argument {@code i} in upper case (command and subcommand names), or "" when absent. */
    static String upper(List<byte[]> args, int i) {
        return i < args.size() ? new String(args.get(i), StandardCharsets.UTF_8).toUpperCase(Locale.ROOT) : "";
    }

    /** A RESP multibulk request made of {@code args}, for commands the proxy sends itself (state replay). */
    static byte[] encode(List<byte[]> args) {
        StringBuilder head = new StringBuilder();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        head.append('*').append(args.size()).append("\r\n");
        out.writeBytes(head.toString().getBytes(StandardCharsets.US_ASCII));
        for (byte[] a : args) {
            out.writeBytes(("$" + a.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(a);
            out.writeBytes(new byte[] {'\r', '\n'});
        }
        return out.toByteArray();
    }

    static byte[] encode(String... args) {
        List<byte[]> list = new ArrayList<>();
        for (String a : args) {
            list.add(a.getBytes(StandardCharsets.UTF_8));
        }
        return encode(list);
    }
}
