package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/**
 * A policy as the loader read it: its own file composed with its bases ({@code extends}) and
 * drop-ins ({@code NAME.d/*.json}), and where each value was written. What
 * {@code ringwarden policy show --effective NAME} prints.
 *
 * @param name      the policy's name
 * @param files     the files it was composed from: bases first, its own file, drop-ins last
 * @param document  the composed JSON document, two spaces to a level
 * @param annotated the same document with each value's origin ({@code // file:line:column}) at the end of its line
 * @param origins   where each value was written, in document order: JSON path to {@code file:line:column}
 */
public record EffectivePolicy(String name, List<String> files, String document, String annotated,
                              Map<String, String> origins) {
    public EffectivePolicy {
        requireNonNull(name, "name");
        files = List.copyOf(files);
        requireNonNull(document, "document");
        requireNonNull(annotated, "annotated");
        origins = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(origins));
    }
}
