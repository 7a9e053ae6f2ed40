package dev.skep.peer;

import dev.skep.election.NodeStatus;
import dev.skep.election.PeerMessage;
import dev.skep.redis.RedisRole;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Encodes and decodes {@link PeerMessage}s as bytes: pure code, no I/O, no state; safe to call from any
 * thread. A frame is one message; the transport adds its own length prefix around it.
 *
 * <h2>Wire format, version 2</h2>
 * All integers are big-endian.
 * <pre>
 * offset  size  field
 *  0      2     magic "SK" (0x53 0x4B)
 *  2      1     version: 2 (version 1 lacked the last three NodeStatus fields)
 *  3      1     type: 1 = NodeStatus
 *  4      1     flags: bit 0 = HMAC present; other bits must be 0
 *  5      ...   body: the fields of the message type, in record order (below)
 *  end-32 32    when flags bit 0: HMAC-SHA256 (key: --peer-secret) over every preceding byte
 * </pre>
 * Field encodings:
 * <ul>
 *   <li>string: unsigned 16-bit length in bytes, then that many bytes of UTF-8 (strictly valid)</li>
 *   <li>endpoint (nullable): presence byte (0 = null, 1 = present), then when present host as a string
 *       and port as an unsigned 16-bit integer</li>
 *   <li>enum: one byte, from the explicit code tables below (never Java ordinals, so that reordering or
 *       adding constants does not change the meaning of old frames)</li>
 *   <li>int: 4 bytes; long: 8 bytes; boolean: one byte, 0 = false, 1 = true (anything else is rejected)</li>
 * </ul>
 * Type 1, {@link NodeStatus}: node (endpoint), redis (endpoint), httpPort (int), state (enum
 * {@link NodeState}), epoch (long), leader (endpoint), since (long), offset (long), tainted (boolean),
 * redisRole (enum {@link RedisRole}), linkUp (boolean), redisRunId (string), redisProcessId (long),
 * sentAtMillis (long), handoverTo (endpoint), handoverOffset (long), masterSinceOffset (long),
 * leaderHeardAgoMs (long); then, appended later, replId (string), dataEpoch (long) and replId2 (string); then,
 * appended after those, histories: a count (int, at most {@link NodeStatus#MAX_HISTORIES}) and as many pairs of
 * replId (string) and epoch (long); then, appended together, agentVersion (string, the sender's Skep version) and
 * redisVersion (string, its redis's server and version); then zone (string, its availability zone).
 *
 * <h2>Fields appended</h2>
 * Fields are only ever appended to a message type, so that two adjacent versions of Skep understand each other
 * during a rolling upgrade: a reader takes an appended field when the frame carries it (all of it: a frame that
 * ends inside a field is malformed) and its neutral value when the frame ends before it (an older sender), and
 * ignores whatever follows the fields it knows (a newer sender). Agents built before replId and dataEpoch were
 * appended rejected any byte after leaderHeardAgoMs: a hive running those is upgraded by restarting every agent,
 * not one at a time.
 * <p>{@link NodeState} codes: ALONE 1, PROPOSING 2, PROMOTING 3, FOLLOWING 4, LEADING 5, NOT_READY 6.
 * <br>{@link RedisRole} codes: MASTER 1, REPLICA 2, UNKNOWN 3.
 *
 * <h2>Authentication</h2>
 * With a secret (non-null, non-empty), {@link #encode} appends the HMAC and {@link #decode} requires a valid
 * one (compared in constant time). Without a secret, {@link #encode} writes no HMAC and {@link #decode}
 * rejects frames that carry one: a node without {@code --peer-secret} in a hive that has one is a
 * misconfiguration to report, not to accept silently. The HMAC is checked before the body is parsed, so
 * unauthenticated bytes are never interpreted beyond the 5-byte header.
 *
 * <h2>Adding a message type</h2>
 * Add the record to {@link PeerMessage}'s {@code permits}, give it a new {@code TYPE_} code, a
 * {@code writeX} and a {@code readX} method and one branch in {@link #encode} and {@link #readBody}. Older
 * nodes reject the new type with "unknown message type N", which the rejected-message count makes visible
 * during a rolling upgrade. A change to an existing type's fields needs a new version.
 */
public final class PeerCodec {
    /** The version this code writes; it reads this one and later ones (which only append fields). */
    public static final int VERSION = 2;
    /** Largest frame accepted by the peer transport; {@link #encode} refuses to produce a larger one. */
    public static final int MAX_FRAME_BYTES = 64 * 1024;

    static final int TYPE_NODE_STATUS = 1;

    static final byte MAGIC_0 = 'S';
    static final byte MAGIC_1 = 'K';
    static final int FLAG_HMAC = 0x01;
    static final int HEADER_BYTES = 5;
    static final int HMAC_BYTES = 32;
    private static final String HMAC_ALGORITHM = "HmacSHA256";

    private PeerCodec() {}

    /**
     * Encodes a message, with an HMAC when {@code secret} is non-null and non-empty.
     *
     * @throws IllegalArgumentException when the message cannot be represented (a null non-nullable field,
     *                                  a string over 65535 UTF-8 bytes, a frame over {@link #MAX_FRAME_BYTES}):
     *                                  a bug of the sender, reported to it rather than to the peers
     */
    public static byte[] encode(PeerMessage msg, byte[] secret) {
        if (msg == null) {
            throw new IllegalArgumentException("message: null");
        }
        boolean hmac = hasSecret(secret);
        Writer w = new Writer();
        w.out.write(MAGIC_0);
        w.out.write(MAGIC_1);
        w.out.write(VERSION);
        if (msg instanceof NodeStatus s) {
            w.out.write(TYPE_NODE_STATUS);
            w.out.write(hmac ? FLAG_HMAC : 0);
            writeNodeStatus(w, s);
        } else {
            // unreachable while PeerMessage is sealed and every permitted type has a branch above
            throw new IllegalArgumentException("message type " + msg.getClass().getName() + ": no wire encoding");
        }
        byte[] body = w.out.toByteArray();
        byte[] frame = hmac ? Arrays.copyOf(body, body.length + HMAC_BYTES) : body;
        if (hmac) {
            System.arraycopy(hmac(secret, body, body.length), 0, frame, body.length, HMAC_BYTES);
        }
        if (frame.length > MAX_FRAME_BYTES) {
            throw new IllegalArgumentException("message: " + frame.length + " bytes (expected: at most " + MAX_FRAME_BYTES + ")");
        }
        return frame;
    }

    /**
     * Decodes one frame (the bytes {@link #encode} produced, without the transport's length prefix).
     *
     * @param secret the local {@code --peer-secret}, or null/empty when this node has none
     * @throws PeerCodecException for anything but a well-formed, authenticated (when a secret is set) frame
     *                            of a known version and type; never another exception type
     */
    public static PeerMessage decode(byte[] frame, byte[] secret) throws PeerCodecException {
        if (frame == null) {
            throw new PeerCodecException("empty frame");
        }
        if (frame.length < HEADER_BYTES) {
            throw new PeerCodecException("truncated header: " + frame.length + " bytes (expected: at least " + HEADER_BYTES + ")");
        }
        if (frame[0] != MAGIC_0 || frame[1] != MAGIC_1) {
            throw new PeerCodecException(String.format(
                    "bad magic 0x%02x%02x (expected: \"SK\"; not a Skep peer, or another protocol on the peer port?)",
                    frame[0] & 0xff, frame[1] & 0xff));
        }
        int version = frame[2] & 0xff;
        if (version < VERSION) {
            // a newer version only appends fields (ignored below); an older one lacks fields this one requires
            throw new PeerCodecException("unsupported version " + version + " (expected: " + VERSION + " or later)");
        }
        int type = frame[3] & 0xff;
        int flags = frame[4] & 0xff;
        if ((flags & ~FLAG_HMAC) != 0) {
            throw new PeerCodecException(String.format("unknown flags 0x%02x (expected: 0x00 or 0x01)", flags));
        }
        boolean hasHmac = (flags & FLAG_HMAC) != 0;
        int end = frame.length;
        if (hasSecret(secret)) {
            if (!hasHmac) {
                throw new PeerCodecException("missing HMAC (the sender has no --peer-secret)");
            }
            if (frame.length < HEADER_BYTES + HMAC_BYTES) {
                throw new PeerCodecException("truncated HMAC: frame of " + frame.length + " bytes (expected: at least "
                        + (HEADER_BYTES + HMAC_BYTES) + ")");
            }
            end = frame.length - HMAC_BYTES;
            byte[] expected = hmac(secret, frame, end);
            byte[] actual = Arrays.copyOfRange(frame, end, frame.length);
            if (!MessageDigest.isEqual(expected, actual)) {
                throw new PeerCodecException("bad HMAC (a different --peer-secret on the sender, or a corrupted frame)");
            }
        } else if (hasHmac) {
            throw new PeerCodecException("unexpected HMAC: this node has no --peer-secret");
        }
        Reader r = new Reader(frame, HEADER_BYTES, end);
        // fields appended by a newer sender after those this node knows are ignored (see "Fields appended")
        return readBody(type, r);
    }

    private static PeerMessage readBody(int type, Reader r) throws PeerCodecException {
        switch (type) {
            case TYPE_NODE_STATUS:
                return readNodeStatus(r);
            default:
                throw new PeerCodecException("unknown message type " + type + " (this node knows: 1 = NodeStatus;"
                        + " a newer Skep on the sender?)");
        }
    }

    // ---- NodeStatus (type 1) ----

    private static void writeNodeStatus(Writer w, NodeStatus s) {
        w.endpoint("node", s.node());
        w.endpoint("redis", s.redis());
        w.int32(s.httpPort());
        w.out.write(nodeStateCode(s.state()));
        w.int64(s.epoch());
        w.endpoint("leader", s.leader());
        w.int64(s.since());
        w.int64(s.offset());
        w.bool(s.tainted());
        w.out.write(redisRoleCode(s.redisRole()));
        w.bool(s.linkUp());
        w.string("redisRunId", s.redisRunId());
        w.int64(s.redisProcessId());
        w.int64(s.sentAtMillis());
        w.endpoint("handoverTo", s.handoverTo());
        w.int64(s.handoverOffset());
        w.int64(s.masterSinceOffset());
        w.int64(s.leaderHeardAgoMs());
        w.string("replId", s.replId());
        w.int64(s.dataEpoch());
        w.string("replId2", s.replId2());
        int skip = Math.max(0, s.histories().size() - NodeStatus.MAX_HISTORIES);
        w.int32(s.histories().size() - skip);
        for (Map.Entry<String, Long> h : s.histories().entrySet()) {
            if (skip > 0) {
                skip--; // the oldest go first
                continue;
            }
            w.string("histories", h.getKey());
            w.int64(h.getValue());
        }
        w.string("agentVersion", s.agentVersion());
        w.string("redisVersion", s.redisVersion());
        w.string("zone", s.zone());
    }

    private static NodeStatus readNodeStatus(Reader r) throws PeerCodecException {
        Endpoint node = r.endpoint("node");
        Endpoint redis = r.endpoint("redis");
        int httpPort = r.int32("httpPort");
        NodeState state = nodeState(r.u8("state"), r);
        long epoch = r.int64("epoch");
        Endpoint leader = r.endpoint("leader");
        long since = r.int64("since");
        long offset = r.int64("offset");
        boolean tainted = r.bool("tainted");
        RedisRole role = redisRole(r.u8("redisRole"), r);
        boolean linkUp = r.bool("linkUp");
        String runId = r.string("redisRunId");
        long processId = r.int64("redisProcessId");
        long sentAt = r.int64("sentAtMillis");
        Endpoint handoverTo = r.endpoint("handoverTo");
        long handoverOffset = r.int64("handoverOffset");
        long masterSinceOffset = r.int64("masterSinceOffset");
        long leaderHeardAgo = r.int64("leaderHeardAgoMs");
        String replId = "";
        long dataEpoch = 0;
        String replId2 = "";
        if (r.more()) { // appended together: a sender that has one has all three
            replId = r.string("replId");
            dataEpoch = r.int64("dataEpoch");
            replId2 = r.string("replId2");
        }
        Map<String, Long> histories = new LinkedHashMap<>();
        if (r.more()) {
            int n = r.int32("histories");
            if (n < 0 || n > NodeStatus.MAX_HISTORIES) {
                throw new PeerCodecException("histories: " + n + " entries, at most " + NodeStatus.MAX_HISTORIES);
            }
            for (int i = 0; i < n; i++) {
                histories.put(r.string("histories"), r.int64("histories"));
            }
        }
        String agentVersion = "";
        String redisVersion = "";
        if (r.more()) { // appended together
            agentVersion = r.string("agentVersion");
            redisVersion = r.string("redisVersion");
        }
        return new NodeStatus(node, redis, httpPort, state, epoch, leader, since, offset, tainted, role, linkUp,
                runId, processId, sentAt, handoverTo, handoverOffset, masterSinceOffset, leaderHeardAgo, replId,
                dataEpoch, replId2, histories, agentVersion, redisVersion, r.more() ? r.string("zone") : "");
    }

    // ---- enum code tables: stable on the wire, independent of declaration order ----

    static int nodeStateCode(NodeState state) {
        if (state == null) {
            throw new IllegalArgumentException("state: null");
        }
        // a switch expression on an enum must be exhaustive: a new constant fails to compile until coded
        return switch (state) {
            case ALONE -> 1;
            case PROPOSING -> 2;
            case PROMOTING -> 3;
            case FOLLOWING -> 4;
            case LEADING -> 5;
            case NOT_READY -> 6;
        };
    }

    private static NodeState nodeState(int code, Reader r) throws PeerCodecException {
        return switch (code) {
            case 1 -> NodeState.ALONE;
            case 2 -> NodeState.PROPOSING;
            case 3 -> NodeState.PROMOTING;
            case 4 -> NodeState.FOLLOWING;
            case 5 -> NodeState.LEADING;
            case 6 -> NodeState.NOT_READY;
            default -> throw new PeerCodecException("unknown state code " + code + " at offset " + (r.pos - 1));
        };
    }

    static int redisRoleCode(RedisRole role) {
        if (role == null) {
            throw new IllegalArgumentException("redisRole: null");
        }
        return switch (role) {
            case MASTER -> 1;
            case REPLICA -> 2;
            case UNKNOWN -> 3;
        };
    }

    private static RedisRole redisRole(int code, Reader r) throws PeerCodecException {
        return switch (code) {
            case 1 -> RedisRole.MASTER;
            case 2 -> RedisRole.REPLICA;
            case 3 -> RedisRole.UNKNOWN;
            default -> throw new PeerCodecException("unknown redisRole code " + code + " at offset " + (r.pos - 1));
        };
    }

    // ---- HMAC ----

    private static boolean hasSecret(byte[] secret) {
        return secret != null && secret.length > 0;
    }

    private static byte[] hmac(byte[] secret, byte[] data, int length) {
        try {
            // a new Mac per call: Mac is not thread-safe, and heartbeats are a few per second per peer
            Mac mac = Mac.getInstance(HMAC_ALGORITHM);
            mac.init(new SecretKeySpec(secret, HMAC_ALGORITHM));
            mac.update(data, 0, length);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            // HmacSHA256 is required of every Java platform: this is a broken JVM, not a bad frame
            throw new IllegalStateException(HMAC_ALGORITHM + " unavailable", e);
        }
    }

    // ---- primitive writing and reading ----

    private static final class Writer {
        final ByteArrayOutputStream out = new ByteArrayOutputStream(128);

        void int32(int v) {
            out.write(v >>> 24);
            out.write(v >>> 16);
            out.write(v >>> 8);
            out.write(v);
        }

        void int64(long v) {
            int32((int) (v >>> 32));
            int32((int) v);
        }

        void u16(int v) {
            out.write(v >>> 8);
            out.write(v);
        }

        void bool(boolean v) {
            out.write(v ? 1 : 0);
        }

        void string(String field, String s) {
            if (s == null) {
                throw new IllegalArgumentException(field + ": null (expected: a string, empty when unknown)");
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (b.length > 0xffff) {
                throw new IllegalArgumentException(field + ": " + b.length + " UTF-8 bytes (expected: at most 65535)");
            }
            u16(b.length);
            out.write(b, 0, b.length);
        }

        void endpoint(String field, Endpoint e) {
            if (e == null) {
                out.write(0);
                return;
            }
            out.write(1);
            string(field + ".host", e.host());
            u16(e.port());
        }
    }

    /** Reads fields from {@code frame[pos, end)}; every read names its field for the error message. */
    private static final class Reader {
        final byte[] frame;
        final int end;
        int pos;

        Reader(byte[] frame, int pos, int end) {
            this.frame = frame;
            this.pos = pos;
            this.end = end;
        }

        /** Whether the frame goes on: an appended field follows (an older sender's frame ends before it). */
        boolean more() {
            return pos < end;
        }

        private void need(String field, int n) throws PeerCodecException {
            if (end - pos < n) {
                throw new PeerCodecException("truncated at field '" + field + "' offset " + pos + " (needs " + n
                        + " bytes, " + (end - pos) + " left)");
            }
        }

        int u8(String field) throws PeerCodecException {
            need(field, 1);
            return frame[pos++] & 0xff;
        }

        int u16(String field) throws PeerCodecException {
            need(field, 2);
            int v = ((frame[pos] & 0xff) << 8) | (frame[pos + 1] & 0xff);
            pos += 2;
            return v;
        }

        int int32(String field) throws PeerCodecException {
            need(field, 4);
            int v = ((frame[pos] & 0xff) << 24) | ((frame[pos + 1] & 0xff) << 16)
                    | ((frame[pos + 2] & 0xff) << 8) | (frame[pos + 3] & 0xff);
            pos += 4;
            return v;
        }

        long int64(String field) throws PeerCodecException {
            need(field, 8);
            long hi = int32(field) & 0xffffffffL;
            long lo = int32(field) & 0xffffffffL;
            return (hi << 32) | lo;
        }

        boolean bool(String field) throws PeerCodecException {
            int at = pos;
            int b = u8(field);
            if (b > 1) {
                throw new PeerCodecException("field '" + field + "' offset " + at + ": boolean " + b + " (expected: 0 or 1)");
            }
            return b == 1;
        }

        String string(String field) throws PeerCodecException {
            int len = u16(field);
            need(field, len);
            int at = pos;
            pos += len;
            try {
                // strict: a lenient decoder would turn corruption into replacement characters silently
                CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(frame, at, len));
                return chars.toString();
            } catch (CharacterCodingException e) {
                throw new PeerCodecException("field '" + field + "' offset " + at + ": invalid UTF-8");
            }
        }

        Endpoint endpoint(String field) throws PeerCodecException {
            int at = pos;
            int presence = u8(field);
            if (presence == 0) {
                return null;
            }
            if (presence != 1) {
                throw new PeerCodecException("field '" + field + "' offset " + at + ": presence byte " + presence
                        + " (expected: 0 or 1)");
            }
            String host = string(field + ".host");
            int port = u16(field + ".port");
            try {
                return new Endpoint(host, port);
            } catch (IllegalArgumentException e) {
                throw new PeerCodecException("field '" + field + "' offset " + at + ": " + e.getMessage());
            }
        }
    }
}
