package dev.skep.redis;

import dev.skep.topology.Endpoint;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A tiny blocking RESP2 client for administering one redis (PING, INFO, CONFIG SET, REPLICAOF): a plain
 * {@link Socket}, one command at a time, no pipelining, no pooling.
 *
 * <p>Replies map to Java as: simple and bulk strings to {@link String} (a null bulk string to {@code null}),
 * integers to {@link Long}, arrays to {@code List<Object>} (a null array to {@code null}). An error reply at
 * the top level throws {@link RedisErrorReply}; an error nested inside an array is returned in the list as a
 * {@link RedisErrorReply} object, because throwing in the middle of an array would leave the rest of the
 * reply unread on the socket.
 *
 * <p>The connection is opened lazily by the first call, and {@code AUTH <password>} is sent right after
 * connecting when a password is set. Any {@link IOException} (timeout, reset, malformed reply) closes the
 * socket, since the position in the reply stream is then unknown; the next call reconnects.
 *
 * <p><b>Not thread-safe.</b> Meant to be owned by one thread (Skep's redis I/O thread), which may block in
 * it for up to the read timeout.
 */
public final class RespClient implements Closeable {
    /** Bulk strings larger than this are refused: an admin client never needs them, a bad stream might claim them. */
    private static final int MAX_BULK = 64 * 1024 * 1024;
    private static final int MAX_ARRAY = 1024 * 1024;
    private static final int MAX_LINE = 64 * 1024;
    private static final byte[] CRLF = {'\r', '\n'};

    private final Endpoint endpoint;
    /** Read at each connect: a rotated password serves the next connection. */
    private final Supplier<String> password;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final Supplier<SSLContext> tls;
    /** The ACL user of {@code AUTH user password}; empty: {@code AUTH password} (redis's default user). */
    private final String user;

    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private final byte[] buf = new byte[16 * 1024];
    private int pos;
    private int limit;
    /** Deadline (System.nanoTime) of the call in progress; every socket read gets only what remains of it. */
    private long deadline;
    private long connects;

    /**
     * @param endpoint       the redis to talk to
     * @param password       sent with AUTH after connecting; null or empty for none
     * @param connectTimeout bound on the TCP connect
     * @param readTimeout    bound on one whole call (writing the command and reading the full reply)
     */
    public RespClient(Endpoint endpoint, String password, Duration connectTimeout, Duration readTimeout) {
        this(endpoint, "", password, connectTimeout, readTimeout, null);
    }

    /**
     * @param tls the TLS context for each new connection (asked at each: it may have been reloaded); null: plain.
     *            The server's certificate is checked against its CA, not its host name (redis is reached by IP).
     */
    public RespClient(Endpoint endpoint, String user, String password, Duration connectTimeout, Duration readTimeout,
            Supplier<SSLContext> tls) {
        this(endpoint, user, () -> password == null ? "" : password, connectTimeout, readTimeout, tls);
    }

    /** @param password read at each new connection (the hive password may be rotated meanwhile) */
    public RespClient(Endpoint endpoint, String user, Supplier<String> password, Duration connectTimeout,
            Duration readTimeout, Supplier<SSLContext> tls) {
        this.tls = tls;
        this.user = user == null ? "" : user;
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        this.password = password;
        this.connectTimeout = positive(connectTimeout, "connectTimeout");
        this.readTimeout = positive(readTimeout, "readTimeout");
    }

    private static Duration positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isZero() || d.isNegative()) {
            // a zero socket timeout means "wait forever" to java.net: never what an admin client wants
            throw new IllegalArgumentException(name + ": " + d + " (expected: > 0)");
        }
        return d;
    }

    /** The redis this client talks to. */
    public Endpoint endpoint() {
        return endpoint;
    }

    /** True while a connection is open (it may still turn out to be dead on the next call). */
    public boolean isConnected() {
        return socket != null;
    }

    /** How many connections this client has opened so far (each reconnect counts): a new one means a new session. */
    public long connects() {
        return connects;
    }

    /**
     * Sends one command and returns its reply, bounded by the read timeout.
     *
     * @throws RedisErrorReply when redis answers with an error
     * @throws IOException     when redis cannot be reached, does not answer in time, or sends a malformed reply
     */
    public Object call(String... args) throws IOException {
        return callUntil(System.nanoTime() + readTimeout.toNanos(), args);
    }

    /**
     * Like {@link #call}, but bounded by an absolute deadline ({@link System#nanoTime()} based) instead of the
     * read timeout, so that several calls (and the connect) can share one time budget.
     */
    public Object callUntil(long deadlineNanos, String... args) throws IOException {
        if (args.length == 0) {
            throw new IllegalArgumentException("command: empty");
        }
        this.deadline = deadlineNanos;
        ensureConnected();
        try {
            send(args);
            return readReply(true);
        } catch (IOException | RuntimeException e) {
            if (!(e instanceof RedisErrorReply)) {
                // the reply stream position is unknown now: start over on a fresh connection next time
                closeQuietly();
            }
            if (e instanceof SocketTimeoutException) {
                throw new SocketTimeoutException(endpoint + ": no reply to " + args[0] + " in time");
            }
            if (e instanceof IOException io) {
                throw io;
            }
            if (e instanceof RedisErrorReply r) {
                throw r;
            }
            throw new ProtocolException(endpoint + ": malformed reply to " + args[0] + ": " + e);
        }
    }

    /**
     * Opens a connection (with AUTH, as for a call) and waits, asking nothing, until it ends: for watching a redis, not
     * for commands. Returns true once an open connection ended (redis closed it: it exited, was killed, or dropped
     * the client; or {@link #close} from another thread), false when it could not be opened at all (nothing listens,
     * or redis refused the AUTH). The calling thread is the one that waits.
     */
    public boolean awaitClosed() {
        try {
            this.deadline = System.nanoTime() + readTimeout.toNanos();
            ensureConnected();
        } catch (IOException | RedisErrorReply e) {
            // an AUTH refused (a redis restarted with another password) is not opened either: the caller tries again
            closeQuietly();
            return false;
        }
        Socket s = socket;
        InputStream i = in;
        try {
            s.setSoTimeout(0); // no deadline: the wait is the point
            while (i.read(buf, 0, buf.length) >= 0) {
                // nothing was asked, so nothing is expected; whatever comes is not a reason to stop watching
            }
        } catch (IOException e) {
            // reset, or closed by close(): ended either way
        } finally {
            closeQuietly();
        }
        return true;
    }

    /**
     * Opens the connection if there is none (with AUTH when a password is set), bounded by the connect
     * timeout and by the deadline of the call in progress.
     *
     * @return true when a new connection was opened
     */
    /** TLS over the connected socket {@code plain}, the handshake bounded by {@code timeoutMs}. */
    private Socket handshake(Socket plain, int timeoutMs) throws IOException {
        try {
            SSLSocket s = (SSLSocket) tls.get().getSocketFactory().createSocket(plain, endpoint.host(), endpoint.port(),
                    true);
            s.setSoTimeout(timeoutMs);
            s.startHandshake();
            return s;
        } catch (IOException e) {
            plain.close();
            throw new IOException(endpoint + ": TLS handshake failed: " + e.getMessage(), e);
        }
    }

    private boolean ensureConnected() throws IOException {
        if (socket != null) {
            return false;
        }
        long remainingMs = remainingMillis();
        int timeout = (int) Math.max(1, Math.min(connectTimeout.toMillis(), remainingMs));
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setKeepAlive(true);
            s.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), timeout);
        } catch (IOException e) {
            s.close();
            if (e instanceof SocketTimeoutException) {
                throw new SocketTimeoutException(endpoint + ": connect timed out after " + timeout + " ms");
            }
            throw new IOException(endpoint + ": connect failed: " + e.getMessage(), e);
        }
        if (tls != null) {
            s = handshake(s, timeout);
        }
        socket = s;
        in = s.getInputStream();
        out = s.getOutputStream();
        pos = 0;
        limit = 0;
        connects++;
        String password = this.password.get();
        if (!password.isEmpty()) {
            try {
                if (user.isEmpty()) {
                    send("AUTH", password);
                } else {
                    send("AUTH", user, password);
                }
                readReply(true);
            } catch (IOException | RuntimeException e) {
                // never keep an unauthenticated connection: every later command would fail with NOAUTH
                closeQuietly();
                throw e;
            }
        }
        return true;
    }

    private long remainingMillis() {
        return TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
    }

    private void send(String... args) throws IOException {
        // one buffer, one write: the command leaves in a single segment
        ByteBuilder b = new ByteBuilder(64 + args.length * 16);
        b.ascii("*").ascii(Integer.toString(args.length)).bytes(CRLF);
        for (String arg : args) {
            byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
            b.ascii("$").ascii(Integer.toString(bytes.length)).bytes(CRLF).bytes(bytes).bytes(CRLF);
        }
        out.write(b.array(), 0, b.length());
        out.flush();
    }

    private Object readReply(boolean top) throws IOException {
        int type = readByte();
        switch (type) {
            case '+':
                return readLine();
            case '-': {
                RedisErrorReply error = new RedisErrorReply(readLine());
                if (top) {
                    throw error;
                }
                return error;
            }
            case ':':
                return parseLong(readLine());
            case '$': {
                long len = parseLong(readLine());
                if (len < 0) {
                    return null;
                }
                if (len > MAX_BULK) {
                    throw new ProtocolException(endpoint + ": bulk string of " + len + " bytes (limit " + MAX_BULK + ")");
                }
                byte[] data = readExactly((int) len);
                if (readByte() != '\r' || readByte() != '\n') {
                    throw new ProtocolException(endpoint + ": bulk string not followed by CRLF");
                }
                return new String(data, StandardCharsets.UTF_8);
            }
            case '*': {
                long count = parseLong(readLine());
                if (count < 0) {
                    return null;
                }
                if (count > MAX_ARRAY) {
                    throw new ProtocolException(endpoint + ": array of " + count + " elements (limit " + MAX_ARRAY + ")");
                }
                List<Object> items = new ArrayList<>((int) count);
                for (long i = 0; i < count; i++) {
                    items.add(readReply(false));
                }
                return items;
            }
            default:
                throw new ProtocolException(endpoint + ": unexpected reply type byte " + type
                        + " (a RESP3 reply? this client speaks RESP2)");
        }
    }

    private long parseLong(String s) throws ProtocolException {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new ProtocolException(endpoint + ": expected a number, got '" + s + "'");
        }
    }

    private String readLine() throws IOException {
        ByteBuilder line = new ByteBuilder(32);
        while (true) {
            int c = readByte();
            if (c == '\r') {
                if (readByte() != '\n') {
                    throw new ProtocolException(endpoint + ": CR not followed by LF");
                }
                return new String(line.array(), 0, line.length(), StandardCharsets.UTF_8);
            }
            if (line.length() >= MAX_LINE) {
                throw new ProtocolException(endpoint + ": reply line longer than " + MAX_LINE + " bytes");
            }
            line.add((byte) c);
        }
    }

    private byte[] readExactly(int n) throws IOException {
        byte[] data = new byte[n];
        int off = 0;
        while (off < n) {
            if (pos == limit) {
                fill();
            }
            int chunk = Math.min(n - off, limit - pos);
            System.arraycopy(buf, pos, data, off, chunk);
            pos += chunk;
            off += chunk;
        }
        return data;
    }

    private int readByte() throws IOException {
        if (pos == limit) {
            fill();
        }
        return buf[pos++] & 0xff;
    }

    /** Reads what is available, waiting at most until the deadline of the call (not a fresh timeout per read). */
    private void fill() throws IOException {
        long remaining = remainingMillis();
        if (remaining <= 0) {
            throw new SocketTimeoutException(endpoint + ": read timed out");
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, remaining));
        int n = in.read(buf, 0, buf.length);
        if (n < 0) {
            throw new EOFException(endpoint + ": connection closed by redis");
        }
        pos = 0;
        limit = n;
    }

    private void closeQuietly() {
        Socket s = socket;
        socket = null;
        in = null;
        out = null;
        pos = 0;
        limit = 0;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // nothing to do: the connection is being dropped anyway
            }
        }
    }

    /** Closes the connection, if any. The client may be used again: the next call reconnects. */
    @Override
    public void close() {
        closeQuietly();
    }

    @Override
    public String toString() {
        return "RespClient[" + endpoint + (socket != null ? ", connected" : "") + "]";
    }

    /** A growable byte array (ByteArrayOutputStream without synchronization and checked exceptions). */
    private static final class ByteBuilder {
        private byte[] a;
        private int n;

        ByteBuilder(int capacity) {
            a = new byte[capacity];
        }

        ByteBuilder add(byte b) {
            ensure(1);
            a[n++] = b;
            return this;
        }

        ByteBuilder bytes(byte[] b) {
            ensure(b.length);
            System.arraycopy(b, 0, a, n, b.length);
            n += b.length;
            return this;
        }

        ByteBuilder ascii(String s) {
            ensure(s.length());
            for (int i = 0; i < s.length(); i++) {
                a[n++] = (byte) s.charAt(i);
            }
            return this;
        }

        private void ensure(int extra) {
            if (n + extra > a.length) {
                a = java.util.Arrays.copyOf(a, Math.max(a.length * 2, n + extra));
            }
        }

        byte[] array() {
            return a;
        }

        int length() {
            return n;
        }
    }
}
