package dev.skep.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The live status page served at {@code /}: {@code status.html} from the jar, beside this class. One file
 * of HTML, CSS and JavaScript, with no build step and nothing loaded from the network: it polls
 * {@code /api/status} of the node that served it and redraws the hive without a reload.
 */
final class StatusPage {
    private static final String RESOURCE = "status.html";

    private StatusPage() {}

    /** The page's bytes (UTF-8). Thrown when the jar lacks it: a packaging bug, seen at start. */
    static byte[] html() {
        try (InputStream in = StatusPage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + RESOURCE + " missing beside " + StatusPage.class.getName());
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }
}
