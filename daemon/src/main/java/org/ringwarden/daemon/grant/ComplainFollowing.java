package org.ringwarden.daemon.grant;

import java.util.concurrent.TimeUnit;

/**
 * Makes a complain-mode ring wait, before it is handed over, until {@code ringwarden
 * watch-refusals} traces the tasks that will use it; otherwise a short program (a
 * {@code ringwarden run} of a few milliseconds) would be done before the watcher's next look
 * and nothing it did would be reported.
 *
 * <p>The watcher asks for its targets ({@code complain-targets}) in a loop: ask, trace the
 * answer, pause, ask again. A look that starts after the ring's holder is known includes its
 * tasks; the look after that starts only once the watcher traces them. So the ring waits for
 * two looks from now, at most {@link #MAX_WAIT_MS} ms, and not at all when no watcher has
 * looked lately (complain mode without a watcher reports nothing, and delays nothing). The wait
 * is on the holder's own ring-builder lane: it delays that user's complain-mode rings only.
 */
final class ComplainFollowing {
    /** A watcher that has not looked for this long is taken to be gone. */
    static final long ACTIVE_MS = 3_000;
    /** The longest a ring waits for the watcher. */
    static final long MAX_WAIT_MS = 1_500;

    private final long activeNanos;
    private final long maxWaitNanos;
    private long looks;
    private long lastLookNanos;
    private boolean looked;

    ComplainFollowing() {
        this(java.time.Duration.ofMillis(ACTIVE_MS), java.time.Duration.ofMillis(MAX_WAIT_MS));
    }

    /** With other bounds than {@link #ACTIVE_MS} and {@link #MAX_WAIT_MS} (tests that hold a ring waiting). */
    ComplainFollowing(java.time.Duration active, java.time.Duration maxWait) {
        this.activeNanos = active.toNanos();
        this.maxWaitNanos = maxWait.toNanos();
    }

    /** A watcher asked for its targets ({@code complain-targets}); call as the look starts. */
    synchronized void looked() {
        looks++;
        lastLookNanos = System.nanoTime();
        looked = true;
        notifyAll();
    }

    /**
     * Waits until the watcher traces the tasks known now, or gives up: true if it does, false
     * if no watcher is running or it did not look again in time.
     */
    synchronized boolean awaitFollowed() throws InterruptedException {
        long now = System.nanoTime();
        if (!looked || now - lastLookNanos > activeNanos) {
            return false;
        }
        long target = looks + 2;
        long deadline = now + maxWaitNanos;
        while (looks < target) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }
}
