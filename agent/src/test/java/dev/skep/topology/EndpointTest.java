package dev.skep.topology;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** The order of endpoints (the election's tie-break): IPv4 addresses by value, other hosts as text. */
class EndpointTest {
    @Test
    void ipv4AddressesSortByValueNotAsText() {
        List<Endpoint> sorted = Stream.of("10.0.0.10:6379", "10.0.0.9:6379", "9.255.255.255:6379", "10.0.0.9:6380")
                .map(Endpoint::parse).sorted().toList();

        assertThat(sorted).map(Endpoint::toString)
                .containsExactly("9.255.255.255:6379", "10.0.0.9:6379", "10.0.0.9:6380", "10.0.0.10:6379");
    }

    @Test
    void onlyFourDottedOctetsOfAtMostThreeDigitsUpTo255AreAnAddress() {
        assertThat(Endpoint.ipv4("10.1.2.3")).isEqualTo((10L << 24) | (1 << 16) | (2 << 8) | 3);
        assertThat(Endpoint.ipv4("255.255.255.255")).isEqualTo(0xFFFFFFFFL);
        assertThat(Endpoint.ipv4("010.1.2.3")).isEqualTo((10L << 24) | (1 << 16) | (2 << 8) | 3);
        for (String notOne : List.of("", "1.2.3", "1.2.3.4.5", "1.2.3.4.", ".1.2.3", "1..2.3", "256.1.1.1",
                "1.2.3.1000", "0001.2.3.4", "a.b.c.d", "redis-0.redis", "::1", "1.2.3.4a")) {
            assertThat(Endpoint.ipv4(notOne)).as(notOne).isEqualTo(-1);
        }
    }

    @Test
    void namesSortAsText() {
        List<Endpoint> sorted = Stream.of("redis-1.skep:6379", "redis-0.skep:6379").map(Endpoint::parse).sorted().toList();

        assertThat(sorted).map(Endpoint::toString).containsExactly("redis-0.skep:6379", "redis-1.skep:6379");
    }

    @Test
    void equalByHostAndPort() {
        assertThat(Endpoint.parse("10.0.0.1:6379")).isEqualTo(new Endpoint("10.0.0.1", 6379))
                .hasSameHashCodeAs(new Endpoint("10.0.0.1", 6379))
                .isNotEqualTo(new Endpoint("10.0.0.1", 6380)).isNotEqualTo(new Endpoint("10.0.0.2", 6379))
                .isNotEqualTo("10.0.0.1:6379");
    }
}
