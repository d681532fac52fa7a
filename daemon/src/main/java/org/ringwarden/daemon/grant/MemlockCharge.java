package org.ringwarden.daemon.grant;

import java.util.function.Supplier;

import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.ThreadCredentials;

import org.jspecify.annotations.Nullable;

/**
 * Who the kernel charges a new ring's pinned memory to (docs/security.md, "Who pays for pinned
 * memory").
 *
 * <p>io_uring charges ring memory, and every buffer later registered on the ring (by the
 * daemon <em>or</em> by the client before it enables the ring), to the {@code user_struct} of
 * the real uid of the thread that called {@code io_uring_setup}, against the registering
 * process's {@code RLIMIT_MEMLOCK}; a creator with {@code CAP_IPC_LOCK} is not charged at all.
 * If the daemon made every ring as itself, one client could pin everything the daemon may pin
 * and every other user's acquire would fail {@code ENOMEM}.
 *
 * <p>So each ring is created on a thread that has, for the length of that one call, taken the
 * client's <em>accounting uid</em> as its real uid ({@code setresuid(acct, -1, -1)} on that
 * thread only) and put {@code CAP_IPC_LOCK} out of its effective set. The accounting uid is
 * {@link #ACCOUNTING_UID_BASE} plus the client's uid: one per client uid, and one that no
 * process runs as. Not the client's own uid: a thread whose real uid is X may be sent any
 * signal by a process of uid X ({@code kill_ok_by_cred}), so a client could {@code tgkill}
 * the daemon with {@code SIGKILL} during the call. Nobody runs as an accounting uid, so nobody
 * can signal that thread. The effective uid, groups and file access never change: the ring is
 * made as the daemon, with the daemon's {@code kernel.io_uring_group} membership.
 *
 * <p>Taking another real uid needs {@code CAP_SETUID} (the systemd unit grants exactly that);
 * without it, {@link #probe()} says so and rings are charged to the daemon's own user, where
 * only the daemon's bookkeeping stands between users.
 */
public final class MemlockCharge {
    /**
     * The first accounting uid: 2^31. systemd's uid ranges leave 2^31..2^32-2 unused (so that
     * no signed 32-bit conversion ever meets a real user), and so do user namespace ranges.
     */
    public static final long ACCOUNTING_UID_BASE = 0x8000_0000L;

    private final boolean perUser;
    private final String why;
    /** The process's real uid and effective capabilities: every thread's, outside {@link #charged}. */
    private final int ownUid;
    private final long ownCaps;

    private MemlockCharge(boolean perUser, String why) {
        this.perUser = perUser;
        this.why = why;
        this.ownUid = perUser ? ThreadCredentials.realUid() : -1;
        this.ownCaps = perUser ? ThreadCredentials.effectiveCapabilities() : 0;
    }

    /** Rings are charged to the daemon's own user (for tests, and hosts without CAP_SETUID). */
    public static MemlockCharge toDaemon(String why) {
        return new MemlockCharge(false, why);
    }

    /**
     * Finds out whether this process can charge rings per user: takes an accounting uid on a
     * thread of its own and gives it back.
     */
    public static MemlockCharge probe() {
        if (!ThreadCredentials.hasEffective(ThreadCredentials.CAP_SETUID)) {
            return toDaemon("the daemon has no CAP_SETUID (the systemd unit grants it), so every ring's pinned memory"
                    + " is charged to the daemon's own user: one user can use up RLIMIT_MEMLOCK for everyone");
        }
        @Nullable String[] failure = {null};
        Thread t = Thread.ofPlatform().name("ringwarden-memlock-probe").unstarted(() -> {
            int mine = ThreadCredentials.realUid();
            try {
                ThreadCredentials.setRealUid(accountingUid(mine));
                ThreadCredentials.setRealUid(mine);
            } catch (KernelException e) {
                failure[0] = e.getMessage();
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return toDaemon("interrupted while probing");
        }
        return failure[0] == null
                ? new MemlockCharge(true, "each ring is charged to an accounting uid of its client")
                : toDaemon("taking an accounting uid failed (" + failure[0] + "): every ring is charged to the"
                        + " daemon's own user");
    }

    /** Ring memory of a 4096/8192-entry ring (docs/install.md): the size the budget is made for. */
    static final long RING_BYTES = 404L << 10;

    /**
     * Makes {@code RLIMIT_MEMLOCK}, now each user's kernel budget, at least what the daemon's own
     * per-user quotas let a user pin ({@code bufferBytesPerUid + leasesPerUid} rings of 4096
     * entries), so that a user meets {@code QUOTA_EXCEEDED} from the quotas first, with some
     * room for rings whose memory the kernel gives back a moment after their last close. Raises
     * the soft limit up to the hard one, and the hard one too where the process may (root, as
     * when started from a shell with the 8 MiB default); under the unit, {@code LimitMEMLOCK}
     * is sized for it already. Returns what it found or did, for the start-up log.
     */
    public String ensureBudget(DaemonLimits limits) {
        if (!perUser) {
            return "per-user budgets: off";
        }
        long need = limits.bufferBytesPerUid() + (long) limits.leasesPerUid() * RING_BYTES;
        need = Math.max(need, 64L << 20);
        long[] lim = org.ringwarden.linux.ResourceLimits.memlock();
        if (lim[0] >= need) {
            return "RLIMIT_MEMLOCK " + (lim[0] >> 20) + " MiB per user";
        }
        long hard = lim[1] >= need ? lim[1] : need;
        try {
            org.ringwarden.linux.ResourceLimits.setMemlock(need, hard);
            return "RLIMIT_MEMLOCK raised to " + (need >> 20) + " MiB per user (the per-user quotas need "
                    + (need >> 20) + " MiB)";
        } catch (KernelException e) {
            String why = e.is(org.ringwarden.linux.Errno.EPERM)
                    ? "the hard limit is " + (lim[1] >> 20) + " MiB, and raising it needs CAP_SYS_RESOURCE"
                    : e.getMessage();
            return "RLIMIT_MEMLOCK is " + (lim[0] >> 20) + " MiB per user, below the " + (need >> 20)
                    + " MiB the per-user quotas allow (" + why + "): users may be refused QUOTA_EXCEEDED"
                    + " (RLIMIT_MEMLOCK) before the quotas; raise LimitMEMLOCK";
        }
    }

    /** How long a call that found its user's budget spent waits for closed rings to be freed. */
    static final long FREEING_WAIT_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100);

    /**
     * Runs {@code call}, and if it fails {@code ENOMEM} while rings are charged per user, runs it
     * again (pauses of 1, 2, 4... ms) for up to {@link #FREEING_WAIT_NANOS}. The kernel gives a
     * ring's memory back only when its teardown work has run, after an RCU grace period (about
     * 30 ms measured here on 6.18), not when its last descriptor closes: a client that closes a
     * ring and acquires the next at once would otherwise find its budget still spent. Only the
     * calling user's lane waits; past the wait the {@code ENOMEM} stands.
     */
    public <T> T retryWhileFreed(Supplier<T> call) {
        long deadline = System.nanoTime() + FREEING_WAIT_NANOS;
        long pause = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(1);
        while (true) {
            try {
                return call.get();
            } catch (KernelException e) {
                if (!perUser || !e.is(org.ringwarden.linux.Errno.ENOMEM) || System.nanoTime() + pause > deadline) {
                    throw e;
                }
            }
            java.util.concurrent.locks.LockSupport.parkNanos(pause);
            pause = Math.min(pause * 2, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(16));
        }
    }

    /** True if rings are charged per client uid. */
    public boolean perUser() {
        return perUser;
    }

    /** Why it is charged the way it is, for the start-up log. */
    public String why() {
        return why;
    }

    /** The accounting uid of client uid {@code uid} ({@link #ACCOUNTING_UID_BASE} + uid). */
    public static int accountingUid(int uid) {
        long u = Integer.toUnsignedLong(uid);
        if (u >= ACCOUNTING_UID_BASE - 1) {
            throw new IllegalArgumentException("uid " + u + " has no accounting uid (uids below 2^31 - 1 only)");
        }
        return (int) (ACCOUNTING_UID_BASE + u);
    }

    /**
     * Runs {@code create} (one {@code io_uring_setup}, nothing else: whatever runs here runs under
     * the accounting uid) charged to {@code clientUid}, on the calling thread, which is itself
     * again when this returns or throws.
     */
    public <T> T charged(int clientUid, Supplier<T> create) {
        if (!perUser) {
            return create.get();
        }
        long ipcLock = 1L << ThreadCredentials.CAP_IPC_LOCK;
        ThreadCredentials.setRealUid(accountingUid(clientUid));
        try {
            if ((ownCaps & ipcLock) != 0) {
                ThreadCredentials.setEffectiveCapabilities(ownCaps & ~ipcLock);
            }
            return create.get();
        } finally {
            try {
                if ((ownCaps & ipcLock) != 0) {
                    ThreadCredentials.setEffectiveCapabilities(ownCaps);
                }
                ThreadCredentials.setRealUid(ownUid);
            } catch (RuntimeException e) {
                // Cannot happen (the saved uid and the permitted set are untouched), and must not pass silently.
                throw new AssertionError("a ring-builder thread could not take back its own credentials", e);
            }
        }
    }
}
