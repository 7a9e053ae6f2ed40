package dev.skep.peer;

import dev.skep.election.NodeStatus;
import dev.skep.redis.RedisRole;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

class PeerCodecTest {
    private static final byte[] SECRET = "s3cret-of-the-hive".getBytes(StandardCharsets.UTF_8);

    static NodeStatus full() {
        return new NodeStatus(
                new Endpoint("10.0.0.7", 7380),
                new Endpoint("redis-1.example.internal", 6379),
                8080,
                NodeState.LEADING,
                Long.MAX_VALUE - 3,
                new Endpoint("::1", 7381),
                1_700_000_000_123L,
                -42L,
                true,
                RedisRole.MASTER,
                true,
                "0123456789abcdef0123456789abcdef01234567\u00e9\u2603",
                Long.MIN_VALUE,
                1_700_000_000_999L,
                new Endpoint("10.0.0.8", 7380),
                Long.MAX_VALUE,
                123_456_789L,
                321L,
                "2f8c1e9d0a7b4c3e5f6a8b9c0d1e2f3a4b5c6d7e",
                1_796_585_191_000L,
                "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
                histories(2),
                "0.2.0-\u00e9",
                "valkey 8.1.1",
                "eu-west-1a");
    }

    /** {@code n} leaders' histories, oldest first. */
    static java.util.Map<String, Long> histories(int n) {
        java.util.Map<String, Long> h = new java.util.LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            h.put(String.format("%040x", i + 1), 1_796_585_000_000L + i);
        }
        return h;
    }

    /** The bytes of the agent's and its redis's versions and of the zone, appended last. */
    static int versionBytes(NodeStatus s) {
        return 2 + s.agentVersion().getBytes(StandardCharsets.UTF_8).length + 2
                + s.redisVersion().getBytes(StandardCharsets.UTF_8).length + zoneBytes(s);
    }

    /** The bytes of the zone, appended after the versions. */
    static int zoneBytes(NodeStatus s) {
        return 2 + s.zone().getBytes(StandardCharsets.UTF_8).length;
    }

    /** The bytes of the histories, appended before the version. */
    static int historiesBytes(NodeStatus s) {
        int n = 4;
        for (String id : s.histories().keySet()) {
            n += 2 + id.getBytes(StandardCharsets.UTF_8).length + 8;
        }
        return n;
    }

    /** The bytes of replId, dataEpoch and replId2, appended before the histories. */
    static int replicationBytes(NodeStatus s) {
        return 2 + s.replId().getBytes(StandardCharsets.UTF_8).length + 8 + 2
                + s.replId2().getBytes(StandardCharsets.UTF_8).length;
    }

    static NodeStatus sparse() {
        return new NodeStatus(new Endpoint("127.0.0.1", 1), new Endpoint("127.0.0.1", 65535), 0,
                NodeState.ALONE, 0, null, 0, 0, false, RedisRole.UNKNOWN, false, "", 0, 0);
    }

    @Test
    void roundTripWithEveryFieldSet() throws Exception {
        NodeStatus s = full();
        assertThat(PeerCodec.decode(PeerCodec.encode(s, null), null)).isEqualTo(s);
    }

    @Test
    void roundTripWithNullLeaderAndEmptyStrings() throws Exception {
        NodeStatus s = sparse();
        assertThat(PeerCodec.decode(PeerCodec.encode(s, null), null)).isEqualTo(s);
    }

    @Test
    void everyEnumConstantRoundTrips() throws Exception {
        for (NodeState state : NodeState.values()) {
            for (RedisRole role : RedisRole.values()) {
                NodeStatus s = new NodeStatus(new Endpoint("10.0.0.1", 7380), new Endpoint("10.0.0.1", 6379), 8080,
                        state, 3, new Endpoint("10.0.0.2", 7380), 0, 99, false, role, true, "r", 1, 2);
                assertThat(PeerCodec.decode(PeerCodec.encode(s, SECRET), SECRET)).isEqualTo(s);
            }
        }
    }

    @Test
    void headerIsMagicVersionTypeFlags() {
        byte[] plain = PeerCodec.encode(full(), null);
        assertThat(Arrays.copyOf(plain, 5)).containsExactly('S', 'K', 2, 1, 0);
        byte[] signed = PeerCodec.encode(full(), SECRET);
        assertThat(Arrays.copyOf(signed, 5)).containsExactly('S', 'K', 2, 1, 1);
        assertThat(signed).hasSize(plain.length + 32);
    }

    @Test
    void roundTripWithSecret() throws Exception {
        assertThat(PeerCodec.decode(PeerCodec.encode(full(), SECRET), SECRET)).isEqualTo(full());
        assertThat(PeerCodec.decode(PeerCodec.encode(sparse(), SECRET), SECRET)).isEqualTo(sparse());
    }

    @Test
    void emptySecretMeansNoSecret() throws Exception {
        byte[] frame = PeerCodec.encode(full(), new byte[0]);
        assertThat(frame[4]).isEqualTo((byte) 0);
        assertThat(PeerCodec.decode(frame, null)).isEqualTo(full());
    }

    @Test
    void flippedByteAnywhereInSignedFrameIsRejected() {
        byte[] frame = PeerCodec.encode(full(), SECRET);
        for (int i = 0; i < frame.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] bad = frame.clone();
                bad[i] ^= (byte) (1 << bit);
                Throwable t = catchThrowable(() -> PeerCodec.decode(bad, SECRET));
                assertThat(t).as("bit %d of byte %d flipped", bit, i).isInstanceOf(PeerCodecException.class);
            }
        }
    }

    @Test
    void flippedByteInBodyIsReportedAsBadHmac() {
        byte[] frame = PeerCodec.encode(full(), SECRET);
        frame[20] ^= 0x10;
        assertThatThrownBy(() -> PeerCodec.decode(frame, SECRET))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageStartingWith("bad HMAC");
    }

    @Test
    void wrongSecretIsRejected() {
        byte[] frame = PeerCodec.encode(full(), "another-secret".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> PeerCodec.decode(frame, SECRET))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageStartingWith("bad HMAC");
    }

    @Test
    void frameWithHmacToReceiverWithoutSecretIsRejected() {
        byte[] frame = PeerCodec.encode(full(), SECRET);
        assertThatThrownBy(() -> PeerCodec.decode(frame, null))
                .isInstanceOf(PeerCodecException.class)
                .hasMessage("unexpected HMAC: this node has no --peer-secret");
    }

    @Test
    void frameWithoutHmacToReceiverWithSecretIsRejected() {
        byte[] frame = PeerCodec.encode(full(), null);
        assertThatThrownBy(() -> PeerCodec.decode(frame, SECRET))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageStartingWith("missing HMAC");
    }

    @Test
    void truncatedFramesAtEveryLengthAreRejectedWithCodecException() {
        for (byte[] secret : new byte[][] {null, SECRET}) {
            byte[] frame = PeerCodec.encode(full(), secret);
            // the lengths that are whole: senders from before the appended fields (no HMAC to break)
            int beforeZone = frame.length - zoneBytes(full());
            int beforeVersion = frame.length - versionBytes(full());
            int beforeHistories = beforeVersion - historiesBytes(full());
            int olderSender = beforeHistories - replicationBytes(full());
            for (int len = 0; len < frame.length; len++) {
                if (secret == null && (len == olderSender || len == beforeHistories || len == beforeVersion
                        || len == beforeZone)) {
                    continue;
                }
                byte[] cut = Arrays.copyOf(frame, len);
                Throwable t = catchThrowable(() -> PeerCodec.decode(cut, secret));
                assertThat(t).as("frame cut to %d of %d bytes, secret %s", len, frame.length, secret != null)
                        .isInstanceOf(PeerCodecException.class);
            }
        }
    }

    @Test
    void truncationInsideTheBodyNamesTheField() {
        byte[] frame = PeerCodec.encode(sparse(), null);
        // the zone (2 bytes), the versions (2 + 2), the histories' count (4), replId2 (2) and the last byte of dataEpoch
        byte[] cut = Arrays.copyOf(frame, frame.length - 13);
        assertThatThrownBy(() -> PeerCodec.decode(cut, null))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageStartingWith("truncated at field 'dataEpoch' offset");
    }

    @Test
    void fieldsANewerSenderAppendedAreIgnored() throws PeerCodecException {
        NodeStatus status = full();
        byte[] frame = PeerCodec.encode(status, null);
        byte[] longer = Arrays.copyOf(frame, frame.length + 5);
        longer[2] = 3; // a later version that appended a field of five bytes
        assertThat(PeerCodec.decode(longer, null)).isEqualTo(status);
    }

    @Test
    void aFrameOfASenderBeforeTheAppendedFieldsHasTheirNeutralValues() throws PeerCodecException {
        NodeStatus status = full();
        byte[] frame = PeerCodec.encode(status, null);
        int appended = replicationBytes(status) + historiesBytes(status) + versionBytes(status);
        NodeStatus old = (NodeStatus) PeerCodec.decode(Arrays.copyOf(frame, frame.length - appended), null);
        assertThat(old.replId()).isEmpty();
        assertThat(old.dataEpoch()).isZero();
        assertThat(old.replId2()).isEmpty();
        assertThat(old.histories()).isEmpty();
        assertThat(old.leaderHeardAgoMs()).isEqualTo(status.leaderHeardAgoMs());
    }

    @Test
    void aFrameOfASenderBeforeTheHistoriesHasNone() throws PeerCodecException {
        NodeStatus status = full();
        byte[] frame = PeerCodec.encode(status, null);
        int cut = historiesBytes(status) + versionBytes(status);
        NodeStatus old = (NodeStatus) PeerCodec.decode(Arrays.copyOf(frame, frame.length - cut), null);
        assertThat(old.histories()).isEmpty();
        assertThat(old.replId2()).isEqualTo(status.replId2());
        assertThat(old.dataEpoch()).isEqualTo(status.dataEpoch());
    }

    @Test
    void aFrameOfASenderBeforeTheVersionSaysNone() throws PeerCodecException {
        NodeStatus status = full();
        byte[] frame = PeerCodec.encode(status, null);
        NodeStatus old = (NodeStatus) PeerCodec.decode(Arrays.copyOf(frame, frame.length - versionBytes(status)), null);
        assertThat(old.agentVersion()).isEmpty();
        assertThat(old.redisVersion()).isEmpty();
        assertThat(old.histories()).isEqualTo(status.histories());
    }

    @Test
    void aFrameOfASenderBeforeTheZoneSaysNone() throws PeerCodecException {
        NodeStatus status = full();
        byte[] frame = PeerCodec.encode(status, null);
        NodeStatus old = (NodeStatus) PeerCodec.decode(Arrays.copyOf(frame, frame.length - zoneBytes(status)), null);
        assertThat(old.zone()).isEmpty();
        assertThat(old.redisVersion()).isEqualTo("valkey 8.1.1");
        assertThat(old.agentVersion()).isEqualTo(status.agentVersion());
    }

    @Test
    void onlyTheMostRecentHistoriesTravel() throws PeerCodecException {
        NodeStatus f = full();
        NodeStatus many = new NodeStatus(f.node(), f.redis(), f.httpPort(), f.state(), f.epoch(), f.leader(), f.since(),
                f.offset(), f.tainted(), f.redisRole(), f.linkUp(), f.redisRunId(), f.redisProcessId(), f.sentAtMillis(),
                f.handoverTo(), f.handoverOffset(), f.masterSinceOffset(), f.leaderHeardAgoMs(), f.replId(), f.dataEpoch(),
                f.replId2(), histories(NodeStatus.MAX_HISTORIES + 3), f.agentVersion(), f.redisVersion(), f.zone());
        NodeStatus decoded = (NodeStatus) PeerCodec.decode(PeerCodec.encode(many, null), null);
        assertThat(decoded.histories()).hasSize(NodeStatus.MAX_HISTORIES)
                .doesNotContainKey(String.format("%040x", 3))
                .containsEntry(String.format("%040x", 4), 1_796_585_000_003L)
                .containsKey(String.format("%040x", NodeStatus.MAX_HISTORIES + 3));
    }

    @Test
    void moreHistoriesThanAllowedAreRejected() {
        NodeStatus status = full();
        byte[] frame = PeerCodec.encode(status, null);
        int count = frame.length - versionBytes(status) - historiesBytes(status);
        frame[count + 3] = (byte) (NodeStatus.MAX_HISTORIES + 1); // big-endian int: the count's last byte
        assertThatThrownBy(() -> PeerCodec.decode(frame, null))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageContaining("histories: " + (NodeStatus.MAX_HISTORIES + 1) + " entries");
    }

    @Test
    void anOlderVersionIsRejected() {
        byte[] frame = PeerCodec.encode(full(), SECRET);
        frame[2] = 1;
        assertThatThrownBy(() -> PeerCodec.decode(frame, SECRET))
                .isInstanceOf(PeerCodecException.class)
                .hasMessage("unsupported version 1 (expected: 2 or later)");
    }

    @Test
    void unknownTypeIsRejected() {
        byte[] frame = PeerCodec.encode(full(), null);
        frame[3] = 9;
        assertThatThrownBy(() -> PeerCodec.decode(frame, null))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageStartingWith("unknown message type 9");
    }

    @Test
    void badMagicIsRejected() {
        byte[] frame = "GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> PeerCodec.decode(frame, null))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageStartingWith("bad magic");
    }

    @Test
    void invalidEnumCodeAndBooleanAreRejected() {
        NodeStatus s = sparse();
        byte[] frame = PeerCodec.encode(s, null);
        // layout of sparse(): header 5, node (1+2+9+2), redis (1+2+9+2), httpPort 4, then state
        int stateAt = 5 + 14 + 14 + 4;
        assertThat(frame[stateAt]).isEqualTo((byte) 1);
        byte[] badState = frame.clone();
        badState[stateAt] = 0;
        assertThatThrownBy(() -> PeerCodec.decode(badState, null))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageStartingWith("unknown state code 0");
        // then epoch 8, leader 1 (null), since 8, offset 8, tainted
        int taintedAt = stateAt + 1 + 8 + 1 + 8 + 8;
        byte[] badBool = frame.clone();
        badBool[taintedAt] = 2;
        assertThatThrownBy(() -> PeerCodec.decode(badBool, null))
                .isInstanceOf(PeerCodecException.class)
                .hasMessageContaining("'tainted'");
    }

    @Test
    void garbageNeverThrowsAnythingButCodecException() {
        java.util.Random random = new java.util.Random(42);
        byte[] good = PeerCodec.encode(full(), null);
        for (int i = 0; i < 20_000; i++) {
            byte[] bad = good.clone();
            for (int k = random.nextInt(4); k >= 0; k--) {
                int at = 5 + random.nextInt(bad.length - 5);
                bad[at] = (byte) random.nextInt(256);
            }
            byte[] frame = Arrays.copyOf(bad, random.nextInt(bad.length + 4));
            Throwable t = catchThrowable(() -> PeerCodec.decode(frame, null));
            if (t != null) {
                assertThat(t).isInstanceOf(PeerCodecException.class);
            }
        }
    }

    @Test
    void unencodableMessagesFailAtTheSender() {
        NodeStatus nullRunId = new NodeStatus(new Endpoint("127.0.0.1", 1), new Endpoint("127.0.0.1", 2), 0,
                NodeState.ALONE, 0, null, 0, 0, false, RedisRole.UNKNOWN, false, null, 0, 0);
        assertThatThrownBy(() -> PeerCodec.encode(nullRunId, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("redisRunId");
        NodeStatus huge = new NodeStatus(new Endpoint("127.0.0.1", 1), new Endpoint("127.0.0.1", 2), 0,
                NodeState.ALONE, 0, null, 0, 0, false, RedisRole.UNKNOWN, false, "x".repeat(70_000), 0, 0);
        assertThatThrownBy(() -> PeerCodec.encode(huge, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at most 65535");
    }
}
