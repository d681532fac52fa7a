package org.ringwarden.daemon.systemd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.UnixSockets;

/**
 * systemd socket activation ({@code sd_listen_fds(3)}): when {@code LISTEN_PID} is this
 * process, the {@code LISTEN_FDS} descriptors from 3 on are listening sockets systemd opened,
 * named by {@code LISTEN_FDNAMES} (colon-separated, from each unit's
 * {@code FileDescriptorName=}). ringwarden knows three names, {@code client}, {@code admin} and
 * {@code oci-agent} (docs/containers.md); a single unnamed socket is the client socket.
 */
public final class SocketActivation {
    /** The first inherited descriptor ({@code SD_LISTEN_FDS_START}). */
    /** Listening sockets handed over by systemd: the fd, or -1 where the daemon binds the configured path itself. */
    public record Inherited(int clientFd, int adminFd, int agentFd, java.util.Map<String, Integer> stored) {
        public static final Inherited NONE = new Inherited(-1, -1, -1, java.util.Map.of());

        public Inherited {
            stored = java.util.Map.copyOf(stored);
        }

        /** Without an OCI agent socket or stored descriptors. */
        public Inherited(int clientFd, int adminFd) {
            this(clientFd, adminFd, -1, java.util.Map.of());
        }
    }

    /**
     * Names of descriptors the daemon put in systemd's file descriptor store and gets back at
     * its next start (docs/containers.md): {@code oci-N} a container's seccomp listener,
     * {@code ocimeta-N} a memfd describing it.
     */
    public static final java.util.regex.Pattern STORED = java.util.regex.Pattern.compile("oci(meta)?-[0-9]{1,18}");
    /** At most this many descriptors are taken from systemd (sockets and stored ones). */
    static final int MAX_FDS = 65_536;

    public static final int LISTEN_FDS_START = 3;

    private SocketActivation() {
    }

    /**
     * The inherited sockets, or {@link Inherited#NONE} when not socket-activated.
     * Marks them close-on-exec.
     *
     * @throws IllegalArgumentException if the variables are malformed or name an unknown socket
     */
    public static Inherited fromEnvironment(Map<String, String> env, long myPid) {
        String pid = env.get("LISTEN_PID");
        String fds = env.get("LISTEN_FDS");
        if (pid == null || fds == null) {
            return Inherited.NONE;
        }
        long listenPid;
        int count;
        try {
            listenPid = Long.parseLong(pid.trim());
            count = Integer.parseInt(fds.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("LISTEN_PID/LISTEN_FDS are not numbers: " + pid + "/" + fds);
        }
        if (listenPid != myPid) {
            return Inherited.NONE; // meant for another process (e.g. our parent)
        }
        if (count < 1 || count > MAX_FDS) {
            throw new IllegalArgumentException("ringwarden takes 1 to 3 sockets from systemd (client, admin, oci-agent)"
                    + " and the descriptors it stored, not " + count);
        }
        String names = env.get("LISTEN_FDNAMES");
        String[] name = names == null || names.isEmpty() ? new String[0] : names.split(":", -1);
        int client = -1;
        int admin = -1;
        int agent = -1;
        java.util.Map<String, Integer> stored = new java.util.HashMap<>();
        for (int i = 0; i < count; i++) {
            int fd = LISTEN_FDS_START + i;
            String n = i < name.length ? name[i] : (count == 1 ? "client" : "");
            if (STORED.matcher(n).matches()) {
                // Not a socket: what the daemon stored (FDSTORE=1) before a restart.
                if (stored.put(n, fd) != null) {
                    throw new IllegalArgumentException("two stored descriptors named " + n + " in LISTEN_FDNAMES");
                }
                Descriptors.fcntl(fd, Descriptors.F_SETFD, Descriptors.FD_CLOEXEC);
                continue;
            }
            switch (n) {
                case "client", "unknown" -> {
                    if (client >= 0) {
                        throw new IllegalArgumentException("two sockets named client in LISTEN_FDNAMES=" + names);
                    }
                    client = fd;
                }
                case "admin" -> {
                    if (admin >= 0) {
                        throw new IllegalArgumentException("two sockets named admin in LISTEN_FDNAMES=" + names);
                    }
                    admin = fd;
                }
                case "oci-agent" -> {
                    if (agent >= 0) {
                        throw new IllegalArgumentException("two sockets named oci-agent in LISTEN_FDNAMES=" + names);
                    }
                    agent = fd;
                }
                default -> throw new IllegalArgumentException("socket " + fd + " is named \"" + n
                        + "\"; ringwarden knows FileDescriptorName=client, admin and oci-agent");
            }
            requireListeningUnixStream(fd, n);
            Descriptors.fcntl(fd, Descriptors.F_SETFD, Descriptors.FD_CLOEXEC);
        }
        return new Inherited(client, admin, agent, stored);
    }

    private static final int SO_TYPE = 3;
    private static final int SO_ACCEPTCONN = 30;
    private static final int SO_DOMAIN = 39;

    /** A socket unit with {@code ListenStream=} on a path gives exactly this; anything else is a unit mistake. */
    private static void requireListeningUnixStream(int fd, String name) {
        int domain = intOption(fd, SO_DOMAIN);
        int type = intOption(fd, SO_TYPE);
        int listening = intOption(fd, SO_ACCEPTCONN);
        if (domain != UnixSockets.AF_UNIX || type != UnixSockets.SOCK_STREAM || listening != 1) {
            throw new IllegalArgumentException("socket " + fd + " (" + name + ") from systemd is not a listening AF_UNIX "
                    + "stream socket (domain " + domain + ", type " + type + ", listening " + listening
                    + "): use ListenStream=/path in the socket unit");
        }
    }

    private static int intOption(int fd, int option) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            Syscall.checked("getsockopt(" + fd + ", " + option + ")", Syscall.SYS_GETSOCKOPT, fd, UnixSockets.SOL_SOCKET,
                    option, v.address(), len.address(), 0);
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }
}
