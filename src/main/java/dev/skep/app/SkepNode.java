package dev.skep.app;

import dev.skep.config.AgentConfig;

/** Composition root of one agent (placeholder until the election loop lands). */
public final class SkepNode {
    private SkepNode() {}

    public static int runUntilStopped(AgentConfig config) {
        throw new UnsupportedOperationException("not yet");
    }
}
