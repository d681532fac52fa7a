package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

/**
 * The process at the other end of a control connection, as the kernel vouched for it at
 * accept ({@code SO_PEERCRED}), never as the client described itself.
 *
 * @param connectionId the server's id of the connection; leases and the attachment belong to it
 * @param pid          the peer's process id (a TGID)
 * @param uid          the peer's user id; quotas are counted per uid
 * @param gid          the peer's primary group id
 * @param groups       the peer's supplementary groups, from {@code /proc/PID/status}
 * @param pidfd        a pidfd pinning {@code pid} against reuse, or -1 if the server has none;
 *                     owned by the server, which closes it after {@link GrantService#connectionClosed}
 * @param exe          the peer's executable path as read at accept, for audit only
 */
public record Peer(long connectionId, int pid, int uid, int gid, int[] groups, int pidfd, String exe) {
    public Peer {
        requireNonNull(groups, "groups");
        requireNonNull(exe, "exe");
        if (pid <= 0) {
            throw new IllegalArgumentException("peer pid must be positive: " + pid);
        }
    }

    /** {@code pid=123 uid=1000 conn=7}: the part of a peer an audit line needs. */
    @Override
    public String toString() {
        return "pid=" + pid + " uid=" + uid + " conn=" + connectionId + " exe=" + exe;
    }
}
