package org.ringwarden.daemon.server;

import java.io.IOException;
import java.nio.file.Path;

/** {@link TestDaemon} for tests in other packages (the CLI's). */
public final class DaemonFixtureAccess implements AutoCloseable {
    private final TestDaemon d;

    private DaemonFixtureAccess(TestDaemon d) {
        this.d = d;
    }

    public static DaemonFixtureAccess start() throws IOException {
        return new DaemonFixtureAccess(TestDaemon.start());
    }

    public Path adminSocket() {
        return d.adminSocket;
    }

    public Path socket() {
        return d.socket;
    }

    public Path policies() {
        return d.policies;
    }

    @Override
    public void close() throws IOException {
        d.close();
    }
}
