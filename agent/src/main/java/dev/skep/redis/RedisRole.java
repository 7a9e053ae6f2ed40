package dev.skep.redis;

/** The role a redis reports in {@code INFO replication}. */
public enum RedisRole {
    MASTER, REPLICA, UNKNOWN;

    /** Maps the {@code role:} field of INFO ({@code master}, {@code slave}). */
    public static RedisRole fromInfo(String role) {
        if (role == null) {
            return UNKNOWN;
        }
        return switch (role) {
            case "master", "primary" -> MASTER;
            case "slave", "replica" -> REPLICA;
            default -> UNKNOWN;
        };
    }
}
