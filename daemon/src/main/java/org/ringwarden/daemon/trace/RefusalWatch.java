package org.ringwarden.daemon.trace;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;

import org.ringwarden.protocol.Request.RefusedSqe;

/**
 * Watches the kernel refuse requests because of a ring's restrictions ({@code EACCES} in the
 * {@code io_uring_req_failed} tracepoint, filtered in the kernel) and hands them on in batches:
 * at most one per {@value #FLUSH_MS} ms, identical refusals of one thread in a batch once, at
 * most {@value PerProcessRate#PER_SECOND} a second per process ({@link PerProcessRate}). The
 * daemon decides which of them were on its rings and audits those ({@code report-refusals}); it
 * also limits the audit records per process, as for every refusal.
 *
 * <p>Rings of complain-mode policies refuse almost nothing; what their policies' lists leave
 * out must be seen as it is submitted. Every {@value #REFRESH_MS} ms the watch asks which
 * processes use such rings ({@code complain-targets}, their task ids) and traces
 * {@code io_uring_submit_req} of those tasks only (a second instance, filtered by task in the kernel, following forks);
 * each kind of submission of a thread is handed on once a minute, and the daemon keeps those
 * the lists leave out.
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

    /** How often the watch asks which processes use complain-mode rings. */
    static final long REFRESH_MS = 200;
    /** How long a thread's submission of one kind is handed on only once. */
    static final long REPEAT_MS = 60_000;

    private final BlockingQueue<RefusedSqe> queue = new ArrayBlockingQueue<>(QUEUE);
    private final PerProcessRate rate = new PerProcessRate(System::nanoTime);
    private final Supplier<List<Integer>> complainTargets;
    /** Submissions handed on in this {@link #REPEAT_MS} window (read and written on the complain trace's reader). */
    private final Set<Kind> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * What makes two reports the same: the thread, opcode and flags. Not the process, which the
     * kernel names on some lines of a task and not on others ({@code (-------)}).
     */
    private record Kind(int tid, String op, int sqeFlags) {
        static Kind of(RefusedSqe r) {
            return new Kind(r.tid(), r.op(), r.sqeFlags());
        }
    }
    private volatile Set<Integer> following = Set.of();
    private final Thread refresher;
    private @Nullable IoUringTrace complain;
    private final AtomicLong dropped = new AtomicLong();
    private final Consumer<List<RefusedSqe>> sink;
    private final Thread flusher;
    private volatile boolean running = true;
    @SuppressWarnings("NullAway.Init") // set by start() before the watch is returned
    private IoUringTrace trace;

    private RefusalWatch(Consumer<List<RefusedSqe>> sink, Supplier<List<Integer>> complainTargets) {
        this.sink = sink;
        this.complainTargets = complainTargets;
        this.flusher = Thread.ofPlatform().name("ringwarden-refusals").unstarted(this::flush);
        this.refresher = Thread.ofPlatform().daemon().name("ringwarden-complain").unstarted(this::refresh);
    }

    /**
     * Starts watching; {@code sink} gets each batch on a thread of the watch's own.
     *
     * @param complainTargets the tasks of the processes using complain-mode rings now (the
     *                        daemon's {@code complain-targets}), asked every {@value #REFRESH_MS} ms
     */
    public static RefusalWatch start(Consumer<List<RefusedSqe>> sink, Supplier<List<Integer>> complainTargets)
            throws IOException {
        RefusalWatch w = new RefusalWatch(sink, complainTargets);
        w.trace = IoUringTrace.start("refusals", List.of("io_uring/io_uring_req_failed"),
                Map.of("io_uring/io_uring_req_failed", "error == -" + EACCES), w);
        try {
            w.complain = IoUringTrace.following("complain", List.of("io_uring/io_uring_submit_req"), w);
        } catch (IOException | RuntimeException e) {
            w.trace.close();
            throw e;
        }
        w.flusher.start();
        w.refresher.start();
        return w;
    }

    /** The tasks whose submissions are traced now (the last {@code complain-targets} answer). */
    public Set<Integer> following() {
        return following;
    }

    @Override
    public void submitted(int tid, int tgid, String op, long reqFlags) {
        if (op.isEmpty() || op.length() > 32) {
            return;
        }
        RefusedSqe r;
        try {
            r = new RefusedSqe(tid, op, (int) (reqFlags & 0xff), tgid);
        } catch (IllegalArgumentException e) {
            return;
        }
        Kind kind = Kind.of(r);
        if (seen.contains(kind)) {
            return;
        }
        // Marked seen only once it goes: one held back by the rate is handed on when it comes again.
        if (rate.admit(tgid > 0 ? tgid : tid) && queue.offer(r)) {
            if (seen.size() >= QUEUE) {
                seen.clear(); // bounded whatever a hostile program varies: kinds may repeat early, no more
            }
            seen.add(kind);
        } else {
            dropped.incrementAndGet();
        }
    }

    private void refresh() {
        long windowStart = System.nanoTime();
        while (running) {
            try {
                Set<Integer> tids = Set.copyOf(complainTargets.get());
                if (!tids.equals(following)) {
                    IoUringTrace c = complain;
                    if (c != null) {
                        c.follow(tids);
                    }
                    following = tids;
                }
            } catch (IOException | RuntimeException e) {
                // the daemon is away or tracefs refused: the next round tries again
            }
            if (System.nanoTime() - windowStart > TimeUnit.MILLISECONDS.toNanos(REPEAT_MS)) {
                seen.clear();
                windowStart = System.nanoTime();
            }
            try {
                Thread.sleep(REFRESH_MS); // a period, not a wait for some state
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void failed(int tid, int tgid, String op, long reqFlags, int error) {
        if (error != -EACCES || op.isEmpty() || op.length() > 32) {
            return;
        }
        try {
            RefusedSqe r = new RefusedSqe(tid, op, (int) (reqFlags & 0xff), tgid);
            if (!rate.admit(tgid > 0 ? tgid : tid) || !queue.offer(r)) {
                dropped.incrementAndGet();
            }
        } catch (IllegalArgumentException e) {
            // an opcode name the protocol does not take (the kernel's "INVALID" is upper case too): skip
        }
    }

    /** Refusals and submissions left out: beyond a process's rate ({@link PerProcessRate}), or the queue was full. */
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
            // One of each kind, the one that names its process if any does.
            Map<Kind, RefusedSqe> once = new java.util.LinkedHashMap<>();
            for (RefusedSqe r : batch) {
                once.merge(Kind.of(r), r, (a, b) -> a.pid() > 0 ? a : b);
            }
            batch.clear();
            try {
                sink.accept(List.copyOf(once.values()));
            } catch (RuntimeException e) {
                // the sink reports its own failures; the watch goes on
            }
        }
    }

    /** Stops tracing and hands on what was seen so far. */
    @Override
    public void close() throws IOException {
        refresher.interrupt();
        IoUringTrace c = complain;
        if (c != null) {
            c.close();
        }
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
