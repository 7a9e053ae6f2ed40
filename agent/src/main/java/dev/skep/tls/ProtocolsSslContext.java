package dev.skep.tls;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.util.List;

/**
 * A JDK {@link SSLContext} whose sockets and engines enable only {@code --tls-protocols}, and whose default parameters
 * say so. A JDK context has no setting for its protocols: Netty applies them to the engines it makes itself, but a
 * context handed to the JDK's {@code HttpsServer} (the admin port: its configurator takes the context's default
 * parameters) or to blocking sockets (the agent's connections to redis) would otherwise offer every version the JDK
 * enables. Immutable, thread-safe.
 */
final class ProtocolsSslContext extends SSLContext {
    ProtocolsSslContext(SSLContext context, List<String> protocols) {
        super(new Spi(context, protocols.toArray(String[]::new)), context.getProvider(), context.getProtocol());
    }

    private static final class Spi extends ForwardingSslContextSpi {
        private final SSLContext context;
        private final String[] protocols;

        Spi(SSLContext context, String[] protocols) {
            this.context = context;
            this.protocols = protocols;
        }

        @Override
        SSLContext delegate() {
            return context;
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return new Sockets(context.getSocketFactory(), protocols);
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            // no server of the agent takes server sockets (Netty and the HttpsServer use engines): refused rather than
            // handed out with the JDK's protocols
            throw new UnsupportedOperationException("the agent's TLS servers use engines, not server sockets");
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return limited(context.createSSLEngine());
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return limited(context.createSSLEngine(host, port));
        }

        private SSLEngine limited(SSLEngine e) {
            e.setEnabledProtocols(protocols);
            return e;
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            SSLParameters p = context.getDefaultSSLParameters();
            p.setProtocols(protocols);
            return p;
        }
    }

    /** The context's socket factory, each socket it makes limited to the protocols. */
    private static final class Sockets extends SSLSocketFactory {
        private final SSLSocketFactory factory;
        private final String[] protocols;

        Sockets(SSLSocketFactory factory, String[] protocols) {
            this.factory = factory;
            this.protocols = protocols;
        }

        private Socket limited(Socket s) {
            ((SSLSocket) s).setEnabledProtocols(protocols);
            return s;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return factory.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return factory.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return limited(factory.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return limited(factory.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(Socket s, InputStream consumed, boolean autoClose) throws IOException {
            return limited(factory.createSocket(s, consumed, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return limited(factory.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return limited(factory.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return limited(factory.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            return limited(factory.createSocket(address, port, localAddress, localPort));
        }
    }
}
