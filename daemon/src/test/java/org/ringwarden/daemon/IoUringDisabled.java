package org.ringwarden.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code kernel.io_uring_disabled} set for a test class and put back afterwards, also on
 * failure: {@code try (var s = IoUringDisabled.set(1))} or a static field closed in
 * {@code @AfterAll}. With 1, an unprivileged uid's own {@code io_uring_setup} fails, so a ring
 * it gets can only have come from the daemon.
 */
public final class IoUringDisabled implements AutoCloseable {
    public static final Path SYSCTL = Path.of("/proc/sys/kernel/io_uring_disabled");
    private final String before;

    private IoUringDisabled(String before) {
        this.before = before;
    }

    /** Whether this kernel has the sysctl (6.6+). */
    public static boolean available() {
        return Files.exists(SYSCTL);
    }

    /** Sets the sysctl to {@code value}, remembering what it was. */
    public static IoUringDisabled set(int value) throws IOException {
        IoUringDisabled s = new IoUringDisabled(Files.readString(SYSCTL).trim());
        Files.writeString(SYSCTL, Integer.toString(value));
        return s;
    }

    /** Puts the value back. */
    @Override
    public void close() throws IOException {
        Files.writeString(SYSCTL, before);
    }
}
