package dev.skep.resp;

import io.netty.buffer.ByteBuf;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The classification of every Redis 7.0 command for the proxy: its {@link Route} (shared, dedicated or
 * refused), and Redis's write/readonly/blocking flags. The table itself is one documented text file,
 * {@code src/main/resources/dev/skep/resp/commands.txt}; this class loads it once and answers lookups.
 *
 * <p>Lookups are case-insensitive (ASCII, as Redis) and allocate nothing: the name's lowercase bytes are
 * hashed into an open-addressing table and compared with the stored name. An unknown name gives
 * {@link #UNKNOWN}, which is {@link Route#DEDICATED}: a command the proxy does not know runs where it cannot
 * disturb other sessions. Immutable after class initialisation: safe from any thread.
 *
 * <p>One check depends on arguments and is made per request by {@link RequestScanner}: CONFIG SET of a
 * parameter the hive owns is refused, whichever of its parameter/value pairs names it.
 */
public final class CommandTable {
    /** What an unknown command (or a name too long to be a command) resolves to. */
    public static final CommandSpec UNKNOWN = new CommandSpec("", Route.DEDICATED, false, false, false, false,
            null);

    private static final String RESOURCE = "commands.txt";
    private static final String NOT_ALLOWED = " is not allowed through the Skep proxy: ";
    private static final Map<String, String> REASONS = Map.of(
            "replication", "the hive manages replication",
            "process", "the hive manages the redis-server process",
            "stop", "it would crash or restart redis-server under the hive",
            "agent", "the Skep agent owns this setting");
    /**
     * CONFIG SET parameters of the replication topology (lowercase, with their slave-* aliases and Valkey 8's
     * primary-named ones).
     */
    private static final Set<String> REPLICATION_PARAMETERS = Set.of(
            "replicaof", "slaveof", "masterauth", "masteruser", "primaryauth", "primaryuser", "tls-replication");
    /**
     * CONFIG SET parameters the agent sets and relies on: its fence ({@code min-replicas-*}), what it applies to
     * every redis (RedisController#settings) and the address replicas announce (how a master names them).
     */
    private static final Set<String> AGENT_PARAMETERS = Set.of(
            "min-replicas-to-write", "min-slaves-to-write", "min-replicas-max-lag", "min-slaves-max-lag",
            "repl-diskless-sync-delay", "replica-serve-stale-data", "slave-serve-stale-data", "replica-read-only",
            "slave-read-only", "replica-announce-ip", "slave-announce-ip", "replica-announce-port",
            "slave-announce-port");
    /**
     * The value the hive keeps for each parameter it owns on the redis the write port reaches (the master): setting
     * it to that value changes nothing, so it passes (clients and tools that write back what CONFIG GET gave them,
     * as Redis's own "CONFIG sanity" test does). masterauth's is the hive's password, given per proxy
     * ({@link #hiveValues}); {@code min-replicas-max-lag} may be anything but 0 (the agent reads its fence from INFO's
     * {@code min_slaves_good_slaves}, present only while both settings are non-zero).
     */
    private static final Map<String, String> HIVE_VALUES = Map.ofEntries(
            Map.entry("min-replicas-to-write", "0"), Map.entry("min-slaves-to-write", "0"),
            Map.entry("repl-diskless-sync-delay", "0"),
            Map.entry("replica-serve-stale-data", "yes"), Map.entry("slave-serve-stale-data", "yes"),
            Map.entry("replica-read-only", "yes"), Map.entry("slave-read-only", "yes"),
            Map.entry("replica-announce-ip", ""), Map.entry("slave-announce-ip", ""),
            Map.entry("replica-announce-port", "0"), Map.entry("slave-announce-port", "0"),
            Map.entry("masteruser", ""), Map.entry("primaryuser", ""), Map.entry("tls-replication", "no"),
            Map.entry("masterauth", ""), Map.entry("primaryauth", ""));
    private static final Set<String> NON_ZERO = Set.of("min-replicas-max-lag", "min-slaves-max-lag");

    private static final int SLOTS = 1024; // a power of two, over twice the number of lines
    private static final byte[][] KEYS = new byte[SLOTS][];
    private static final CommandSpec[] SPECS = new CommandSpec[SLOTS];
    private static final List<CommandSpec> ALL = load();

    /** CONFIG SET, whose parameters {@link RequestScanner} checks. */
    static final CommandSpec CONFIG_SET = lookup("config|set");

    private CommandTable() {
    }

    /**
     * The line of {@code name} ({@code "GET"}, {@code "client|setname"}), case-insensitive; {@link #UNKNOWN}
     * if there is none. Allocates; for tests and cold paths.
     */
    public static CommandSpec lookup(String name) {
        byte[] lower = name.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.ISO_8859_1);
        return lookup(lower, lower.length);
    }

    /**
     * What a request starting with these two arguments resolves to, as {@link RequestScanner#command()}:
     * the subcommand's line for a container with a known subcommand, else the command's line.
     */
    public static CommandSpec lookup(String command, String subcommand) {
        CommandSpec spec = lookup(command);
        if (!spec.container()) {
            return spec;
        }
        byte[] sub = subcommand.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.ISO_8859_1);
        return subcommand(spec, sub, sub.length);
    }

    /** The line of the command named by {@code length} bytes at {@code index} of {@code buf}; no allocation. */
    public static CommandSpec lookup(ByteBuf buf, int index, int length) {
        int hash = 0;
        for (int i = 0; i < length; i++) {
            hash = 31 * hash + RespBytes.lower(buf.getByte(index + i));
        }
        for (int slot = spread(hash); KEYS[slot] != null; slot = (slot + 1) & (SLOTS - 1)) {
            byte[] key = KEYS[slot];
            if (key.length == length && sameLowercase(key, buf, index)) {
                return SPECS[slot];
            }
        }
        return UNKNOWN;
    }

    /** Every line of the table, in file order. */
    public static List<CommandSpec> all() {
        return ALL;
    }

    /** The line of a name already in lowercase, the first {@code length} bytes of {@code lower}. */
    static CommandSpec lookup(byte[] lower, int length) {
        int hash = 0;
        for (int i = 0; i < length; i++) {
            hash = 31 * hash + lower[i];
        }
        for (int slot = spread(hash); KEYS[slot] != null; slot = (slot + 1) & (SLOTS - 1)) {
            byte[] key = KEYS[slot];
            if (key.length == length && regionEquals(key, 0, lower, length)) {
                return SPECS[slot];
            }
        }
        return UNKNOWN;
    }

    /**
     * The line {@code container|sub} for a lowercase subcommand name, or {@code container} itself when the
     * table has no such subcommand (Redis answers it with an error, harmless on any connection).
     */
    static CommandSpec subcommand(CommandSpec container, byte[] lower, int length) {
        String prefix = container.name();
        int hash = 0;
        for (int i = 0; i < prefix.length(); i++) {
            hash = 31 * hash + prefix.charAt(i);
        }
        hash = 31 * hash + '|';
        for (int i = 0; i < length; i++) {
            hash = 31 * hash + lower[i];
        }
        int keyLength = prefix.length() + 1 + length;
        for (int slot = spread(hash); KEYS[slot] != null; slot = (slot + 1) & (SLOTS - 1)) {
            byte[] key = KEYS[slot];
            if (key.length == keyLength && key[prefix.length()] == '|'
                    && SPECS[slot].name().startsWith(prefix)
                    && regionEquals(key, prefix.length() + 1, lower, length)) {
                return SPECS[slot];
            }
        }
        return container;
    }

    /** The values the hive keeps ({@link #HIVE_VALUES}) with masterauth set to the hive's redis password. */
    public static Map<String, String> hiveValues(String password) {
        Map<String, String> values = new java.util.HashMap<>(HIVE_VALUES);
        values.put("masterauth", password == null ? "" : password);
        values.put("primaryauth", password == null ? "" : password);
        return Map.copyOf(values);
    }

    /** {@link #configSetRefusal(List, Map)} for a hive without a password. */
    static String configSetRefusal(List<byte[]> arguments) {
        return configSetRefusal(arguments, HIVE_VALUES);
    }

    /**
     * The refusal text for {@code CONFIG SET p1 v1 p2 v2 ...} if it would change a parameter the hive owns (set it
     * to anything but the value the hive keeps, {@code hiveValues}), else null. {@code arguments} are the
     * request's, CONFIG and SET included.
     */
    static String configSetRefusal(List<byte[]> arguments, Map<String, String> hiveValues) {
        for (int i = 2; i < arguments.size(); i += 2) {
            String parameter = new String(arguments.get(i), StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
            String reason = refusedParameter(parameter);
            if (reason == null) {
                continue;
            }
            String value = i + 1 < arguments.size() ? new String(arguments.get(i + 1), StandardCharsets.UTF_8) : null;
            String kept = hiveValues.get(parameter);
            boolean secret = parameter.equals("masterauth") || parameter.equals("primaryauth");
            if (value != null && (secret ? value.equals(kept) : value.equalsIgnoreCase(kept))) {
                continue; // the value the hive keeps: nothing changes
            }
            if (value != null && NON_ZERO.contains(parameter) && value.matches("[1-9][0-9]{0,9}")) {
                continue;
            }
            // (the agent's parameters each have a kept value or are NON_ZERO; the replication ones are not echoed:
            // masterauth's is the password)
            String keeps = !reason.equals("agent") ? ""
                    : NON_ZERO.contains(parameter) ? " (it keeps it above 0)" : " (it keeps it at \"" + kept + "\")";
            return "CONFIG SET " + parameter + NOT_ALLOWED + REASONS.get(reason) + keeps; // a known name: safe to echo
        }
        return null;
    }

    /** The reason key that refuses CONFIG SET of this lowercase parameter, or null when it passes. */
    static String refusedParameter(String lowercase) {
        if (REPLICATION_PARAMETERS.contains(lowercase)) {
            return "replication";
        }
        return AGENT_PARAMETERS.contains(lowercase) ? "agent" : null;
    }

    private static int spread(int hash) {
        return (hash ^ (hash >>> 16)) & (SLOTS - 1);
    }

    private static boolean regionEquals(byte[] key, int keyFrom, byte[] lower, int length) {
        for (int i = 0; i < length; i++) {
            if (key[keyFrom + i] != lower[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameLowercase(byte[] key, ByteBuf buf, int index) {
        for (int i = 0; i < key.length; i++) {
            if (key[i] != RespBytes.lower(buf.getByte(index + i))) {
                return false;
            }
        }
        return true;
    }

    private static List<CommandSpec> load() {
        List<String[]> lines = new ArrayList<>();
        Set<String> containers = new HashSet<>();
        try (InputStream in = CommandTable.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + RESOURCE);
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] fields = line.trim().split("\\s+");
                if (fields.length < 3 || fields.length > 4) {
                    throw new IllegalStateException(RESOURCE + ": bad line: " + line);
                }
                lines.add(fields);
                int bar = fields[0].indexOf('|');
                if (bar > 0) {
                    containers.add(fields[0].substring(0, bar));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<CommandSpec> all = new ArrayList<>(lines.size());
        for (String[] fields : lines) {
            CommandSpec spec = parse(fields, containers.contains(fields[0]));
            put(spec);
            all.add(spec);
        }
        return List.copyOf(all);
    }

    private static CommandSpec parse(String[] fields, boolean container) {
        String name = fields[0];
        Route route = Route.valueOf(fields[1].toUpperCase(Locale.ROOT));
        Set<String> flags = fields[2].equals("-") ? Set.of() : Set.of(fields[2].split(","));
        if (!Set.of("write", "readonly", "blocking").containsAll(flags)) {
            throw new IllegalStateException(RESOURCE + ": unknown flag in " + String.join(" ", fields));
        }
        String refusal = null;
        if (route == Route.REFUSED) {
            String reason = fields.length == 4 ? REASONS.get(fields[3]) : null;
            if (reason == null) {
                throw new IllegalStateException(RESOURCE + ": refused without a known reason: " + name);
            }
            refusal = name.toUpperCase(Locale.ROOT).replace('|', ' ') + NOT_ALLOWED + reason;
        }
        return new CommandSpec(name, route, flags.contains("write"), flags.contains("readonly"),
                flags.contains("blocking"), container, refusal);
    }

    private static void put(CommandSpec spec) {
        byte[] key = spec.name().getBytes(StandardCharsets.US_ASCII);
        int hash = 0;
        for (byte b : key) {
            hash = 31 * hash + b;
        }
        int slot = spread(hash);
        while (KEYS[slot] != null) {
            if (SPECS[slot].name().equals(spec.name())) {
                throw new IllegalStateException(RESOURCE + ": duplicate line " + spec.name());
            }
            slot = (slot + 1) & (SLOTS - 1);
        }
        KEYS[slot] = key;
        SPECS[slot] = spec;
    }
}
