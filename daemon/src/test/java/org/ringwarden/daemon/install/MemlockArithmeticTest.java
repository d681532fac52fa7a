package org.ringwarden.daemon.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringSysctl;
import org.ringwarden.daemon.cli.DemoCommand;

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

    /** The probe's classes, copied where {@link #USER} can read them (removed after the class). */
    private static String readableClasspath;
    private static Path lib;

    @BeforeAll
    static void createUser() throws Exception {
        // Under the system temporary directory, which every user may traverse; not the checkout.
        lib = Files.createTempDirectory("rwtest-memlock-classes");
        Files.setPosixFilePermissions(lib, PosixFilePermissions.fromString("rwxr-xr-x"));
        readableClasspath = DemoCommand.readableClasspath(lib, List.of(
                StagedInstall.REPOSITORY.resolve("native/target/classes").toString(),
                StagedInstall.REPOSITORY.resolve("daemon/target/test-classes").toString()));
        assumeTrue(ExternalCommand.available("setpriv") && ExternalCommand.available("prlimit"),
                "setpriv and prlimit (util-linux) are needed to run as another user under a memlock limit");
        ExternalCommand.of("userdel", USER).run(); // a leftover from a killed run
        ExternalCommand.Result r = ExternalCommand.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER).run();
        assertThat(r.exitCode()).as("useradd:\n%s", r.describe()).isZero();
    }

    @AfterAll
    static void removeUser() throws Exception {
        ExternalCommand.of("userdel", USER).run();
        if (lib != null) {
            try (var files = Files.walk(lib)) {
                for (Path f : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
                    Files.delete(f);
                }
            }
        }
    }

    @Test
    void theProbesClassPathIsReadableByItsUserWhereverTheCheckoutIs() throws Exception {
        // What made both tests fail from a clone in a 0700 directory: a class path the probe's
        // user cannot reach. Checked as that user, whatever the checkout's own modes are.
        for (String entry : readableClasspath.split(":")) {
            ExternalCommand.Result r = ExternalCommand.of("setpriv", "--reuid=" + USER, "--regid=" + USER, "--clear-groups",
                    "test", "-r", entry, "-a", "-x", entry).run();
            assertThat(r.exitCode()).as("%s readable by %s:\n%s", entry, USER, r.describe()).isZero();
            assertThat(entry).as("a copy, not the checkout's target/").doesNotStartWith(StagedInstall.REPOSITORY.toString());
        }
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

    /**
     * Runs {@link MemlockChargeProbe} as {@link #USER} under a 1 MiB memlock limit. Its classes
     * are copied to a directory that user can read ({@link #readableClasspath}): the checkout may
     * be in a directory other users cannot enter. Under {@code kernel.io_uring_disabled=1} (what
     * docs/install.md recommends) a user outside {@code kernel.io_uring_group} may not create
     * rings at all, so the probe gets CAP_SYS_ADMIN, the one other thing the kernel lets create
     * them, and nothing else: the memlock charge is the same, since only CAP_IPC_LOCK exempts a
     * ring from it. Under 2 nobody may create rings: skipped, with the reason printed.
     */
    private static Map<String, String> probe(String... args) throws Exception {
        OptionalInt disabled = IoUringSysctl.disabled();
        if (disabled.isPresent() && disabled.getAsInt() == 2) {
            String why = "kernel.io_uring_disabled=2: no process may create rings, so the memlock charge cannot be measured";
            System.out.println("SKIPPED MemlockArithmeticTest: " + why);
            assumeTrue(false, why);
        }
        List<String> caps = disabled.isPresent() && disabled.getAsInt() == 1
                ? List.of("--inh-caps=-all,+sys_admin", "--ambient-caps=-all,+sys_admin", "--bounding-set=-all,+sys_admin")
                : List.of("--inh-caps=-all", "--bounding-set=-all");
        List<String> argv = new ArrayList<>(List.of("prlimit", "--memlock=" + LIMIT + ":" + LIMIT,
                "setpriv", "--reuid=" + USER, "--regid=" + USER, "--clear-groups"));
        argv.addAll(caps);
        argv.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-cp", readableClasspath,
                MemlockChargeProbe.class.getName()));
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
