package org.ringwarden.daemon.server;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;

import io.netty.channel.Channel;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.ScheduledFuture;

import org.jspecify.annotations.Nullable;

/**
 * A one-shot wait, on a channel's own epoll event loop, until its socket is readable (or
 * writable), for work done beside Netty's byte path ({@link DescriptorExchange}) while the
 * channel's reading is paused.
 *
 * <p>How: the channel's socket is already in the loop's epoll set, with Netty's interest, so a
 * duplicate of its descriptor is registered (epoll keys on descriptor and open file, so the
 * duplicate is a separate entry) with a level-triggered {@code EPOLLIN} or {@code EPOLLOUT}.
 * The first readiness, hang-up or error, the deadline, or the channel closing ends the wait:
 * the duplicate is unregistered and closed (it must not outlive the wait: it would keep the
 * socket open after the channel closed it), then {@code then} runs once, on the event loop.
 * Data that arrived before the registration is reported at once (level-triggered), so no wake-up
 * is lost between the attempt that would have blocked and the wait.
 */
final class SocketReadiness implements EpollIoHandle {
    /** Why a wait ended. */
    enum Wake {
        /** Readable/writable, or hung up or in error: the next attempt will tell which. */
        READY,
        /** The deadline passed first. */
        DEADLINE,
        /** The channel closed, or the wait could not be set up. */
        CLOSED
    }

    /** Told once how the wait ended. */
    interface Then {
        void wake(Wake why);
    }

    private final Channel channel;
    private final FileDescriptor dup;
    private final Then then;
    private @Nullable IoRegistration registration;
    /** True while the loop has not yet answered the registration: then it, not {@link #end}, disposes of the duplicate. */
    private boolean registering = true;
    @SuppressWarnings("NullAway.Init") // set by await() before the wait is registered or can end
    private ScheduledFuture<?> timer;
    private boolean done;

    private SocketReadiness(Channel channel, FileDescriptor dup, Then then) {
        this.channel = channel;
        this.dup = dup;
        this.then = then;
    }

    /**
     * Waits (without blocking: {@code then} is called later, on the channel's event loop) until
     * the channel's socket is readable ({@code writable} false) or writable. Call on the event loop.
     */
    static void await(Channel channel, boolean writable, long deadlineNanos, Then then) throws KernelException {
        if (!(channel.eventLoop() instanceof IoEventLoop loop) || !loop.isCompatible(SocketReadiness.class)) {
            throw new IllegalStateException("descriptor exchanges need the epoll transport");
        }
        int fd = Descriptors.dupCloexec(((UnixChannel) channel).fd().intValue());
        SocketReadiness wait = new SocketReadiness(channel, new FileDescriptor(fd), then);
        long left = Math.max(0, deadlineNanos - System.nanoTime());
        wait.timer = loop.schedule(() -> wait.end(Wake.DEADLINE), left, TimeUnit.NANOSECONDS);
        loop.register(wait).addListener(f -> {
            wait.registering = false;
            if (!f.isSuccess()) {
                wait.closeDup();
                wait.end(Wake.CLOSED);
                return;
            }
            IoRegistration r = (IoRegistration) f.getNow();
            if (wait.done) {
                r.cancel(); // ended while registering: out of epoll, then unregistered() closes the duplicate
                return;
            }
            wait.registration = r;
            r.submit(writable ? EpollIoOps.EPOLLOUT.with(EpollIoOps.EPOLLRDHUP)
                    : EpollIoOps.EPOLLIN.with(EpollIoOps.EPOLLRDHUP));
        });
        channel.closeFuture().addListener(f -> wait.end(Wake.CLOSED));
    }

    @Override
    public FileDescriptor fd() {
        return dup;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        end(Wake.READY);
    }

    /** Ends the wait once: unregisters and closes the duplicate, stops the timer, then tells. */
    private void end(Wake why) {
        if (!channel.eventLoop().inEventLoop()) {
            channel.eventLoop().execute(() -> end(why));
            return;
        }
        if (done) {
            return;
        }
        done = true;
        timer.cancel(false);
        if (registration != null) {
            registration.cancel(); // on the loop: removed from epoll now; unregistered() closes the duplicate
        } else if (!registering) {
            closeDup();
        } // else the registration's listener cancels it when it completes

        then.wake(why);
    }

    @Override
    public void unregistered() {
        closeDup();
    }

    @Override
    public void close() {
        closeDup();
    }

    private void closeDup() {
        try {
            dup.close();
        } catch (IOException e) {
            // A duplicate we made and nobody else closes: close cannot fail usefully here.
        }
    }
}
