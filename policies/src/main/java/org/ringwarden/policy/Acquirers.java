package org.ringwarden.policy;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Who may acquire a policy, resolved to numbers at load time (a user or group renamed later
 * does not change a loaded set).
 *
 * @param everyone whether any local user may acquire it
 * @param uids     user ids that may
 * @param gids     group ids whose members (primary or supplementary) may
 * @param containers the containers whose OCI seccomp listener may attach under it
 *                   (docs/containers.md); {@code everyone}, uids and gids never admit a container
 */
public record Acquirers(boolean everyone, Set<Integer> uids, Set<Integer> gids, List<ContainerMatch> containers) {
    public Acquirers {
        uids = java.util.Collections.unmodifiableSet(new TreeSet<>(uids));
        gids = java.util.Collections.unmodifiableSet(new TreeSet<>(gids));
        containers = List.copyOf(containers);
    }

    /** Local users and groups only, no container. */
    public Acquirers(boolean everyone, Set<Integer> uids, Set<Integer> gids) {
        this(everyone, uids, gids, List.of());
    }

    public static Acquirers nobody() {
        return new Acquirers(false, Set.of(), Set.of());
    }

    /** Whether container {@code c} may attach its listener under the policy. */
    public boolean admitsContainer(ContainerSubject c) {
        return containers.stream().anyMatch(m -> m.admits(c));
    }

    public boolean admits(Subject s) {
        if (everyone || uids.contains(s.uid())) {
            return true;
        }
        for (int g : gids) {
            if (s.inGroup(g)) {
                return true;
            }
        }
        return false;
    }

    public boolean isNobody() {
        return !everyone && uids.isEmpty() && gids.isEmpty() && containers.isEmpty();
    }
}
