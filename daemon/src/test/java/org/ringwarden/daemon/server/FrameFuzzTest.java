package org.ringwarden.daemon.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.EOFException;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;

import org.ringwarden.daemon.config.Limits;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.protocol.Frames;
import org.ringwarden.protocol.Request;
import org.ringwarden.protocol.Response;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.NotEmpty;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * Arbitrary bytes and arbitrary JSON against a running daemon: it never crashes, never keeps a
 * connection past its bound without answering or closing, never disturbs another client, and
 * leaks no descriptor.
 */
@IoUringSysctl.RequiresRings
class FrameFuzzTest {
    private static final Duration BOUND = Duration.ofMillis(300);
    private static TestDaemon d;
    private static int fdsAtStart;

    @BeforeContainer
    static void start() throws Exception {
        d = TestDaemon.start(l -> new Limits(256, 256, BOUND, Duration.ofSeconds(30), l.ticketExpiry(), l.leasesTotal(),
                l.leasesPerUid(), l.bufferBytesTotal(), l.bufferBytesPerUid()), Map.of());
        fdsAtStart = Descriptors.countOpen();
    }

    @AfterContainer
    static void stop() throws Exception {
        try {
            d.awaitConnections(0, Duration.ofSeconds(10));
            assertThat(TestDaemon.awaitDescriptorCount(fdsAtStart, Duration.ofSeconds(10)))
                    .as("descriptors after the fuzzing").isEqualTo(fdsAtStart);
        } finally {
            d.close();
        }
    }

    @Property(tries = 150)
    void arbitraryBytesAreAnsweredOrCutOffWithinTheBound(@ForAll @NotEmpty @Size(max = 300) byte[] bytes) throws Exception {
        exercise(bytes);
    }

    @Property(tries = 150)
    void arbitraryJsonFramesAreAnsweredOrCutOffWithinTheBound(@ForAll("jsonish") String json) throws Exception {
        exercise(Frames.frame(json.getBytes(UTF_8)));
    }

    @Provide
    Arbitrary<String> jsonish() {
        Arbitrary<String> keys = Arbitraries.of("v", "op", "fds", "policy", "clientFds", "lease", "x");
        Arbitrary<String> values = Arbitraries.of("1", "2", "0", "-1", "1.5", "true", "null", "\"\"", "[]", "{}",
                "\"attach\"", "\"acquire\"", "\"policies\"", "\"release\"", "\"status\"", "\"open\"", "\"secret\"",
                "99999999999999999999", "[[[[[[[[[[]]]]]]]]]]");
        return keys.flatMap(k -> values.map(v -> "\"" + k + "\":" + v)).list().ofMaxSize(6)
                .map(ms -> "{" + String.join(",", ms) + "}");
    }

    private static void exercise(byte[] bytes) throws Exception {
        try (RawClient fuzz = d.client()) {
            try {
                fuzz.writeRaw(bytes);
            } catch (RuntimeException closedEarly) {
                // the daemon may close on the first bad bytes before the rest is written
            }
            boolean reacted;
            try {
                fuzz.readExactly(1, BOUND.multipliedBy(10));
                reacted = true;
            } catch (EOFException e) {
                reacted = true;
            } catch (IOException e) {
                reacted = e.getMessage() != null && e.getMessage().contains("errno");
            }
            assertThat(reacted).as("the daemon answered or closed within 10x the request bound").isTrue();
        }
        try (RawClient other = d.client()) {
            assertThat(other.call(new Request.ListPolicies())).as("another client is served").isInstanceOf(Response.Policies.class);
        }
    }
}
