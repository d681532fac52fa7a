package org.ringwarden.daemon.grant;

import java.util.function.Supplier;

import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.ThreadCredentials;

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

    private MemlockCharge(boolean perUser, String why) {
        this.perUser = perUser;
        this.why = why;
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
        String[] failure = {null};
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
        int mine = ThreadCredentials.realUid();
        long caps = ThreadCredentials.effectiveCapabilities();
        long ipcLock = 1L << ThreadCredentials.CAP_IPC_LOCK;
        ThreadCredentials.setRealUid(accountingUid(clientUid));
        try {
            if ((caps & ipcLock) != 0) {
                ThreadCredentials.setEffectiveCapabilities(caps & ~ipcLock);
            }
            return create.get();
        } finally {
            try {
                if ((caps & ipcLock) != 0) {
                    ThreadCredentials.setEffectiveCapabilities(caps);
                }
                ThreadCredentials.setRealUid(mine);
            } catch (RuntimeException e) {
                // Cannot happen (the saved uid and the permitted set are untouched), and must not pass silently.
                throw new AssertionError("a ring-builder thread could not take back its own credentials", e);
            }
        }
    }
}
