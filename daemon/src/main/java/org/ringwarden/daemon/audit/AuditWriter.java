package org.ringwarden.daemon.audit;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

import org.ringwarden.daemon.grant.RingFactory;
import org.ringwarden.protocol.ErrorCode;
import org.slf4j.Logger;

import org.jspecify.annotations.Nullable;

/**
 * The audit log's queue and its writer thread: callers hand over records, one thread formats
 * and writes them in the order they were queued. Nothing queued is dropped (a full queue blocks
 * the caller); {@link #flush()} waits until everything queued before it is written. The thread
 * is started with the first record and a JVM shutdown hook flushes the queue.
 *
 * <p>Before a record is queued, a refusal that a process can repeat at will ({@link #limited})
 * passes an {@link AuditThrottle}: a few per second per (pid, event, code), then one summary.
 * Grants, every other success and refused acquires are never held back. The writer also logs
 * {@linkplain #operational operational} records to the daemon's own log, through a second
 * throttle of the same kind (there refused acquires are limited too). It looks for summaries
 * that are due at least once a second, so it wakes once a second even when idle.
 */
final class AuditWriter {
    private static final int BATCH = 256;
    /** How long the writer lets records gather after writing a batch that was not full. */
    private static final long COALESCE_NANOS = 5_000_000;
    /** How long the writer waits for a record before it writes the summaries that are due. */
    private static final long SWEEP_NANOS = AuditThrottle.WINDOW_NANOS;
    private final Logger logger;
    private final Logger operational;
    private final ArrayBlockingQueue<AuditRecord> queue;
    /** For the audit trail: refusals other than acquire's. */
    private final AuditThrottle refusals;
    /** For the operational log: every operational record. */
    private final AuditThrottle operations;
    /** Records handed over, and records written (or failed to write): flush waits for the second to reach the first. */
    private final AtomicLong queued = new AtomicLong();
    private long written; // guarded by this
    private @Nullable Thread thread; // guarded by this; null until started

    /** Runs after each batch: pushes what the batch wrote out of the destination's buffer. */
    private final Runnable afterBatch;

    /**
     * @param logger      the audit trail's logger
     * @param operational the daemon's operational log (the journal), for {@link #operational} records
     * @param nanos       the throttles' clock ({@code System::nanoTime})
     */
    AuditWriter(Logger logger, int capacity, Runnable afterBatch, Logger operational, LongSupplier nanos) {
        this.logger = requireNonNull(logger, "logger");
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.afterBatch = requireNonNull(afterBatch, "afterBatch");
        this.operational = requireNonNull(operational, "operational");
        this.refusals = new AuditThrottle(nanos);
        this.operations = new AuditThrottle(nanos);
    }

    /**
     * Refusals that a process can repeat as fast as it likes (a trapped call, a bad request): rate-limited
     * and summarised. Not successes (a grant, a delivery, a release: each is bounded by the grants), and
     * not refused acquires: every one of those is written.
     */
    static boolean limited(AuditRecord r) {
        return !"ok".equals(r.outcome()) && !"acquire".equals(r.event());
    }

    /**
     * Records the operator must see in the journal, not only in the audit trail: the daemon's own
     * failures ({@code INTERNAL}) and acquires refused because a policy's file could not be opened.
     */
    static boolean operational(AuditRecord r) {
        return r.code() == ErrorCode.INTERNAL || "acquire".equals(r.event()) && !"ok".equals(r.outcome())
                && r.detail() != null && r.detail().contains(RingFactory.Step.OPEN_FILE.doing());
    }

    void add(AuditRecord r) {
        if (!limited(r)) {
            enqueue(r);
            return;
        }
        for (AuditRecord x : refusals.admit(r)) {
            enqueue(x);
        }
    }

    private void enqueue(AuditRecord r) {
        start();
        queued.incrementAndGet();
        boolean interrupted = false;
        while (true) {
            try {
                queue.put(r);
                break;
            } catch (InterruptedException e) {
                interrupted = true; // a record is never dropped; keep the interrupt for the caller
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until every record queued before the call is written, with the summaries of every
     * throttle window still open (so a stop loses no count; those windows end here).
     */
    void flush() {
        for (AuditRecord s : refusals.drain()) {
            enqueue(s);
        }
        long target = queued.get();
        boolean interrupted = false;
        synchronized (this) {
            while (written < target && thread != null && thread.isAlive()) {
                try {
                    wait(100);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        for (AuditRecord s : operations.drain()) {
            logOperational(s);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized void start() {
        if (thread != null) {
            return;
        }
        thread = Thread.ofPlatform().daemon().name("ringwarden-audit").unstarted(this::run);
        thread.start();
        try {
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("ringwarden-audit-flush").unstarted(this::flush));
        } catch (IllegalStateException e) {
            // Already shutting down: whoever stops the daemon flushes.
        }
    }

    private void run() {
        List<AuditRecord> batch = new ArrayList<>(BATCH);
        while (true) {
            AuditRecord first;
            try {
                first = queue.poll(SWEEP_NANOS, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                continue; // nobody interrupts this thread but a bug; records are never abandoned
            }
            int taken = 0;
            if (first != null) {
                batch.add(first);
                queue.drainTo(batch, BATCH - 1);
                taken = batch.size();
            }
            // Windows whose process went quiet: nobody else would write their summaries.
            batch.addAll(refusals.due());
            for (AuditRecord r : batch) {
                write(r);
            }
            for (AuditRecord s : operations.due()) {
                logOperational(s);
            }
            if (!batch.isEmpty()) {
                try {
                    afterBatch.run(); // one write(2) per batch, not one per record
                } catch (RuntimeException | Error e) {
                    // as above: reported by Logback's status
                }
            }
            synchronized (this) {
                written += taken;
                notifyAll();
            }
            batch.clear();
            if (taken > 0 && taken < BATCH) {
                // Let records gather instead of being woken for each: a record queued while this
                // thread sleeps here wakes nobody (the queue signals only a waiting taker), so the
                // deciding threads (an acquire queues two or three records) hand off without a
                // futex wake-up, and this thread competes for a CPU about once per COALESCE_NANOS
                // rather than once per record. A record is written at most that much later.
                LockSupport.parkNanos(COALESCE_NANOS);
            }
        }
    }

    private void write(AuditRecord r) {
        try {
            logger.info(AuditLog.toJson(r));
        } catch (RuntimeException | Error e) {
            // Logback reports appender failures in its status; a bad record must not stop the others.
        }
        if (operational(r)) {
            for (AuditRecord x : operations.admit(r)) {
                logOperational(x);
            }
        }
    }

    /** One line in the daemon's log: the record's JSON (escaped, so a peer's text cannot forge lines). */
    private void logOperational(AuditRecord r) {
        try {
            operational.warn("{} {} ({}): {}", r.event(), r.outcome(), r.code(), AuditLog.toJson(r));
        } catch (RuntimeException | Error e) {
            // as for the audit logger
        }
    }
}
