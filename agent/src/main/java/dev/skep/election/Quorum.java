package dev.skep.election;

/** {@code --quorum}: what a node needs to hear before it may lead. */
public enum Quorum {
    /**
     * redis-hive's choice, availability first: any node that hears no leader may be elected, so both sides
     * of a partition can have a master; when they meet, the higher epoch wins and the other side's writes
     * since the split are discarded.
     */
    NONE,
    /**
     * A node leads only while it hears a majority of the last known membership (itself included) and an
     * election needs a majority: the side of a partition without a majority has no master.
     */
    MAJORITY
}
