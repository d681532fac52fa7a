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
    /** Transparent rings installed into a trapped caller. */
    final LongAdder transparent = new LongAdder();
    /** Refused deliveries by code, counted where they are audited (so status matches the audit log). */
    final java.util.Map<org.ringwarden.protocol.ErrorCode, LongAdder> deliveryRefusedByCode = byCode();

    private static java.util.Map<org.ringwarden.protocol.ErrorCode, LongAdder> byCode() {
        java.util.Map<org.ringwarden.protocol.ErrorCode, LongAdder> m =
                new java.util.EnumMap<>(org.ringwarden.protocol.ErrorCode.class);
        for (org.ringwarden.protocol.ErrorCode c : org.ringwarden.protocol.ErrorCode.values()) {
            m.put(c, new LongAdder());
        }
        return m;
    }

    /** {@link #deliveryRefusedByCode} by code name, only the codes that occurred. */
    java.util.Map<String, Long> deliveryRefusals() {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        deliveryRefusedByCode.forEach((c, n) -> {
            long v = n.sum();
            if (v > 0) {
                out.put(c.name(), v);
            }
        });
        return out;
    }
}
