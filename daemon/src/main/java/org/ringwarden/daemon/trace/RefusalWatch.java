package org.ringwarden.daemon.trace;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.ringwarden.protocol.Request.RefusedSqe;

/**
 * Watches the kernel refuse requests because of a ring's restrictions ({@code EACCES} in the
 * {@code io_uring_req_failed} tracepoint, filtered in the kernel) and hands them on in batches:
 * at most one per {@value #FLUSH_MS} ms, identical refusals of one thread in a batch once. The
 * daemon decides which of them were on its rings and audits those ({@code report-refusals}); it
 * also limits the audit records per process, as for every refusal.
 *
 * <p>Tracing needs root, and the daemon is not root: this runs in its own process and unit
 * ({@code ringwarden watch-refusals}, {@code ringwarden-refusals.service}).
 */
public final class RefusalWatch implements IoUringTrace.Listener, AutoCloseable {
    static final long FLUSH_MS = 100;
    /** Refusals waiting for the next batch; past this they are counted and dropped (a program in a refused loop). */
    static final int QUEUE = 65_536;
    private static final int EACCES = 13;
    private static final int MAX_BATCH = org.ringwarden.protocol.Request.ReportRefusals.MAX_REFUSALS;

    private final BlockingQueue<RefusedSqe> queue = new ArrayBlockingQueue<>(QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final Consumer<List<RefusedSqe>> sink;
    private final Thread flusher;
    private volatile boolean running = true;
    @SuppressWarnings("NullAway.Init") // set by start() before the watch is returned
    private IoUringTrace trace;

    private RefusalWatch(Consumer<List<RefusedSqe>> sink) {
        this.sink = sink;
        this.flusher = Thread.ofPlatform().name("ringwarden-refusals").unstarted(this::flush);
    }

    /** Starts watching; {@code sink} gets each batch on a thread of the watch's own. */
    public static RefusalWatch start(Consumer<List<RefusedSqe>> sink) throws IOException {
        RefusalWatch w = new RefusalWatch(sink);
        w.trace = IoUringTrace.start("refusals", List.of("io_uring/io_uring_req_failed"),
                Map.of("io_uring/io_uring_req_failed", "error == -" + EACCES), w);
        w.flusher.start();
        return w;
    }

    @Override
    public void failed(int tid, String op, long reqFlags, int error) {
        if (error != -EACCES || op.isEmpty() || op.length() > 32) {
            return;
        }
        try {
            if (!queue.offer(new RefusedSqe(tid, op, (int) (reqFlags & 0xff)))) {
                dropped.incrementAndGet();
            }
        } catch (IllegalArgumentException e) {
            // an opcode name the protocol does not take (the kernel's "INVALID" is upper case too): skip
        }
    }

    /** Refusals dropped because the queue was full. */
    public long dropped() {
        return dropped.get();
    }

    private void flush() {
        List<RefusedSqe> batch = new ArrayList<>();
        while (running || !queue.isEmpty()) {
            try {
                RefusedSqe first = queue.poll(FLUSH_MS, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            queue.drainTo(batch, MAX_BATCH - 1);
            Set<RefusedSqe> once = new LinkedHashSet<>(batch);
            batch.clear();
            try {
                sink.accept(List.copyOf(once));
            } catch (RuntimeException e) {
                // the sink reports its own failures; the watch goes on
            }
        }
    }

    /** Stops tracing and hands on what was seen so far. */
    @Override
    public void close() throws IOException {
        try {
            trace.stop(10);
        } finally {
            trace.close();
            running = false; // the flusher hands on what is queued, then ends
            try {
                flusher.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
