package org.ringwarden.daemon.audit;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.slf4j.Logger;

/**
 * The audit log's queue and its writer thread: callers hand over records, one thread formats
 * and writes them in the order they were queued. Nothing is dropped (a full queue blocks the
 * caller); {@link #flush()} waits until everything queued before it is written. The thread is
 * started with the first record and a JVM shutdown hook flushes the queue.
 */
final class AuditWriter {
    private static final int BATCH = 256;
    /** How long the writer lets records gather after writing a batch that was not full. */
    private static final long COALESCE_NANOS = 5_000_000;
    private final Logger logger;
    private final ArrayBlockingQueue<AuditRecord> queue;
    /** Records handed over, and records written (or failed to write): flush waits for the second to reach the first. */
    private final AtomicLong queued = new AtomicLong();
    private long written; // guarded by this
    private Thread thread; // guarded by this

    /** Runs after each batch: pushes what the batch wrote out of the destination's buffer. */
    private final Runnable afterBatch;

    AuditWriter(Logger logger, int capacity, Runnable afterBatch) {
        this.logger = logger;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.afterBatch = afterBatch;
    }

    void add(AuditRecord r) {
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

    void flush() {
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
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                continue; // nobody interrupts this thread but a bug; records are never abandoned
            }
            queue.drainTo(batch, BATCH - 1);
            int n = batch.size();
            for (AuditRecord r : batch) {
                try {
                    logger.info(AuditLog.toJson(r));
                } catch (RuntimeException | Error e) {
                    // Logback reports appender failures in its status; a bad record must not stop the others.
                }
            }
            try {
                afterBatch.run(); // one write(2) per batch, not one per record
            } catch (RuntimeException | Error e) {
                // as above: reported by Logback's status
            }
            synchronized (this) {
                written += batch.size();
                notifyAll();
            }
            batch.clear();
            if (n < BATCH) {
                // Let records gather instead of being woken for each: a record queued while this
                // thread sleeps here wakes nobody (the queue signals only a waiting taker), so the
                // deciding threads (an acquire queues two or three records) hand off without a
                // futex wake-up, and this thread competes for a CPU about once per COALESCE_NANOS
                // rather than once per record. A record is written at most that much later.
                LockSupport.parkNanos(COALESCE_NANOS);
            }
        }
    }
}
