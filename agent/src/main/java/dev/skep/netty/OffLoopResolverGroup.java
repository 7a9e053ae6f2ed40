package dev.skep.netty;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A resolver for {@code Bootstrap.resolver(...)} that does the JVM's blocking name lookups on a given
 * executor instead of on the event loop. Netty's default resolver calls {@code InetAddress.getByName} on
 * the event loop, so one peer whose name takes seconds to fail to resolve would stall every connection
 * served by that loop. IP literals are parsed on the spot, with no lookup and no thread hop.
 *
 * <p>Lookup results complete a promise of the channel's event loop, so Netty carries on connecting there.
 * Thread-safe; the executor is owned by the caller (shut it down after the bootstraps using this group stop).
 */
public final class OffLoopResolverGroup extends AddressResolverGroup<InetSocketAddress> {
    private final Executor lookups;

    /** @param lookups where blocking lookups run; a small pool of daemon threads */
    public OffLoopResolverGroup(Executor lookups) {
        this.lookups = lookups;
    }

    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor loop) {
        return new InetNameResolver(loop) {
            @Override
            protected void doResolve(String host, Promise<InetAddress> promise) {
                InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host);
                if (literal != null) {
                    promise.trySuccess(literal);
                    return;
                }
                submit(promise, () -> promise.trySuccess(InetAddress.getByName(host)));
            }

            @Override
            protected void doResolveAll(String host, Promise<java.util.List<InetAddress>> promise) {
                InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host);
                if (literal != null) {
                    promise.trySuccess(java.util.List.of(literal));
                    return;
                }
                submit(promise, () -> promise.trySuccess(Arrays.asList(InetAddress.getAllByName(host))));
            }
        }.asAddressResolver();
    }

    private interface Lookup {
        void run() throws Exception;
    }

    private void submit(Promise<?> promise, Lookup lookup) {
        try {
            lookups.execute(() -> {
                try {
                    lookup.run();
                } catch (Exception e) {
                    promise.tryFailure(e);
                }
            });
        } catch (RejectedExecutionException e) {
            // the executor is shutting down: the connect fails like any unreachable peer
            promise.tryFailure(e);
        }
    }
}
