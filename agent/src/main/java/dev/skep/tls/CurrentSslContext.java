package dev.skep.tls;

import javax.net.ssl.SSLContext;
import java.util.function.Supplier;

/**
 * A JDK {@link SSLContext} that is, at each new connection, whatever context {@code current} gives: for servers that
 * take one context for their whole life (the JDK's {@code HttpsServer} of the admin port), so that a reloaded
 * certificate still serves their next connection. Thread-safe as the supplier is.
 */
public final class CurrentSslContext extends SSLContext {
    public CurrentSslContext(Supplier<SSLContext> current) {
        super(new Spi(current), current.get().getProvider(), current.get().getProtocol());
    }

    private static final class Spi extends ForwardingSslContextSpi {
        private final Supplier<SSLContext> current;

        Spi(Supplier<SSLContext> current) {
            this.current = current;
        }

        // every call, the default parameters the HttpsServer's configurator applies included: the current context's
        @Override
        SSLContext delegate() {
            return current.get();
        }
    }
}
