package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.ringwarden.daemon.audit.AuditRecord;
import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Frames;
import org.ringwarden.protocol.ProtocolCodec;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
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

import org.jspecify.annotations.Nullable;

/**
 * One connection's framing and request discipline, on its event loop; what the requests mean is
 * the subclass's ({@link ConnectionHandler} for the client socket, {@link AdminHandler} for the
 * admin socket).
 *
 * <p>Design: a connection is served strictly one request at a time. Frames that arrive while a
 * request is in flight are queued, and from {@value #PAUSE_AT_QUEUED} queued frames on reading
 * is paused ({@code autoRead} off) until the queue drains (frames the decoder had already split
 * beyond {@value #MAX_QUEUED_FRAMES} are a protocol violation). Reading stays on for an
 * ordinary request: pausing and resuming it around each one cost two {@code epoll_ctl} calls
 * per request, a fifth of the event loop's system calls in an acquire/release cycle. Blocking
 * work (identifying the peer, the broker's calls) runs on the shared request executor (or a
 * pool the subclass names), one after another per connection ({@link SerialExecutor}), and its
 * answer comes back to this event loop: one hand-off each way.
 *
 * <p>Two kinds of failure: a <em>refusal</em> (policy not permitted, quota, not attached...)
 * is answered with an {@code error} frame and the connection stays; a <em>protocol
 * violation</em> (malformed, oversized, empty or slow frame, unknown field, wrong version,
 * failed descriptor exchange) is answered with an {@code error} frame where possible and the
 * connection is closed. Every decision is audited.
 *
 * <p>A connection that holds nothing ({@link #holdsSomething()}) and says nothing for
 * {@code idleTimeout} is closed; one that holds something may idle as long as it likes.
 */
abstract class FramedConnection extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(FramedConnection.class);
    /** Frames a well-behaved client has in flight is 1; a few more is tolerated, not unbounded. */
    private static final int MAX_QUEUED_FRAMES = 8;
    /**
     * Queued frames from which reading is paused until the queue drains: a client pipelining a
     * few requests (docs/protocol.md, "Order and pipelining") keeps reading on; more than this
     * waits in the socket.
     */
    private static final int PAUSE_AT_QUEUED = 6;
    static final int[] NO_FDS = new int[0];
    private static final int MAX_MESSAGE = 1024;

    final ServerContext sc;
    final long connectionId;
    private final ArrayDeque<ByteBuf> queued = new ArrayDeque<>();
    private final SerialExecutor serial;

    @SuppressWarnings("NullAway.Init") // set by channelActive, before anything else runs
    ChannelHandlerContext ctx;
    /** Null until the peer is identified. */
    @Nullable Peer peer;
    private boolean slotTaken;
    private boolean busy;
    private boolean closing;
    private @Nullable ScheduledFuture<?> idle;

    FramedConnection(ServerContext sc) {
        this.sc = sc;
        this.serial = new SerialExecutor(sc.requests());
        this.connectionId = sc.connectionIds().incrementAndGet();
    }

    // ---- what a subclass says -------------------------------------------------------------

    /** True on the admin socket: it answers the administrative requests only, the client socket the others. */
    abstract boolean administrative();

    /** The connection limiter this socket's connections count against. */
    abstract ConnectionLimiter limiter();

    /** Serves one decoded request of this socket's kind; answers it (or closes) on the event loop. */
    abstract void serve(Request request);

    /** True while the connection holds something (an attachment, a lease): it may then idle for good. */
    abstract boolean holdsSomething();

    /**
     * Called on the connection's serial executor after its last request has returned, once the
     * connection is closed; the peer's pidfd is closed after it.
     */
    abstract void ended(Peer who);

    /** The peer; requests are read, and the connection slot taken, only once it is identified. */
    final Peer peer() {
        return requireNonNull(peer, "the peer is identified before any request is read");
    }

    // ---- lifecycle ------------------------------------------------------------------------

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        int fd = ((UnixChannel) ctx.channel()).fd().intValue();
        // Reading stays off (autoRead false from the bootstrap) until we know who this is.
        submit(() -> Peer.of(fd, connectionId), NO_FDS, this::identified, failure -> {
            LOG.debug("connection {}: cannot identify the peer: {}", connectionId, failure.getMessage());
            ctx.close();
        });
    }

    private void identified(Peer who) {
        if (!ctx.channel().isOpen()) {
            Descriptors.closeQuietly(who.pidfd());
            return;
        }
        this.peer = who;
        String why = limiter().tryOpen(who.uid());
        if (why != null) {
            sc.stats().refused(ErrorCode.QUOTA_EXCEEDED);
            audit("connect", null, null, "refused", ErrorCode.QUOTA_EXCEEDED, why);
            closeWith(new Response.Error(ErrorCode.QUOTA_EXCEEDED, "too many connections: " + why));
            return;
        }
        slotTaken = true;
        sc.stats().connectionOpened();
        LOG.debug("connection {}: {} pid {} uid {} exe {}", connectionId, administrative() ? "admin" : "client",
                who.pid(), who.uid(), who.exe());
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
            limiter().close(peer().uid());
            sc.stats().connectionClosed();
            slotTaken = false;
        }
        Peer who = peer;
        if (who != null) {
            Runnable end = () -> {
                try {
                    ended(who);
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
        } catch (RefusedException e) {
            violation(e.code(), e.getMessage());
            return;
        }
        if (request.administrative() != administrative()) {
            refuse(request, null, ErrorCode.NOT_PERMITTED, administrative()
                    ? "the admin socket answers status, leases, reload and revoke only"
                    : "administrative requests are answered on the admin socket only");
            return;
        }
        serve(request);
    }

    // ---- answers --------------------------------------------------------------------------

    final void answer(Response r) {
        write(r).addListener(f -> finish());
    }

    final void refusedOrInternal(Request request, @Nullable String policy, Throwable failure) {
        if (failure instanceof RefusedException refused) {
            refuse(request, policy, refused.code(), refused.getMessage());
        } else {
            internal(request, failure);
        }
    }

    final void internal(Request request, Throwable failure) {
        // The operator sees it at WARN through the audit record (INTERNAL: rate-limited per
        // process, AuditLog); the stack trace, which a client could repeat at will, only at debug.
        LOG.debug("connection {}: {} failed", connectionId, request.op(), failure);
        String what = failure instanceof KernelException k ? k.getMessage() : failure.toString();
        refuse(request, null, ErrorCode.INTERNAL, request.op() + " failed: " + what);
    }

    /** Answers a refusal; the connection stays open. */
    final void refuse(Request request, @Nullable String policy, ErrorCode code, String message) {
        message = bounded(message);
        policy = policy == null ? null : bounded(policy);
        sc.stats().refused(code);
        audit(request.op(), policy, request instanceof Request.Release r ? bounded(r.lease()) : null, "refused", code,
                message);
        answer(new Response.Error(code, message));
    }

    /** Answers a protocol violation where possible, then closes the connection. */
    final void violation(ErrorCode code, String message) {
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

    final ChannelFuture write(Response r) {
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
    static String bounded(String message) {
        String m = message == null ? "" : message;
        return m.length() <= MAX_MESSAGE ? m : m.substring(0, MAX_MESSAGE) + "…";
    }

    /** The current request is answered: take the next queued one, or read again. */
    final void finish() {
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

    final void pauseReading() {
        if (ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    // ---- helpers --------------------------------------------------------------------------

    final long deadline() {
        return System.nanoTime() + sc.limits().requestTimeout().toNanos();
    }

    private void armIdle() {
        cancelIdle();
        if (busy || holdsSomething()) {
            return;
        }
        idle = ctx.executor().schedule(() -> {
            idle = null;
            if (!busy && !holdsSomething() && !closing) {
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
    final <T> void submit(Callable<T> work, int[] owned, Consumer<T> onSuccess, Consumer<Throwable> onFailure) {
        submit(work, owned, sc.requests(), onSuccess, onFailure);
    }

    /** {@link #submit(Callable, int[], Consumer, Consumer)} on {@code pool}, still after this connection's earlier work. */
    final <T> void submit(Callable<T> work, int[] owned, Executor pool, Consumer<T> onSuccess,
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

    final void audit(String event, @Nullable String policy, @Nullable String lease, String outcome,
                     @Nullable ErrorCode code, @Nullable String detail) {
        Peer p = peer;
        sc.audit().record(new AuditRecord(Instant.now(), event, p == null ? 0 : p.pid(), p == null ? -1 : p.uid(),
                p == null ? -1 : p.gid(), p == null ? null : p.exe(), policy, lease, outcome, code, detail));
    }
}
