package dev.skep.proxy;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The arguments of one complete, already framed request (multibulk or inline), as byte arrays. Used only on
 * the rare path (session state commands: SELECT, AUTH, CLIENT SETNAME, HELLO...), never for the plain
 * commands that the proxy forwards without looking inside. Pure; does not move the buffer's indices.
 */
final class RequestArgs {
    private RequestArgs() {}

    /** Every argument of {@code request} (the bytes of exactly one request). */
    static List<byte[]> parse(ByteBuf request) {
        int i = request.readerIndex();
        int end = request.writerIndex();
        List<byte[]> args = new ArrayList<>();
        if (request.getByte(i) == '*') {
            int lineEnd = request.indexOf(i, end, (byte) '\r');
            int n = Integer.parseInt(request.toString(i + 1, lineEnd - i - 1, StandardCharsets.US_ASCII));
            i = lineEnd + 2;
            for (int k = 0; k < n; k++) {
                lineEnd = request.indexOf(i, end, (byte) '\r');
                int len = Integer.parseInt(request.toString(i + 1, lineEnd - i - 1, StandardCharsets.US_ASCII));
                byte[] arg = new byte[len];
                request.getBytes(lineEnd + 2, arg);
                args.add(arg);
                i = lineEnd + 2 + len + 2;
            }
            return args;
        }
        // inline: words separated by spaces (the scanner already refused unbalanced quotes)
        String line = request.toString(i, end - i, StandardCharsets.UTF_8).trim();
        for (String word : line.split(" +")) {
            if (!word.isEmpty()) {
                args.add(unquote(word).getBytes(StandardCharsets.UTF_8));
            }
        }
        return args;
    }

    private static String unquote(String word) {
        if (word.length() >= 2 && (word.charAt(0) == '"' || word.charAt(0) == '\'')
                && word.charAt(word.length() - 1) == word.charAt(0)) {
            return word.substring(1, word.length() - 1);
        }
        return word;
    }

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
