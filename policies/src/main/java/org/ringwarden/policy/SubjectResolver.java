package org.ringwarden.policy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Resolves the user and group names a policy gives to ids, at load time. The system resolver
 * reads {@code /etc/passwd} and {@code /etc/group} (the local databases the daemon trusts;
 * no NSS, no network); a number in {@code uids}/{@code gids} needs no lookup.
 */
public interface SubjectResolver {
    OptionalInt uid(String user);

    OptionalInt gid(String group);

    /** Every known user name, for "did you mean". */
    Set<String> userNames();

    Set<String> groupNames();

    /** Reads {@code /etc/passwd} and {@code /etc/group} now. */
    static SubjectResolver system() {
        return fromFiles(Path.of("/etc/passwd"), Path.of("/etc/group"));
    }

    /** Reads the given passwd- and group-format files now; an unreadable file resolves nothing. */
    static SubjectResolver fromFiles(Path passwd, Path group) {
        return of(readIds(passwd), readIds(group));
    }

    /** A fixed table, for tests and embedding. */
    static SubjectResolver of(Map<String, Integer> users, Map<String, Integer> groups) {
        Map<String, Integer> u = Map.copyOf(users);
        Map<String, Integer> g = Map.copyOf(groups);
        return new SubjectResolver() {
            @Override
            public OptionalInt uid(String user) {
                Integer id = u.get(user);
                return id == null ? OptionalInt.empty() : OptionalInt.of(id);
            }

            @Override
            public OptionalInt gid(String group) {
                Integer id = g.get(group);
                return id == null ? OptionalInt.empty() : OptionalInt.of(id);
            }

            @Override
            public Set<String> userNames() {
                return u.keySet();
            }

            @Override
            public Set<String> groupNames() {
                return g.keySet();
            }
        };
    }

    /** {@code name:x:id:...} lines: the first and third fields. */
    private static Map<String, Integer> readIds(Path file) {
        Map<String, Integer> m = new HashMap<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] f = line.split(":", -1);
                if (f.length >= 3 && !f[0].isEmpty() && !f[0].startsWith("#") && !f[0].startsWith("+") && !f[0].startsWith("-")) {
                    try {
                        m.putIfAbsent(f[0], Integer.parseInt(f[2]));
                    } catch (NumberFormatException e) {
                        // A malformed line names no one.
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return Collections.emptyMap();
        }
        return m;
    }
}
