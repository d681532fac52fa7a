package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ringwarden.client.protocol.ErrorCode;

/**
 * Every live lease, with the quotas they count against and lookup by id, ticket and connection.
 *
 * <p>A lease is counted from {@link #reserve} (before its ring is built, so that two concurrent
 * acquires cannot both pass a limit with one slot left) until {@link #end}/{@link #endConnection}/
 * {@link #expire}. Those return the leases they removed; the caller closes their rings outside
 * this lock (closing a ring can take a while, and interrupts the thread that created it).
 *
 * <p>Limits: the daemon's ({@link DaemonLimits}: total and per uid, leases and buffer bytes) and
 * the policy's (per uid, counted over that policy's leases only).
 */
final class LeaseRegistry {
    private final DaemonLimits limits;
    private final TicketIssuer tickets;
    private final Clock clock;

    private final Map<String, Lease> byId = new HashMap<>();
    /** Pending leases by ticket, in the order they became pending: the oldest ticket first (see {@link #expireDue}). */
    private final Map<Long, Lease> byTicket = new LinkedHashMap<>();
    private final Map<Long, List<Lease>> byConnection = new HashMap<>();
    private final Map<Integer, Usage> perUid = new HashMap<>();
    private final Map<UidPolicy, Usage> perUidPolicy = new HashMap<>();
    private final Usage total = new Usage();

    /** Leases and buffer bytes counted against one limit. */
    private static final class Usage {
        int leases;
        long bytes;

        boolean isEmpty() {
            return leases == 0 && bytes == 0;
        }
    }

    private record UidPolicy(int uid, String policy) {
    }

    LeaseRegistry(DaemonLimits limits, TicketIssuer tickets, Clock clock) {
        this.limits = requireNonNull(limits, "limits");
        this.tickets = requireNonNull(tickets, "tickets");
        this.clock = requireNonNull(clock, "clock");
    }

    /**
     * Counts a new lease of {@code policy} for {@code peer}, or refuses with
     * {@link ErrorCode#QUOTA_EXCEEDED} naming the limit.
     *
     * @param policyLeasesPerUser      the policy's limit on one uid's leases of it
     * @param policyBufferBytesPerUser the policy's limit on one uid's buffer bytes under it
     * @param bufferBytes              the buffer bytes the new lease pins
     */
    synchronized Lease reserve(Peer peer, String policy, int policyLeasesPerUser, long policyBufferBytesPerUser,
                               long bufferBytes) throws GrantException {
        Usage uid = perUid.getOrDefault(peer.uid(), new Usage());
        Usage uidPolicy = perUidPolicy.getOrDefault(new UidPolicy(peer.uid(), policy), new Usage());
        check(total.leases + 1 <= limits.leasesTotal(), "the daemon's " + limits.leasesTotal() + " leases in all");
        check(uid.leases + 1 <= limits.leasesPerUid(), "the daemon's " + limits.leasesPerUid() + " leases per user");
        check(uidPolicy.leases + 1 <= policyLeasesPerUser,
                "policy " + policy + "'s " + policyLeasesPerUser + " leases per user");
        check(total.bytes + bufferBytes <= limits.bufferBytesTotal(),
                "the daemon's " + limits.bufferBytesTotal() + " buffer bytes in all");
        check(uid.bytes + bufferBytes <= limits.bufferBytesPerUid(),
                "the daemon's " + limits.bufferBytesPerUid() + " buffer bytes per user");
        check(uidPolicy.bytes + bufferBytes <= policyBufferBytesPerUser,
                "policy " + policy + "'s " + policyBufferBytesPerUser + " buffer bytes per user");

        long ticket;
        do {
            ticket = tickets.next();
        } while (byTicket.containsKey(ticket));
        String id;
        do {
            id = tickets.nextLeaseId();
        } while (byId.containsKey(id));
        Lease lease = new Lease(id, peer, policy, ticket, bufferBytes, clock.instant());
        byId.put(id, lease);
        byConnection.computeIfAbsent(peer.connectionId(), k -> new ArrayList<>()).add(lease);
        count(lease, +1);
        return lease;
    }

    private static void check(boolean ok, String limit) throws GrantException {
        if (!ok) {
            throw new GrantException(ErrorCode.QUOTA_EXCEEDED, "would exceed " + limit);
        }
    }

    private void count(Lease lease, int sign) {
        Usage uid = perUid.computeIfAbsent(lease.peer.uid(), k -> new Usage());
        UidPolicy key = new UidPolicy(lease.peer.uid(), lease.policy);
        Usage uidPolicy = perUidPolicy.computeIfAbsent(key, k -> new Usage());
        for (Usage u : new Usage[] {total, uid, uidPolicy}) {
            u.leases += sign;
            u.bytes += sign * lease.bufferBytes;
        }
        if (uid.isEmpty()) {
            perUid.remove(lease.peer.uid());
        }
        if (uidPolicy.isEmpty()) {
            perUidPolicy.remove(key);
        }
    }

    /**
     * The ring of a reserved lease is built: its ticket becomes collectable. False if the lease
     * ended meanwhile (its connection closed): the caller must close the ring itself.
     */
    synchronized boolean activate(Lease lease, PreparedRing ring) {
        if (lease.state != Lease.State.RESERVED) {
            return false;
        }
        lease.ring = ring;
        lease.state = Lease.State.PENDING;
        lease.pendingSinceNanos = System.nanoTime();
        byTicket.put(lease.ticket, lease);
        return true;
    }

    /**
     * Takes the ticket of a pending lease held by {@code connectionId}: the lease becomes
     * DELIVERED and the ticket can never be used again. Null for an unknown, used or expired
     * ticket, or one that belongs to another connection (which leaves it untouched).
     */
    synchronized Lease claim(long connectionId, long ticket) {
        Lease lease = byTicket.get(ticket);
        if (lease == null || lease.peer.connectionId() != connectionId || lease.state != Lease.State.PENDING) {
            return null;
        }
        byTicket.remove(ticket);
        lease.state = Lease.State.DELIVERED;
        lease.delivered = clock.instant();
        return lease;
    }

    /** Ends the lease {@code id} if {@code connectionId} holds it; null otherwise. */
    synchronized Lease end(long connectionId, String id) {
        Lease lease = byId.get(id);
        if (lease == null || lease.peer.connectionId() != connectionId) {
            return null;
        }
        remove(lease);
        return lease;
    }

    /** Ends {@code lease} (a failed build, or shutdown); false if it had already ended. */
    synchronized boolean end(Lease lease) {
        if (lease.state == Lease.State.ENDED) {
            return false;
        }
        remove(lease);
        return true;
    }

    /**
     * Ends every lease whose ticket has waited {@code expiryNanos} or more uncollected, and
     * returns them. Tickets are kept in the order they became pending and all wait the same
     * time, so the scan stops at the first one that is not due: a sweep costs one look when
     * nothing is due, however many tickets are pending.
     */
    synchronized List<Lease> expireDue(long nowNanos, long expiryNanos) {
        List<Lease> due = null;
        for (Iterator<Lease> it = byTicket.values().iterator(); it.hasNext(); ) {
            Lease lease = it.next();
            if (nowNanos - lease.pendingSinceNanos < expiryNanos) {
                break;
            }
            if (due == null) {
                due = new ArrayList<>();
            }
            due.add(lease);
        }
        if (due == null) {
            return List.of();
        }
        for (Lease lease : due) {
            remove(lease);
        }
        return due;
    }

    /** Ends every lease of a connection. */
    synchronized List<Lease> endConnection(long connectionId) {
        List<Lease> leases = byConnection.get(connectionId);
        if (leases == null) {
            return List.of();
        }
        List<Lease> ended = List.copyOf(leases);
        for (Lease l : ended) {
            remove(l);
        }
        return ended;
    }

    /** Ends every lease. */
    synchronized List<Lease> endAll() {
        List<Lease> ended = List.copyOf(byId.values());
        for (Lease l : ended) {
            remove(l);
        }
        return ended;
    }

    private void remove(Lease lease) {
        byId.remove(lease.id);
        byTicket.remove(lease.ticket, lease);
        List<Lease> conn = byConnection.get(lease.peer.connectionId());
        if (conn != null) {
            conn.remove(lease);
            if (conn.isEmpty()) {
                byConnection.remove(lease.peer.connectionId());
            }
        }
        count(lease, -1);
        lease.state = Lease.State.ENDED;
    }

    synchronized List<LeaseInfo> infos() {
        return byId.values().stream().map(Lease::info).toList();
    }

    synchronized int size() {
        return byId.size();
    }

    synchronized int pendingTickets() {
        return byTicket.size();
    }

    synchronized long bufferBytes() {
        return total.bytes;
    }

    /** Leases and bytes one uid holds, for tests and the admin view. */
    synchronized long[] usageOf(int uid) {
        Usage u = perUid.get(uid);
        return u == null ? new long[] {0, 0} : new long[] {u.leases, u.bytes};
    }
}
