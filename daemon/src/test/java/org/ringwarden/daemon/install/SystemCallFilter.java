package org.ringwarden.daemon.install;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A unit's SystemCallFilter= expanded to system call names the way systemd applies it: the
 * first assignment decides allow list or deny list, later ones add (plain) or remove ({@code ~}).
 * Groups ({@code @system-service}) are expanded, recursively, by {@code systemd-analyze
 * syscall-filter}, i.e. by the systemd that would enforce the unit.
 */
final class SystemCallFilter {
    private final Set<String> allowed;

    private SystemCallFilter(Set<String> allowed) {
        this.allowed = allowed;
    }

    static SystemCallFilter of(UnitFile unit) throws Exception {
        List<String> lines = unit.all("Service", "SystemCallFilter");
        if (lines.isEmpty() || lines.getFirst().startsWith("~")) {
            throw new AssertionError("the unit must start with an allow list, not " + lines);
        }
        Map<String, Set<String>> groups = new HashMap<>();
        Set<String> allowed = new TreeSet<>();
        for (String line : lines) {
            boolean deny = line.startsWith("~");
            for (String item : (deny ? line.substring(1) : line).trim().split("\\s+")) {
                Set<String> names = expand(item, groups);
                if (deny) {
                    allowed.removeAll(names);
                } else {
                    allowed.addAll(names);
                }
            }
        }
        return new SystemCallFilter(allowed);
    }

    boolean allows(String syscall) {
        return allowed.contains(syscall);
    }

    int size() {
        return allowed.size();
    }

    /** The allowed names, sorted. */
    Set<String> allowed() {
        return java.util.Collections.unmodifiableSet(allowed);
    }

    private static Set<String> expand(String item, Map<String, Set<String>> groups) throws Exception {
        if (!item.startsWith("@")) {
            return Set.of(item);
        }
        Set<String> cached = groups.get(item);
        if (cached != null) {
            return cached;
        }
        ExternalCommand.Result r = ExternalCommand.of("systemd-analyze", "syscall-filter", "--no-pager", item).run();
        if (r.exitCode() != 0) {
            throw new AssertionError("cannot expand " + item + ":\n" + r.describe());
        }
        Set<String> names = new LinkedHashSet<>();
        for (String line : r.stdout().lines().toList()) {
            // "@group" heading, then "    # comment" and "    name" lines, indented.
            if (!line.startsWith(" ")) {
                continue;
            }
            String name = line.strip();
            if (name.isEmpty() || name.startsWith("#")) {
                continue;
            }
            names.addAll(name.startsWith("@") ? expand(name, groups) : Set.of(name));
        }
        groups.put(item, names);
        return names;
    }
}
