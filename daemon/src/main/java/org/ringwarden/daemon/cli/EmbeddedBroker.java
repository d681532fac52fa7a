package org.ringwarden.daemon.cli;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.function.Consumer;

import org.ringwarden.client.protocol.Response;
import org.ringwarden.daemon.grant.AuditEvent;
import org.ringwarden.daemon.grant.BufferGrant;
import org.ringwarden.daemon.grant.DaemonLimits;
import org.ringwarden.daemon.grant.FileSlot;
import org.ringwarden.daemon.grant.Grant;
import org.ringwarden.daemon.grant.GrantException;
import org.ringwarden.daemon.grant.GrantService;
import org.ringwarden.daemon.grant.LeaseInfo;
import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.daemon.server.IssuedGrant;
import org.ringwarden.daemon.server.PeerIdentity;
import org.ringwarden.daemon.server.PolicyGate;
import org.ringwarden.daemon.server.RefusedException;
import org.ringwarden.daemon.server.RingBroker;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.policy.CompiledPolicy;

/**
 * The server's {@link RingBroker} made of the policy gate (who may have which policy) and the
 * {@link GrantService} (rings, leases, delivery): what {@code ringwarden demo} and the
 * end-to-end tests run the daemon with. A thin translation, nothing decided here.
 */
public final class EmbeddedBroker implements RingBroker {
    private final PolicyGate gate;
    private final GrantService grants;

    public EmbeddedBroker(PolicyGate gate, DaemonLimits limits, Consumer<AuditEvent> audit) {
        this.gate = requireNonNull(gate, "gate");
        this.grants = new GrantService(limits, audit);
    }

    private static Peer peer(PeerIdentity p) {
        return new Peer(p.connectionId(), p.pid(), p.uid(), p.gid(), p.groups(), p.pidfd(), p.exe());
    }

    private static RefusedException refused(GrantException e) {
        return new RefusedException(e.code(), e.getMessage(), e);
    }

    @Override
    public List<Response.PolicySummary> policies(PeerIdentity peer) {
        return gate.visibleTo(peer);
    }

    @Override
    public void attach(PeerIdentity peer, int listenerFd, String transparentPolicy) throws RefusedException {
        CompiledPolicy transparent = null;
        if (transparentPolicy != null) {
            try {
                transparent = gate.transparent(peer, transparentPolicy);
            } catch (RefusedException e) {
                Descriptors.closeQuietly(listenerFd);
                throw e;
            }
        }
        try {
            grants.attach(peer(peer), listenerFd, transparent);
        } catch (GrantException e) {
            throw refused(e);
        }
    }

    @Override
    public IssuedGrant acquire(PeerIdentity peer, String policy, int[] clientFds) throws RefusedException {
        CompiledPolicy p;
        try {
            p = gate.acquirable(peer, policy);
        } catch (RefusedException e) {
            for (int fd : clientFds) {
                Descriptors.closeQuietly(fd);
            }
            throw e;
        }
        Grant g;
        try {
            g = grants.acquire(peer(peer), p, clientFds);
        } catch (GrantException e) {
            throw refused(e);
        }
        return new IssuedGrant(toResponse(g), g.bufferFds());
    }

    /** The {@code grant} message of {@code g}; buffer {@code i}'s memfd is descriptor {@code i}. */
    static Response.Grant toResponse(Grant g) {
        List<Response.FileSlot> files = g.files().stream()
                .map((FileSlot f) -> new Response.FileSlot(f.index(), f.name())).toList();
        List<BufferGrant> bs = g.buffers();
        List<Response.BufferSlot> buffers = new java.util.ArrayList<>(bs.size());
        for (int i = 0; i < bs.size(); i++) {
            BufferGrant b = bs.get(i);
            buffers.add(new Response.BufferSlot(b.index(), b.name(), i, b.length(), b.address()));
        }
        var a = g.allowed();
        return new Response.Grant(g.leaseId(), g.policy(), g.ticket(), bs.size(), Response.Ring.of(g.params(), g.enabled()),
                files, buffers, new Response.Allowed(a.sqeOpNames(), a.sqeFlagsAllowedNames(), a.sqeFlagsRequiredNames(),
                        a.registerOpNames()));
    }

    @Override
    public void release(PeerIdentity peer, String lease) throws RefusedException {
        try {
            grants.release(peer(peer), lease);
        } catch (GrantException e) {
            throw refused(e);
        }
    }

    @Override
    public void connectionClosed(PeerIdentity peer) {
        grants.connectionClosed(peer(peer));
    }

    @Override
    public List<Response.LeaseEntry> leases() {
        return grants.leases().stream().map(EmbeddedBroker::entry).toList();
    }

    private static Response.LeaseEntry entry(LeaseInfo l) {
        String exe = "?";
        return new Response.LeaseEntry(l.leaseId(), l.policy(), l.pid(), l.uid(), exe, l.created().toString(),
                l.bufferBytes(), l.delivered() != null);
    }

    @Override
    public int leaseCount() {
        return grants.leases().size();
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
