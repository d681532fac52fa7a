package org.ringwarden.daemon.transparent;

import java.util.List;
import java.util.function.Consumer;

import org.ringwarden.client.protocol.ErrorCode;
import org.ringwarden.client.protocol.Request;
import org.ringwarden.client.protocol.Response;
import org.ringwarden.daemon.grant.AuditEvent;
import org.ringwarden.daemon.grant.DaemonLimits;
import org.ringwarden.daemon.grant.RefusedException;
import org.ringwarden.daemon.grant.GrantService;
import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.daemon.server.IssuedGrant;
import org.ringwarden.daemon.server.PolicyGate;
import org.ringwarden.daemon.server.RingBroker;
import org.ringwarden.policy.CompiledPolicy;

/**
 * The server's {@link RingBroker} over {@link GrantService} and {@link PolicyGate}, as far as
 * transparent use needs it (attach, transparent-setup, connection close). The real daemon's
 * broker is wired elsewhere; this one lets the transparent tests run the real server, the
 * real grant service and the real {@code ringwarden run} end to end.
 */
final class GrantBackedBroker implements RingBroker {
    private final PolicyGate gate;
    private final GrantService grants;

    GrantBackedBroker(PolicyGate gate, Consumer<AuditEvent> audit) {
        this.gate = gate;
        this.grants = new GrantService(DaemonLimits.defaults(), audit);
    }

    GrantService grants() {
        return grants;
    }

    @Override
    public List<Response.PolicySummary> policies(Peer peer) {
        return gate.visibleTo(peer);
    }

    @Override
    public void attach(Peer peer, int listenerFd, String transparentPolicy) throws RefusedException {
        CompiledPolicy p = null;
        if (transparentPolicy != null) {
            try {
                p = gate.transparent(peer, transparentPolicy);
            } catch (RefusedException e) {
                org.ringwarden.linux.Descriptors.closeQuietly(listenerFd);
                throw e;
            }
        }
        grants.attach(peer, listenerFd, p);
    }

    @Override
    public Response.TransparentRing transparentSetup(Peer peer, Request.TransparentSetup setup)
            throws RefusedException {
        return grants.transparentSetup(peer, setup);
    }

    @Override
    public IssuedGrant acquire(Peer peer, String policy, int[] clientFds) throws RefusedException {
        for (int fd : clientFds) {
            org.ringwarden.linux.Descriptors.closeQuietly(fd);
        }
        throw new RefusedException(ErrorCode.NOT_PERMITTED, "the transparent test broker grants no tickets");
    }

    @Override
    public void release(Peer peer, String lease) throws RefusedException {
        throw new RefusedException(ErrorCode.NOT_PERMITTED, "no leases here");
    }

    @Override
    public void connectionClosed(Peer peer) {
        grants.connectionClosed(peer);
    }

    @Override
    public List<Response.LeaseEntry> leases() {
        return List.of();
    }

    @Override
    public int leaseCount() {
        return 0;
    }

    @Override
    public int policyCount() {
        return gate.size();
    }

    @Override
    public Response.Reloaded reload() {
        return gate.reload();
    }

    @Override
    public void close() {
        grants.close();
    }
}
