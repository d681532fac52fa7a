package org.ringwarden.daemon.systemd;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixRights;
import org.ringwarden.linux.UnixSockets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.jspecify.annotations.Nullable;

/**
 * {@code sd_notify(3)} without libsystemd: one datagram per state change to the
 * {@code AF_UNIX} socket named by {@code NOTIFY_SOCKET} (a path, or an abstract name written
 * with a leading {@code @}). Without {@code NOTIFY_SOCKET} every call does nothing.
 *
 * <pre>{@code
 * SdNotify n = SdNotify.fromEnvironment(System.getenv());
 * n.send("READY=1\nSTATUS=serving, 0 leases");
 * }</pre>
 */
public final class SdNotify {
    private static final Logger LOG = LoggerFactory.getLogger(SdNotify.class);
    private static final long SYS_SENDTO = 44;
    private static final long SYS_CONNECT = 42;
    private static final long SYS_CLOCK_GETTIME = 228;
    private static final int CLOCK_MONOTONIC = 1;
    private static final int SUN_PATH_MAX = 108;

    /** Null when there is no NOTIFY_SOCKET: then notifying does nothing. */
    private final @Nullable String socket;

    private SdNotify(@Nullable String socket) {
        this.socket = socket;
    }

    /** The notifier for {@code NOTIFY_SOCKET}, or one that does nothing. */
    public static SdNotify fromEnvironment(Map<String, String> env) {
        String s = env.get("NOTIFY_SOCKET");
        return new SdNotify(s == null || s.isEmpty() ? null : s);
    }

    /** True if there is a socket to notify. */
    public boolean enabled() {
        return socket != null;
    }

    /** {@code READY=1} plus a status line. */
    public void ready(String status) {
        send("READY=1\nSTATUS=" + status);
    }

    /** {@code RELOADING=1} with {@code MONOTONIC_USEC}, as {@code Type=notify-reload} expects. */
    public void reloading() {
        send("RELOADING=1\nMONOTONIC_USEC=" + monotonicMicros());
    }

    /** {@code STOPPING=1}. */
    public void stopping() {
        send("STOPPING=1");
    }

    /** {@code STATUS=...}. */
    public void status(String status) {
        send("STATUS=" + status);
    }

    /**
     * Sends one datagram. A failure is logged, never thrown: the service manager's bookkeeping
     * must not take the daemon down.
     */
    public void send(String state) {
        send(state, new int[0]);
    }

    /**
     * Sends one datagram with {@code fds} as {@code SCM_RIGHTS} ({@code sd_pid_notify_with_fds}):
     * {@code FDSTORE=1} with {@code FDNAME=} puts them in the service's file descriptor store,
     * from which the next start of the service gets them back in {@code LISTEN_FDS}. The fds
     * stay the caller's. A failure is logged and returned as false, never thrown.
     */
    public boolean sendWithFds(String state, int... fds) {
        return send(state, fds);
    }

    private boolean send(String state, int[] fds) {
        if (socket == null) {
            return false;
        }
        byte[] msg = state.getBytes(StandardCharsets.UTF_8);
        byte[] path = socket.getBytes(StandardCharsets.UTF_8);
        boolean abstractName = path.length > 0 && path[0] == '@';
        if (path.length >= SUN_PATH_MAX) {
            LOG.warn("NOTIFY_SOCKET is too long for sun_path: {}", socket);
            return false;
        }
        int fd = -1;
        try (Arena arena = Arena.ofConfined()) {
            fd = (int) Syscall.checked("socket(AF_UNIX, SOCK_DGRAM)", Syscall.SYS_SOCKET, UnixSockets.AF_UNIX,
                    UnixSockets.SOCK_DGRAM | UnixSockets.SOCK_CLOEXEC, 0);
            MemorySegment addr = arena.allocate(2 + SUN_PATH_MAX, 8);
            addr.set(JAVA_SHORT, 0, (short) UnixSockets.AF_UNIX);
            MemorySegment.copy(path, 0, addr, JAVA_BYTE, 2, path.length);
            if (abstractName) {
                addr.set(JAVA_BYTE, 2, (byte) 0); // "@name" is "\0name", without a trailing NUL
            }
            long addrLen = 2 + path.length + (abstractName ? 0 : 1);
            if (fds.length > 0) {
                // connect, then sendmsg without an address: UnixRights sends to the connected peer.
                Syscall.checked("connect(NOTIFY_SOCKET)", SYS_CONNECT, fd, addr.address(), addrLen);
                UnixRights.sendFds(fd, msg, fds);
                return true;
            }
            MemorySegment buf = arena.allocate(Math.max(1, msg.length));
            MemorySegment.copy(msg, 0, buf, JAVA_BYTE, 0, msg.length);
            Syscall.checked("sendto(NOTIFY_SOCKET)", SYS_SENDTO, fd, buf.address(), msg.length, 0x4000 /* MSG_NOSIGNAL */,
                    addr.address(), addrLen);
            return true;
        } catch (KernelException e) {
            LOG.warn("sd_notify to {} failed: {}", socket, e.getMessage());
            return false;
        } finally {
            Descriptors.closeQuietly(fd);
        }
    }

    /** {@code clock_gettime(CLOCK_MONOTONIC)} in microseconds, the clock systemd compares against. */
    public static long monotonicMicros() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ts = arena.allocate(16, 8);
            Syscall.checked("clock_gettime(CLOCK_MONOTONIC)", SYS_CLOCK_GETTIME, CLOCK_MONOTONIC, ts.address());
            return ts.get(JAVA_LONG, 0) * 1_000_000L + ts.get(JAVA_LONG, 8) / 1_000L;
        }
    }
}
