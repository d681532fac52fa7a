package org.ringwarden.daemon.install;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A systemd unit file read the way systemd.syntax(7) describes it, enough for assertions:
 * sections, keys, every assignment of a key in order (an empty one resets a list).
 */
record UnitFile(Map<String, Map<String, List<String>>> sections) {
    static UnitFile read(Path file) throws IOException {
        Map<String, Map<String, List<String>>> sections = new LinkedHashMap<>();
        Map<String, List<String>> current = null;
        StringBuilder continued = null;
        for (String raw : Files.readAllLines(file)) {
            String line = raw.strip();
            if (continued != null) {
                line = continued + " " + line;
                continued = null;
            }
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.endsWith("\\")) {
                continued = new StringBuilder(line.substring(0, line.length() - 1).strip());
                continue;
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                current = sections.computeIfAbsent(line.substring(1, line.length() - 1), k -> new LinkedHashMap<>());
                continue;
            }
            int eq = line.indexOf('=');
            if (current == null || eq < 0) {
                throw new IllegalArgumentException(file + ": not a unit file line: " + raw);
            }
            current.computeIfAbsent(line.substring(0, eq).strip(), k -> new ArrayList<>()).add(line.substring(eq + 1).strip());
        }
        return new UnitFile(sections);
    }

    /** Every assignment of {@code key} in {@code section}, in file order (empty if none). */
    List<String> all(String section, String key) {
        return sections.getOrDefault(section, Map.of()).getOrDefault(key, List.of());
    }

    /** The last assignment of {@code key}, or null: what systemd uses for a single-valued setting. */
    String last(String section, String key) {
        List<String> values = all(section, key);
        return values.isEmpty() ? null : values.getLast();
    }
}
