package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable set of compiled policies with unique names, as one load produced it.
 * A client sees only the policies it may acquire: {@link #visibleTo} and {@link #acquirable}
 * never reveal the others (protocol.md: an unknown and a forbidden name look the same).
 */
public final class PolicySet {
    private final Map<String, CompiledPolicy> byName;
    private final String origin;
    private final Map<String, EffectivePolicy> effective;

    /**
     * @param policies the policies (names must be unique)
     * @param origin   where the set came from, for people: a directory, or {@code bundled}
     */
    public PolicySet(Collection<CompiledPolicy> policies, String origin) {
        this(policies, origin, Map.of());
    }

    /**
     * @param policies  the policies (names must be unique)
     * @param origin    where the set came from, for people: a directory, or {@code bundled}
     * @param effective how each policy was composed, by name (see {@link #effective})
     */
    public PolicySet(Collection<CompiledPolicy> policies, String origin, Map<String, EffectivePolicy> effective) {
        this.origin = requireNonNull(origin, "origin");
        this.effective = Map.copyOf(effective);
        Map<String, CompiledPolicy> m = new LinkedHashMap<>();
        policies.stream().sorted(java.util.Comparator.comparing(CompiledPolicy::name)).forEach(p -> {
            if (m.putIfAbsent(p.name(), p) != null) {
                throw new IllegalArgumentException("duplicate policy name " + p.name());
            }
        });
        this.byName = java.util.Collections.unmodifiableMap(m);
    }

    public static PolicySet empty(String origin) {
        return new PolicySet(List.of(), origin);
    }

    /** Where the set was loaded from: a directory path, or {@code bundled}. */
    public String origin() {
        return origin;
    }

    /** Every policy, by name. For administrators only. */
    public List<CompiledPolicy> all() {
        return List.copyOf(byName.values());
    }

    /** The policy named {@code name}, whoever may use it. For administrators only. */
    public Optional<CompiledPolicy> get(String name) {
        return Optional.ofNullable(byName.get(requireNonNull(name, "name")));
    }

    /**
     * Policy {@code name} as the loader composed it from its file, bases and drop-ins, with the
     * origin of each value; empty for an unknown name or a set made without that information.
     * For administrators only.
     */
    public Optional<EffectivePolicy> effective(String name) {
        return Optional.ofNullable(effective.get(requireNonNull(name, "name")));
    }

    /** The policies {@code subject} may acquire, by name. */
    public List<CompiledPolicy> visibleTo(Subject subject) {
        requireNonNull(subject, "subject");
        return byName.values().stream().filter(p -> p.mayAcquire(subject)).toList();
    }

    /** Whether {@code subject} may acquire the policy {@code name} (false too when there is none). */
    public boolean mayAcquire(String name, Subject subject) {
        return acquirable(name, subject).isPresent();
    }

    /** The policy {@code name} if {@code subject} may acquire it; empty when it does not exist or is forbidden. */
    public Optional<CompiledPolicy> acquirable(String name, Subject subject) {
        return get(name).filter(p -> p.mayAcquire(requireNonNull(subject, "subject")));
    }

    public int size() {
        return byName.size();
    }

    @Override
    public String toString() {
        return "PolicySet" + byName.keySet() + " from " + origin;
    }
}
