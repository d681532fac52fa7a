package org.ringwarden.daemon.server;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.ringwarden.client.protocol.ErrorCode;
import org.ringwarden.client.protocol.Frames;
import org.ringwarden.client.protocol.ProtocolCodec;
import org.ringwarden.client.protocol.ProtocolException;
import org.ringwarden.client.protocol.Request;
import org.ringwarden.client.protocol.Response;
import org.ringwarden.daemon.audit.AuditRecord;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.unix.UnixChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;

/**
 * One connection's protocol state machine, on its event loop.
 *
 * <p>Design: a connection is served strictly one request at a time. Frames that arrive while a
 * request is in flight are queued, and from {@value #PAUSE_AT_QUEUED} queued frames on reading
 * is paused ({@code autoRead} off) until the queue drains (frames the decoder had already split
 * beyond {@value #MAX_QUEUED_FRAMES} are a protocol violation). Reading stays on for an
 * ordinary request: pausing and resuming it around each one cost two {@code epoll_ctl} calls
 * per request, a fifth of the event loop's system calls in an acquire/release cycle. Blocking
 * work (identifying the peer, the broker's calls) runs on the shared request executor, whose
 * answer comes back to this event loop. Descriptor exchanges ({@link DescriptorExchange}) run
 * while reading is paused, so that they are the only reader or writer of the socket: the
 * requests that carry or receive descriptors pause it before the exchange starts.
 *
 * <p>Two kinds of failure: a <em>refusal</em> (policy not permitted, quota, not attached...)
 * is answered with an {@code error} frame and the connection stays; a <em>protocol
 * violation</em> (malformed, oversized, empty or slow frame, unknown field, wrong version,
 * failed descriptor exchange) is answered with an {@code error} frame where possible and the
 * connection is closed. Every decision is audited.
 *
 * <p>A connection that holds nothing (no attachment, no lease) and says nothing for
 * {@code idleTimeout} is closed; one that holds something may idle as long as it likes.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionHandler.class);
    /** Frames a well-behaved client has in flight is 1; a few more is tolerated, not unbounded. */
    private static final int MAX_QUEUED_FRAMES = 8;
    /**
     * Queued frames from which reading is paused until the queue drains: a client pipelining a
     * few requests (docs/protocol.md, "Order and pipelining") keeps reading on; more than this
     * waits in the socket.
     */
    private static final int PAUSE_AT_QUEUED = 6;
    private static final int[] NO_FDS = new int[0];
    private static final int MAX_MESSAGE = 1024;

    private final ServerContext sc;
    private final boolean adminSocket;
    private final long connectionId;
    private final ArrayDeque<ByteBuf> queued = new ArrayDeque<>();
    private final Set<String> leases = new HashSet<>();

    private ChannelHandlerContext ctx;
    private PeerIdentity peer;
    private boolean slotTaken;
    private boolean busy;
    private boolean attached;
    private boolean closing;
    private ScheduledFuture<?> idle;
    private final SerialExecutor serial;

    ConnectionHandler(ServerContext sc, boolean adminSocket) {
        this.sc = sc;
        this.serial = new SerialExecutor(sc.requests());
        this.adminSocket = adminSocket;
        this.connectionId = sc.connectionIds().incrementAndGet();
    }

    // ---- lifecycle ------------------------------------------------------------------------

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        int fd = ((UnixChannel) ctx.channel()).fd().intValue();
        // Reading stays off (autoRead false from the bootstrap) until we know who this is.
        submit(() -> PeerIdentity.of(fd, connectionId), NO_FDS, this::identified, failure -> {
            LOG.debug("connection {}: cannot identify the peer: {}", connectionId, failure.getMessage());
            ctx.close();
        });
    }

    private void identified(PeerIdentity who) {
        if (!ctx.channel().isOpen()) {
            Descriptors.closeQuietly(who.pidfd());
            return;
        }
        this.peer = who;
        String why = (adminSocket ? sc.admins() : sc.clients()).tryOpen(who.uid());
        if (why != null) {
            sc.stats().refused(ErrorCode.QUOTA_EXCEEDED);
            audit("connect", null, null, "refused", ErrorCode.QUOTA_EXCEEDED, why);
            closeWith(new Response.Error(ErrorCode.QUOTA_EXCEEDED, "too many connections: " + why));
            return;
        }
        slotTaken = true;
        sc.stats().connectionOpened();
        LOG.debug("connection {}: {} pid {} uid {} exe {}", connectionId, adminSocket ? "admin" : "client", who.pid(),
                who.uid(), who.exe());
        ctx.channel().config().setAutoRead(true);
        armIdle();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        cancelIdle();
        ByteBuf b;
        while ((b = queued.poll()) != null) {
            b.release();
        }
        if (slotTaken) {
            (adminSocket ? sc.admins() : sc.clients()).close(peer.uid());
            sc.stats().connectionClosed();
            slotTaken = false;
        }
        PeerIdentity who = peer;
        if (who != null) {
            Runnable end = () -> {
                try {
                    if (!adminSocket) {
                        sc.broker().connectionClosed(who);
                    }
                } finally {
                    Descriptors.closeQuietly(who.pidfd());
                }
            };
            try {
                serial.execute(end);
            } catch (RejectedExecutionException e) {
                end.run(); // shutting down: still free the connection's leases
            }
        }
        ctx.fireChannelInactive();
    }

    // ---- input ----------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf body = (ByteBuf) msg;
        if (closing) {
            body.release();
            return;
        }
        cancelIdle();
        if (busy) {
            if (queued.size() >= MAX_QUEUED_FRAMES) {
                body.release();
                violation(ErrorCode.BAD_REQUEST, "more than " + MAX_QUEUED_FRAMES + " requests in flight; send one at a time");
                return;
            }
            queued.add(body);
            if (queued.size() >= PAUSE_AT_QUEUED) {
                pauseReading();
            }
            return;
        }
        handle(body);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof FrameDecoder.FrameTimeout) {
            violation(ErrorCode.BAD_REQUEST, "a frame was not completed within "
                    + sc.limits().requestTimeout().toMillis() + " ms");
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof TooLongFrameException) {
            violation(ErrorCode.BAD_REQUEST, "a frame may be at most " + Frames.MAX_LENGTH + " bytes");
        } else if (cause instanceof DecoderException) {
            violation(ErrorCode.BAD_REQUEST, "malformed frame: " + cause.getMessage());
        } else if (cause instanceof IOException) {
            LOG.debug("connection {}: {}", connectionId, cause.toString());
            ctx.close();
        } else {
            LOG.warn("connection {}: unexpected failure, closing it", connectionId, cause);
            closeWith(new Response.Error(ErrorCode.INTERNAL, "the daemon failed: " + cause));
        }
    }

    private void handle(ByteBuf body) {
        busy = true;
        byte[] bytes = ByteBufUtil.getBytes(body);
        body.release();
        if (bytes.length == 0) {
            violation(ErrorCode.BAD_REQUEST, "an empty frame; a frame holds 1.." + Frames.MAX_LENGTH + " bytes of JSON");
            return;
        }
        Request request;
        try {
            request = ProtocolCodec.decodeRequest(bytes);
        } catch (ProtocolException e) {
            violation(e.code(), e.getMessage());
            return;
        }
        if (request.administrative() != adminSocket) {
            refuse(request, null, ErrorCode.NOT_PERMITTED, adminSocket
                    ? "the admin socket answers status, leases and reload only"
                    : "administrative requests are answered on the admin socket only");
            return;
        }
        if (adminSocket && !peer.isRootOrInGroup(sc.adminGid())) {
            refuse(request, null, ErrorCode.NOT_PERMITTED, "uid " + peer.uid() + " is not an administrator");
            return;
        }
        switch (request) {
            case Request.Attach a -> attach(a);
            case Request.Acquire a -> acquire(a);
            // In memory and non-blocking by contract: answered here, without two thread hops.
            case Request.ListPolicies p -> answer(new Response.Policies(sc.broker().policies(peer)));
            case Request.Release r -> release(r);
            case Request.Status s -> answer(sc.admin().status());
            case Request.Leases l -> answer(sc.admin().leases());
            case Request.Reload r -> submit(() -> sc.admin().reload(peer), NO_FDS, this::answer, f -> internal(request, f));
            case Request.TransparentSetup t -> submit(() -> sc.broker().transparentSetup(peer, t), NO_FDS,
                    this::answer, failure -> refusedOrInternal(t, null, failure));
        }
    }

    // ---- requests -------------------------------------------------------------------------

    private void attach(Request.Attach a) {
        if (attached) {
            refuse(a, a.policy(), ErrorCode.BAD_REQUEST, "this connection is already attached");
            return;
        }
        receiveThen(a.fds(), fds -> submit(() -> {
            sc.broker().attach(peer, fds[0], a.policy());
            return new Response.Attached();
        }, fds, ok -> {
            attached = true;
            audit("attach", a.policy(), null, "ok", null, null);
            answer(ok);
        }, failure -> refusedOrInternal(a, a.policy(), failure)));
    }

    private void acquire(Request.Acquire a) {
        // On the broker's acquire threads (the grant side's ring builders): the ring is built
        // where the request runs, without a hop through the request pool. The grant comes back
        // to the event loop, which writes it and its descriptors through the channel: one
        // hand-off each way, and the channel is the socket's only writer.
        Executor where = sc.broker().acquireExecutor(peer);
        Consumer<int[]> go = fds -> submit(() -> sc.broker().acquire(peer, a.policy(), fds), fds,
                where == null ? sc.requests() : where, this::granted, failure -> refusedOrInternal(a, a.policy(), failure));
        if (a.clientFds() == 0) {
            go.accept(new int[0]);
        } else {
            receiveThen(a.clientFds(), go);
        }
    }

    /**
     * On the event loop: counts and audits the grant (before the client can see it, so that the
     * grant's record precedes its delivery's), writes the frame, then its descriptors, one zero
     * byte each with {@code SCM_RIGHTS} ({@link DescriptorExchange}), while reading is paused.
     */
    private void granted(IssuedGrant issued) {
        Response.Grant g = issued.grant();
        leases.add(g.lease());
        sc.stats().granted();
        audit("grant", g.policy(), g.lease(), "ok", null, null);
        int[] fds = issued.descriptors();
        if (fds.length == 0) {
            answer(g);
            return;
        }
        pauseReading(); // the exchange is then the only user of the socket
        write(g).addListener(f -> {
            if (!f.isSuccess()) {
                ctx.close(); // the client is gone; closing the connection ends the lease
                return;
            }
            DescriptorExchange.send(ctx.channel(), fds, deadline(), outcome -> {
                if (outcome instanceof DescriptorExchange.Outcome.Failed failed) {
                    LOG.info("connection {}: could not send the grant's descriptors ({}); closing, which ends the lease",
                            connectionId, failed.reason());
                    ctx.close();
                } else {
                    finish();
                }
            });
        });
    }

    /**
     * Answered here on the event loop: ending a lease is bookkeeping plus closing the daemon's
     * copies of the ring and buffers, none of which blocks ({@link RingBroker#release}), and two
     * thread hops cost more than all of it. No earlier task of this connection can still be
     * running (one request at a time, and the connection is still open), so the order the
     * serial executor guarantees holds.
     */
    private void release(Request.Release r) {
        try {
            sc.broker().release(peer, r.lease());
        } catch (RefusedException | RuntimeException failure) {
            refusedOrInternal(r, null, failure);
            return;
        }
        leases.remove(r.lease());
        audit("release", null, bounded(r.lease()), "ok", null, null);
        answer(new Response.Released(r.lease()));
    }

    /**
     * Asks for {@code count} descriptors ({@code send-fds}) and reads them; on success hands them
     * to {@code then} (which owns them), otherwise fails the exchange and closes the connection.
     */
    private void receiveThen(int count, Consumer<int[]> then) {
        // Before send-fds goes out: the descriptor bytes the client sends after it must be read
        // by the exchange (recvmsg with room for SCM_RIGHTS), never by Netty.
        pauseReading();
        write(new Response.SendFds(count)).addListener(f -> {
            if (!f.isSuccess()) {
                ctx.close();
                return;
            }
            DescriptorExchange.receive(ctx.channel(), count, deadline(), outcome -> {
                switch (outcome) {
                    case DescriptorExchange.Outcome.Received r -> then.accept(r.fds());
                    case DescriptorExchange.Outcome.Failed failed -> {
                        violation(ErrorCode.BAD_REQUEST, "descriptor exchange failed: " + failed.reason());
                    }
                    case DescriptorExchange.Outcome.Sent s -> throw new IllegalStateException("receive reported a send");
                }
            });
        });
    }

    // ---- answers --------------------------------------------------------------------------

    private void answer(Response r) {
        write(r).addListener(f -> finish());
    }

    private void refusedOrInternal(Request request, String policy, Throwable failure) {
        if (failure instanceof RefusedException refused) {
            refuse(request, policy, refused.code(), refused.getMessage());
        } else {
            internal(request, failure);
        }
    }

    private void internal(Request request, Throwable failure) {
        // The operator sees it at WARN through the audit record (INTERNAL: rate-limited per
        // process, AuditLog); the stack trace, which a client could repeat at will, only at debug.
        LOG.debug("connection {}: {} failed", connectionId, request.op(), failure);
        String what = failure instanceof KernelException k ? k.getMessage() : failure.toString();
        refuse(request, null, ErrorCode.INTERNAL, request.op() + " failed: " + what);
    }

    /** Answers a refusal; the connection stays open. */
    private void refuse(Request request, String policy, ErrorCode code, String message) {
        message = bounded(message);
        policy = policy == null ? null : bounded(policy);
        sc.stats().refused(code);
        audit(request.op(), policy, request instanceof Request.Release r ? bounded(r.lease()) : null, "refused", code,
                message);
        answer(new Response.Error(code, message));
    }

    /** Answers a protocol violation where possible, then closes the connection. */
    private void violation(ErrorCode code, String message) {
        if (closing) {
            return;
        }
        message = bounded(message);
        sc.stats().refused(code);
        audit("protocol", null, null, "refused", code, message);
        closeWith(new Response.Error(code, message));
    }

    private void closeWith(Response.Error error) {
        closing = true;
        ctx.channel().config().setAutoRead(false);
        write(error).addListener(ChannelFutureListener.CLOSE);
    }

    private ChannelFuture write(Response r) {
        byte[] body;
        try {
            body = Frames.frame(ProtocolCodec.encode(r));
        } catch (RuntimeException e) {
            // A bug (an answer over 64 KiB): never leave the peer waiting for an answer that cannot come.
            LOG.error("connection {}: cannot encode {}; closing", connectionId, r.type(), e);
            closing = true;
            return ctx.close();
        }
        return ctx.writeAndFlush(Unpooled.wrappedBuffer(body));
    }

    /** Error messages quote what the client sent; keep them short enough for any frame. */
    private static String bounded(String message) {
        String m = message == null ? "" : message;
        return m.length() <= MAX_MESSAGE ? m : m.substring(0, MAX_MESSAGE) + "…";
    }

    /** The current request is answered: take the next queued one, or read again. */
    private void finish() {
        if (closing || !ctx.channel().isOpen()) {
            return;
        }
        busy = false;
        ByteBuf next = queued.poll();
        if (next != null) {
            handle(next);
            return;
        }
        if (!ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
        armIdle();
    }

    private void pauseReading() {
        if (ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    // ---- helpers --------------------------------------------------------------------------

    private long deadline() {
        return System.nanoTime() + sc.limits().requestTimeout().toNanos();
    }

    private void armIdle() {
        cancelIdle();
        if (busy || attached || !leases.isEmpty()) {
            return;
        }
        idle = ctx.executor().schedule(() -> {
            idle = null;
            if (!busy && !attached && leases.isEmpty() && !closing) {
                LOG.debug("connection {}: idle and holding nothing for {}, closing", connectionId, sc.limits().idleTimeout());
                closing = true;
                ctx.close();
            }
        }, sc.limits().idleTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void cancelIdle() {
        if (idle != null) {
            idle.cancel(false);
            idle = null;
        }
    }

    /**
     * Runs {@code work} on the request executor (after this connection's earlier work) and its
     * outcome back on this event loop. {@code owned} are descriptors {@code work} takes over:
     * if the executor refuses the work they are closed here.
     */
    private <T> void submit(Callable<T> work, int[] owned, Consumer<T> onSuccess, Consumer<Throwable> onFailure) {
        submit(work, owned, sc.requests(), onSuccess, onFailure);
    }

    /** {@link #submit(Callable, int[], Consumer, Consumer)} on {@code pool}, still after this connection's earlier work. */
    private <T> void submit(Callable<T> work, int[] owned, Executor pool, Consumer<T> onSuccess,
                            Consumer<Throwable> onFailure) {
        try {
            serial.execute(() -> {
                T result;
                try {
                    result = work.call();
                } catch (Throwable t) {
                    ctx.executor().execute(() -> onFailure.accept(t));
                    return;
                }
                ctx.executor().execute(() -> onSuccess.accept(result));
            }, pool);
        } catch (RejectedExecutionException e) {
            for (int fd : owned) {
                Descriptors.closeQuietly(fd);
            }
            onFailure.accept(new RefusedException(ErrorCode.BUSY, "the daemon is too busy (or stopping); try again"));
        }
    }

    private void audit(String event, String policy, String lease, String outcome, ErrorCode code, String detail) {
        PeerIdentity p = peer;
        sc.audit().record(new AuditRecord(Instant.now(), event, p == null ? 0 : p.pid(), p == null ? -1 : p.uid(),
                p == null ? -1 : p.gid(), p == null ? null : p.exe(), policy, lease, outcome, code, detail));
    }
}
