package org.ringwarden.daemon.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.RefusedException;

/** Quota arithmetic and ticket lookup, without rings. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LeaseRegistryTest {
    private static final Peer ALICE = new Peer(1, 100, 1000, 1000, new int[0], -1, "a");
    private static final Peer ALICE_AGAIN = new Peer(2, 101, 1000, 1000, new int[0], -1, "a");
    private static final Peer BOB = new Peer(3, 102, 1001, 1001, new int[0], -1, "b");

    private static LeaseRegistry registry(int total, int perUid, long bytesTotal, long bytesPerUid) {
        return new LeaseRegistry(new DaemonLimits(total, perUid, bytesTotal, bytesPerUid, Duration.ofSeconds(5), 1, 1),
                new TicketIssuer(), Clock.systemUTC());
    }

    @Test
    void perUidLimitsCountEveryConnectionOfTheUid() throws Exception {
        LeaseRegistry r = registry(10, 2, 1 << 20, 1 << 20);
        r.reserve(ALICE, "p", 10, 1 << 20, 0, false);
        r.reserve(ALICE_AGAIN, "q", 10, 1 << 20, 0, false);
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> r.reserve(ALICE, "r", 10, 1 << 20, 0, false));
        assertThat(e).as("a third lease for uid 1000 over two connections").isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.QUOTA_EXCEEDED);
        r.reserve(BOB, "p", 10, 1 << 20, 0, false);
        assertThat(r.size()).isEqualTo(3);
    }

    @Test
    void globalBufferBytesAreShared() throws Exception {
        LeaseRegistry r = registry(10, 10, 8192, 8192);
        r.reserve(ALICE, "p", 10, 1 << 20, 4096, false);
        r.reserve(BOB, "p", 10, 1 << 20, 4096, false);
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> r.reserve(BOB, "p", 10, 1 << 20, 4096, false));
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("8192 buffer bytes in all");
    }

    @Test
    void aReleasedLeaseCountsUntilItsRingIsGoneFromEveryProcess() throws Exception {
        LeaseRegistry r = registry(1, 1, 4096, 4096);
        Lease l = r.reserve(ALICE, "p", 1, 4096, 4096, false);
        assertThat(r.activate(l, null)).isTrue();
        assertThat(r.letGo(ALICE.connectionId(), l.id)).isSameAs(l);
        assertThat(l.state).isEqualTo(Lease.State.HELD);
        assertThat(r.claim(ALICE.connectionId(), l.ticket)).as("a released lease's ticket").isNull();
        assertThat(r.letGo(ALICE.connectionId(), l.id)).as("released twice").isNull();
        assertThat(r.sweep(Set.of(l.key))).as("the client still has the ring").isEmpty();
        assertThat(r.usageOf(1000)).as("still counted").containsExactly(1, 4096);
        assertThat(catchThrowableOfType(RefusedException.class, () -> r.reserve(ALICE, "p", 1, 4096, 4096, false)))
                .as("release-and-keep gains nothing").isNotNull();
        assertThat(r.sweep(Set.of())).as("the ring is gone").containsExactly(l);
        assertThat(r.usageOf(1000)).containsExactly(0, 0);
        r.reserve(ALICE, "p", 1, 4096, 4096, false);
    }

    @Test
    void aTransparentLeaseHasNoTicketIsNotTheConnectionsAndLastsAsLongAsItsRing() throws Exception {
        LeaseRegistry r = registry(10, 10, 0, 0);
        Lease l = r.reserve(ALICE, "fio", 10, 0, 0, true);
        assertThat(l.transparent()).isTrue();
        assertThat(r.letGoConnection(ALICE.connectionId())).as("the supervisor's connection closing").isEmpty();
        assertThat(r.letGo(ALICE.connectionId(), l.id)).as("not releasable").isNull();
        assertThat(r.letGo(l)).as("handed over").isTrue();
        assertThat(r.sweep(Set.of(l.key))).isEmpty();
        assertThat(r.usageOf(1000)).containsExactly(1, 0);
        assertThat(r.sweep(Set.of())).containsExactly(l);
        assertThat(r.usageOf(1000)).containsExactly(0, 0);
    }

    @Test
    void ticketIsClaimedOnceAndOnlyByItsConnection() throws Exception {
        LeaseRegistry r = registry(10, 10, 0, 0);
        Lease l = r.reserve(ALICE, "p", 10, 0, 0, false);
        assertThat(r.claim(ALICE.connectionId(), l.ticket)).as("not built yet").isNull();
        r.activate(l, null);
        assertThat(r.claim(BOB.connectionId(), l.ticket)).as("foreign").isNull();
        assertThat(r.claim(ALICE.connectionId(), l.ticket)).as("owner").isSameAs(l);
        assertThat(r.claim(ALICE.connectionId(), l.ticket)).as("used").isNull();
        assertThat(r.expireDue(System.nanoTime() + 1_000_000_000L, 1)).as("a delivered lease does not expire").isEmpty();
        assertThat(r.usageOf(1000)).as("still counted").containsExactly(1, 0);
    }

    @Test
    void onlyTicketsThatWaitedTheExpiryExpireOldestFirst() throws Exception {
        LeaseRegistry r = registry(10, 10, 0, 0);
        Lease first = r.reserve(ALICE, "p", 10, 0, 0, false);
        Lease second = r.reserve(ALICE, "p", 10, 0, 0, false);
        Lease third = r.reserve(ALICE, "p", 10, 0, 0, false);
        r.activate(first, null);
        r.activate(second, null);
        r.activate(third, null);
        assertThat(r.claim(ALICE.connectionId(), second.ticket)).as("collected").isSameAs(second);
        long expiry = 5_000_000_000L;
        assertThat(r.expireDue(third.pendingSinceNanos + expiry - 1, expiry)).as("first is due, third is not")
                .containsExactly(first);
        assertThat(r.claim(ALICE.connectionId(), first.ticket)).as("an expired ticket").isNull();
        assertThat(r.expireDue(third.pendingSinceNanos + expiry, expiry)).as("now third").containsExactly(third);
        assertThat(r.sweep(Set.of())).as("their rings never left the daemon").containsExactlyInAnyOrder(first, third);
        assertThat(r.usageOf(1000)).as("only the collected lease is still counted").containsExactly(1, 0);
        assertThat(r.pendingTickets()).isZero();
    }

    @Test
    void reservedLeaseEndedByConnectionCloseCannotBeActivated() throws Exception {
        LeaseRegistry r = registry(10, 10, 0, 0);
        Lease l = r.reserve(ALICE, "p", 10, 0, 0, false);
        assertThat(r.letGoConnection(ALICE.connectionId())).containsExactly(l);
        assertThat(l.state).as("never built: ended at once").isEqualTo(Lease.State.ENDED);
        assertThat(r.activate(l, null)).as("the builder must close the ring itself").isFalse();
    }

    @Test
    void concurrentReservationsNeverPassALimit() throws Exception {
        LeaseRegistry r = registry(1000, 7, 1L << 40, 1L << 40);
        int threads = 8;
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger granted = new AtomicInteger();
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            ts.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int k = 0; k < 20; k++) {
                        try {
                            r.reserve(ALICE, "p", 100, 1L << 40, 1, false);
                            granted.incrementAndGet();
                        } catch (RefusedException e) {
                            // over the limit: expected
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
        }
        go.countDown();
        for (Thread t : ts) {
            t.join();
        }
        assertThat(granted.get()).as("exactly the per-uid limit").isEqualTo(7);
        assertThat(r.usageOf(1000)).containsExactly(7, 7);
    }

    @Test
    void ticketsAreDistinctPositiveNumbers() {
        TicketIssuer t = new TicketIssuer();
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            long v = t.next();
            assertThat(v).as("positive").isPositive();
            assertThat(seen.add(v)).as("no repeat in 10,000").isTrue();
        }
        assertThat(t.nextLeaseId()).as("128 bits in hex").hasSize(32);
    }
}
