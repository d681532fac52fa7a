package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The arithmetic behind the unit's LimitMEMLOCK, checked on the running kernel: rings and
 * registered buffers made by a user without CAP_IPC_LOCK (as the service runs) are charged,
 * together, against its RLIMIT_MEMLOCK, a ring costing
 * {@code round_up_page(320 + 16*cq + 4*sq) + round_up_page(64*sq)}.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class MemlockArithmeticTest {
    private static final String USER = "rwtest-memlock";
    private static final long LIMIT = 1L << 20;
    private static final long PAGE = 4096;

    @BeforeAll
    static void createUser() throws Exception {
        assumeTrue(ExternalCommand.available("setpriv") && ExternalCommand.available("prlimit"),
                "setpriv and prlimit (util-linux) are needed to run as another user under a memlock limit");
        ExternalCommand.of("userdel", USER).run(); // a leftover from a killed run
        ExternalCommand.Result r = ExternalCommand.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER).run();
        assertThat(r.exitCode()).as("useradd:\n%s", r.describe()).isZero();
    }

    @AfterAll
    static void removeUser() throws Exception {
        ExternalCommand.of("userdel", USER).run();
    }

    /** The unit's formula for the bytes one ring of {@code sq}/{@code cq} entries pins. */
    static long ringBytes(int sq, int cq) {
        return roundUp(320 + 16L * cq + 4L * sq) + roundUp(64L * sq);
    }

    @Test
    void ringsAreChargedAsTheUnitsFormulaSays() throws Exception {
        for (int[] size : new int[][] {{64, 128}, {256, 512}, {4096, 8192}}) {
            Map<String, String> out = probe("rings", Integer.toString(size[0]), Integer.toString(size[1]));
            long expected = LIMIT / ringBytes(size[0], size[1]);
            System.out.printf("RLIMIT_MEMLOCK 1 MiB, %d/%d-entry rings of %d KiB: %s rings (formula: %d)%n",
                    size[0], size[1], ringBytes(size[0], size[1]) / 1024, out.get("rings"), expected);
            assertThat(out.get("error")).as("the kernel refuses the ring past the limit with ENOMEM").isEqualTo("ENOMEM");
            assertThat(Long.parseLong(out.get("rings"))).as("rings of %d/%d entries under 1 MiB", size[0], size[1]).isEqualTo(expected);
        }
    }

    @Test
    void buffersAndRingsShareOneLimit() throws Exception {
        long buffer = LIMIT - ringBytes(64, 128);

        Map<String, String> out = probe("buffer-then-ring", Long.toString(buffer));

        assertThat(out.get("buffer")).as("a buffer filling the rest of the limit after one ring").isEqualTo("ok");
        assertThat(out.get("secondRing")).as("a second ring once ring + buffer reach the limit").isEqualTo("ENOMEM");
    }

    private static Map<String, String> probe(String... args) throws Exception {
        String classpath = StagedInstall.REPOSITORY.resolve("native/target/classes") + ":"
                + StagedInstall.REPOSITORY.resolve("daemon/target/test-classes");
        List<String> argv = new ArrayList<>(List.of("prlimit", "--memlock=" + LIMIT + ":" + LIMIT,
                "setpriv", "--reuid=" + USER, "--regid=" + USER, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-XX:-UsePerfData", "-cp", classpath, MemlockChargeProbe.class.getName()));
        argv.addAll(List.of(args));
        ExternalCommand.Result r = new ExternalCommand(argv, Map.of(), Path.of("/"), Duration.ofMinutes(1)).run();
        assertThat(r.exitCode()).as("memlock probe:\n%s", r.describe()).isZero();
        return r.stdout().lines().filter(l -> l.contains("="))
                .map(l -> l.split("=", 2)).collect(Collectors.toMap(kv -> kv[0], kv -> kv[1]));
    }

    private static long roundUp(long bytes) {
        return (bytes + PAGE - 1) / PAGE * PAGE;
    }
}
