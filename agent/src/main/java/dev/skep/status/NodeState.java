package dev.skep.status;

/** The election states of one node. */
public enum NodeState {
    /** Just started, or ready again: listening for a leader before anything else. */
    ALONE,
    /** No live leader: proposing itself, collecting the others' proposals. */
    PROPOSING,
    /** Won the election: promoting its redis, not yet confirmed {@code role:master}. */
    PROMOTING,
    /** Its redis replicates the leader's. */
    FOLLOWING,
    /** Its redis is the master of the current epoch. */
    LEADING,
    /** Its redis is unhealthy: takes no part in elections. */
    NOT_READY
}
