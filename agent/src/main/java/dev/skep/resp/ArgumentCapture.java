package dev.skep.resp;

/**
 * Keeps the first two arguments of a request (command and subcommand), lowercase, in fixed arrays, and
 * resolves them to a {@link CommandTable} line: all a request needs to be classified, with no allocation.
 * Inline requests keep both always (as decoded from their quotes); multibulk requests keep the second only when
 * the first is a container command, since copying every request's key would cost a fifth of the scan.
 * Part of {@link RequestScanner}, whose thread it shares; reused from request to request.
 */
final class ArgumentCapture implements InlineTokenizer.Sink {
    /** How many arguments are kept: the command and the subcommand. */
    static final int KEPT = 2;
    /** Longer than any command or subcommand name: a longer argument is not kept, and matches none. */
    static final int MAX_BYTES = 48;

    private final byte[][] bytes = new byte[KEPT][MAX_BYTES];
    /** Length of each kept argument; -1 when it is longer than MAX_BYTES. */
    private final int[] lengths = new int[KEPT];
    private int current;
    /** The line of argument 0, looked up once; null until then. */
    private CommandSpec command;

    /** Inline requests: the tokenizer starts argument {@code index}. */
    @Override
    public void begin(int index) {
        current = index;
        if (index < KEPT) {
            lengths[index] = 0;
        }
        if (index == 0) {
            command = null;
        }
    }

    /** Inline requests: the next decoded byte of the current argument. */
    @Override
    public void append(byte b) {
        if (current >= KEPT) {
            return;
        }
        int length = lengths[current];
        if (length == MAX_BYTES) {
            lengths[current] = -1;
        } else if (length >= 0) {
            bytes[current][length] = RespBytes.lower(b);
            lengths[current] = length + 1;
        }
    }

    /** Multibulk requests: argument {@code index} is the {@code length} bytes at {@code from} of {@code buf}. */
    void bulk(int index, ScanView buf, int from, int length) {
        if (index == 0) {
            command = null;
        }
        if (length > MAX_BYTES) {
            lengths[index] = -1;
            return;
        }
        byte[] into = bytes[index];
        for (int i = 0; i < length; i++) {
            into[i] = RespBytes.lower(buf.get(from + i)); // cheaper than getBytes() at these lengths
        }
        lengths[index] = length;
    }

    /** The line of argument 0 alone (the container, for a command with subcommands). */
    CommandSpec command() {
        if (command == null) {
            command = lengths[0] < 0 ? CommandTable.UNKNOWN : CommandTable.lookup(bytes[0], lengths[0]);
        }
        return command;
    }

    /**
     * The table line of a request of {@code argumentCount} arguments: the subcommand's line for a container
     * with a known subcommand (argument 1 must have been kept), else the line of argument 0.
     */
    CommandSpec resolve(int argumentCount) {
        CommandSpec spec = command();
        if (spec.container() && argumentCount > 1 && lengths[1] >= 0) {
            spec = CommandTable.subcommand(spec, bytes[1], lengths[1]);
        }
        return spec;
    }

    /** Whether kept argument {@code index} is {@code name}, ignoring ASCII case. */
    boolean equalsIgnoreCase(int index, String name) {
        int length = lengths[index];
        if (length != name.length()) {
            return false;
        }
        byte[] argument = bytes[index];
        for (int i = 0; i < length; i++) {
            char c = name.charAt(i);
            if (c > 0xff || argument[i] != RespBytes.lower((byte) c)) {
                return false;
            }
        }
        return true;
    }
}
