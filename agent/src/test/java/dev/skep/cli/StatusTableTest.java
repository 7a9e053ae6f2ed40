package dev.skep.cli;

import dev.skep.http.CannedHiveStatus;
import dev.skep.http.StatusJson;
import dev.skep.status.HiveStatus;
import dev.skep.status.NodeState;
import org.junit.jupiter.api.Test;

import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StatusTableTest {
    @Test
    void rendersHeaderEveryMemberAndTheLastFiveEvents() {
        String text = StatusTable.render(CannedHiveStatus.threeNodes(true, ""), ZoneOffset.UTC);
        List<String> lines = text.lines().toList();

        assertThat(lines.get(0)).isEqualTo("node 127.0.0.1:7004  state FOLLOWING  epoch 3  leader 127.0.0.1:7014"
                + "  master 127.0.0.1:7010  ready");
        assertThat(text).contains("peer messages rejected: 2");

        int header = lines.indexOf(lines.stream().filter(l -> l.startsWith("NODE")).findFirst().orElseThrow());
        assertThat(lines.get(header)).containsSubsequence("NODE", "STATE", "ROLE", "REDIS", "OFFSET", "LAG", "PID", "HEARD");
        assertThat(lines.get(header + 1)).containsSubsequence("127.0.0.1:7004", "FOLLOWING", "replica",
                "127.0.0.1:7000", "1200", "0", "4101", "self");
        assertThat(lines.get(header + 2)).containsSubsequence("127.0.0.1:7014 *", "LEADING", "master",
                "127.0.0.1:7010", "1200", "0", "4102", "120 ms ago");
        assertThat(lines.get(header + 3)).containsSubsequence("127.0.0.1:7024", "NOT_READY", "unknown",
                "127.0.0.1:7020", "900", "?", "-", "gone (4800 ms ago)");

        // columns line up: every row's ROLE starts where the header's does
        int roleColumn = lines.get(header).indexOf("ROLE");
        assertThat(lines.get(header + 1).indexOf("replica")).isEqualTo(roleColumn);
        assertThat(lines.get(header + 2).indexOf("master")).isEqualTo(roleColumn);

        assertThat(text).contains("last events:");
        assertThat(text).doesNotContain("event-2 ").contains("  12:00:03.000  127.0.0.1:7014  event-3  message number 3")
                .contains("  12:00:07.000  127.0.0.1:7014  event-7  message number 7");
        assertThat(text.lines().filter(l -> l.contains("message number")).count()).isEqualTo(StatusTable.EVENTS_SHOWN);
    }

    @Test
    void notReadyShowsTheReasonAndUnknownsShowDashes() {
        HiveStatus s = CannedHiveStatus.threeNodes(false, "local redis unreachable");
        String first = StatusTable.render(s, ZoneOffset.UTC).lines().findFirst().orElseThrow();
        assertThat(first).endsWith("NOT READY (local redis unreachable)");

        HiveStatus empty = new HiveStatus(s.node(), NodeState.ALONE, 0, null, null, false, "", List.of(), List.of(), 0);
        String text = StatusTable.render(empty, ZoneOffset.UTC);
        assertThat(text).startsWith("node 127.0.0.1:7004  state ALONE  epoch 0  leader -  master -  NOT READY");
        assertThat(text).doesNotContain("last events");
    }

    @Test
    void rendersWhatTheJsonCarries() {
        HiveStatus s = CannedHiveStatus.threeNodes(true, "");
        HiveStatus back = StatusJson.read(new String(StatusJson.write(s), java.nio.charset.StandardCharsets.UTF_8));
        assertThat(StatusTable.render(back, ZoneOffset.UTC)).isEqualTo(StatusTable.render(s, ZoneOffset.UTC));
    }

    @Test
    void aHiveInTheMiddleOfARollingUpgradeSaysWhichVersionsRun() {
        HiveStatus s = CannedHiveStatus.threeNodes(true, "");
        List<HiveStatus.Member> members = new java.util.ArrayList<>();
        String[] versions = {"0.2.0", "", "0.2.0"};
        for (int i = 0; i < 3; i++) {
            HiveStatus.Member m = s.members().get(i);
            members.add(new HiveStatus.Member(m.node(), m.redis(), m.httpPort(), m.state(), m.epoch(), m.leader(),
                    m.redisRole(), m.replOffset(), m.lagBytes(), m.linkUp(), m.redisProcessId(), m.redisRunId(),
                    m.self(), true, m.lastHeardMs(), versions[i]));
        }
        HiveStatus mixed = new HiveStatus(s.node(), s.state(), s.epoch(), s.leader(), s.master(), s.ready(),
                s.readyReason(), members, s.events(), 0);
        assertThat(StatusTable.render(mixed, ZoneOffset.UTC).lines())
                .contains("versions: 0.2.0 x2, older than 0.2 x1");
        // one version: no line about it
        assertThat(StatusTable.render(s, ZoneOffset.UTC)).doesNotContain("versions:");
        HiveStatus back = StatusJson.read(new String(StatusJson.write(mixed), java.nio.charset.StandardCharsets.UTF_8));
        assertThat(back.members()).extracting(HiveStatus.Member::version).containsExactly("0.2.0", "", "0.2.0");
    }
}
