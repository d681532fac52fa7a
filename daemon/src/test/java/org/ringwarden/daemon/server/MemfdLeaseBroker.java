package org.ringwarden.daemon.server;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.ringwarden.daemon.grant.Peer;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.uring.IoUringParams;
import org.ringwarden.policy.BufferSpec;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.PolicyStore;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.Response;

/**
 * A broker for the server's tests that leases real memfds but makes no ring: it proves the
 * transport (frames, descriptor passing, leases ending with the connection, the policy gate)
 * without depending on the grant side. The real broker is {@code GrantBroker} over
 * {@code GrantService}. Everything it holds is closed when a lease or attachment ends.
 */
final class MemfdLeaseBroker implements RingBroker {
    private record Lease(String id, long connectionId, int pid, int uid, String exe, String policy, int[] memfds,
                         int[] clientFds, long bytes, Instant since) {
    }

    private final PolicyGate gate;
    private final Map<String, Lease> leases = new HashMap<>();
    private final Map<Long, Integer> listeners = new HashMap<>();
    private boolean closed;

    MemfdLeaseBroker(PolicyStore store) {
        this.gate = new PolicyGate(store);
    }

    @Override
    public List<Response.PolicySummary> policies(Peer peer) {
        return gate.visibleTo(peer);
    }

    @Override
    public synchronized void attach(Peer peer, int listenerFd, String transparentPolicy) throws RefusedException {
        try {
            if (transparentPolicy != null) {
                gate.transparent(peer, transparentPolicy);
            }
            if (listeners.containsKey(peer.connectionId())) {
                throw new RefusedException(ErrorCode.BAD_REQUEST, "already attached");
            }
        } catch (RefusedException e) {
            Descriptors.closeQuietly(listenerFd);
            throw e;
        }
        listeners.put(peer.connectionId(), listenerFd);
    }

    @Override
    public synchronized IssuedGrant acquire(Peer peer, String policy, int[] clientFds) throws RefusedException {
        List<Integer> made = new ArrayList<>();
        try {
            CompiledPolicy p = gate.acquirable(peer, policy);
            if (!listeners.containsKey(peer.connectionId())) {
                throw new RefusedException(ErrorCode.NOT_ATTACHED, "attach a seccomp listener first");
            }
            if (clientFds.length > p.maxClientFds()) {
                throw new RefusedException(ErrorCode.BAD_REQUEST, "policy " + policy + " takes at most "
                        + p.maxClientFds() + " client descriptors");
            }
            List<Response.BufferSlot> slots = new ArrayList<>();
            long bytes = 0;
            for (BufferSpec b : p.buffers()) {
                int fd = Memory.memfdCreate("ringwarden-test-" + b.name(), Memory.MFD_CLOEXEC);
                made.add(fd);
                Memory.truncate(fd, b.bytes());
                slots.add(new Response.BufferSlot(slots.size(), b.name(), slots.size(), b.bytes(), 0x7000_0000_0000L));
                bytes += b.bytes();
            }
            int[] memfds = made.stream().mapToInt(Integer::intValue).toArray();
            String id = UUID.randomUUID().toString();
            leases.put(id, new Lease(id, peer.connectionId(), peer.pid(), peer.uid(), peer.exe(), policy, memfds,
                    clientFds.clone(), bytes, Instant.now()));
            var params = new IoUringParams(p.ring().sqEntries(), p.ring().cqEntries(), 0, 0,
                    new IoUringParams.SqOffsets(0, 64, 256, 264, 276, 272, 2368),
                    new IoUringParams.CqOffsets(128, 192, 260, 268, 284, 320, 280));
            Response.Grant g = new Response.Grant(id, policy, 1 + (id.hashCode() & 0x7fffffffL), memfds.length,
                    Response.Ring.of(params, true), List.of(), slots, PolicyGate.allowed(p));
            return new IssuedGrant(g, memfds);
        } catch (RefusedException | RuntimeException e) {
            made.forEach(Descriptors::closeQuietly);
            for (int fd : clientFds) {
                Descriptors.closeQuietly(fd);
            }
            throw e;
        }
    }

    @Override
    public synchronized void release(Peer peer, String lease) throws RefusedException {
        Lease l = leases.get(lease);
        if (l == null || l.connectionId() != peer.connectionId()) {
            throw new RefusedException(ErrorCode.NOT_PERMITTED, "this connection holds no lease " + lease);
        }
        end(leases.remove(lease));
    }

    @Override
    public synchronized void connectionClosed(Peer peer) {
        leases.values().removeIf(l -> {
            if (l.connectionId() == peer.connectionId()) {
                end(l);
                return true;
            }
            return false;
        });
        Integer listener = listeners.remove(peer.connectionId());
        if (listener != null) {
            Descriptors.closeQuietly(listener);
        }
    }

    private static void end(Lease l) {
        for (int fd : l.memfds()) {
            Descriptors.closeQuietly(fd);
        }
        for (int fd : l.clientFds()) {
            Descriptors.closeQuietly(fd);
        }
    }

    @Override
    public synchronized List<Response.LeaseEntry> leases() {
        return leases.values().stream().map(l -> new Response.LeaseEntry(l.id(), l.policy(), l.pid(), l.uid(), l.exe(),
                l.since().toString(), l.bytes(), false)).toList();
    }

    @Override
    public synchronized int leaseCount() {
        return leases.size();
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
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        leases.values().forEach(MemfdLeaseBroker::end);
        leases.clear();
        listeners.values().forEach(Descriptors::closeQuietly);
        listeners.clear();
    }
}
