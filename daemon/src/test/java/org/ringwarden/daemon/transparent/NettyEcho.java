package org.ringwarden.daemon.transparent;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.*;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Netty 4.2's io_uring transport, used as any Netty program uses it: an echo server and a client
 * exchanging N messages of 4 bytes on loopback, one at a time (NettyTransparentTest runs it under
 * {@code ringwarden run}). Exit 0 when all came back; 2 when Netty finds no io_uring.
 */
public final class NettyEcho {
    private NettyEcho() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        if (!IoUring.isAvailable()) {
            System.err.println("io_uring is not available: " + IoUring.unavailabilityCause());
            System.exit(2);
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
        try {
            Channel server = new ServerBootstrap().group(group).channel(IoUringServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override public void channelRead(ChannelHandlerContext ctx, Object msg) { ctx.writeAndFlush(msg); }
                            });
                        }
                    }).bind("127.0.0.1", 0).sync().channel();
            CountDownLatch done = new CountDownLatch(1);
            int[] echoed = {0};
            Channel client = new Bootstrap().group(group).channel(IoUringSocketChannel.class)
                    .handler(new ChannelInboundHandlerAdapter() {
                        long bytes;
                        @Override public void channelActive(ChannelHandlerContext ctx) { send(ctx); }
                        void send(ChannelHandlerContext ctx) { ctx.writeAndFlush(Unpooled.copyInt(echoed[0])); }
                        @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            bytes += ((ByteBuf) msg).readableBytes();
                            ((ByteBuf) msg).release();
                            while (bytes >= 4) { bytes -= 4; echoed[0]++; if (echoed[0] == n) { done.countDown(); return; } send(ctx); }
                        }
                    }).connect(server.localAddress()).sync().channel();
            if (!done.await(60, TimeUnit.SECONDS)) {
                System.err.println("only " + echoed[0] + " of " + n + " messages came back");
                System.exit(1);
            }
            client.close().sync();
            server.close().sync();
            System.out.println("echoed " + n + " messages over io_uring");
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
