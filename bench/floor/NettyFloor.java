import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;

/**
 * bench/footprint.sh's second memory anchor: the same JVM with the Netty that skep.jar ships, serving an echo port
 * on 127.0.0.1 on two event loops (as many as an agent has on 2 cores), idle. Its RSS is the floor of any Netty
 * server on this JVM, before an agent's election, proxy, metrics, logging and admin port. Not part of the product.
 */
public final class NettyFloor {
    public static void main(String[] args) throws InterruptedException {
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
        new ServerBootstrap().group(loops).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ctx.writeAndFlush(msg);
                    }
                })
                .bind("127.0.0.1", 0).sync();
        System.out.println("up");
        Thread.sleep(Long.MAX_VALUE);
    }
}
