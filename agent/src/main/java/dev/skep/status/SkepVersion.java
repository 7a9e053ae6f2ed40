package dev.skep.status;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of this build of Skep ({@code skep --version}, {@code /api/status}, the {@code skep_build_info}
 * metric, and every peer status it sends, so that a hive in the middle of a rolling upgrade shows which agent
 * runs which version). Read once from a resource Maven fills in at build time; immutable, any thread.
 */
public final class SkepVersion {
    /** This build's version, e.g. {@code 0.2.0-SNAPSHOT}. */
    public static final String CURRENT = read();

    private SkepVersion() {}

    private static String read() {
        try (InputStream in = SkepVersion.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                // only a build that skipped Maven's resources phase (an IDE's own compiler) lacks it
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "").trim();
            return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            throw new UncheckedIOException("reading the build's version", e);
        }
    }
}
