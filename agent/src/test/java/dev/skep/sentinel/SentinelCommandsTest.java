package dev.skep.sentinel;

import dev.skep.sentinel.SentinelView.Instance;
import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Byte-exact replies of {@link SentinelCommands} against canned views. The expected bytes marked "captured"
 * were read from a real {@code redis-server 7.0.15 --sentinel} monitoring a master and one replica on
 * 127.0.0.1:21379 and :21380 (same ids, offsets and ages); where Skep differs on purpose, the test says how.
 */
class SentinelCommandsTest {
    static final long NOW = 1_714_564_800_000L;
    static final String MY_ID = "72931d62cfe0323e725fcaab9663817920a0f3be";
    static final SentinelSettings SETTINGS = new SentinelSettings("mymaster", MY_ID, 26400, 2000, 32008, NOW - 122_000);
    static final Endpoint MASTER = Endpoint.parse("127.0.0.1:21379");
    static final Endpoint REPLICA = Endpoint.parse("127.0.0.1:21380");

    static final Instance UP_MASTER = new Instance(MASTER, "28f52464da43ff47cff817e9139592bbacfb0a72", "master",
            false, false, 0, NOW - 764, NOW - 12364, 0);
    static final Instance UP_REPLICA = new Instance(REPLICA, "c507f8700d7a840200c1fc59560da6e52fc98849", "slave",
            false, false, 0, NOW - 980, NOW - 12550, 425);
    static final SentinelView HEALTHY = new SentinelView(UP_MASTER, 0, List.of(UP_REPLICA));

    /** Captured: SENTINEL MASTER mymaster. */
    static final String CAPTURED_MASTER = "*40\r\n$4\r\nname\r\n$8\r\nmymaster\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
            + "$4\r\nport\r\n$5\r\n21379\r\n$5\r\nrunid\r\n$40\r\n28f52464da43ff47cff817e9139592bbacfb0a72\r\n"
            + "$5\r\nflags\r\n$6\r\nmaster\r\n$21\r\nlink-pending-commands\r\n$1\r\n0\r\n$13\r\nlink-refcount\r\n"
            + "$1\r\n1\r\n$14\r\nlast-ping-sent\r\n$1\r\n0\r\n$18\r\nlast-ok-ping-reply\r\n$3\r\n764\r\n"
            + "$15\r\nlast-ping-reply\r\n$3\r\n764\r\n$23\r\ndown-after-milliseconds\r\n$4\r\n2000\r\n"
            + "$12\r\ninfo-refresh\r\n$4\r\n1184\r\n$13\r\nrole-reported\r\n$6\r\nmaster\r\n"
            + "$18\r\nrole-reported-time\r\n$5\r\n12364\r\n$12\r\nconfig-epoch\r\n$1\r\n0\r\n$10\r\nnum-slaves\r\n"
            + "$1\r\n1\r\n$19\r\nnum-other-sentinels\r\n$1\r\n0\r\n$6\r\nquorum\r\n$1\r\n2\r\n"
            + "$16\r\nfailover-timeout\r\n$6\r\n180000\r\n$14\r\nparallel-syncs\r\n$1\r\n1\r\n";
    /** Captured: the replica in SENTINEL REPLICAS mymaster (without the outer *1). */
    static final String CAPTURED_REPLICA = "*42\r\n$4\r\nname\r\n$15\r\n127.0.0.1:21380\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
            + "$4\r\nport\r\n$5\r\n21380\r\n$5\r\nrunid\r\n$40\r\nc507f8700d7a840200c1fc59560da6e52fc98849\r\n"
            + "$5\r\nflags\r\n$5\r\nslave\r\n$21\r\nlink-pending-commands\r\n$1\r\n0\r\n$13\r\nlink-refcount\r\n"
            + "$1\r\n1\r\n$14\r\nlast-ping-sent\r\n$1\r\n0\r\n$18\r\nlast-ok-ping-reply\r\n$3\r\n980\r\n"
            + "$15\r\nlast-ping-reply\r\n$3\r\n980\r\n$23\r\ndown-after-milliseconds\r\n$4\r\n2000\r\n"
            + "$12\r\ninfo-refresh\r\n$4\r\n7216\r\n$13\r\nrole-reported\r\n$5\r\nslave\r\n"
            + "$18\r\nrole-reported-time\r\n$5\r\n12550\r\n$21\r\nmaster-link-down-time\r\n$1\r\n0\r\n"
            + "$18\r\nmaster-link-status\r\n$2\r\nok\r\n$11\r\nmaster-host\r\n$9\r\n127.0.0.1\r\n"
            + "$11\r\nmaster-port\r\n$5\r\n21379\r\n$14\r\nslave-priority\r\n$3\r\n100\r\n"
            + "$17\r\nslave-repl-offset\r\n$3\r\n425\r\n$17\r\nreplica-announced\r\n$1\r\n1\r\n";

    private final SentinelCommands commands = new SentinelCommands(SETTINGS);
    private final SentinelSession session = new SentinelSession(3);

    private String run(SentinelView view, String... argv) {
        byte[] reply = commands.execute(Arrays.asList(argv), session, new SentinelCommands.Context(view, NOW, 1));
        return new String(reply, StandardCharsets.ISO_8859_1);
    }

    private String run(String... argv) {
        return run(HEALTHY, argv);
    }

    @Test
    void pingAndItsArgument() {
        assertThat(run("PING")).isEqualTo("+PONG\r\n");
        assertThat(run("ping", "hello")).isEqualTo("$5\r\nhello\r\n");
        assertThat(run("PING", "a", "b")).isEqualTo("-ERR wrong number of arguments for 'ping' command\r\n");
    }

    @Test
    void masterAddressOfTheMonitoredName() {
        assertThat(run("SENTINEL", "get-master-addr-by-name", "mymaster"))
                .isEqualTo("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n21379\r\n");
        assertThat(run("sentinel", "GET-MASTER-ADDR-BY-NAME", "nope")).isEqualTo("*-1\r\n");
        // names are case-sensitive, as in Sentinel
        assertThat(run("SENTINEL", "get-master-addr-by-name", "MYMASTER")).isEqualTo("*-1\r\n");
        // before any master is known the endpoint answers like a Sentinel that does not monitor the name
        assertThat(run(SentinelView.NONE, "SENTINEL", "get-master-addr-by-name", "mymaster")).isEqualTo("*-1\r\n");
    }

    @Test
    void valkeysPrimaryNamesAnswerAsTheMasterOnes() {
        // Valkey 8's Sentinel: GET-PRIMARY-ADDR-BY-NAME, PRIMARY, PRIMARIES, IS-PRIMARY-DOWN-BY-ADDR, same replies
        assertThat(run("SENTINEL", "get-primary-addr-by-name", "mymaster"))
                .isEqualTo(run("SENTINEL", "get-master-addr-by-name", "mymaster"));
        assertThat(run("SENTINEL", "GET-PRIMARY-ADDR-BY-NAME", "nope")).isEqualTo("*-1\r\n");
        assertThat(run("SENTINEL", "primary", "mymaster")).isEqualTo(run("SENTINEL", "master", "mymaster"));
        assertThat(run("SENTINEL", "primary", "nope")).isEqualTo(run("SENTINEL", "master", "nope"));
        assertThat(run("SENTINEL", "primaries")).isEqualTo(run("SENTINEL", "masters"));
        assertThat(run("SENTINEL", "is-primary-down-by-addr", "127.0.0.1", "21379", "0", "*"))
                .isEqualTo(run("SENTINEL", "is-master-down-by-addr", "127.0.0.1", "21379", "0", "*"));
        assertThat(run("SENTINEL", "help")).contains("GET-PRIMARY-ADDR-BY-NAME");
    }

    @Test
    void masterFieldsAsSentinelWritesThem() {
        // Skep reports a quorum of 1 (no quorum: each node decides) and refreshes info as often as it hears
        String expected = CAPTURED_MASTER
                .replace("$12\r\ninfo-refresh\r\n$4\r\n1184\r\n", "$12\r\ninfo-refresh\r\n$3\r\n764\r\n")
                .replace("$6\r\nquorum\r\n$1\r\n2\r\n", "$6\r\nquorum\r\n$1\r\n1\r\n");
        assertThat(run("SENTINEL", "master", "mymaster")).isEqualTo(expected);
        assertThat(run("SENTINEL", "masters")).isEqualTo("*1\r\n" + expected);
        assertThat(run("SENTINEL", "master", "nope")).isEqualTo("-ERR No such master with that name\r\n");
        assertThat(run(SentinelView.NONE, "SENTINEL", "master", "mymaster"))
                .isEqualTo("-ERR No such master with that name\r\n");
        assertThat(run(SentinelView.NONE, "SENTINEL", "masters")).isEqualTo("*0\r\n");
    }

    @Test
    void replicasAndSlavesGiveTheSameList() {
        String expected = "*1\r\n" + CAPTURED_REPLICA
                .replace("$12\r\ninfo-refresh\r\n$4\r\n7216\r\n", "$12\r\ninfo-refresh\r\n$3\r\n980\r\n");
        assertThat(run("SENTINEL", "replicas", "mymaster")).isEqualTo(expected);
        assertThat(run("SENTINEL", "slaves", "mymaster")).isEqualTo(expected);
        assertThat(run("SENTINEL", "replicas", "nope")).isEqualTo("-ERR No such master with that name\r\n");
    }

    @Test
    void aDownReplicaIsFlaggedSoClientsSkipIt() {
        Instance down = new Instance(MASTER, "7dda2aa9f1eb3018e61ce92b2ac8e24ec0a2f982", "master", true, true,
                NOW - 2054, NOW - 4442, NOW - 18985, 0);
        SentinelView view = new SentinelView(new Instance(REPLICA, "c507f8700d7a840200c1fc59560da6e52fc98849",
                "master", false, false, 0, NOW - 969, NOW - 29080, 0), 1, List.of(down));
        // captured after a failover, with the old master down; Skep's last-ping-sent is the age of the last
        // good answer (Sentinel's is that of its own pending ping, 4088 ms in the capture)
        String captured = "*1\r\n*44\r\n$4\r\nname\r\n$15\r\n127.0.0.1:21379\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
                + "$4\r\nport\r\n$5\r\n21379\r\n$5\r\nrunid\r\n$40\r\n7dda2aa9f1eb3018e61ce92b2ac8e24ec0a2f982\r\n"
                + "$5\r\nflags\r\n$25\r\ns_down,slave,disconnected\r\n$21\r\nlink-pending-commands\r\n$1\r\n2\r\n"
                + "$13\r\nlink-refcount\r\n$1\r\n1\r\n$14\r\nlast-ping-sent\r\n$4\r\n4088\r\n"
                + "$18\r\nlast-ok-ping-reply\r\n$4\r\n4442\r\n$15\r\nlast-ping-reply\r\n$4\r\n4442\r\n"
                + "$11\r\ns-down-time\r\n$4\r\n2054\r\n$23\r\ndown-after-milliseconds\r\n$4\r\n2000\r\n"
                + "$12\r\ninfo-refresh\r\n$4\r\n8978\r\n$13\r\nrole-reported\r\n$6\r\nmaster\r\n"
                + "$18\r\nrole-reported-time\r\n$5\r\n18985\r\n$21\r\nmaster-link-down-time\r\n$1\r\n0\r\n"
                + "$18\r\nmaster-link-status\r\n$3\r\nerr\r\n$11\r\nmaster-host\r\n$1\r\n?\r\n"
                + "$11\r\nmaster-port\r\n$1\r\n0\r\n$14\r\nslave-priority\r\n$3\r\n100\r\n"
                + "$17\r\nslave-repl-offset\r\n$1\r\n0\r\n$17\r\nreplica-announced\r\n$1\r\n1\r\n";
        String expected = captured
                .replace("$21\r\nlink-pending-commands\r\n$1\r\n2\r\n", "$21\r\nlink-pending-commands\r\n$1\r\n0\r\n")
                .replace("$14\r\nlast-ping-sent\r\n$4\r\n4088\r\n", "$14\r\nlast-ping-sent\r\n$4\r\n4442\r\n")
                .replace("$12\r\ninfo-refresh\r\n$4\r\n8978\r\n", "$12\r\ninfo-refresh\r\n$4\r\n4442\r\n");
        assertThat(run(view, "SENTINEL", "replicas", "mymaster")).isEqualTo(expected);
    }

    @Test
    void aLostMasterKeepsItsAddressAndIsFlaggedDown() {
        Instance lost = new Instance(MASTER, "28f52464da43ff47cff817e9139592bbacfb0a72", "master", true, true,
                NOW - 2075, NOW - 4434, NOW - 36720, 0);
        SentinelView view = new SentinelView(lost, 5, List.of(UP_REPLICA));
        String reply = run(view, "SENTINEL", "master", "mymaster");
        assertThat(reply).startsWith("*42\r\n")
                .contains("$5\r\nflags\r\n$26\r\ns_down,master,disconnected\r\n")
                .contains("$14\r\nlast-ping-sent\r\n$4\r\n4434\r\n$18\r\nlast-ok-ping-reply\r\n$4\r\n4434\r\n"
                        + "$15\r\nlast-ping-reply\r\n$4\r\n4434\r\n$11\r\ns-down-time\r\n$4\r\n2075\r\n"
                        + "$23\r\ndown-after-milliseconds\r\n")
                .contains("$12\r\nconfig-epoch\r\n$1\r\n5\r\n");
        // clients that ask still get the last master, as from Sentinel until it fails over
        assertThat(run(view, "SENTINEL", "get-master-addr-by-name", "mymaster"))
                .isEqualTo("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n21379\r\n");
        assertThat(run(view, "INFO", "sentinel")).contains("master0:name=mymaster,status=sdown,address=127.0.0.1:21379,");
        assertThat(run(view, "SENTINEL", "is-master-down-by-addr", "127.0.0.1", "21379", "0", "*"))
                .isEqualTo("*3\r\n:1\r\n$1\r\n*\r\n:0\r\n");
    }

    @Test
    void sentinelsMyidCkquorumRole() {
        assertThat(run("SENTINEL", "sentinels", "mymaster")).isEqualTo("*0\r\n");
        assertThat(run("SENTINEL", "sentinels", "nope")).isEqualTo("-ERR No such master with that name\r\n");
        assertThat(run("SENTINEL", "myid")).isEqualTo("$40\r\n" + MY_ID + "\r\n");
        assertThat(run("SENTINEL", "ckquorum", "mymaster"))
                .isEqualTo("+OK 1 usable Sentinels. Quorum and failover authorization can be reached\r\n");
        assertThat(run("SENTINEL", "ckquorum", "nope")).isEqualTo("-ERR No such master with that name\r\n");
        assertThat(run("ROLE")).isEqualTo("*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n"); // captured
        assertThat(run(SentinelView.NONE, "ROLE")).isEqualTo("*2\r\n$8\r\nsentinel\r\n*0\r\n");
        assertThat(run("SENTINEL", "pending-scripts")).isEqualTo("*0\r\n");
        assertThat(run("SENTINEL", "is-master-down-by-addr", "127.0.0.1", "21379", "0", "*"))
                .isEqualTo("*3\r\n:0\r\n$1\r\n*\r\n:0\r\n"); // captured
        assertThat(run("SENTINEL", "is-master-down-by-addr", "127.0.0.1", "x", "0", "*"))
                .isEqualTo("-ERR value is not an integer or out of range\r\n");
    }

    @Test
    void infoSentinelSection() {
        // captured, byte for byte
        assertThat(run("INFO", "sentinel")).isEqualTo("$255\r\n# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n"
                + "sentinel_tilt_since_seconds:-1\r\nsentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\n"
                + "sentinel_simulate_failure_flags:0\r\n"
                + "master0:name=mymaster,status=ok,address=127.0.0.1:21379,slaves=1,sentinels=1\r\n\r\n");
        assertThat(run("INFO", "nope")).isEqualTo("$0\r\n\r\n"); // captured
        String server = "# Server\r\nredis_version:7.0.15\r\nredis_mode:sentinel\r\nprocess_id:32008\r\n"
                + "run_id:" + MY_ID + "\r\ntcp_port:26400\r\nuptime_in_seconds:122\r\nuptime_in_days:0\r\n";
        assertThat(run("INFO", "server")).isEqualTo("$" + server.length() + "\r\n" + server + "\r\n");
        String all = run("INFO");
        assertThat(all).isEqualTo(run("INFO", "all")).isEqualTo(run("INFO", "default"));
        assertThat(all).contains(server + "\r\n# Clients\r\nconnected_clients:1\r\n\r\n# Sentinel\r\n");
        assertThat(run(SentinelView.NONE, "INFO", "sentinel")).contains("sentinel_masters:0\r\n")
                .doesNotContain("master0");
    }

    @Test
    void helloSpeaksResp2AndRefusesResp3() {
        String hello = "*12\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n"
                + "$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$8\r\nsentinel\r\n$7\r\nmodules\r\n*0\r\n"; // captured
        assertThat(run("HELLO")).isEqualTo(hello);
        assertThat(run("HELLO", "2")).isEqualTo(hello);
        assertThat(run("HELLO", "3")).isEqualTo("-NOPROTO unsupported protocol version\r\n");
        assertThat(run("HELLO", "4")).isEqualTo("-NOPROTO unsupported protocol version\r\n"); // captured
        assertThat(run("HELLO", "x")).isEqualTo("-ERR Protocol version is not an integer or out of range\r\n");
        assertThat(run("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "app")).isEqualTo(hello);
        assertThat(session.name).isEqualTo("app");
        assertThat(run("HELLO", "2", "AUTH", "bob", "pw"))
                .isEqualTo("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        assertThat(run("HELLO", "2", "NOPE")).isEqualTo("-ERR Syntax error in HELLO option 'NOPE'\r\n");
    }

    @Test
    void clientCommandsSentOnConnect() {
        assertThat(run("CLIENT", "GETNAME")).isEqualTo("$-1\r\n");
        assertThat(run("CLIENT", "SETNAME", "foo")).isEqualTo("+OK\r\n");
        assertThat(run("CLIENT", "GETNAME")).isEqualTo("$3\r\nfoo\r\n");
        assertThat(run("CLIENT", "SETNAME", "a b"))
                .isEqualTo("-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
        assertThat(run("CLIENT", "SETNAME")).isEqualTo("-ERR wrong number of arguments for 'client|setname' command\r\n");
        assertThat(run("CLIENT", "SETINFO", "LIB-NAME", "jedis")).isEqualTo("+OK\r\n");
        assertThat(run("CLIENT", "SETINFO", "lib-ver", "5.2.0")).isEqualTo("+OK\r\n");
        assertThat(run("CLIENT", "SETINFO", "colour", "red")).isEqualTo("-ERR Unrecognized option 'colour'\r\n");
        assertThat(run("CLIENT", "ID")).isEqualTo(":3\r\n");
        assertThat(run("CLIENT", "INFO")).isEqualTo("$76\r\nid=3 name=foo sub=0 psub=0 user=default lib-name=jedis "
                + "lib-ver=5.2.0 resp=2\n\r\n");
        assertThat(run("CLIENT", "NO-EVICT", "on")).isEqualTo("+OK\r\n");
        assertThat(run("CLIENT", "KILL", "1.2.3.4:5")).isEqualTo("-ERR No such client\r\n"); // captured
        assertThat(run("CLIENT", "PAUSE", "10")).isEqualTo("-ERR unknown subcommand 'PAUSE'. Try CLIENT HELP.\r\n");
    }

    @Test
    void authWithoutAConfiguredPassword() {
        // captured
        assertThat(run("AUTH", "pw")).isEqualTo("-ERR AUTH <password> called without any password configured for "
                + "the default user. Are you sure your configuration is correct?\r\n");
        assertThat(run("AUTH", "user", "pw"))
                .isEqualTo("-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        assertThat(run("AUTH", "default", "pw")).isEqualTo("+OK\r\n");
    }

    @Test
    void unknownCommandsSubcommandsAndArities() {
        // captured
        assertThat(run("FOO", "a", "b")).isEqualTo("-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
        assertThat(run("GET", "x")).isEqualTo("-ERR unknown command 'GET', with args beginning with: 'x' \r\n");
        assertThat(run("SENTINEL", "foo")).isEqualTo("-ERR unknown subcommand 'foo'. Try SENTINEL HELP.\r\n");
        assertThat(run("SENTINEL", "master"))
                .isEqualTo("-ERR wrong number of arguments for 'sentinel|master' command\r\n");
        assertThat(run("SENTINEL", "myid", "x")).isEqualTo("-ERR wrong number of arguments for 'sentinel|myid' command\r\n");
        assertThat(run("SENTINEL")).isEqualTo("-ERR wrong number of arguments for 'sentinel' command\r\n");
        assertThat(run("SUBSCRIBE")).isEqualTo("-ERR wrong number of arguments for 'subscribe' command\r\n");
        // an argument with a line break cannot break the error line
        assertThat(run("FOO", "a\r\nb")).isEqualTo("-ERR unknown command 'FOO', with args beginning with: 'a  b' \r\n");
        assertThat(run()).isEmpty();
    }

    @Test
    void subscribeAndTheSubscribedContext() {
        // captured, the whole exchange
        assertThat(run("SUBSCRIBE", "+switch-master", "+sdown")).isEqualTo(
                "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$6\r\n+sdown\r\n:2\r\n");
        assertThat(run("PING")).isEqualTo("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assertThat(run("PING", "x")).isEqualTo("*2\r\n$4\r\npong\r\n$1\r\nx\r\n");
        assertThat(run("GET", "a")).isEqualTo("-ERR unknown command 'GET', with args beginning with: 'a' \r\n");
        assertThat(run("SENTINEL", "myid")).isEqualTo("-ERR Can't execute 'sentinel|myid': only (P|S)SUBSCRIBE / "
                + "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n");
        assertThat(run("PSUBSCRIBE", "*")).isEqualTo("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:3\r\n");
        assertThat(run("UNSUBSCRIBE")).isEqualTo("*3\r\n$11\r\nunsubscribe\r\n$14\r\n+switch-master\r\n:2\r\n"
                + "*3\r\n$11\r\nunsubscribe\r\n$6\r\n+sdown\r\n:1\r\n");
        assertThat(run("PUNSUBSCRIBE")).isEqualTo("*3\r\n$12\r\npunsubscribe\r\n$1\r\n*\r\n:0\r\n");
        assertThat(run("UNSUBSCRIBE")).isEqualTo("*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
        assertThat(run("PUNSUBSCRIBE", "a")).isEqualTo("*3\r\n$12\r\npunsubscribe\r\n$1\r\na\r\n:0\r\n");
        assertThat(run("PING")).isEqualTo("+PONG\r\n");
    }

    @Test
    void eventsReachChannelAndPatternSubscribers() {
        SentinelEvent event = new SentinelEvent("+switch-master", "mymaster 127.0.0.1 21379 127.0.0.1 21380");
        assertThat(SentinelCommands.deliver(session, event)).isEmpty();
        run("SUBSCRIBE", "+switch-master");
        run("PSUBSCRIBE", "*", "+s*", "-*");
        String delivered = new String(SentinelCommands.deliver(session, event), StandardCharsets.ISO_8859_1);
        assertThat(delivered).isEqualTo("*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n"
                + "$40\r\nmymaster 127.0.0.1 21379 127.0.0.1 21380\r\n"
                + "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$14\r\n+switch-master\r\n"
                + "$40\r\nmymaster 127.0.0.1 21379 127.0.0.1 21380\r\n"
                + "*4\r\n$8\r\npmessage\r\n$3\r\n+s*\r\n$14\r\n+switch-master\r\n"
                + "$40\r\nmymaster 127.0.0.1 21379 127.0.0.1 21380\r\n");
    }

    @Test
    void configurationChangesAreRefusedAndFailoverIsNotAvailableYet() {
        String refused = " refused: Skep's Sentinel-compatible endpoint takes its configuration from the agent "
                + "(--master-name, --peers), not from clients\r\n";
        assertThat(run("SENTINEL", "MONITOR", "x", "127.0.0.1", "1", "1")).isEqualTo("-ERR SENTINEL MONITOR" + refused);
        assertThat(run("SENTINEL", "remove", "mymaster")).isEqualTo("-ERR SENTINEL REMOVE" + refused);
        assertThat(run("SENTINEL", "set", "mymaster", "quorum", "1")).isEqualTo("-ERR SENTINEL SET" + refused);
        assertThat(run("SENTINEL", "reset", "*")).isEqualTo("-ERR SENTINEL RESET" + refused);
        assertThat(run("SENTINEL", "flushconfig")).isEqualTo("-ERR SENTINEL FLUSHCONFIG" + refused);
        assertThat(run("SENTINEL", "simulate-failure", "crash-after-election"))
                .isEqualTo("-ERR SENTINEL SIMULATE-FAILURE" + refused);
        assertThat(run("SENTINEL", "config", "set", "resolve-hostnames", "yes"))
                .isEqualTo("-ERR SENTINEL CONFIG SET" + refused);
        assertThat(run("SENTINEL", "failover", "mymaster")).isEqualTo("-ERR SENTINEL FAILOVER is not served on this port: run "
                + "`skep failover` (or POST /api/failover on the admin port) for a graceful handover that loses no "
                + "acknowledged write. Skep fails over on its own when the master's redis fails.\r\n");
        assertThat(run("SENTINEL", "failover", "nope")).isEqualTo("-ERR No such master with that name\r\n");
        assertThat(run("SHUTDOWN")).startsWith("-ERR SHUTDOWN refused: ");
    }

    @Test
    void configGetPublishAndQuit() {
        // captured
        assertThat(run("SENTINEL", "CONFIG", "GET", "*")).isEqualTo("*12\r\n$17\r\nresolve-hostnames\r\n$2\r\nno\r\n"
                + "$18\r\nannounce-hostnames\r\n$2\r\nno\r\n$11\r\nannounce-ip\r\n$0\r\n\r\n$13\r\nannounce-port\r\n"
                + "$1\r\n0\r\n$13\r\nsentinel-user\r\n$0\r\n\r\n$13\r\nsentinel-pass\r\n$0\r\n\r\n");
        assertThat(run("SENTINEL", "CONFIG", "GET", "RESOLVE-hostnames"))
                .isEqualTo("*2\r\n$17\r\nresolve-hostnames\r\n$2\r\nno\r\n");
        assertThat(run("SENTINEL", "CONFIG", "GET", "nope")).isEqualTo("*0\r\n");
        assertThat(run("SENTINEL", "CONFIG", "GET")).isEqualTo(
                "-ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.\r\n");
        assertThat(run("SENTINEL", "CONFIG")).isEqualTo("-ERR wrong number of arguments for 'sentinel|config' command\r\n");
        assertThat(run("PUBLISH", "x", "y")).isEqualTo("-ERR Only HELLO messages are accepted by Sentinel instances.\r\n");
        assertThat(run("PUBLISH", "__sentinel__:hello", "y")).isEqualTo(":1\r\n");

        assertThat(session.closeAfterReply).isFalse();
        assertThat(run("QUIT")).isEqualTo("+OK\r\n");
        assertThat(session.closeAfterReply).isTrue();
    }

    @Test
    void helpListsWhatIsAnswered() {
        String help = run("SENTINEL", "HELP");
        assertThat(help).startsWith("*32\r\n+SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n")
                .contains("+GET-MASTER-ADDR-BY-NAME <master-name>\r\n").endsWith("+HELP\r\n+    Print this help.\r\n");
    }

    @Test
    void idIsStablePerAddressAndDiffersBetweenNodes() {
        String a = SentinelSettings.idFor(Endpoint.parse("10.0.0.1:26379"));
        assertThat(a).hasSize(40).matches("[0-9a-f]{40}").isEqualTo(SentinelSettings.idFor(Endpoint.parse("10.0.0.1:26379")));
        assertThat(SentinelSettings.idFor(Endpoint.parse("10.0.0.2:26379"))).isNotEqualTo(a);
    }
}
