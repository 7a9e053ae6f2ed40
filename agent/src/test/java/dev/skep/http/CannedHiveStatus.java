package dev.skep.http;

import dev.skep.status.HiveEvent;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import dev.skep.topology.Endpoint;

import java.util.ArrayList;
import java.util.List;

/** A fixed three-node status for tests of the HTTP server and the status table. */
public final class CannedHiveStatus {
    /** 2024-05-01T12:00:00Z */
    public static final long T0 = 1_714_564_800_000L;

    private CannedHiveStatus() {}

    public static HiveStatus threeNodes(boolean ready, String readyReason) {
        Endpoint n0 = Endpoint.parse("127.0.0.1:7004");
        Endpoint n1 = Endpoint.parse("127.0.0.1:7014");
        Endpoint n2 = Endpoint.parse("127.0.0.1:7024");
        List<HiveStatus.Member> members = List.of(
                new HiveStatus.Member(n0, Endpoint.parse("127.0.0.1:7000"), 7005, NodeState.FOLLOWING, 3, n1, "REPLICA",
                        1200, 0, true, 4101, "run-a", true, true, 0),
                new HiveStatus.Member(n1, Endpoint.parse("127.0.0.1:7010"), 7015, NodeState.LEADING, 3, n1, "MASTER",
                        1200, 0, false, 4102, "run-b", false, true, 120),
                new HiveStatus.Member(n2, Endpoint.parse("127.0.0.1:7020"), 7025, NodeState.NOT_READY, 2, null, "UNKNOWN",
                        900, -1, false, 0, "", false, false, 4800));
        List<HiveEvent> events = new ArrayList<>();
        for (int i = 1; i <= 7; i++) {
            events.add(new HiveEvent(T0 + i * 1000L, "127.0.0.1:7014", "event-" + i, "message number " + i));
        }
        return new HiveStatus(n0, NodeState.FOLLOWING, 3, n1, Endpoint.parse("127.0.0.1:7010"), ready, readyReason,
                members, events, 2);
    }
}
