package org.ringwarden.policy;

import java.util.Set;
import java.util.TreeSet;

/**
 * Who may acquire a policy, resolved to numbers at load time (a user or group renamed later
 * does not change a loaded set).
 *
 * @param everyone whether any local user may acquire it
 * @param uids     user ids that may
 * @param gids     group ids whose members (primary or supplementary) may
 */
public record Acquirers(boolean everyone, Set<Integer> uids, Set<Integer> gids) {
    public Acquirers {
        uids = java.util.Collections.unmodifiableSet(new TreeSet<>(uids));
        gids = java.util.Collections.unmodifiableSet(new TreeSet<>(gids));
    }

    public static Acquirers nobody() {
        return new Acquirers(false, Set.of(), Set.of());
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
        return !everyone && uids.isEmpty() && gids.isEmpty();
    }
}
