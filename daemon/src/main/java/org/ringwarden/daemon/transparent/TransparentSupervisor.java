package org.ringwarden.daemon.transparent;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import org.ringwarden.linux.Errno;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.seccomp.SeccompListener;
import org.ringwarden.linux.seccomp.SeccompNotification;
import org.ringwarden.linux.uring.IoUringLayout;
import org.ringwarden.linux.uring.IoUringParams;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.protocol.DaemonChannel;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;
import org.ringwarden.protocol.Tickets;

import org.jspecify.annotations.Nullable;

/**
 * The same-uid process that {@code ringwarden run} leaves behind for the program it became
 * (docs/transparent.md). It holds the program's seccomp listener and the daemon connection;
 * for each trapped {@code io_uring_setup} it reads the caller's {@code io_uring_params}
 * ({@code process_vm_readv}: same uid, so no privilege), asks the daemon for a ring
 * ({@code transparent-setup}; the daemon installs it into the caller), writes the resulting
 * params back ({@code process_vm_writev}) and only then answers the call with the fd. When no
 * process is left under the filter the listener hangs up and the supervisor exits, which
 * closes the connection: the daemon then holds nothing for the program.
 *
 * <p>Started as {@code java ... TransparentSupervisor} with the connection on fd 3 and, on
 * fd 4, a socket on which {@code ringwarden run} sends the listener once it is attached.
 */
public final class TransparentSupervisor {
    /** The inherited daemon connection. */
    static final int CONNECTION_FD = 3;
    /** The inherited socket the listener arrives on. */
    static final int HANDOFF_FD = 4;
    /** The ticket magic of protocol.md step 3 (a ticketed call under {@code ringwarden run} is refused). */
    private static final int PARAMS_SIZE = (int) IoUringLayout.PARAMS.byteSize();

    private final SeccompListener listener;
    private final DaemonChannel daemon;
    private final MemorySegment params;

    TransparentSupervisor(SeccompListener listener, DaemonChannel daemon, Arena arena) {
        this.listener = requireNonNull(listener, "listener");
        this.daemon = requireNonNull(daemon, "daemon");
        this.params = arena.allocate(IoUringLayout.PARAMS);
    }

    public static void main(String[] args) {
        warmUp();
        int listenerFd;
        UnixRights.Received got;
        try {
            got = UnixRights.recvFds(HANDOFF_FD, new byte[1], 1);
        } catch (KernelException e) {
            System.err.println("ringwarden supervisor: no listener: " + e.getMessage());
            System.exit(1);
            return;
        }
        Syscall.rawOnThisThread(Syscall.SYS_CLOSE, HANDOFF_FD, 0, 0, 0, 0, 0);
        if (got.fds().length != 1) {
            // ringwarden run gave up (attach refused, or it died): nothing to supervise.
            got.closeAll();
            System.exit(got.bytes() == 0 ? 0 : 1);
            return;
        }
        listenerFd = got.fds()[0];
        int rc;
        try (Arena arena = Arena.ofConfined();
             SeccompListener l = SeccompListener.adopt(listenerFd);
             DaemonChannel d = DaemonChannel.adopt(CONNECTION_FD)) {
            rc = new TransparentSupervisor(l, d, arena).serve();
        } catch (IOException e) {
            System.err.println("ringwarden supervisor: the inherited daemon connection: " + e.getMessage());
            rc = 1;
        }
        System.exit(rc);
    }

    /** Serves until no process is left under the filter (0) or the daemon is gone (1). */
    int serve() {
        while (true) {
            SeccompListener.Event e = listener.poll(-1);
            if (e == SeccompListener.Event.HANGUP) {
                return 0;
            }
            if (e != SeccompListener.Event.NOTIFICATION) {
                continue;
            }
            SeccompNotification n = listener.receive();
            if (n == null) {
                continue;
            }
            try {
                answer(n);
            } catch (IOException ex) {
                // Without the daemon no ring can come: fail this call; closing the listener on
                // exit fails the rest (ENOSYS) once the daemon's copy is closed too.
                listener.fail(n.id(), Errno.EPERM);
                System.err.println("ringwarden supervisor: the daemon connection failed: " + ex.getMessage());
                return 1;
            } catch (RuntimeException ex) {
                listener.fail(n.id(), Errno.EPERM); // never leave a thread trapped
                System.err.println("ringwarden supervisor: " + ex);
            }
        }
    }

    private void answer(SeccompNotification n) throws IOException {
        if (!n.isX86_64(Syscall.SYS_IO_URING_SETUP)) {
            listener.fail(n.id(), Errno.ENOSYS);
            return;
        }
        if ((n.arg(2) & 0xFFFF_FFFFL) == Tickets.MAGIC) {
            listener.fail(n.id(), Errno.EPERM); // ticketed rings need their own attachment, not run's
            return;
        }
        long entries = n.arg(0) & 0xFFFF_FFFFL;
        long address = n.arg(1);
        params.fill((byte) 0);
        try {
            if (org.ringwarden.linux.ProcessMemory.read(n.pid(), address, params) != PARAMS_SIZE) {
                listener.fail(n.id(), Errno.EFAULT);
                return;
            }
        } catch (KernelException e) {
            // EFAULT: a bad pointer, as the kernel would say; EPERM/ESRCH: no access (Yama) or gone.
            listener.fail(n.id(), e.errno() == Errno.EFAULT.number() ? Errno.EFAULT.number() : e.errno());
            return;
        }
        // The pid could have been reused between RECV and the read: only trust what was read
        // if the call is still pending (seccomp_unotify(2)).
        if (!listener.isValid(n.id())) {
            return;
        }
        long flags = Integer.toUnsignedLong(params.get(java.lang.foreign.ValueLayout.JAVA_INT, IoUringLayout.PARAMS_FLAGS));
        long cq = Integer.toUnsignedLong(params.get(java.lang.foreign.ValueLayout.JAVA_INT, IoUringLayout.PARAMS_CQ_ENTRIES));
        Response r = daemon.call(new Request.TransparentSetup(n.id(), n.pid(), entries, flags, cq, exe(n.pid())));
        if (!(r instanceof Response.TransparentRing ring)) {
            String why = r instanceof Response.Error err ? err.code() + ": " + err.message() : r.toString();
            System.err.println("ringwarden supervisor: the daemon refused transparent-setup: " + why);
            listener.fail(n.id(), Errno.EPERM);
            return;
        }
        if (ring.errno() != 0) {
            if (ring.errno() != Errno.ENOENT.number()) {
                listener.fail(n.id(), ring.errno());
            }
            return;
        }
        // Write back what the kernel filled in for the daemon, over the caller's own struct
        // (sq_thread_cpu, sq_thread_idle, wq_fd and the reserved words stay as they were).
        requireNonNull(ring.ring(), "errno 0 comes with a ring (TransparentRing)").params().writeTo(params);
        try {
            if (org.ringwarden.linux.ProcessMemory.write(n.pid(), address, params) != PARAMS_SIZE) {
                listener.fail(n.id(), Errno.EFAULT);
                return;
            }
        } catch (KernelException e) {
            listener.fail(n.id(), e.errno());
            return;
        }
        listener.respond(n.id(), ring.fd());
    }

    /**
     * The program's first {@code io_uring_setup} waits for this JVM to be ready: load the JSON
     * codec and the kernel layouts on another thread while the listener is still on its way.
     */
    static void warmUp() {
        Thread.ofPlatform().daemon().name("ringwarden-warm-up").start(() -> {
            try {
                org.ringwarden.protocol.ProtocolCodec.decodeResponse(org.ringwarden.protocol.ProtocolCodec
                        .encode(new Response.TransparentRing(1, -1, null, "warm-up")));
                org.ringwarden.protocol.ProtocolCodec.encode(new Request.TransparentSetup(1, 1, 1, 0, 0, null));
                org.ringwarden.linux.seccomp.Seccomp.notifSizes();
                IoUringParams.readFrom(Arena.ofAuto().allocate(IoUringLayout.PARAMS));
            } catch (RefusedException | RuntimeException e) {
                // Only a warm-up: the real use reports real failures.
            }
        });
    }

    private static @Nullable String exe(int tid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/" + tid + "/exe")).toString();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
