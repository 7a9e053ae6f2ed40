package dev.skep.peer;

import dev.skep.election.NodeStatus;
import dev.skep.election.PeerMessage;
import dev.skep.netty.EventLoops;
import dev.skep.redis.RedisRole;
import dev.skep.status.NodeState;
import dev.skep.support.TestCertificates;
import dev.skep.tls.TlsMaterial;
import dev.skep.tls.TlsSettings;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Real TCP on 127.0.0.1 between transports in one JVM. */
class PeerTransportIT {
    private static final byte[] SECRET = "hive-secret".getBytes(StandardCharsets.UTF_8);
    private static final Duration DEADLINE = Duration.ofSeconds(15);
    private static final Duration POLL = Duration.ofMillis(50);

    private static EventLoops loops;
    private final List<PeerTransport> transports = new ArrayList<>();
    private final AtomicLong seq = new AtomicLong(1);

    @BeforeAll
    static void loops() {
        loops = EventLoops.create(2, "skep-peer-it", true);
    }

    @AfterAll
    static void closeLoops() {
        loops.close();
    }

    @AfterEach
    void closeTransports() {
        transports.forEach(PeerTransport::close);
    }

    /** Records what a transport's listener is given; the collections are safe to read from the test thread. */
    static final class Inbox implements PeerListener {
        final Queue<NodeStatus> messages = new ConcurrentLinkedQueue<>();
        final Queue<String> rejections = new ConcurrentLinkedQueue<>();
        final Queue<Endpoint> closed = new ConcurrentLinkedQueue<>();

        @Override
        public void onClosed(Endpoint node) {
            closed.add(node);
        }

        @Override
        public void onMessage(PeerMessage msg) {
            messages.add((NodeStatus) msg);
        }

        @Override
        public void onRejected(String reason, String remoteAddress) {
            rejections.add(reason + " from " + remoteAddress);
        }

        boolean hasFrom(Endpoint node) {
            return messages.stream().anyMatch(m -> m.node().equals(node));
        }

        long countFrom(Endpoint node) {
            return messages.stream().filter(m -> m.node().equals(node)).count();
        }
    }

    private PeerTransport transport(int port, byte[] secret, Inbox inbox) {
        return transport("127.0.0.1", port, secret, inbox);
    }

    private PeerTransport transport(String bindHost, int port, byte[] secret, Inbox inbox) {
        PeerTransport t = new PeerTransport(loops, bindHost, port, secret, Duration.ofMillis(500), inbox);
        transports.add(t);
        return t;
    }

    private static Endpoint endpoint(PeerTransport t) {
        return new Endpoint("127.0.0.1", t.localAddress().getPort());
    }

    private NodeStatus status(Endpoint from, NodeState state) {
        return new NodeStatus(from, new Endpoint("127.0.0.1", 6379), 8080, state, 4, null, 0, 1234, false,
                RedisRole.REPLICA, true, "run-" + from.port(), 77, seq.getAndIncrement());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void twoTransportsExchangeNodeStatusBothWays() {
        Inbox inboxA = new Inbox();
        Inbox inboxB = new Inbox();
        PeerTransport a = transport(0, SECRET, inboxA).start();
        PeerTransport b = transport(0, SECRET, inboxB).start();
        Endpoint ea = endpoint(a);
        Endpoint eb = endpoint(b);

        hearEachOther(a, inboxA, b, inboxB, status(ea, NodeState.LEADING), status(eb, NodeState.FOLLOWING));
        assertThat(a.rejectedCount()).isZero();
        assertThat(b.rejectedCount()).isZero();
        assertThat(a.knownPeers()).containsExactly(eb);
    }

    /** A transport in the --tls-peers mode {@code mode} (off, accept, prefer, on), with a certificate the CA signed. */
    private PeerTransport tlsTransport(String mode, TlsMaterial tls, Inbox inbox) {
        PeerTransport t = transport(0, SECRET, inbox);
        dev.skep.config.TlsConfig.PeerTls m = dev.skep.config.TlsConfig.PeerTls.parse(mode);
        if (m != dev.skep.config.TlsConfig.PeerTls.OFF) {
            t.withTls(tls::peerServer, m.sendsTls() ? tls::client : null, m.acceptsPlain());
        }
        return t.start();
    }

    private static void hearEachOther(PeerTransport a, Inbox inboxA, PeerTransport b, Inbox inboxB, NodeStatus fromA,
            NodeStatus fromB) {
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            a.send(endpoint(b), fromA);
            b.send(endpoint(a), fromB);
            assertThat(inboxB.messages).contains(fromA);
            assertThat(inboxA.messages).contains(fromB);
        });
    }

    @Test
    void aHiveMovesToTlsInThreeRollsWithEveryPairOfNeighbouringStepsHearingEachOther(@TempDir Path dir)
            throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        TestCertificates.Pair pair = certs.issue("node");
        TlsMaterial tls = TlsMaterial.load(new TlsSettings(pair.cert(), pair.key(), certs.caFile(),
                TlsSettings.ClientAuth.YES, List.of(), TlsSettings.Provider.AUTO, 0), Instant.now());
        String[] steps = {"off", "accept", "prefer", "on"};
        for (int i = 0; i + 1 < steps.length; i++) {
            // during a roll, agents of the step before and of the step after live side by side
            Inbox inboxA = new Inbox();
            Inbox inboxB = new Inbox();
            PeerTransport a = tlsTransport(steps[i], tls, inboxA);
            PeerTransport b = tlsTransport(steps[i + 1], tls, inboxB);
            hearEachOther(a, inboxA, b, inboxB, status(endpoint(a), NodeState.LEADING),
                    status(endpoint(b), NodeState.FOLLOWING));
        }
        // once every agent is on, a plain one is not heard, and says so
        Inbox inboxOn = new Inbox();
        PeerTransport on = tlsTransport("on", tls, inboxOn);
        PeerTransport plain = tlsTransport("off", tls, new Inbox());
        NodeStatus fromPlain = status(endpoint(plain), NodeState.LEADING);
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            plain.send(endpoint(on), fromPlain);
            assertThat(on.rejectedCount()).isPositive();
        });
        assertThat(inboxOn.messages).doesNotContain(fromPlain);
        assertThat(inboxOn.rejections).anyMatch(r -> r.contains("TLS handshake failed"));
    }

    @Test
    void messagesWithWrongSecretAreRejectedAndCountedWhileGoodPeersKeepTalking() {
        Inbox inboxA = new Inbox();
        Inbox inboxB = new Inbox();
        Inbox inboxC = new Inbox();
        PeerTransport a = transport(0, SECRET, inboxA).start();
        PeerTransport b = transport(0, SECRET, inboxB).start();
        PeerTransport c = transport(0, "not-the-hive-secret".getBytes(StandardCharsets.UTF_8), inboxC).start();
        Endpoint ea = endpoint(a);
        Endpoint eb = endpoint(b);
        Endpoint ec = endpoint(c);

        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            c.send(eb, status(ec, NodeState.PROPOSING));
            a.send(eb, status(ea, NodeState.LEADING));
            assertThat(b.rejectedCount()).isGreaterThanOrEqualTo(5);
            assertThat(inboxB.countFrom(ea)).isGreaterThanOrEqualTo(5);
        });
        assertThat(inboxB.hasFrom(ec)).as("nothing from the node with the wrong secret").isFalse();
        assertThat(inboxB.rejections).allSatisfy(r -> assertThat(r).startsWith("bad HMAC").contains("from 127.0.0.1:"));
        assertThat(b.rejectedCount()).isEqualTo(inboxB.rejections.size());

        // and a node without any secret is told apart from one with the wrong secret
        Inbox inboxD = new Inbox();
        PeerTransport d = transport(0, null, inboxD).start();
        Endpoint ed = endpoint(d);
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            d.send(eb, status(ed, NodeState.ALONE));
            a.send(ed, status(ea, NodeState.LEADING));
            assertThat(inboxB.rejections).anySatisfy(r -> assertThat(r).startsWith("missing HMAC"));
            assertThat(inboxD.rejections)
                    .anySatisfy(r -> assertThat(r).startsWith("unexpected HMAC: this node has no --peer-secret"));
        });
        assertThat(inboxD.messages).isEmpty();
    }

    @Test
    void aPeerWhoseProcessEndsIsReportedClosedByItsNodeAndAConnectionClosedForBadBytesIsNot() throws Exception {
        Inbox inboxB = new Inbox();
        PeerTransport a = transport(0, SECRET, new Inbox()).start();
        PeerTransport b = transport(0, SECRET, inboxB).start();
        Endpoint ea = endpoint(a);
        Endpoint eb = endpoint(b);
        awaitHeard(a, ea, eb, inboxB);
        assertClosedAfterWriting(eb, lengthPrefix(8, "GARBAGE!".getBytes(StandardCharsets.US_ASCII)));
        assertThat(inboxB.closed).as("closed by B itself, from no known node").isEmpty();

        a.close(); // as the kernel does for a process that dies: its connections end
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() ->
                assertThat(inboxB.closed).as("by the node whose messages came on it").containsExactly(ea));
    }

    @Test
    void garbageAndOversizedFramesCloseOnlyThatConnection() throws Exception {
        Inbox inboxA = new Inbox();
        Inbox inboxB = new Inbox();
        PeerTransport a = transport(0, SECRET, inboxA).start();
        PeerTransport b = transport(0, SECRET, inboxB).start();
        Endpoint ea = endpoint(a);
        Endpoint eb = endpoint(b);
        // the good connection is up before the bad ones arrive, and must survive them
        awaitHeard(a, ea, eb, inboxB);

        // text on the peer port: its first 4 bytes read as a length of ~1.7 GB
        assertClosedAfterWriting(eb, "hello, is this redis?\r\n".getBytes(StandardCharsets.US_ASCII));
        // a length just over the maximum, nothing after it
        assertClosedAfterWriting(eb, lengthPrefix(PeerCodec.MAX_FRAME_BYTES + 1, new byte[0]));
        // a negative length
        assertClosedAfterWriting(eb, lengthPrefix(-5, new byte[0]));
        // well framed, but not a Skep frame
        assertClosedAfterWriting(eb, lengthPrefix(8, "GARBAGE!".getBytes(StandardCharsets.US_ASCII)));

        assertThat(b.rejectedCount()).isEqualTo(4);
        assertThat(inboxB.rejections).hasSize(4);
        long before = inboxB.countFrom(ea);
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            a.send(eb, status(ea, NodeState.LEADING));
            assertThat(inboxB.countFrom(ea)).isGreaterThan(before + 3);
        });
    }

    /** Sends from {@code a} (node {@code ea}) to {@code eb} until {@code inboxB} has heard {@code ea}. */
    private void awaitHeard(PeerTransport a, Endpoint ea, Endpoint eb, Inbox inboxB) {
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            a.send(eb, status(ea, NodeState.LEADING));
            assertThat(inboxB.hasFrom(ea)).isTrue();
        });
    }

    private static byte[] lengthPrefix(int length, byte[] body) throws IOException {
        var bytes = new java.io.ByteArrayOutputStream();
        var out = new DataOutputStream(bytes);
        out.writeInt(length);
        out.write(body);
        return bytes.toByteArray();
    }

    private static void assertClosedAfterWriting(Endpoint to, byte[] bytes) throws IOException {
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(to.host(), to.port()), 5000);
            raw.setSoTimeout((int) DEADLINE.toMillis()); // bounds the read below: a hang fails the test
            raw.getOutputStream().write(bytes);
            raw.getOutputStream().flush();
            InputStream in = raw.getInputStream();
            int read;
            try {
                read = in.read();
            } catch (java.net.SocketException reset) {
                read = -1; // a reset is a close too
            }
            assertThat(read).as("the transport closed the connection").isEqualTo(-1);
        }
    }

    @Test
    void sendToAPortWhereNothingListensNeitherBlocksNorThrowsAndDeliversOnceItListens() throws Exception {
        Inbox inboxA = new Inbox();
        PeerTransport a = transport(0, SECRET, inboxA).start();
        Endpoint ea = endpoint(a);
        int port = freePort();
        Endpoint later = new Endpoint("127.0.0.1", port);

        long start = System.nanoTime();
        for (int i = 0; i < 1000; i++) {
            a.send(later, status(ea, NodeState.PROPOSING));
        }
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(elapsedMillis).as("1000 sends to a dead port, in ms").isLessThan(1000);

        // a peer that is up at the same time is not held up by the dead one
        Inbox inboxB = new Inbox();
        PeerTransport b = transport(0, SECRET, inboxB).start();
        Endpoint eb = endpoint(b);
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            a.send(later, status(ea, NodeState.PROPOSING));
            a.send(eb, status(ea, NodeState.PROPOSING));
            assertThat(inboxB.hasFrom(ea)).isTrue();
        });

        Inbox inboxLate = new Inbox();
        transport(port, SECRET, inboxLate).start();
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            a.send(later, status(ea, NodeState.PROPOSING));
            assertThat(inboxLate.hasFrom(ea)).isTrue();
        });
        // only the latest pending message survives a wait: no backlog of stale heartbeats is replayed
        assertThat(inboxLate.messages.size()).isLessThan(1000);
    }

    @Test
    void peersNamedByHostNameAreResolvedAndAnUnresolvableNameDoesNotHoldUpOthers() throws Exception {
        Inbox inboxB = new Inbox();
        PeerTransport a = transport(0, SECRET, new Inbox()).start();
        // b listens where "localhost" resolves on this machine (127.0.0.1 or ::1), so the name always reaches it
        String localhost = java.net.InetAddress.getByName("localhost").getHostAddress();
        PeerTransport b = transport(localhost, 0, SECRET, inboxB).start();
        Endpoint ea = endpoint(a);
        Endpoint byName = new Endpoint("localhost", b.localAddress().getPort());
        // .invalid never resolves (RFC 6761): its lookups run off the event loops
        Endpoint nowhere = new Endpoint("skep-peer.nowhere.invalid", 7380);
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            a.send(nowhere, status(ea, NodeState.PROPOSING));
            a.send(byName, status(ea, NodeState.PROPOSING));
            assertThat(inboxB.hasFrom(ea)).isTrue();
        });
    }

    @Test
    void retainPeersForgetsDepartedPeersAndASendReconnects() {
        Inbox inboxB = new Inbox();
        PeerTransport a = transport(0, SECRET, new Inbox()).start();
        PeerTransport b = transport(0, SECRET, inboxB).start();
        Endpoint ea = endpoint(a);
        Endpoint eb = endpoint(b);
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            a.send(eb, status(ea, NodeState.LEADING));
            assertThat(inboxB.hasFrom(ea)).isTrue();
        });

        a.retainPeers(Set.of(new Endpoint("127.0.0.1", 1)));
        assertThat(a.knownPeers()).isEmpty();

        long before = inboxB.countFrom(ea);
        await().atMost(DEADLINE).pollInterval(POLL).untilAsserted(() -> {
            a.send(eb, status(ea, NodeState.LEADING));
            assertThat(inboxB.countFrom(ea)).isGreaterThan(before);
        });
        assertThat(a.knownPeers()).containsExactly(eb);
    }

    @Test
    void closedTransportIgnoresSendsAndFreesItsPort() {
        PeerTransport a = transport(0, SECRET, new Inbox()).start();
        int port = a.localAddress().getPort();
        a.close();
        a.send(new Endpoint("127.0.0.1", port), status(new Endpoint("127.0.0.1", port), NodeState.ALONE));
        PeerTransport again = transport(port, SECRET, new Inbox()).start();
        assertThat(again.localAddress().getPort()).isEqualTo(port);
    }
}
