package org.ringwarden.linux.seccomp;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.Tasks;

/**
 * A throwaway platform thread that installs a filter on itself only and then runs a script.
 *
 * <p>Why one thread, never TSYNC, never the JUnit worker: a seccomp filter is permanent for
 * every thread it binds. Installed without TSYNC it binds only the calling thread, so it
 * ends when that thread ends and the rest of the test JVM (JUnit, the JIT, GC threads) never
 * runs under it. With TSYNC the whole JVM would keep the filter for the rest of the run.
 */
final class FilteredThread implements AutoCloseable {
    private final Thread thread;
    private final CompletableFuture<SeccompListener> listener = new CompletableFuture<>();
    private final CompletableFuture<Integer> tid = new CompletableFuture<>();
    private volatile Throwable failure;

    /**
     * @param install how to install the filter (returns the listener); runs on the new thread after no-new-privs
     * @param script  what the filtered thread does next; exceptions are kept for {@link #failure()}
     */
    FilteredThread(String name, java.util.function.Supplier<SeccompListener> install, Consumer<FilteredThread> script) {
        thread = Thread.ofPlatform().name(name).daemon(true).unstarted(() -> {
            try {
                tid.complete(Tasks.gettid());
                Prctl.setNoNewPrivs();
                listener.complete(install.get());
            } catch (Throwable t) {
                failure = t;
                listener.completeExceptionally(t);
                return;
            }
            try {
                script.accept(this);
            } catch (Throwable t) {
                failure = t;
            }
        });
        thread.start();
    }

    static FilteredThread withCallingThreadListener(String name, SeccompFilter filter, Consumer<FilteredThread> script) {
        return new FilteredThread(name, () -> Seccomp.installListener(filter, Seccomp.Scope.CALLING_THREAD), script);
    }

    SeccompListener listener() throws Exception {
        return listener.get(10, TimeUnit.SECONDS);
    }

    int tid() throws Exception {
        return tid.get(10, TimeUnit.SECONDS);
    }

    /** Waits for the script to end; false if it did not within {@code ms}. */
    boolean join(long ms) throws InterruptedException {
        return thread.join(java.time.Duration.ofMillis(ms));
    }

    Throwable failure() {
        return failure;
    }

    @Override
    public void close() throws Exception {
        // A script stuck in a trapped call returns (ENOSYS) once no listener is open: the
        // caller of this closes the listener first.
        if (!join(10_000)) {
            throw new AssertionError("filtered thread " + thread.getName() + " did not end");
        }
    }
}
