package org.ringwarden.daemon.server;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.ringwarden.protocol.ErrorCode;

/** The server's counters for {@code status}: grants, refusals by code, connections. Thread-safe. */
public final class ServerStats {
    private final Instant started = Instant.now();
    private final long startedNanos = System.nanoTime();
    private final LongAdder grants = new LongAdder();
    private final Map<ErrorCode, LongAdder> refusals = new EnumMap<>(ErrorCode.class);
    private final AtomicLong connections = new AtomicLong();

    public ServerStats() {
        for (ErrorCode c : ErrorCode.values()) {
            refusals.put(c, new LongAdder());
        }
    }

    public void granted() {
        grants.increment();
    }

    public void refused(ErrorCode code) {
        requireNonNull(refusals.get(code), "every code has a counter").increment();
    }

    void connectionOpened() {
        connections.incrementAndGet();
    }

    void connectionClosed() {
        connections.decrementAndGet();
    }

    public long grants() {
        return grants.sum();
    }

    /** Refusals since start by code name, only the codes that occurred. */
    public Map<String, Long> refusals() {
        Map<String, Long> m = new TreeMap<>();
        refusals.forEach((code, n) -> {
            long v = n.sum();
            if (v > 0) {
                m.put(code.name(), v);
            }
        });
        return m;
    }

    public int connections() {
        return (int) connections.get();
    }

    public Instant started() {
        return started;
    }

    public long uptimeSeconds() {
        return (System.nanoTime() - startedNanos) / 1_000_000_000L;
    }
}
