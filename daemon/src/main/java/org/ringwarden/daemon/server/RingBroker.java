package org.ringwarden.daemon.server;

import java.util.List;
import java.util.concurrent.Executor;

import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.Response;

import org.jspecify.annotations.Nullable;

/**
 * What the server asks of the grant side: the policies a peer may see, and the leases it holds.
 * The server calls the blocking methods ({@link #attach}, {@link #connectionClosed},
 * {@link #reload}) from its request executor and {@link #acquire} from
 * {@link #acquireExecutor}, never from an event loop, and each call for one connection after
 * the previous one has returned; the others (including {@link #release}) are called on the
 * event loop and must not block.
 *
 * <p>Ownership of descriptors passes with the call: {@link #attach} owns {@code listenerFd} and
 * {@link #acquire} owns {@code clientFds} from the moment they are called, also when they throw.
 */
public interface RingBroker extends AutoCloseable {

    /**
     * The policies {@code peer} may acquire (names and one-line descriptions), nothing about the
     * others. In memory and non-blocking: called on the event loop.
     */
    List<Response.PolicySummary> policies(Peer peer);

    /**
     * Takes the connection's seccomp listener; with {@code transparentPolicy}, every un-ticketed
     * {@code io_uring_setup} of that process tree gets a ring under that policy.
     */
    void attach(Peer peer, int listenerFd, @Nullable String transparentPolicy) throws RefusedException;

    /**
     * Prepares a ring under {@code policy} and leases it to the connection. A policy the peer may
     * not see is {@link org.ringwarden.protocol.ErrorCode#NOT_PERMITTED} with a message that does not
     * reveal whether it exists.
     */
    IssuedGrant acquire(Peer peer, String policy, int[] clientFds) throws RefusedException;

    /**
     * Where {@link #acquire} runs; null for the server's request executor. The grant side
     * names its ring-builder threads, so that an acquire builds its ring on the thread that
     * handles it (rings must be created on threads of their own: see
     * {@link org.ringwarden.daemon.grant.GrantService}).
     */
    default @Nullable Executor acquireExecutor(Peer peer) {
        return null;
    }

    /**
     * Makes a ring under the connection's transparent policy for the trapped
     * {@code io_uring_setup} {@code setup} names, and installs it into the caller
     * (docs/protocol.md, "Transparent setup"). A refusal the caller is to see as an errno is an answer
     * ({@link Response.TransparentRing} with {@code errno}), not an exception.
     */
    default Response.TransparentRing transparentSetup(Peer peer, org.ringwarden.protocol.Request.TransparentSetup setup)
            throws RefusedException {
        throw new RefusedException(org.ringwarden.protocol.ErrorCode.NOT_PERMITTED,
                "this daemon does not serve transparent use");
    }

    /**
     * Audits requests the kernel refused on rings of ours ({@code report-refusals}, from
     * {@code ringwarden watch-refusals}); returns how many were on rings this broker made.
     * Reads {@code /proc}: call it off the event loop.
     */
    default int reportRefusals(List<org.ringwarden.protocol.Request.RefusedSqe> refusals) {
        return 0;
    }

    /**
     * The tasks of the processes using rings of complain-mode policies
     * ({@code complain-targets}), whose submissions {@code ringwarden watch-refusals} traces. Reads {@code /proc}: call it off the
     * event loop.
     */
    default List<Integer> complainTargets() {
        return List.of();
    }

    /**
     * Attaches a container's seccomp listener that its OCI runtime sent to the agent socket
     * (docs/containers.md), under {@code policy} if it admits the container. Owns
     * {@code listenerFd} from the call on; {@code detached} runs once no process is left in the
     * container. This default serves no container.
     */
    default void attachContainer(org.ringwarden.daemon.grant.ContainerRef container, String policy, int pid,
                                 int listenerFd, Runnable detached) throws RefusedException {
        org.ringwarden.linux.Descriptors.closeQuietly(listenerFd);
        throw new RefusedException(org.ringwarden.protocol.ErrorCode.NOT_PERMITTED, "this daemon serves no container");
    }

    /**
     * Ends one of the connection's leases. Called on the event loop: bookkeeping and closing
     * descriptors and mappings only, nothing that blocks.
     */
    void release(Peer peer, String lease) throws RefusedException;

    /** Ends every lease and the attachment of the connection; idempotent. */
    void connectionClosed(Peer peer);

    /**
     * An administrator revokes lease {@code lease}, or every lease of {@code uid} (exactly one
     * is given): the daemon lets go of them as if their connections had released them. Returns
     * the leases revoked, as they were. A broker without leases of its own revokes nothing.
     */
    default List<Response.LeaseEntry> revoke(@Nullable String lease, @Nullable Integer uid) {
        return List.of();
    }

    /** Every live lease, for the admin socket. */
    List<Response.LeaseEntry> leases();

    /** The number of live leases. */
    int leaseCount();

    /** The number of policies in force. */
    int policyCount();

    /** Transparent rings made since start ({@code status} counts them as grants, as the audit log does). */
    default long transparentGrants() {
        return 0;
    }

    /** Refused deliveries since start by error code name (audited as {@code deliver-refused}). */
    default java.util.Map<String, Long> deliveryRefusals() {
        return java.util.Map.of();
    }

    /**
     * Loads the policy set again and puts it in force if it is valid; otherwise the running set
     * stays and the answer lists the problems. Leases already granted keep working either way.
     */
    Response.Reloaded reload();

    /** Ends every lease and releases what the broker holds (shutdown). */
    @Override
    void close();
}
