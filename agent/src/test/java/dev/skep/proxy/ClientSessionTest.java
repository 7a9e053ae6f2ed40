package dev.skep.proxy;

import dev.skep.proxy.Upstream.Port;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.skep.proxy.SessionBench.A;
import static dev.skep.proxy.SessionBench.B;
import static dev.skep.proxy.SessionBench.PEER_A;
import static dev.skep.proxy.SessionBench.PEER_B;
import static dev.skep.proxy.SessionBench.cmd;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client session byte for byte, with the redis servers played by the test ({@link SessionBench}): what
 * reaches redis, in what order, and what the client gets back, through pipelining, parking, holding, refusals
 * and failovers. The ITs (ProxyIT, ProxyFailoverIT, InFlightAtFailoverIT) check the same against real servers.
 */
class ClientSessionTest {
    private SessionBench bench;

    @AfterEach
    void close() {
        if (bench != null) {
            bench.close();
        }
    }

    @Test
    void pipelinedPlainRequestsGoOutAsDeepAsRepliesComeBackOnOneSharedConnectionAndTheirRepliesInOrder() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("SET", "k", "v") + cmd("GET", "k") + cmd("INCR", "n") + cmd("INCR", "n"));

        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).as("a new session has one request out until its replies' size is known")
                .isEqualTo(cmd("SET", "k", "v"));
        redis.reply("+OK\r\n");
        assertThat(redis.sent()).as("then twice as many, together, on the same connection")
                .isEqualTo(cmd("GET", "k") + cmd("INCR", "n"));
        redis.reply("$1\r\nv\r\n:1\r\n");
        assertThat(redis.sent()).isEqualTo(cmd("INCR", "n"));
        redis.reply(":2\r\n");
        assertThat(bench.received()).isEqualTo("+OK\r\n$1\r\nv\r\n:1\r\n:2\r\n");
    }

    @Test
    void aRefusalIsAnsweredInItsPlaceAfterTheRepliesOwedBeforeIt() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("GET", "a") + cmd("REPLICAOF", "10.9.9.9", "6379") + cmd("GET", "b"));

        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).isEqualTo(cmd("GET", "a"));
        assertThat(bench.received()).as("nothing before GET a's reply").isEmpty();
        redis.reply("$1\r\n1\r\n");
        assertThat(bench.received()).startsWith("$1\r\n1\r\n-ERR ").contains("hive manages replication")
                .endsWith("\r\n");
        assertThat(redis.sent()).as("the refused command never reaches redis").isEqualTo(cmd("GET", "b"));
        redis.reply("$1\r\n2\r\n");
        assertThat(bench.received()).isEqualTo("$1\r\n2\r\n");
    }

    @Test
    void aStatefulCommandWaitsForTheSharedRepliesThenMovesTheSessionToADedicatedConnection() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("GET", "a") + cmd("MULTI") + cmd("INCR", "n") + cmd("EXEC"));

        SessionBench.Conn shared = bench.with(A);
        assertThat(shared.sent()).as("MULTI is parked until GET a is answered").isEqualTo(cmd("GET", "a"));
        shared.reply("$-1\r\n");

        SessionBench.Conn dedicated = bench.with(A);
        assertThat(dedicated).isNotSameAs(shared);
        assertThat(dedicated.sent()).as("as deep as the session's window").isEqualTo(cmd("MULTI") + cmd("INCR", "n"));
        dedicated.reply("+OK\r\n+QUEUED\r\n");
        assertThat(dedicated.sent()).isEqualTo(cmd("EXEC"));
        dedicated.reply("*1\r\n:1\r\n");
        assertThat(bench.received()).isEqualTo("$-1\r\n+OK\r\n+QUEUED\r\n*1\r\n:1\r\n");
    }

    @Test
    void withNoMasterARequestIsHeldAndGoesToTheNextMasterOnceOneIsNamed() {
        bench = SessionBench.writePort().noMaster();
        bench.send(cmd("SET", "k", "v"));
        bench.advance(200);
        assertThat(bench.received()).as("held, not answered").isEmpty();

        bench.master(PEER_B, B);
        SessionBench.Conn redis = bench.with(B);
        assertThat(redis.sent()).isEqualTo(cmd("SET", "k", "v"));
        redis.reply("+OK\r\n");
        assertThat(bench.received()).isEqualTo("+OK\r\n");
    }

    @Test
    void aHeldRequestIsAnsweredMasterdownAfterHoldMsAndTheNextOneIsHeldAgain() {
        bench = SessionBench.writePort().noMaster();
        bench.send(cmd("SET", "k", "v") + cmd("GET", "k"));
        bench.advance(499);
        assertThat(bench.received()).isEmpty();
        bench.advance(2);
        assertThat(bench.received()).as("the first times out; the second starts its own hold")
                .isEqualTo("-MASTERDOWN no master is available in the hive (waited 500 ms)\r\n");
        bench.master(PEER_A, A);
        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).isEqualTo(cmd("GET", "k"));
        redis.reply("$-1\r\n");
        assertThat(bench.received()).isEqualTo("$-1\r\n");
    }

    @Test
    void whenTheMastersRedisDiesWithRequestsInFlightTheClientGetsTheRepliesBeforeThemThenItsConnectionCloses() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("INCR", "a") + cmd("INCR", "b") + cmd("INCR", "c"));
        SessionBench.Conn redis = bench.with(A);
        redis.sent();
        redis.reply(":1\r\n");
        redis.crash();

        assertThat(bench.received()).as("INCR b and c may or may not have run: no reply is made up for them")
                .isEqualTo(":1\r\n");
        assertThat(bench.client.isOpen()).isFalse();
    }

    @Test
    void withUnknownOutcomeErrorEachLostRequestGetsAnErrorInItsPlaceAndTheConnectionStays() {
        bench = new SessionBench(SessionBench.settings("").withCloseOnUnknown(false), Port.WRITE).master(PEER_A, A);
        bench.send(cmd("INCR", "a") + cmd("INCR", "b"));
        SessionBench.Conn redis = bench.with(A);
        redis.sent();
        redis.reply(":1\r\n");
        redis.crash();

        assertThat(bench.received()).startsWith(":1\r\n-ERR ").contains("may or may not have been executed");
        assertThat(bench.client.isOpen()).isTrue();
        bench.master(PEER_B, B);
        bench.send(cmd("INCR", "c"));
        SessionBench.Conn next = bench.with(B);
        assertThat(next.sent()).isEqualTo(cmd("INCR", "c"));
        next.reply(":1\r\n");
        assertThat(bench.received()).isEqualTo(":1\r\n");
    }

    @Test
    void quitIsAnsweredOkAndNothingPipelinedAfterItReachesRedis() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("GET", "a") + cmd("QUIT") + cmd("SET", "after", "quit"));
        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).isEqualTo(cmd("GET", "a"));
        redis.reply("$-1\r\n");
        assertThat(bench.received()).isEqualTo("$-1\r\n+OK\r\n");
        assertThat(bench.client.isOpen()).isFalse();
        assertThat(bench.nothingSentTo(A)).isTrue();
    }

    @Test
    void clientSetinfoIsAnsweredByTheProxyAndTheSessionStaysOnTheSharedPath() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("CLIENT", "SETINFO", "LIB-NAME", "jedis") + cmd("GET", "a"));
        assertThat(bench.received()).isEqualTo("+OK\r\n");
        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).isEqualTo(cmd("GET", "a"));
        redis.reply("$-1\r\n");
        assertThat(bench.received()).isEqualTo("$-1\r\n");
    }

    @Test
    void withAPasswordRequestsBeforeAuthGetNoauthAWrongOneWrongpassAndTheRightOneOpensTheSharedPath() {
        bench = new SessionBench(SessionBench.settings("s3cret"), Port.WRITE).master(PEER_A, A).setupSent();
        bench.send(cmd("GET", "a") + cmd("AUTH", "guess") + cmd("AUTH", "s3cret") + cmd("GET", "a"));
        assertThat(bench.received()).isEqualTo("-NOAUTH Authentication required.\r\n"
                + "-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n");
        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).isEqualTo(cmd("GET", "a"));
        assertThat(redis.setup).as("the shared connection authenticated itself").isEqualTo(cmd("AUTH", "s3cret"));
    }

    @Test
    void clientCapaIsAnsweredByTheProxyAndNeverReachesRedisSoNoReplicaRedirectsAroundIt() {
        bench = new SessionBench(SessionBench.settings(""), Port.READ).master(PEER_A, A);
        bench.send(cmd("CLIENT", "CAPA", "redirect") + cmd("GET", "a"));
        assertThat(bench.received()).isEqualTo("+OK\r\n");
        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).as("only the read").isEqualTo(cmd("GET", "a"));
        redis.reply("$1\r\nv\r\n");
        assertThat(bench.received()).isEqualTo("$1\r\nv\r\n");
    }

    @Test
    void clientCapaOnADedicatedConnectionIsAnsweredInItsTurn() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("MULTI") + cmd("CLIENT", "CAPA", "redirect") + cmd("EXEC"));
        SessionBench.Conn dedicated = bench.with(A);
        assertThat(dedicated.sent()).as("MULTI, not the CAPA").isEqualTo(cmd("MULTI"));
        assertThat(bench.received()).as("nothing before MULTI's reply").isEmpty();
        dedicated.reply("+OK\r\n");
        assertThat(dedicated.sent()).isEqualTo(cmd("EXEC"));
        dedicated.reply("*0\r\n");
        assertThat(bench.received()).isEqualTo("+OK\r\n+OK\r\n*0\r\n");
    }

    @Test
    void theReadPortRefusesWritesAsAReplicaWould() {
        bench = new SessionBench(SessionBench.settings(""), Port.READ).master(PEER_A, A);
        bench.send(cmd("SET", "k", "v"));
        assertThat(bench.received()).isEqualTo("-READONLY You can't write against a read only replica.\r\n");
        assertThat(bench.nothingSentTo(A)).isTrue();
    }

    @Test
    void aMasterThatAnswersReadonlyWasDemotedTheRequestDidNotRunAndTheNextWaitsForANewerMaster() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("SET", "k", "v"));
        SessionBench.Conn redis = bench.with(A);
        redis.sent();
        redis.reply("-READONLY You can't write against a read only replica.\r\n");
        assertThat(bench.received()).isEmpty();
        assertThat(bench.client.isOpen()).as("closed as at an unknown outcome").isFalse();

        SessionBench.Conn before = redis;
        bench.close();
        bench = null;
        assertThat(before.open()).isFalse();
    }

    @Test
    void aMalformedRequestClosesThatClientWithAnErrorAfterTheRepliesOwedBeforeIt() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("GET", "a") + "*1\r\n$x\r\n");
        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).isEqualTo(cmd("GET", "a"));
        redis.reply("$-1\r\n");
        assertThat(bench.received()).startsWith("$-1\r\n-ERR Protocol error");
        assertThat(bench.client.isOpen()).isFalse();
    }

    @Test
    void aDedicatedSessionsStateIsReplayedOnTheNewMasterBeforeItsNextRequest() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("SELECT", "2"));
        SessionBench.Conn old = bench.with(A);
        assertThat(old.sent()).isEqualTo(cmd("SELECT", "2"));
        old.reply("+OK\r\n");
        assertThat(bench.received()).isEqualTo("+OK\r\n");

        bench.master(PEER_B, B);
        assertThat(old.open()).as("the old master's connection is closed on purpose").isFalse();
        bench.send(cmd("GET", "k"));
        SessionBench.Conn next = bench.with(B);
        assertThat(next.sent()).isEqualTo(cmd("SELECT", "2") + cmd("GET", "k"));
        next.reply("+OK\r\n$1\r\nv\r\n");
        assertThat(bench.received()).as("the replayed SELECT's reply is the proxy's, not the client's")
                .isEqualTo("$1\r\nv\r\n");
    }

    @Test
    void duringAHandoverNewWritesWaitAndGoToTheSuccessorOnceItIsNamed() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("SET", "a", "1"));
        SessionBench.Conn old = bench.with(A);
        old.sent();
        bench.handover(PEER_A, A);
        bench.send(cmd("SET", "b", "2"));
        old.reply("+OK\r\n");
        assertThat(bench.received()).as("what was sent before the pause is answered").isEqualTo("+OK\r\n");
        assertThat(bench.nothingSentTo(A)).as("the write after it waits").isTrue();

        bench.master(PEER_B, B);
        SessionBench.Conn next = bench.with(B);
        assertThat(next.sent()).isEqualTo(cmd("SET", "b", "2"));
        next.reply("+OK\r\n");
        assertThat(bench.received()).isEqualTo("+OK\r\n");
    }

    @Test
    void underAQuorumAWritesReplyWaitsForTheWaitAfterItAndBecomesAnErrorWhenTooFewReplicasConfirm() {
        bench = SessionBench.writePort().masterWithQuorum(PEER_A, A, 1);
        bench.send(cmd("SET", "a", "1"));
        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).isEqualTo(cmd("SET", "a", "1") + cmd("WAIT", "1", "1000"));
        redis.reply("+OK\r\n");
        assertThat(bench.received()).as("held until a replica has it").isEmpty();
        redis.reply(":1\r\n");
        assertThat(bench.received()).isEqualTo("+OK\r\n");

        bench.send(cmd("SET", "b", "2"));
        assertThat(redis.sent()).isEqualTo(cmd("SET", "b", "2") + cmd("WAIT", "1", "1000"));
        redis.reply("+OK\r\n:0\r\n");
        assertThat(bench.received()).startsWith("-NOREPLICAS ");
    }

    @Test
    void underAQuorumAWriteOnADedicatedConnectionIsConfirmedTheSameWay() {
        bench = SessionBench.writePort().masterWithQuorum(PEER_A, A, 1);
        bench.send(cmd("SELECT", "0"));
        SessionBench.Conn redis = bench.with(A);
        assertThat(redis.sent()).isEqualTo(cmd("SELECT", "0"));
        redis.reply("+OK\r\n");
        bench.send(cmd("SET", "a", "1"));
        assertThat(redis.sent()).isEqualTo(cmd("SET", "a", "1") + cmd("WAIT", "1", "1000"));
        redis.reply("+OK\r\n");
        assertThat(bench.received()).isEqualTo("+OK\r\n");
        redis.reply(":0\r\n");
        assertThat(bench.received()).startsWith("-NOREPLICAS ");
    }

    @Test
    void aBlockingCommandTheDemotedMasterGivesBackUnrunIsSentAgainToTheNewMaster() {
        bench = SessionBench.writePort().master(PEER_A, A);
        bench.send(cmd("BLPOP", "jobs", "0"));
        SessionBench.Conn old = bench.with(A);
        assertThat(old.sent()).isEqualTo(cmd("BLPOP", "jobs", "0"));

        bench.handover(PEER_A, A);
        bench.master(PEER_B, B);
        assertThat(old.open()).as("kept until the old master answers the blocked command").isTrue();
        old.reply("-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n");
        assertThat(bench.received()).as("the client sees one command that waited").isEmpty();

        SessionBench.Conn next = bench.with(B);
        assertThat(next.sent()).isEqualTo(cmd("BLPOP", "jobs", "0"));
        next.reply("*2\r\n$4\r\njobs\r\n$1\r\nx\r\n");
        assertThat(bench.received()).isEqualTo("*2\r\n$4\r\njobs\r\n$1\r\nx\r\n");
    }
}
