package org.ringwarden.daemon.grant;

import org.ringwarden.protocol.Tickets;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Tickets are drawn uniformly from {@code 1 .. 2^53-1}: exact as doubles, so a client
 * whose JSON parser keeps numbers as doubles sends back the ticket it was given. The bounds
 * below are many standard deviations wide: a correct issuer fails them with a probability far
 * below one in a billion.
 */
class TicketIssuerTest {
    private static final int DRAWS = 100_000;

    @Test
    void ticketsAreUniformOverOneTo2Pow53MinusOne() {
        assertThat(Tickets.MAX).isEqualTo(9_007_199_254_740_991L);
        assertThat((double) Tickets.MAX).as("the largest ticket is exact as a double")
                .isEqualTo(9_007_199_254_740_991.0);
        TicketIssuer issuer = new TicketIssuer();
        int[] setBits = new int[64];
        long max = 0;
        for (int i = 0; i < DRAWS; i++) {
            long t = issuer.next();
            assertThat(t).as("draw %d", i).isBetween(1L, Tickets.MAX);
            assertThat((long) (double) t).as("draw %d read back from a double", i).isEqualTo(t);
            max = Math.max(max, t);
            for (int b = 0; b < 64; b++) {
                setBits[b] += (int) ((t >>> b) & 1);
            }
        }
        // Bit 52 (values from 2^52 on) is set in half the draws, like every other of the 53 bits:
        // expected 50,000 of 100,000, one standard deviation 158.
        for (int b = 0; b < 53; b++) {
            assertThat(setBits[b]).as("draws with bit %d set", b).isBetween(45_000, 55_000);
        }
        for (int b = 53; b < 64; b++) {
            assertThat(setBits[b]).as("draws with bit %d set", b).isZero();
        }
        // All 100,000 below 2^53 * 0.999 would happen with probability 0.999^100000 = e^-100.
        assertThat(max).as("the largest draw reaches the top of the range")
                .isGreaterThan(Tickets.MAX - Tickets.MAX / 1000);
    }

    @Test
    void leaseIdsStayAt128Bits() {
        TicketIssuer issuer = new TicketIssuer();
        for (int i = 0; i < 1000; i++) {
            assertThat(issuer.nextLeaseId()).matches("[0-9a-f]{32}");
        }
    }
}
