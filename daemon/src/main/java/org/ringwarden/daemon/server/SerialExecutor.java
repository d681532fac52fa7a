package org.ringwarden.daemon.server;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Runs one connection's tasks one after another, in submission order, each on the pool it was
 * submitted for: the broker sees a connection's {@code connectionClosed} only after its last
 * {@code acquire} has returned, so no lease can be created for a connection that is already gone.
 *
 * <p>Tasks for one pool run back to back on one of its threads; when the next task wants
 * another pool the run moves there (an {@code acquire} runs on the grant side's ring-builder
 * threads, everything else on the request pool), so an acquire costs no extra thread hop.
 */
final class SerialExecutor implements Executor {
    private record Task(Runnable work, Executor pool) {
    }

    private final Executor defaultPool;
    private final ArrayDeque<Task> tasks = new ArrayDeque<>();
    private boolean running;

    SerialExecutor(Executor defaultPool) {
        this.defaultPool = defaultPool;
    }

    /** Queues {@code task} for the default pool; throws {@link RejectedExecutionException} if it refuses to start a run. */
    @Override
    public void execute(Runnable task) {
        execute(task, defaultPool);
    }

    /** Queues {@code task} to run on {@code pool}; throws {@link RejectedExecutionException} if it refuses to start a run. */
    void execute(Runnable task, Executor pool) {
        Task t = new Task(task, pool);
        synchronized (this) {
            tasks.add(t);
            if (running) {
                return;
            }
            running = true;
        }
        try {
            pool.execute(() -> drain(pool));
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                tasks.remove(t);
                running = false;
            }
            throw e;
        }
    }

    private void drain(Executor here) {
        while (true) {
            Task next;
            synchronized (this) {
                next = tasks.peek();
                if (next == null) {
                    running = false;
                    return;
                }
                // equals, not ==: a uid's builder lane is a value, made anew for each request.
                if (!next.pool().equals(here) && moveTo(next.pool())) {
                    return; // the run goes on there, still `running`
                }
                tasks.poll();
            }
            try {
                next.work().run();
            } catch (RuntimeException e) {
                Thread t = Thread.currentThread();
                t.getUncaughtExceptionHandler().uncaughtException(t, e);
            }
        }
    }

    /** Continues the run on {@code pool}; false if it refuses (stopping), and the run stays on this thread. */
    private boolean moveTo(Executor pool) {
        try {
            pool.execute(() -> drain(pool));
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }
}
