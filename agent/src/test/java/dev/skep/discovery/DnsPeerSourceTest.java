package dev.skep.discovery;

import dev.skep.topology.Endpoint;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DnsPeerSourceTest {
    @Test
    void localhostResolvesToLoopbackEndpointsWithTheGivenPort() throws Exception {
        Set<Endpoint> peers = new DnsPeerSource("localhost", 7380).peers();
        assertThat(peers).isNotEmpty();
        for (Endpoint e : peers) {
            assertThat(e.port()).isEqualTo(7380);
            assertThat(InetAddress.getByName(e.host()).isLoopbackAddress()).as(e.toString()).isTrue();
        }
    }

    @Test
    void nameThatDoesNotResolveGivesEmptySet() {
        // .invalid is reserved (RFC 6761): it never resolves
        assertThat(new DnsPeerSource("skep-headless.nowhere.invalid", 7380).peers()).isEmpty();
    }

    @Test
    void injectedResolverWithThreeAddressesGivesThreeEndpoints() throws Exception {
        InetAddress[] answer = {
            InetAddress.getByAddress(new byte[] {10, 1, 0, 5}),
            InetAddress.getByAddress(new byte[] {10, 1, 0, 6}),
            InetAddress.getByAddress(new byte[] {(byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}),
        };
        DnsPeerSource source = new DnsPeerSource("skep-headless.default.svc.cluster.local", 7380, name -> answer);
        assertThat(source.peers()).containsExactlyInAnyOrder(
                new Endpoint("10.1.0.5", 7380), new Endpoint("10.1.0.6", 7380), new Endpoint("fd00:0:0:0:0:0:0:7", 7380));
    }

    @Test
    void everyCallResolvesAgain() {
        int[] calls = {0};
        DnsPeerSource source = new DnsPeerSource("pods", 7380, name -> {
            calls[0]++;
            return new InetAddress[] {InetAddress.getByAddress(new byte[] {10, 0, 0, (byte) calls[0]})};
        });
        assertThat(source.peers()).containsExactly(new Endpoint("10.0.0.1", 7380));
        assertThat(source.peers()).containsExactly(new Endpoint("10.0.0.2", 7380));
    }

    @Test
    void failingResolverGivesEmptySetInsteadOfThrowing() {
        assertThat(new DnsPeerSource("pods", 7380, name -> {
            throw new UnknownHostException(name);
        }).peers()).isEmpty();
        assertThat(new DnsPeerSource("pods", 7380, name -> {
            throw new IllegalStateException("resolver broken");
        }).peers()).isEmpty();
    }

    @Test
    void staticSourceKeepsTheGivenPeersInOrder() {
        List<Endpoint> given = List.of(new Endpoint("10.0.0.3", 7380), new Endpoint("10.0.0.1", 7380),
                new Endpoint("10.0.0.3", 7380));
        assertThat(new StaticPeerSource(given).peers())
                .containsExactly(new Endpoint("10.0.0.3", 7380), new Endpoint("10.0.0.1", 7380));
    }
}
