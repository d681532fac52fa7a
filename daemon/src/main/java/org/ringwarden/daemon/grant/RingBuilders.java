package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The threads that build rings, in lanes per client uid: at most {@link #PER_UID} of one uid's
 * tasks run at a time, each uid's in the order they came, and a uid with nothing to run holds
 * no thread. One user's slow work (a policy file on a slow or hostile file system, a large
 * buffer to fault in) therefore delays only that user's own acquires; another uid always gets
 * a thread of its own at once. Threads are made on demand and end after a minute idle, so
 * there are never more than {@code PER_UID} times the uids with work in flight.
 *
 * <p>Rings are only ever created on these threads: a ring's creator sees spurious {@code EINTR}
 * whenever that ring is torn down (docs/security.md), so the server's threads must not be
 * creators. A task already queued when {@link #close()} is called still runs (it may own
 * descriptors); new ones are refused.
 */
final class RingBuilders implements AutoCloseable {
    /** Tasks of one uid that may run at once: enough to keep one client's pipeline busy. */
    static final int PER_UID = 2;

    private static final ThreadLocal<Boolean> ON_BUILDER = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private final ThreadPoolExecutor threads;
    private final Map<Integer, Lane> lanes = new HashMap<>(); // guarded by itself
    private boolean closed; // guarded by lanes

    /** One uid's tasks: how many run, and those waiting for a turn. */
    private static final class Lane {
        int running;
        final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
    }

    RingBuilders() {
        ThreadFactory named = Thread.ofPlatform().daemon().name("ringwarden-ring-builder-", 0).factory();
        this.threads = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> named.newThread(() -> {
                    ON_BUILDER.set(Boolean.TRUE);
                    r.run();
                }));
    }

    /** True on a ring-builder thread. */
    static boolean onBuilderThread() {
        return ON_BUILDER.get();
    }

    /** An executor that runs tasks in {@code uid}'s lane (equal for equal uids). */
    Executor forUid(int uid) {
        return new UidLane(this, uid);
    }

    private record UidLane(RingBuilders builders, int uid) implements Executor {
        @Override
        public void execute(Runnable task) {
            builders.execute(uid, task);
        }
    }

    /**
     * Runs {@code task} in {@code uid}'s lane.
     *
     * @throws RejectedExecutionException after {@link #close()}
     */
    void execute(int uid, Runnable task) {
        synchronized (lanes) {
            if (closed) {
                throw new RejectedExecutionException("the ring builders are stopped");
            }
            Lane lane = lanes.computeIfAbsent(uid, k -> new Lane());
            if (lane.running >= PER_UID) {
                lane.waiting.add(task);
                return;
            }
            lane.running++;
        }
        try {
            threads.execute(() -> runLane(uid, task));
        } catch (RejectedExecutionException e) {
            synchronized (lanes) {
                finished(uid);
            }
            throw e;
        }
    }

    /** Runs {@code first}, then whatever of the lane waits, on this thread. */
    private void runLane(int uid, Runnable first) {
        Runnable next = first;
        while (next != null) {
            try {
                next.run();
            } catch (RuntimeException e) {
                Thread t = Thread.currentThread();
                t.getUncaughtExceptionHandler().uncaughtException(t, e);
            }
            synchronized (lanes) {
                next = lane(uid).waiting.poll();
                if (next == null) {
                    finished(uid);
                }
            }
        }
    }

    /** The lane of {@code uid}, which exists while a task of it runs (removed only when none does). */
    private Lane lane(int uid) {
        return requireNonNull(lanes.get(uid), "a lane with a running task");
    }

    private void finished(int uid) {
        Lane lane = lane(uid);
        if (--lane.running == 0 && lane.waiting.isEmpty()) {
            lanes.remove(uid);
        }
    }

    /** Threads alive now (for tests and the admin view). */
    int threadCount() {
        return threads.getPoolSize();
    }

    /** Refuses new tasks and waits up to {@code waitMs} for the queued ones to finish. */
    void close(long waitMs) {
        synchronized (lanes) {
            closed = true;
        }
        threads.shutdown();
        try {
            threads.awaitTermination(waitMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        close(5_000);
    }
}
