package dev.skep.discovery;

import dev.skep.topology.Endpoint;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/** A fixed list of peers ({@code --peers host:port,...}): VMs, local hives and tests. Thread-safe, never blocks. */
public final class StaticPeerSource implements PeerSource {
    private final Set<Endpoint> peers;

    public StaticPeerSource(List<Endpoint> peers) {
        Objects.requireNonNull(peers, "peers");
        peers.forEach(p -> Objects.requireNonNull(p, "peer"));
        // insertion order kept, so that logs and status pages list peers as the operator wrote them
        this.peers = Collections.unmodifiableSet(new LinkedHashSet<>(peers));
    }

    @Override
    public Set<Endpoint> peers() {
        return peers;
    }

    @Override
    public boolean fixed() {
        return true;
    }

    @Override
    public String toString() {
        return "StaticPeerSource" + peers;
    }
}
