package dev.skep.app;

import dev.skep.Skep;
import dev.skep.cli.SkepCommand;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * The training run of the class-data sharing archive ({@code skep.jsa}), run at build time only: by Maven after
 * the jar is built ({@code java -XX:ArchiveClassesAtExit=agent/target/skep.jsa -cp agent/target/skep.jar
 * dev.skep.app.CdsTraining}) and by the Dockerfile in the image. It runs a real {@code skep agent} on 127.0.0.1 for
 * a moment, as its own only peer and with no redis behind it (a port nothing listens on: the build needs no
 * redis-server), asks its admin HTTP port and proxy what an operator and a client would, and exits; the JVM then
 * writes every class loaded so far, parsed and verified, to the archive. An agent started with
 * {@code -XX:SharedArchiveFile} maps them instead of loading them from the jar.
 *
 * <p>Threads: {@link #main} runs the agent as {@code skep agent} does (blocking); a thread of its own exercises it
 * and ends the JVM with {@link System#exit}, which stops the agent through its shutdown hook.
 */
public final class CdsTraining {
    /** How long the agent runs before the exit: a few heartbeats, failed probes, its own peer messages. */
    private static final long RUN_MS = 1500;
    /** Bound of the whole run: a training that hangs must not hang the build. */
    private static final long DEADLINE_MS = 30_000;

    private CdsTraining() {}

    public static void main(String[] args) throws IOException {
        Skep.quietNetty();
        String host = "127.0.0.1";
        int redis = freePort(); // closed again: nothing listens there, every probe fails
        int peer = freePort();
        int http = freePort();
        int proxy = freePort();
        int read = freePort();
        int sentinel = freePort();
        Thread exerciser = new Thread(() -> exercise(host, http, proxy, sentinel), "skep-cds-training");
        exerciser.setDaemon(true);
        exerciser.start();
        int code = SkepCommand.commandLine().execute("agent", "--redis", host + ":" + redis, "--bind", host,
                "--announce-host", host, "--peers", host + ":" + peer, "--peer-port", Integer.toString(peer),
                "--http-port", Integer.toString(http), "--proxy-port", Integer.toString(proxy),
                "--read-port", Integer.toString(read), "--sentinel-port", Integer.toString(sentinel));
        // the agent returned by itself: it could not start (the cause is logged)
        System.exit(code == 0 ? 1 : code);
    }

    private static void exercise(String host, int http, int proxy, int sentinel) {
        long deadline = System.currentTimeMillis() + DEADLINE_MS;
        int code = 1;
        try {
            while (!get(host, http, "/livez").startsWith("HTTP/1.1 200")) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("no /livez within " + DEADLINE_MS + " ms");
                }
                Thread.sleep(20);
            }
            Thread.sleep(RUN_MS);
            for (String path : new String[] {"/readyz", "/api/status", "/api/status?poll=traffic", "/metrics", "/"}) {
                get(host, http, path);
            }
            // a client of the write port and of the Sentinel-compatible endpoint: with no master the proxy holds the
            // request, which is enough to load its path
            send(host, proxy, "*1\r\n$4\r\nPING\r\n");
            send(host, sentinel, "*3\r\n$8\r\nSENTINEL\r\n$23\r\nget-master-addr-by-name\r\n$8\r\nmymaster\r\n");
            Thread.sleep(100);
            code = 0;
        } catch (IOException | RuntimeException e) {
            System.err.println("CDS training: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(code);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The whole answer of {@code GET path}, or "" when nothing answers yet. */
    private static String get(String host, int port, String path) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 1000);
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.net.ConnectException e) {
            return "";
        }
    }

    private static void send(String host, int port, String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 1000);
            s.setSoTimeout(200);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            try {
                in.read(new byte[512]);
            } catch (java.net.SocketTimeoutException e) {
                // held (no master): what was to be loaded is loaded
            }
        }
    }
}
