package dev.skep.proxy;

/**
 * The redis user a session proved to be ({@code AUTH user password}, checked against redis): its plain requests go
 * over shared connections that authenticated as the same user, so redis applies that user's rights to them (and
 * answers {@code -NOPERM} itself). Immutable; the password is never printed.
 */
record Identity(String user, String password) {
    @Override
    public String toString() {
        return "user " + user;
    }
}
