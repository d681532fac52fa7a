package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.config.SocketSettings;
import org.ringwarden.daemon.systemd.SocketActivation.Inherited;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The daemon's listening side: the client socket and the admin socket, on Netty's native epoll
 * transport, either bound here or inherited from systemd (socket activation).
 *
 * <pre>{@code
 * try (DaemonServer server = DaemonServer.start(config, broker, admin, stats, audit, inherited)) {
 *     ... serve until told to stop ...
 * }   // stops accepting, closes every connection, removes the socket files it created
 * }</pre>
 */
public final class DaemonServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DaemonServer.class);

    private final EventLoopGroup group;
    private final ThreadPoolExecutor requests;
    private final List<Channel> listeners = new ArrayList<>();
    private final ServerContext context;

    private DaemonServer(EventLoopGroup group, ThreadPoolExecutor requests, ServerContext context) {
        this.group = group;
        this.requests = requests;
        this.context = context;
    }

    /** Binds (or adopts) both sockets and starts serving. */
    public static DaemonServer start(DaemonConfig config, RingBroker broker, AdminService admin, ServerStats stats,
                                     AuditLog audit, int adminGid, Inherited inherited) throws IOException {
        requireNonNull(config, "config");
        requireNonNull(inherited, "inherited");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("ringwarden-io", true),
                EpollIoHandler.newFactory());
        // Blocking work (opening files, creating rings, /proc): a few threads and a bounded queue;
        // past that the daemon answers BUSY instead of queueing without bound.
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor requests = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1024),
                r -> {
                    Thread t = new Thread(r, "ringwarden-request-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        requests.allowCoreThreadTimeOut(true);
        var limits = config.limits();
        ServerContext sc = new ServerContext(limits, broker, admin, stats, audit, requests, adminGid,
                new ConnectionLimiter(limits.connectionsTotal(), limits.connectionsPerUid()),
                new ConnectionLimiter(16, 8), new AtomicLong());
        DaemonServer server = new DaemonServer(group, requests, sc);
        try {
            server.listen(config.socket(), inherited.clientFd(), false);
            server.listen(config.adminSocket(), inherited.adminFd(), true);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void listen(SocketSettings socket, int inheritedFd, boolean admin) throws IOException {
        long timeout = context.limits().requestTimeout().toNanos();
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<EpollDomainSocketChannel>() {
                    @Override
                    protected void initChannel(EpollDomainSocketChannel ch) {
                        ch.pipeline().addLast("frames", new FrameDecoder(timeout));
                        ch.pipeline().addLast("requests", admin ? new AdminHandler(context) : new ConnectionHandler(context));
                    }
                });
        Channel ch;
        if (inheritedFd >= 0) {
            b.channelFactory(() -> new EpollServerDomainSocketChannel(inheritedFd, true));
            ch = b.register().syncUninterruptibly().channel();
            LOG.info("serving {} socket fd {} from systemd", admin ? "admin" : "client", inheritedFd);
        } else {
            SocketFiles.prepare(socket.path());
            b.channel(EpollServerDomainSocketChannel.class);
            ch = b.bind(new DomainSocketAddress(socket.path().toFile())).syncUninterruptibly().channel();
            try {
                SocketFiles.applyOwnership(socket);
            } catch (IOException | RuntimeException e) {
                ch.close().syncUninterruptibly();
                throw e;
            }
            LOG.info("serving {} socket {} (mode 0{}{})", admin ? "admin" : "client", socket.path(),
                    Integer.toOctalString(socket.mode()), socket.group() == null ? "" : ", group " + socket.group());
        }
        listeners.add(ch);
    }

    /** Connections open now (client and admin). */
    public int connections() {
        return context.stats().connections();
    }

    /**
     * Stops accepting, closes every connection (their leases end), waits for queued work, and
     * removes the socket files it bound (Netty unlinks a path it bound when it closes it;
     * inherited sockets belong to systemd and stay).
     */
    @Override
    public void close() {
        for (Channel ch : listeners) {
            ch.close().syncUninterruptibly();
        }
        listeners.clear();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        requests.shutdown();
        try {
            if (!requests.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("request threads still busy after 10 s at shutdown");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
