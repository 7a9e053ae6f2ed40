package dev.skep.up;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How to run one supervised process, again and again.
 *
 * @param node        which node it belongs to, as printed ("node 1")
 * @param kind        what it is, as printed ("redis-server", "agent"); the supervisor stops kinds in the
 *                    reverse order of their first appearance
 * @param command     the program and its arguments
 * @param log         file its stdout and stderr are appended to
 * @param environment variables to set (value) or remove (null value) on top of this process's environment
 * @param beforeStart run before every start, the first included (e.g. empty the data directory); may be null
 * @param restartNote said in the restart line ("empty" for a redis restarted with an empty dataset), or ""
 */
public record ChildSpec(
        String node,
        String kind,
        List<String> command,
        Path log,
        Map<String, String> environment,
        Runnable beforeStart,
        String restartNote) {

    public ChildSpec {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(kind, "kind");
        command = List.copyOf(command);
        Objects.requireNonNull(log, "log");
        // a copy that keeps null values: a null value means "remove this variable"
        environment = environment == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.HashMap<>(environment));
        restartNote = restartNote == null ? "" : restartNote;
    }
}
