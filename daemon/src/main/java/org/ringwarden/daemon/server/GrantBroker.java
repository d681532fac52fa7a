package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.audit.AuditRecord;
import org.ringwarden.daemon.config.Limits;
import org.ringwarden.daemon.grant.AuditEvent;
import org.ringwarden.daemon.grant.BufferGrant;
import org.ringwarden.daemon.grant.DaemonLimits;
import org.ringwarden.daemon.grant.Grant;
import org.ringwarden.daemon.grant.GrantService;
import org.ringwarden.daemon.grant.GrantStats;
import org.ringwarden.daemon.grant.LeaseInfo;
import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.PolicyStore;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import org.jspecify.annotations.Nullable;

/**
 * The production {@link RingBroker}: the policy gate decides what a peer may have, the
 * {@link GrantService} makes the rings, holds the leases and delivers through seccomp.
 *
 * <p>Audit: the server records every request's outcome (grant, refusal, release, attach);
 * from the grant side this forwards what only it sees: deliveries, refused deliveries,
 * expired tickets, detachments, and leases ended by a closed connection or by shutdown.
 */
public final class GrantBroker implements RingBroker {
    private final PolicyGate gate;
    private final GrantService grants;
    private final Map<Long, String> exes = new ConcurrentHashMap<>();

    private GrantBroker(PolicyGate gate, GrantService grants) {
        this.gate = gate;
        this.grants = grants;
    }

    /** A broker over {@code store} with the grant side sized by {@code limits}. */
    public static GrantBroker create(PolicyStore store, Limits limits, AuditLog audit) {
        requireNonNull(store, "store");
        requireNonNull(limits, "limits");
        requireNonNull(audit, "audit");
        return new GrantBroker(new PolicyGate(store), new GrantService(DaemonLimits.of(limits), forwarder(audit)));
    }

    /**
     * A broker over {@code store} whose grant side, sized by {@code limits}, hands its own audit
     * events to {@code audit} as they are (tests and bench/run-transparent watch them).
     */
    public static GrantBroker create(PolicyStore store, DaemonLimits limits, Consumer<AuditEvent> audit) {
        requireNonNull(store, "store");
        return new GrantBroker(new PolicyGate(store), new GrantService(limits, audit));
    }

    /** The grant side's counters (attachments, leases, pinned bytes). */
    public GrantStats stats() {
        return grants.stats();
    }

    private static Consumer<AuditEvent> forwarder(AuditLog audit) {
        return e -> {
            String event = switch (e.kind()) {
                case DELIVER -> "deliver";
                case DELIVERY_REFUSED -> "deliver-refused";
                case EXPIRE -> "expire";
                case DETACH -> "detach";
                case SQE_REFUSED -> "sqe-refused";
                case SQE_COMPLAINED -> "sqe-complained";
                case END -> "end";
                case RELEASE -> "release";
            };
            Peer p = e.peer();
            audit.record(new AuditRecord(e.at(), event, p.pid(), p.uid(), p.gid(), p.exe(), e.policy(), e.lease(),
                    // A complaint is throttled per process like a refusal (AuditWriter.limited): not "ok".
                    e.kind() == AuditEvent.Kind.SQE_COMPLAINED ? "complained" : e.code() == null ? "ok" : "refused",
                    e.code(), e.detail()));
        };
    }

    @Override
    public List<Response.PolicySummary> policies(Peer peer) {
        return gate.visibleTo(peer);
    }

    @Override
    public void attach(Peer peer, int listenerFd, @Nullable String transparentPolicy) throws RefusedException {
        CompiledPolicy transparent = null;
        if (transparentPolicy != null) {
            try {
                transparent = gate.transparent(peer, transparentPolicy);
            } catch (RefusedException e) {
                Descriptors.closeQuietly(listenerFd);
                throw e;
            }
        }
        exes.put(peer.connectionId(), peer.exe());
        grants.attach(peer, listenerFd, transparent);
    }

    @Override
    public IssuedGrant acquire(Peer peer, String policy, int[] clientFds) throws RefusedException {
        CompiledPolicy p;
        try {
            p = gate.acquirable(peer, policy);
        } catch (RefusedException e) {
            for (int fd : clientFds) {
                Descriptors.closeQuietly(fd);
            }
            throw e;
        }
        exes.put(peer.connectionId(), peer.exe());
        Grant g = grants.acquire(peer, p, clientFds);
        List<Response.BufferSlot> buffers = new ArrayList<>();
        for (int i = 0; i < g.buffers().size(); i++) {
            BufferGrant b = g.buffers().get(i);
            buffers.add(new Response.BufferSlot(b.index(), b.name(), i, b.length(), b.address()));
        }
        var a = g.allowed();
        Response.Grant frame = new Response.Grant(g.leaseId(), g.policy(), g.ticket(), buffers.size(),
                Response.Ring.of(g.params(), g.enabled()),
                g.files().stream().map(f -> new Response.FileSlot(f.index(), f.name())).toList(), buffers,
                new Response.Allowed(a.sqeOpNames(), a.sqeFlagsAllowedNames(), a.sqeFlagsRequiredNames(),
                        a.registerOpNames()));
        return new IssuedGrant(frame, g.bufferFds());
    }

    /** The peer's lane of ring-builder threads: an acquire there builds its ring without another hop. */
    @Override
    public Executor acquireExecutor(Peer peer) {
        return grants.ringBuilderExecutor(peer.uid());
    }

    @Override
    public Response.TransparentRing transparentSetup(Peer peer,
            org.ringwarden.protocol.Request.TransparentSetup setup) throws RefusedException {
        return grants.transparentSetup(peer, setup); // docs/transparent.md
    }

    @Override
    public int reportRefusals(List<Request.RefusedSqe> refusals) {
        return grants.refused(refusals);
    }

    @Override
    public List<Integer> complainTargets() {
        return grants.complainTargets();
    }

    @Override
    public void attachContainer(org.ringwarden.daemon.grant.ContainerRef container, String policy, int pid,
                                int listenerFd, Runnable detached) throws RefusedException {
        CompiledPolicy p;
        try {
            p = gate.forContainer(container.subject(), policy);
        } catch (RefusedException e) {
            Descriptors.closeQuietly(listenerFd);
            throw e;
        }
        grants.attachContainer(container, pid, listenerFd, p, detached); // docs/containers.md
    }

    @Override
    public void release(Peer peer, String lease) throws RefusedException {
        grants.release(peer, lease);
    }

    @Override
    public void connectionClosed(Peer peer) {
        grants.connectionClosed(peer);
        exes.remove(peer.connectionId());
    }

    @Override
    public List<Response.LeaseEntry> leases() {
        return entries(grants.leases());
    }

    private List<Response.LeaseEntry> entries(List<LeaseInfo> leases) {
        List<Response.LeaseEntry> out = new ArrayList<>();
        for (LeaseInfo l : leases) {
            String exe = l.exe(); // a transparent ring's program; else the connection's peer
            out.add(new Response.LeaseEntry(l.leaseId(), l.policy(), l.pid(), l.uid(),
                    exe != null ? exe : exes.getOrDefault(l.connectionId(), "?"), l.created().toString(), l.bufferBytes(),
                    l.delivered() != null)); // DELIVERED, or HELD after delivery (released but kept)
        }
        return out;
    }

    @Override
    public long transparentGrants() {
        return grants.stats().transparent();
    }

    @Override
    public java.util.Map<String, Long> deliveryRefusals() {
        return grants.stats().deliveryRefusals();
    }

    @Override
    public List<Response.LeaseEntry> revoke(@Nullable String lease, @Nullable Integer uid) {
        return entries(grants.revoke(lease, uid));
    }

    @Override
    public int leaseCount() {
        return grants.stats().leases();
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
