package dev.skep.tls;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import java.security.KeyManagementException;
import java.security.SecureRandom;

/**
 * An {@link SSLContext}'s insides that hand every call to {@link #delegate()}: the agent's contexts that wrap another
 * ({@link CurrentSslContext}, {@link ProtocolsSslContext}) override only what they change. Never initialised by
 * {@code init}: the contexts come from the agent's TLS files. Thread-safe as {@code delegate()} is.
 */
abstract class ForwardingSslContextSpi extends SSLContextSpi {
    /** The context the calls go to, asked at each call. */
    abstract SSLContext delegate();

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
        throw new KeyManagementException("initialised from the agent's TLS files only");
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
        return delegate().getSocketFactory();
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
        return delegate().getServerSocketFactory();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
        return delegate().createSSLEngine();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
        return delegate().createSSLEngine(host, port);
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
        return delegate().getServerSessionContext();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
        return delegate().getClientSessionContext();
    }

    @Override
    protected SSLParameters engineGetDefaultSSLParameters() {
        return delegate().getDefaultSSLParameters();
    }

    @Override
    protected SSLParameters engineGetSupportedSSLParameters() {
        return delegate().getSupportedSSLParameters();
    }
}
