package dev.skep.support;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it rejects what a
 * Prometheus server would reject (bad names, bad escapes, bad numbers, a sample of no declared family, a
 * series twice, TYPE after samples, histogram buckets not cumulative or without {@code +Inf}) rather than
 * finding strings in the text.
 */
public final class PrometheusText {
    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    /** One sample line: its name (with a suffix such as {@code _bucket}), labels and value. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    /** A metric family: {@code # TYPE}, {@code # HELP} and its samples, in order. */
    public record Family(String name, String type, String help, List<Sample> samples) {}

    private final Map<String, Family> families;

    private PrometheusText(Map<String, Family> families) {
        this.families = families;
    }

    /** Parses {@code text}; throws {@link IllegalArgumentException} naming the line of the first error. */
    public static PrometheusText parse(String text) {
        Map<String, String> types = new LinkedHashMap<>();
        Map<String, String> helps = new LinkedHashMap<>();
        Map<String, List<Sample>> samples = new LinkedHashMap<>();
        Set<String> seen = new java.util.HashSet<>();
        String[] lines = text.split("\n", -1);
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new IllegalArgumentException("the text does not end with a newline");
        }
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int no = i + 1;
            try {
                if (line.isEmpty()) {
                    continue;
                }
                if (line.startsWith("#")) {
                    String[] parts = line.split(" ", 4);
                    if (parts.length >= 3 && (parts[1].equals("TYPE") || parts[1].equals("HELP"))) {
                        String name = name(parts[2]);
                        String rest = parts.length == 4 ? parts[3] : "";
                        if (parts[1].equals("TYPE")) {
                            if (!TYPES.contains(rest)) {
                                throw new IllegalArgumentException("unknown type '" + rest + "'");
                            }
                            if (types.put(name, rest) != null) {
                                throw new IllegalArgumentException("second TYPE for " + name);
                            }
                            if (samples.containsKey(name)) {
                                throw new IllegalArgumentException("TYPE for " + name + " after its samples");
                            }
                        } else if (helps.put(name, unescape(rest, false)) != null) {
                            throw new IllegalArgumentException("second HELP for " + name);
                        }
                    }
                    continue;
                }
                Sample s = sample(line);
                String family = familyOf(s.name(), types);
                if (!seen.add(s.name() + new TreeMap<>(s.labels()))) {
                    throw new IllegalArgumentException("series twice: " + s.name() + s.labels());
                }
                samples.computeIfAbsent(family, f -> new ArrayList<>()).add(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + no + ": " + e.getMessage() + ": " + line, e);
            }
        }
        Map<String, Family> families = new LinkedHashMap<>();
        for (Map.Entry<String, String> t : types.entrySet()) {
            String name = t.getKey();
            Family f = new Family(name, t.getValue(), helps.get(name), List.copyOf(samples.getOrDefault(name, List.of())));
            if (f.type().equals("histogram")) {
                checkHistogram(f);
            }
            families.put(name, f);
        }
        for (String name : samples.keySet()) {
            if (!types.containsKey(name)) {
                throw new IllegalArgumentException("samples of " + name + " without a TYPE");
            }
        }
        return new PrometheusText(families);
    }

    public Map<String, Family> families() {
        return families;
    }

    /** The family {@code name}; thrown when absent. */
    public Family family(String name) {
        Family f = families.get(name);
        if (f == null) {
            throw new AssertionError("no metric family " + name + " (have: " + families.keySet() + ")");
        }
        return f;
    }

    /**
     * The value of the one sample named {@code sample} whose labels include {@code labels} (pairs: name,
     * value, ...); thrown when there is none or more than one.
     */
    public double value(String sample, String... labels) {
        List<Sample> found = new ArrayList<>();
        for (Family f : families.values()) {
            for (Sample s : f.samples()) {
                if (s.name().equals(sample) && hasLabels(s, labels)) {
                    found.add(s);
                }
            }
        }
        if (found.size() != 1) {
            throw new AssertionError(found.size() + " samples " + sample + " with labels " + List.of(labels)
                    + ": " + found);
        }
        return found.get(0).value();
    }

    /** The samples named {@code sample}. */
    public List<Sample> samples(String sample) {
        List<Sample> found = new ArrayList<>();
        for (Family f : families.values()) {
            for (Sample s : f.samples()) {
                if (s.name().equals(sample)) {
                    found.add(s);
                }
            }
        }
        return found;
    }

    private static boolean hasLabels(Sample s, String... labels) {
        for (int i = 0; i + 1 < labels.length; i += 2) {
            if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
                return false;
            }
        }
        return true;
    }

    private static String familyOf(String sample, Map<String, String> types) {
        if (types.containsKey(sample)) {
            String type = types.get(sample);
            if (type.equals("histogram")) {
                throw new IllegalArgumentException("a histogram's sample must have a suffix");
            }
            return sample;
        }
        for (String suffix : List.of("_bucket", "_count", "_sum")) {
            if (sample.endsWith(suffix)) {
                String base = sample.substring(0, sample.length() - suffix.length());
                String type = types.get(base);
                if (type != null && (type.equals("histogram") || (type.equals("summary") && !suffix.equals("_bucket")))) {
                    return base;
                }
            }
        }
        throw new IllegalArgumentException("sample " + sample + " of no declared family");
    }

    private static Sample sample(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
            i++;
        }
        String name = name(line.substring(0, i));
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                String label = line.substring(i, eq);
                if (!LABEL_NAME.matcher(label).matches()) {
                    throw new IllegalArgumentException("bad label name '" + label + "'");
                }
                if (line.charAt(eq + 1) != '"') {
                    throw new IllegalArgumentException("label value not quoted");
                }
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                for (; line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char n = line.charAt(++j);
                        value.append(switch (n) {
                            case '\\' -> '\\';
                            case '"' -> '"';
                            case 'n' -> '\n';
                            default -> throw new IllegalArgumentException("bad escape \\" + n);
                        });
                    } else {
                        value.append(c);
                    }
                }
                if (labels.put(label, value.toString()) != null) {
                    throw new IllegalArgumentException("label " + label + " twice");
                }
                i = j + 1;
                if (line.charAt(i) == ',') {
                    i++;
                } else if (line.charAt(i) != '}') {
                    throw new IllegalArgumentException("expected , or } after a label");
                }
            }
            i++;
        }
        if (i >= line.length() || line.charAt(i) != ' ') {
            throw new IllegalArgumentException("expected a space before the value");
        }
        String[] rest = line.substring(i + 1).split(" ");
        if (rest.length > 2) {
            throw new IllegalArgumentException("extra fields after the value");
        }
        if (rest.length == 2) {
            Long.parseLong(rest[1]); // timestamp in ms
        }
        return new Sample(name, labels, number(rest[0]));
    }

    private static double number(String s) {
        return switch (s) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                if (!s.matches("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?")) {
                    throw new IllegalArgumentException("bad number '" + s + "'");
                }
                yield Double.parseDouble(s);
            }
        };
    }

    private static String name(String s) {
        if (!METRIC_NAME.matcher(s).matches()) {
            throw new IllegalArgumentException("bad metric name '" + s + "'");
        }
        return s;
    }

    private static String unescape(String s, boolean quotes) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                out.append(switch (n) {
                    case '\\' -> '\\';
                    case 'n' -> '\n';
                    case '"' -> {
                        if (!quotes) {
                            out.append('\\');
                        }
                        yield '"';
                    }
                    default -> throw new IllegalArgumentException("bad escape \\" + n + " in HELP");
                });
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Buckets cumulative, ending in +Inf equal to _count, per series. */
    private static void checkHistogram(Family f) {
        Map<Map<String, String>, List<Sample>> buckets = new LinkedHashMap<>();
        Map<Map<String, String>, Double> counts = new LinkedHashMap<>();
        for (Sample s : f.samples()) {
            Map<String, String> series = new TreeMap<>(s.labels());
            series.remove("le");
            if (s.name().endsWith("_bucket")) {
                if (!s.labels().containsKey("le")) {
                    throw new IllegalArgumentException(f.name() + ": bucket without le");
                }
                buckets.computeIfAbsent(series, k -> new ArrayList<>()).add(s);
            } else if (s.name().endsWith("_count")) {
                counts.put(series, s.value());
            }
        }
        for (Map.Entry<Map<String, String>, List<Sample>> e : buckets.entrySet()) {
            double previousLe = Double.NEGATIVE_INFINITY;
            double previous = 0;
            for (Sample b : e.getValue()) {
                double le = number(b.labels().get("le"));
                if (le <= previousLe || b.value() < previous) {
                    throw new IllegalArgumentException(f.name() + e.getKey() + ": buckets not cumulative at le=" + le);
                }
                previousLe = le;
                previous = b.value();
            }
            if (previousLe != Double.POSITIVE_INFINITY) {
                throw new IllegalArgumentException(f.name() + e.getKey() + ": no +Inf bucket");
            }
            Double count = counts.get(e.getKey());
            if (count == null || count != previous) {
                throw new IllegalArgumentException(f.name() + e.getKey() + ": +Inf bucket " + previous + " != _count " + count);
            }
        }
    }
}
