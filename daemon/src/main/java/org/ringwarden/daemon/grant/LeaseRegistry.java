package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.RefusedException;

import org.jspecify.annotations.Nullable;

/**
 * Every live lease, with the quotas they count against and lookup by id, ticket and connection.
 *
 * <p>A lease is counted from {@link #reserve} (before its ring is built, so that two concurrent
 * acquires cannot both pass a limit with one slot left) until its ring is gone: not when the
 * client says {@code release}, and not when its connection closes, since the client may keep
 * the ring (the kernel offers no revocation). {@link #letGo} moves a lease to {@link
 * Lease.State#HELD} when the daemon closes its own copies; {@link #sweep} ends the held leases
 * whose rings the {@link org.ringwarden.linux.OpenFileWatch} no longer lists. A lease whose ring
 * never left the daemon (still being built) ends at once. The callers close rings outside this
 * lock (closing a ring can take a while, and interrupts the thread that created it).
 *
 * <p>Limits: the daemon's ({@link DaemonLimits}: total and per uid, leases and buffer bytes) and
 * the policy's (per uid, counted over that policy's leases only). Transparent rings count like
 * acquired ones.
 */
final class LeaseRegistry {
    private final DaemonLimits limits;
    private final TicketIssuer tickets;
    private final Clock clock;

    private final Map<String, Lease> byId = new HashMap<>();
    /** Pending leases by ticket, in the order they became pending: the oldest ticket first (see {@link #expireDue}). */
    private final Map<Long, Lease> byTicket = new LinkedHashMap<>();
    /** Leases a connection may still release (not yet let go). */
    private final Map<Long, List<Lease>> byConnection = new HashMap<>();
    /** Leases the daemon let go of, by watch key, until their rings are gone. */
    private final Map<Long, Lease> held = new HashMap<>();
    private final Map<Integer, Usage> perUid = new HashMap<>();
    private final Map<UidPolicy, Usage> perUidPolicy = new HashMap<>();
    private final Usage total = new Usage();
    private long nextKey = 1;

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
     * @param transparent              a ring for an unmodified program: no ticket, and not the
     *                                 connection's to release (it lasts as long as the program's ring)
     */
    synchronized Lease reserve(Peer peer, String policy, int policyLeasesPerUser, long policyBufferBytesPerUser,
                               long bufferBytes, boolean transparent) throws RefusedException {
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

        long ticket = 0;
        if (!transparent) {
            do {
                ticket = tickets.next();
            } while (byTicket.containsKey(ticket));
        }
        String id;
        do {
            id = tickets.nextLeaseId();
        } while (byId.containsKey(id));
        Lease lease = new Lease(id, nextKey++, peer, policy, ticket, bufferBytes, clock.instant());
        byId.put(id, lease);
        if (!transparent) {
            byConnection.computeIfAbsent(peer.connectionId(), k -> new ArrayList<>()).add(lease);
        }
        count(lease, +1);
        return lease;
    }

    private static void check(boolean ok, String limit) throws RefusedException {
        if (!ok) {
            throw new RefusedException(ErrorCode.QUOTA_EXCEEDED, "would exceed " + limit);
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
    synchronized @Nullable Lease claim(long connectionId, long ticket) {
        Lease lease = byTicket.get(ticket);
        if (lease == null || lease.peer.connectionId() != connectionId || lease.state != Lease.State.PENDING) {
            return null;
        }
        byTicket.remove(ticket);
        lease.state = Lease.State.DELIVERED;
        lease.delivered = clock.instant();
        return lease;
    }

    /**
     * The connection {@code connectionId} releases lease {@code id}: see {@link #letGo(Lease)}.
     * Null if the connection holds no such lease (or let go of it already).
     */
    synchronized @Nullable Lease letGo(long connectionId, String id) {
        Lease lease = byId.get(id);
        if (lease == null || lease.peer.connectionId() != connectionId || lease.transparent()
                || lease.state == Lease.State.HELD || lease.state == Lease.State.ENDED) {
            return null;
        }
        letGo(lease);
        return lease;
    }

    /**
     * The daemon lets go of {@code lease}: a reserved one (its ring is still being built, and
     * its builder will close it) ends at once; a pending, delivered or just-made transparent one
     * becomes {@link Lease.State#HELD}, and the caller must close its copies with the ring
     * on the watch ({@link Lease#closeResources}) and then {@link #sweep}. False if it was held
     * or ended already.
     */
    synchronized boolean letGo(Lease lease) {
        switch (lease.state) {
            case RESERVED -> {
                if (lease.transparent()) {
                    hold(lease);
                } else {
                    remove(lease);
                }
                return true;
            }
            case PENDING, DELIVERED -> {
                hold(lease);
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private void hold(Lease lease) {
        byTicket.remove(lease.ticket, lease);
        forgetConnection(lease);
        lease.state = Lease.State.HELD;
        held.put(lease.key, lease);
    }

    /** Ends {@code lease} now (its ring was never made, or never left the daemon); false if it had ended already. */
    synchronized boolean end(Lease lease) {
        if (lease.state == Lease.State.ENDED) {
            return false;
        }
        remove(lease);
        return true;
    }

    /**
     * Lets go of every lease whose ticket has waited {@code expiryNanos} or more uncollected, and
     * returns them (the caller closes their rings, which nobody else holds). Tickets are kept in
     * the order they became pending and all wait the same time, so the scan stops at the first
     * one that is not due: a sweep costs one look when nothing is due.
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
            letGo(lease);
        }
        return due;
    }

    /** Lets go of every lease of a connection (see {@link #letGo(Lease)}) and returns them. */
    synchronized List<Lease> letGoConnection(long connectionId) {
        List<Lease> leases = byConnection.get(connectionId);
        if (leases == null) {
            return List.of();
        }
        List<Lease> released = List.copyOf(leases);
        for (Lease l : released) {
            letGo(l);
        }
        return released;
    }

    /**
     * Ends every held lease whose key {@code liveKeys} does not list (its ring is gone from
     * every process) and returns them.
     */
    synchronized List<Lease> sweep(java.util.Set<Long> liveKeys) {
        List<Lease> gone = null;
        for (Lease lease : held.values()) {
            if (!liveKeys.contains(lease.key)) {
                if (gone == null) {
                    gone = new ArrayList<>();
                }
                gone.add(lease);
            }
        }
        if (gone == null) {
            return List.of();
        }
        for (Lease lease : gone) {
            remove(lease);
        }
        return gone;
    }

    /** Held leases: the daemon let go, the client may still hold the ring. */
    synchronized int heldCount() {
        return held.size();
    }

    /**
     * An administrator revokes: lets go of lease {@code id}, or of every lease of {@code uid}
     * (see {@link #letGo(Lease)}), and returns what each was before; leases held or ended
     * already are left as they are. Transparent leases too: their program keeps its rings.
     */
    synchronized List<LeaseInfo> revoke(@Nullable String id, @Nullable Integer uid, List<Lease> letGo) {
        List<LeaseInfo> revoked = new ArrayList<>();
        for (Lease l : List.copyOf(byId.values())) {
            boolean match = id != null ? l.id.equals(id) : uid != null && l.peer.uid() == uid;
            if (match && l.state != Lease.State.HELD && l.state != Lease.State.ENDED) {
                LeaseInfo before = l.info();
                if (letGo(l)) {
                    revoked.add(before);
                    letGo.add(l);
                }
            }
        }
        return revoked;
    }

    /** Lets go of every lease (shutdown) and returns those that were not held already. */
    synchronized List<Lease> letGoAll() {
        List<Lease> released = new ArrayList<>();
        for (Lease l : List.copyOf(byId.values())) {
            if (letGo(l)) {
                released.add(l);
            }
        }
        return released;
    }

    private void forgetConnection(Lease lease) {
        List<Lease> conn = byConnection.get(lease.peer.connectionId());
        if (conn != null) {
            conn.remove(lease);
            if (conn.isEmpty()) {
                byConnection.remove(lease.peer.connectionId());
            }
        }
    }

    private void remove(Lease lease) {
        org.ringwarden.policy.Allowed lists = lease.lists;
        if (lists != null) {
            // A program's last request may be reported after it exited and its lease ended.
            recent.put(lease.info().pid(), new Holder(lease.info(), lists, lease.complains));
        }
        byId.remove(lease.id);
        byTicket.remove(lease.ticket, lease);
        held.remove(lease.key, lease);
        forgetConnection(lease);
        count(lease, -1);
        lease.state = Lease.State.ENDED;
    }

    /**
     * A lease's holder as refusal reports need it: who, under which policy's lists, and whether
     * in complain mode.
     */
    record Holder(LeaseInfo info, org.ringwarden.policy.Allowed lists, boolean complains) {
    }

    /** How many ended holders {@link #holderOf} remembers (the oldest go first). */
    static final int RECENT = 1024;

    /** Holders of ended leases by pid, most recent last: reports arrive a little after the fact. */
    private final Map<Integer, Holder> recent = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Holder> eldest) {
            return size() > RECENT;
        }
    };

    /** Every live lease's holder. */
    synchronized List<Holder> holders() {
        List<Holder> out = new ArrayList<>();
        for (Lease l : byId.values()) {
            org.ringwarden.policy.Allowed a = l.lists;
            if (a != null) {
                out.add(new Holder(l.info(), a, l.complains));
            }
        }
        return out;
    }

    /**
     * The holder of a live lease of process {@code pid}, else of the last lease of {@code pid}
     * that ended (among the last {@value #RECENT}); null if none. A pid reused since names the
     * earlier holder: reports are audit text, and pids are reused slowly.
     */
    synchronized @Nullable Holder holderOf(int pid) {
        for (Lease l : byId.values()) {
            org.ringwarden.policy.Allowed a = l.lists;
            if (a != null && l.info().pid() == pid) {
                return new Holder(l.info(), a, l.complains);
            }
        }
        return recent.get(pid);
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
