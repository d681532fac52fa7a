package org.ringwarden.daemon.systemd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;

@Timeout(10)
class SocketActivationTest {
    private static final long ME = ProcessHandle.current().pid();

    @Test
    void withoutListenVariablesNothingIsInherited() {
        assertThat(SocketActivation.fromEnvironment(Map.of(), ME)).as("no LISTEN_*").isEqualTo(SocketActivation.Inherited.NONE);
    }

    @Test
    void variablesForAnotherProcessAreIgnored() {
        assertThat(SocketActivation.fromEnvironment(Map.of("LISTEN_PID", "1", "LISTEN_FDS", "1"), ME))
                .as("LISTEN_PID of another process").isEqualTo(SocketActivation.Inherited.NONE);
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
    void aDescriptorThatIsNotAListeningUnixSocketIsRefused() {
        // In this JVM fd 3 is some file the JVM opened (not a listening socket): exactly the
        // mistake of a socket unit that passes the wrong thing.
        org.junit.jupiter.api.Assumptions.assumeTrue(Descriptors.isOpen(3), "fd 3 is open in this JVM");
        assertThatThrownBy(() -> SocketActivation.fromEnvironment(Map.of("LISTEN_PID", Long.toString(ME),
                "LISTEN_FDS", "1", "LISTEN_FDNAMES", "client"), ME)).as("fd 3 is not a listening socket")
                .isInstanceOf(RuntimeException.class);
    }

    @Test
    void storedContainerDescriptorsAreTakenByNameWithoutTheSocketCheck() throws Exception {
        // Two descriptors at 3 and 4 are what the JVM has open there; stored ones need not be sockets.
        org.junit.jupiter.api.Assumptions.assumeTrue(Descriptors.isOpen(3) && Descriptors.isOpen(4), "fds 3 and 4 are open");
        SocketActivation.Inherited in = SocketActivation.fromEnvironment(Map.of("LISTEN_PID", Long.toString(ME),
                "LISTEN_FDS", "2", "LISTEN_FDNAMES", "oci-7:ocimeta-7"), ME);
        assertThat(in.stored()).isEqualTo(Map.of("oci-7", 3, "ocimeta-7", 4));
        assertThat(in.clientFd()).isEqualTo(-1);
        assertThatThrownBy(() -> SocketActivation.fromEnvironment(Map.of("LISTEN_PID", Long.toString(ME),
                "LISTEN_FDS", "2", "LISTEN_FDNAMES", "oci-7:oci-7"), ME)).hasMessageContaining("two stored");
    }
}
