package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

/**
 * A registered buffer: a sealed memfd of {@code bytes} bytes the daemon maps and registers.
 *
 * @param name  the name the grant reports
 * @param bytes its size: a positive multiple of 4 KiB, at most 1 GiB (the kernel's limit per buffer)
 */
public record BufferSpec(String name, long bytes) {
    public BufferSpec {
        requireNonNull(name, "name");
    }
}
