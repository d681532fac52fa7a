package org.ringwarden.daemon.trace;

import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * At most {@link #PER_SECOND} reports per process and second leave the watcher, the audit's
 * own limit per process (AuditThrottle): a program that has the kernel refuse requests in a
 * loop, or runs a complain-mode ring flat out, costs the daemon a few reports a second, not
 * a {@code /proc} walk per request, so that it cannot slow what the daemon does for other
 * users. One window for all processes, restarted each second; at most {@link #MAX_PROCESSES}
 * processes have their own count in a window, the rest share one (memory stays bounded
 * whatever pids a hostile user makes). Thread-safe.
 */
final class PerProcessRate {
    static final int PER_SECOND = 5;
    static final int MAX_PROCESSES = 4096;
    private static final long WINDOW_NANOS = 1_000_000_000L;
    private static final int OTHERS = -1;

    private final LongSupplier nanos;
    private final Map<Integer, Integer> counts = new HashMap<>();
    private long windowStart;

    PerProcessRate(LongSupplier nanos) {
        this.nanos = nanos;
        this.windowStart = nanos.getAsLong();
    }

    /** Whether one more report of process {@code pid} (a thread id when the process is unknown) may go now. */
    synchronized boolean admit(int pid) {
        long now = nanos.getAsLong();
        if (now - windowStart >= WINDOW_NANOS) {
            counts.clear();
            windowStart = now;
        }
        int key = counts.containsKey(pid) || counts.size() < MAX_PROCESSES ? pid : OTHERS;
        int n = counts.merge(key, 1, Integer::sum);
        return n <= PER_SECOND;
    }
}
