package org.ringwarden.daemon.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringSysctl;

/**
 * Peers that are not root, as a separate process running as uid 65534 (nobody) through
 * {@code setpriv}: a single-file Java program (no classpath to make readable) sends one frame
 * and prints the answer. The daemon must judge the peer by SO_PEERCRED, not by anything sent.
 */
@Timeout(120)
@IoUringSysctl.RequiresRings
class NonRootPeerTest {
    private static final String PROBE = """
            import java.io.*;
            import java.net.*;
            import java.nio.*;
            import java.nio.channels.*;
            import java.nio.charset.StandardCharsets;
            public class Probe {
                public static void main(String[] a) throws Exception {
                    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                        ch.connect(UnixDomainSocketAddress.of(a[0]));
                        byte[] body = a[1].getBytes(StandardCharsets.UTF_8);
                        ByteBuffer out = ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).flip();
                        while (out.hasRemaining()) ch.write(out);
                        DataInputStream in = new DataInputStream(Channels.newInputStream(ch));
                        byte[] answer = new byte[in.readInt()];
                        in.readFully(answer);
                        System.out.println(new String(answer, StandardCharsets.UTF_8));
                    }
                }
            }
            """;
    private static TestDaemon d;
    private static Path probe;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv(1) to run a client as uid 65534");
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to switch to uid 65534");
        d = TestDaemon.start();
        probe = d.dir.resolve("Probe.java");
        Files.writeString(probe, PROBE);
        Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rw-r--r--"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (d != null) {
            d.close();
        }
    }

    /** Runs the probe as nobody and returns the daemon's answer (one JSON line). */
    private static String asNobody(Path socket, String json) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", java,
                "-Xshare:auto", "-XX:TieredStopAtLevel=1", probe.toString(), socket.toString(), json)
                .redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("probe finished").isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.exitValue()).as("probe exit code; output: %s", out).isZero();
        List<String> lines = out.lines().toList();
        return lines.get(lines.size() - 1);
    }

    @Test
    void policiesShowsANonRootPeerOnlyWhatItMayAcquire() throws Exception {
        String answer = asNobody(d.socket, "{\"v\":1,\"op\":\"policies\"}");
        assertThat(answer).as("policies for uid 65534").contains("\"name\":\"open\"").doesNotContain("secret");
    }

    @Test
    void aPolicyTheNonRootPeerMayNotSeeIsRefusedLikeOneThatDoesNotExist() throws Exception {
        String hidden = asNobody(d.socket, "{\"v\":1,\"op\":\"acquire\",\"policy\":\"secret\"}");
        String missing = asNobody(d.socket, "{\"v\":1,\"op\":\"acquire\",\"policy\":\"nothing\"}");
        assertThat(hidden).as("hidden policy").contains("NOT_PERMITTED");
        assertThat(missing).as("missing policy").contains("NOT_PERMITTED");
        assertThat(hidden.replace("secret", "X")).as("same answer whether it exists or not")
                .isEqualTo(missing.replace("nothing", "X"));
    }

    @Test
    void adminRequestsFromANonAdminUidAreNotPermitted() throws Exception {
        for (String op : List.of("status", "leases", "reload", "complain-targets")) {
            String answer = asNobody(d.adminSocket, "{\"v\":1,\"op\":\"" + op + "\"}");
            assertThat(answer).as("%s from uid 65534 on the admin socket", op).contains("\"code\":\"NOT_PERMITTED\"")
                    .contains("65534");
        }
        assertThat(d.audit()).as("refusals audited with the peer's uid")
                .anySatisfy(l -> assertThat(l).contains("\"uid\":65534").contains("NOT_PERMITTED"));
    }
}
