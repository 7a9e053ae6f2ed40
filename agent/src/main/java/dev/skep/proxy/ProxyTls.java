package dev.skep.proxy;

import io.netty.handler.ssl.SslContext;

import java.util.function.Supplier;

/**
 * TLS on the proxy: the ports clients reach over TLS, next to the plain ones (as redis's {@code tls-port} next to
 * {@code port}, so clients can move over one at a time), and TLS on the proxy's own connections to redis. The
 * contexts are asked for at each new connection, so a reloaded certificate serves the next client while
 * established ones keep theirs. Immutable.
 *
 * @param writePort TLS write port; 0: none
 * @param readPort  TLS read port; 0: none
 * @param clients   the server context of the TLS ports; null when neither port is open
 * @param upstream  the client context of the connections to redis; null: they are plain
 */
public record ProxyTls(int writePort, int readPort, Supplier<SslContext> clients, Supplier<SslContext> upstream) {
    /** No TLS anywhere. */
    public static final ProxyTls OFF = new ProxyTls(0, 0, null, null);

    public ProxyTls {
        if ((writePort > 0 || readPort > 0) && clients == null) {
            throw new IllegalArgumentException("a TLS port needs a certificate");
        }
    }
}
