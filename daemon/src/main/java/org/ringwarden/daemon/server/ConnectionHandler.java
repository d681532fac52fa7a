package org.ringwarden.daemon.server;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client socket connection: {@code attach}, {@code acquire}, {@code policies},
 * {@code release} and {@code transparent-setup} (docs/protocol.md); the framing, ordering,
 * refusals and idle rule are {@link FramedConnection}'s. Descriptor exchanges
 * ({@link DescriptorExchange}) run while reading is paused, so that they are the only reader or
 * writer of the socket: the requests that carry or receive descriptors pause it before the
 * exchange starts.
 */
final class ConnectionHandler extends FramedConnection {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionHandler.class);

    private final Set<String> leases = new HashSet<>();
    private boolean attached;

    ConnectionHandler(ServerContext sc) {
        super(sc);
    }

    @Override
    boolean administrative() {
        return false;
    }

    @Override
    ConnectionLimiter limiter() {
        return sc.clients();
    }

    @Override
    boolean holdsSomething() {
        return attached || !leases.isEmpty();
    }

    @Override
    void ended(Peer who) {
        sc.broker().connectionClosed(who);
    }

    @Override
    void serve(Request request) {
        switch (request) {
            case Request.Attach a -> attach(a);
            case Request.Acquire a -> acquire(a);
            // In memory and non-blocking by contract: answered here, without two thread hops.
            case Request.ListPolicies p -> answer(new Response.Policies(sc.broker().policies(peer())));
            case Request.Release r -> release(r);
            // On the peer's ring-builder lane, like acquire: it makes a ring, and one user's
            // requests must not hold threads that other users' requests need.
            case Request.TransparentSetup t -> submit(() -> sc.broker().transparentSetup(peer(), t), NO_FDS,
                    laneOf(peer()), this::answer, failure -> refusedOrInternal(t, null, failure));
            default -> throw new IllegalStateException("an administrative request: " + request.op());
        }
    }

    // ---- requests -------------------------------------------------------------------------

    private void attach(Request.Attach a) {
        if (attached) {
            refuse(a, a.policy(), ErrorCode.BAD_REQUEST, "this connection is already attached");
            return;
        }
        receiveThen(a.fds(), fds -> submit(() -> {
            sc.broker().attach(peer(), fds[0], a.policy());
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
        Executor where = laneOf(peer());
        Consumer<int[]> go = fds -> submit(() -> sc.broker().acquire(peer(), a.policy(), fds), fds,
                where, this::granted, failure -> refusedOrInternal(a, a.policy(), failure));
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
            sc.broker().release(peer(), r.lease());
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

    /** The peer's ring-builder lane, or the request pool for a broker without lanes. */
    private Executor laneOf(Peer peer) {
        Executor lane = sc.broker().acquireExecutor(peer);
        return lane == null ? sc.requests() : lane;
    }
}
