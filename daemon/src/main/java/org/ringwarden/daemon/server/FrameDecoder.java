package org.ringwarden.daemon.server;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.ringwarden.protocol.Frames;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

import org.jspecify.annotations.Nullable;

/**
 * Splits the byte stream into frame bodies: a 4-byte unsigned big-endian length, 1..65,536,
 * then the body (protocol.md, "Frames"). An over-long length fails at once (fail-fast: the
 * daemon never buffers more than one frame); a zero length passes through as an empty body,
 * which the request handler refuses.
 *
 * <p>It also bounds how long a frame may take: from the first byte of a frame to its last at
 * most {@code timeoutNanos}, so that a peer trickling bytes (or sending half a frame and going
 * quiet) cannot hold a connection slot and a buffer for ever. On expiry it fires
 * {@link FrameTimeout} down the pipeline.
 */
final class FrameDecoder extends LengthFieldBasedFrameDecoder {
    /** Fired when a started frame did not complete in time. */
    static final class FrameTimeout {
        static final FrameTimeout INSTANCE = new FrameTimeout();

        private FrameTimeout() {
        }
    }

    private final long timeoutNanos;
    private @Nullable ScheduledFuture<?> deadline;

    FrameDecoder(long timeoutNanos) {
        // maxFrameLength counts the length field too; strip it so handlers see only the JSON body.
        super(Frames.MAX_LENGTH + Frames.HEADER_LENGTH, 0, Frames.HEADER_LENGTH, 0, Frames.HEADER_LENGTH, true);
        this.timeoutNanos = timeoutNanos;
    }

    @Override
    protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
        Object frame = super.decode(ctx, in);
        if (in.isReadable()) {
            if (deadline == null) {
                deadline = ctx.executor().schedule(() -> {
                    deadline = null;
                    ctx.fireUserEventTriggered(FrameTimeout.INSTANCE);
                }, timeoutNanos, TimeUnit.NANOSECONDS);
            }
        } else {
            cancelDeadline();
        }
        return frame;
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        cancelDeadline();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancelDeadline();
        super.channelInactive(ctx);
    }

    private void cancelDeadline() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }
}
