package org.ringwarden.daemon.grant;

import java.util.concurrent.atomic.LongAdder;

/** Event counters since start, for {@link GrantStats}. */
final class GrantCounters {
    final LongAdder granted = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder delivered = new LongAdder();
    final LongAdder deliveryRefused = new LongAdder();
    final LongAdder expired = new LongAdder();
    final LongAdder released = new LongAdder();
}
