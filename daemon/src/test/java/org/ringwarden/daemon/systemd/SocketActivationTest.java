package org.ringwarden.daemon.systemd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.server.DaemonServer;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.UnixSockets;

@Timeout(10)
class SocketActivationTest {
    private static final long ME = ProcessHandle.current().pid();

    @Test
    void withoutListenVariablesNothingIsInherited() {
        assertThat(SocketActivation.fromEnvironment(Map.of(), ME)).as("no LISTEN_*").isEqualTo(DaemonServer.Inherited.NONE);
    }

    @Test
    void variablesForAnotherProcessAreIgnored() {
        assertThat(SocketActivation.fromEnvironment(Map.of("LISTEN_PID", "1", "LISTEN_FDS", "1"), ME))
                .as("LISTEN_PID of another process").isEqualTo(DaemonServer.Inherited.NONE);
    }

    @Test
    void unknownNamesAndCountsAreRefused() {
        assertThatThrownBy(() -> SocketActivation.fromEnvironment(Map.of("LISTEN_PID", Long.toString(ME),
                "LISTEN_FDS", "3"), ME)).as("three sockets").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SocketActivation.fromEnvironment(Map.of("LISTEN_PID", Long.toString(ME),
                "LISTEN_FDS", "1", "LISTEN_FDNAMES", "metrics"), ME)).as("unknown name")
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("metrics");
    }

    @Test
    void namedSocketsAreMappedByFileDescriptorName() {
        // fds 3 and 4 must exist for the close-on-exec marking: use two real sockets there if free.
        int[] pair = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        try {
            org.junit.jupiter.api.Assumptions.assumeTrue(pair[0] == 3 || Descriptors.isOpen(3) && Descriptors.isOpen(4),
                    "fds 3 and 4 are open in this JVM");
            DaemonServer.Inherited in = SocketActivation.fromEnvironment(Map.of("LISTEN_PID", Long.toString(ME),
                    "LISTEN_FDS", "2", "LISTEN_FDNAMES", "admin:client"), ME);
            assertThat(in).as("admin first, client second").isEqualTo(new DaemonServer.Inherited(4, 3));
        } finally {
            Descriptors.closeQuietly(pair[0]);
            Descriptors.closeQuietly(pair[1]);
        }
    }
}
