package org.ringwarden.client;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;

import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.seccomp.Seccomp;
import org.ringwarden.linux.seccomp.SeccompAction;
import org.ringwarden.linux.seccomp.SeccompFilter;
import org.ringwarden.linux.seccomp.SeccompFilterFlag;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.linux.uring.IoUringLayout;
import org.ringwarden.protocol.Tickets;

/**
 * The process-wide seccomp filter through which brokered rings arrive (protocol.md, step 1),
 * and the ticketed {@code io_uring_setup} that collects one (step 3).
 *
 * <h2>What this changes for the whole process, for good</h2>
 * <ul>
 * <li><b>No-new-privs</b> is set on every thread ({@code PR_SET_NO_NEW_PRIVS}, spread by
 *     {@code TSYNC}) and inherited by every child and every program it executes: set-uid and
 *     file-capability binaries no longer gain privileges. It cannot be undone.
 * <li><b>Every {@code io_uring_setup}</b> of every thread, present and future, and of children,
 *     goes to the ringwarden daemon. A call with a valid ticket gets its granted ring; any other
 *     call gets {@code EPERM}. While no daemon connection is attached (after the
 *     {@link RingwardenClient} closed, or if the daemon died) the kernel answers every
 *     {@code io_uring_setup} with {@code ENOSYS}. A process can no longer create rings of its own.
 * <li>The filter allows every other x86_64 system call. A 32-bit ({@code int 0x80}) system
 *     call kills the process (the filter cannot translate i386 numbers, so it fails closed).
 * </ul>
 * Each attach installs one more small filter layer (the previous layer's listener is gone once
 * its daemon connection closed), so a process that reconnects thousands of times pays a few
 * instructions per layer on each system call.
 *
 * <h2>Where it cannot work</h2>
 * {@link #install()} refuses with {@link DeliveryUnavailableException} and says why: a kernel
 * without seccomp user notification with {@code TSYNC_ESRCH} (Linux 5.7; ring delivery needs
 * {@code NOTIF_ADDFD}, 5.9); a process in seccomp strict mode; a seccomp filter already present
 * that refuses {@code io_uring_setup} (a stricter action always wins over a notification, as in
 * Docker's default profile) or that already has a listener; a thread that cannot be synchronised.
 */
public final class SandboxFilter {

    private static final Object LOCK = new Object();
    private static int layers;

    private SandboxFilter() {
    }

    /**
     * Installs a filter layer on every thread of the process and returns its listener fd (the
     * caller hands it to the daemon and closes its copy). Sets no-new-privs first.
     *
     * @throws DeliveryUnavailableException if this process cannot receive rings, and why
     */
    static int install() throws DeliveryUnavailableException {
        synchronized (LOCK) {
            checkKernel();
            checkExistingFilters();
            try {
                Prctl.setNoNewPrivs();
            } catch (KernelException e) {
                throw new DeliveryUnavailableException("cannot set no-new-privs: " + e.getMessage(), e);
            }
            SeccompFilter filter = SeccompFilter.trappingIoUringSetup();
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (true) {
                try {
                    SeccompListener listener = Seccomp.installListener(filter, Seccomp.Scope.ALL_THREADS);
                    layers++;
                    return listener.fd();
                } catch (KernelException e) {
                    if (e.is(Errno.EBUSY) && layers > 0 && System.nanoTime() - deadline < 0) {
                        // Our previous layer's listener is still open in a daemon that has not yet
                        // noticed the old connection close; it will let go of it shortly.
                        sleepBriefly();
                        continue;
                    }
                    throw refusal(e);
                }
            }
        }
    }

    private static DeliveryUnavailableException refusal(KernelException e) {
        String why;
        if (e.is(Errno.EBUSY)) {
            why = layers > 0
                    ? "the listener of this process's previous ringwarden filter is still held open (by a daemon"
                            + " connection that has not closed?); one process can be attached through one connection at a time"
                    : "a seccomp filter with a listener is already installed on this process (inherited from a"
                            + " parent that uses ringwarden or another supervisor?); the kernel allows one listener per process";
        } else if (e.is(Errno.ESRCH)) {
            why = "a thread of this process runs under a different seccomp filter and cannot be synchronised (TSYNC)";
        } else if (e.is(Errno.EINVAL)) {
            why = "the kernel refuses the filter flags (user notification with TSYNC needs Linux 5.7+)";
        } else if (e.is(Errno.EACCES)) {
            why = "no-new-privs is not in effect on the calling thread";
        } else {
            why = "seccomp refused the filter";
        }
        return new DeliveryUnavailableException("cannot install the ringwarden seccomp filter: " + why + " ("
                + e.getMessage() + ")", e);
    }

    private static void checkKernel() throws DeliveryUnavailableException {
        boolean notif;
        try {
            notif = Seccomp.isActionAvailable(SeccompAction.USER_NOTIF);
        } catch (KernelException e) {
            throw new DeliveryUnavailableException("this kernel has no usable seccomp (" + e.getMessage()
                    + "); ringwarden delivers rings through seccomp user notification (Linux 5.9+)", e);
        }
        if (!notif) {
            throw new DeliveryUnavailableException("this kernel has no seccomp user notification"
                    + " (SECCOMP_RET_USER_NOTIF, Linux 5.0+; ringwarden needs 5.9+)");
        }
        if (!Seccomp.supports(EnumSet.of(SeccompFilterFlag.NEW_LISTENER, SeccompFilterFlag.TSYNC,
                SeccompFilterFlag.TSYNC_ESRCH))) {
            throw new DeliveryUnavailableException("this kernel is too old: it refuses a listener filter on all"
                    + " threads (TSYNC_ESRCH, Linux 5.7+; ringwarden needs 5.9+ for NOTIF_ADDFD)");
        }
    }

    /**
     * A filter already on the process decides first if it is stricter: one that fails or kills
     * {@code io_uring_setup} makes delivery impossible. Probe with a call the kernel itself
     * would refuse with {@code EINVAL} (no entries, no params): any other answer came from a filter.
     */
    private static void checkExistingFilters() throws DeliveryUnavailableException {
        String mode = statusField("Seccomp");
        if ("1".equals(mode)) {
            throw new DeliveryUnavailableException("this process runs in seccomp strict mode: it cannot install filters");
        }
        if (!"2".equals(mode) || layers > 0) {
            return; // no filter yet, or only ours (whose current answer is ENOSYS or the daemon's)
        }
        long r = Syscall.rawOnThisThread(Syscall.SYS_IO_URING_SETUP, 0, 0, 0, 0, 0, 0);
        if (r == -Errno.EINVAL.number() || r == -Errno.EFAULT.number()) {
            return;
        }
        if (r == -Errno.EPERM.number() && ioUringRestrictedBySysctl()) {
            return; // kernel.io_uring_disabled: the kernel's own EPERM, which a broker exists to get around
        }
        throw new DeliveryUnavailableException("a seccomp filter already on this process (" + statusField("Seccomp_filters")
                + " filter(s)) answers io_uring_setup itself (" + (r < 0 ? Errno.nameOf((int) -r) : "returned " + r)
                + "); the kernel gives that answer precedence over ringwarden's, so rings cannot be delivered."
                + " Allow io_uring_setup in the container or sandbox profile (ringwarden traps it instead); or, if a"
                + " parent process uses ringwarden, this process inherited its filter: ask that parent for rings.");
    }

    private static boolean ioUringRestrictedBySysctl() {
        try {
            return !Files.readString(Path.of("/proc/sys/kernel/io_uring_disabled")).strip().equals("0");
        } catch (IOException e) {
            return false;
        }
    }

    private static String statusField(String key) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
            for (String line : lines) {
                if (line.startsWith(key + ":")) {
                    return line.substring(key.length() + 1).strip();
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return "?";
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The ticketed {@code io_uring_setup(sqEntries, &params, MAGIC, ticket)}: the daemon answers it
     * with the granted ring's fd. Retries {@code EINTR} (the ticket is spent only when the daemon
     * answers). Returns the fd or {@code -errno}. {@code scratch} is the caller's
     * {@link CollectScratch}, used by one thread at a time.
     */
    static long collect(int sqEntries, long ticket, CollectScratch scratch) {
        long r;
        do {
            r = Syscall.raw(scratch.capture(), Syscall.SYS_IO_URING_SETUP, sqEntries, scratch.params().address(),
                    Tickets.MAGIC, ticket, 0, 0);
        } while (r == -Errno.EINTR.number());
        return r;
    }

    /**
     * The memory a {@link #collect} call needs (a {@code struct io_uring_params} and an errno
     * capture), made once per client rather than per call: a confined arena per call was a
     * malloc, a free and a session per acquire.
     */
    record CollectScratch(MemorySegment params, MemorySegment capture) {
        static CollectScratch allocate() {
            Arena arena = Arena.ofAuto();
            return new CollectScratch(arena.allocate(IoUringLayout.PARAMS.byteSize(), 8), Syscall.newCaptureState(arena));
        }
    }
}
