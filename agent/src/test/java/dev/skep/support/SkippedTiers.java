package dev.skep.support;

import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestPlan;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Says at the end of a test run what was skipped for what the machine lacks, and how to run it: a newcomer's
 * {@code ./mvnw verify} passes with a JDK and redis-server, and knows what it did not check. Registered as a JUnit
 * Platform listener (META-INF/services), so it runs once per test JVM (surefire's, then failsafe's).
 */
public final class SkippedTiers implements TestExecutionListener {
    private static final Map<Need, List<String>> SKIPPED = new LinkedHashMap<>();

    static synchronized void skipped(String test, List<Need> missing) {
        for (Need n : missing) {
            SKIPPED.computeIfAbsent(n, k -> new ArrayList<>()).add(test);
        }
    }

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        synchronized (SkippedTiers.class) {
            if (SKIPPED.isEmpty()) {
                return;
            }
            StringBuilder b = new StringBuilder("\n*** Skipped for what this machine lacks (bash .ci/run installs all "
                    + "of it and runs every test):\n");
            SKIPPED.forEach((need, tests) -> b.append("***   ").append(need.what()).append(" -> ").append(need.how())
                    .append(": ").append(String.join(", ", tests)).append('\n'));
            System.out.println(b);
            SKIPPED.clear();
        }
    }
}
