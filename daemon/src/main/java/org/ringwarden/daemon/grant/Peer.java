package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.PeerCredentials;
import org.ringwarden.linux.Pidfd;
import org.ringwarden.linux.Poll;
import org.ringwarden.linux.ProcessInfo;

/**
 * The process at the other end of a connection, as the kernel vouched for it at accept
 * ({@code SO_PEERCRED}), with its pid pinned by a pidfd and its supplementary groups and
 * executable read from {@code /proc} ({@link #of}); never as the client described itself.
 *
 * @param connectionId the server's id of the connection; leases and the attachment belong to it
 * @param pid          the peer's process id (a TGID)
 * @param uid          the peer's user id; quotas are counted per uid
 * @param gid          the peer's primary group id
 * @param groups       the peer's supplementary groups, from {@code /proc/PID/status}
 * @param pidfd        a pidfd pinning {@code pid} against reuse, or -1 if the server has none;
 *                     owned by the server, which closes it after {@link GrantService#connectionClosed}
 * @param exe          the peer's executable path as read at accept ({@code "?"} if unreadable), for audit only
 */
public record Peer(long connectionId, int pid, int uid, int gid, int[] groups, int pidfd, String exe) {
    public Peer {
        requireNonNull(groups, "groups");
        requireNonNull(exe, "exe");
        if (pid <= 0) {
            throw new IllegalArgumentException("peer pid must be positive: " + pid);
        }
        groups = groups.clone();
    }

    @Override
    public int[] groups() {
        return groups.clone();
    }

    /** True if the peer is uid 0 or has {@code gid} as its primary or a supplementary group. */
    public boolean isRootOrInGroup(int gid) {
        if (uid == 0) {
            return true;
        }
        if (gid < 0) {
            return false;
        }
        return this.gid == gid || Arrays.stream(groups).anyMatch(g -> g == gid);
    }

    /** {@code pid=123 uid=1000 conn=7}: the part of a peer an audit line needs. */
    @Override
    public String toString() {
        return "pid=" + pid + " uid=" + uid + " conn=" + connectionId + " exe=" + exe;
    }

    /**
     * Identifies the peer of the connected socket {@code socketFd}. The pid is pinned with
     * {@code SO_PEERPIDFD} where the kernel has it (6.5+); otherwise with {@code pidfd_open} right
     * away, after which {@code SO_PEERCRED} is read again: had the peer died and its pid been
     * reused in between, the socket's credentials would still name the old pid but that process
     * would have other credentials in {@code /proc}, or none.
     *
     * @throws KernelException if the peer is already gone or cannot be identified
     */
    public static Peer of(int socketFd, long connectionId) {
        PeerCredentials cred = PeerCredentials.of(socketFd);
        if (cred.pid() <= 0) {
            throw new KernelException("SO_PEERCRED: peer pid " + cred.pid() + " (a peer in another pid namespace?)", 3);
        }
        int pidfd = PeerCredentials.peerPidfd(socketFd);
        try {
            if (pidfd < 0) {
                pidfd = Pidfd.open(cred.pid()).fd();
            }
            // Read /proc only once the pid is pinned, then check it is still the same process.
            int[] groups = ProcessInfo.supplementaryGroups(cred.pid());
            String exe;
            try {
                exe = ProcessInfo.exe(cred.pid()).toString();
            } catch (RuntimeException e) {
                exe = "?";
            }
            PeerCredentials again = PeerCredentials.of(socketFd);
            // A pidfd polls readable once its process has exited.
            boolean exited = Poll.has(Poll.poll(pidfd, Poll.POLLIN, 0), Poll.POLLIN);
            if (!again.equals(cred) || exited) {
                throw new KernelException("peer " + cred.pid() + " exited during accept", 3 /* ESRCH */);
            }
            return new Peer(connectionId, cred.pid(), cred.uid(), cred.gid(), groups, pidfd, exe);
        } catch (RuntimeException e) {
            Descriptors.closeQuietly(pidfd);
            throw e;
        }
    }
}
