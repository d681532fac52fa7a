package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.util.Set;

/**
 * Who is asking: the credentials the daemon read from the peer ({@code SO_PEERCRED}, and the
 * supplementary groups from {@code /proc/PID/status}), never anything the client said.
 *
 * @param uid               the peer's user id
 * @param gid               the peer's primary group id
 * @param supplementaryGids the peer's other groups (may be empty)
 */
public record Subject(int uid, int gid, Set<Integer> supplementaryGids) {
    public Subject {
        supplementaryGids = Set.copyOf(requireNonNull(supplementaryGids, "supplementaryGids"));
    }

    /** A subject with no supplementary groups. */
    public static Subject of(int uid, int gid) {
        return new Subject(uid, gid, Set.of());
    }

    /** Whether the subject is in group {@code g}, as primary or supplementary group. */
    public boolean inGroup(int g) {
        return gid == g || supplementaryGids.contains(g);
    }
}
