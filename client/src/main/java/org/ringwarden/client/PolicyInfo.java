package org.ringwarden.client;

import static java.util.Objects.requireNonNull;

/**
 * A policy this process may acquire rings under, as the daemon lists it.
 *
 * @param name        what to pass to {@link RingwardenClient#acquire(String)}
 * @param description the administrator's one-line description
 */
public record PolicyInfo(String name, String description) {
    public PolicyInfo {
        requireNonNull(name, "name");
        requireNonNull(description, "description");
    }
}
