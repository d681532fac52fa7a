package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.daemon.IoUringDisabled;
import org.ringwarden.daemon.TestCleanup;
import org.ringwarden.daemon.grant.AuditEvent;

/**
 * Debian's MariaDB server, unmodified, under {@code ringwarden run --policy mariadb} with the
 * bundled {@code mariadb} policy (opened to the test's uid by a drop-in), as uid 65534 on a host
 * where {@code kernel.io_uring_disabled=1} refuses that uid's own rings: InnoDB
 * ({@code innodb_use_native_aio=1}) does its page I/O through the ring from the daemon, real SQL
 * goes through the {@code mariadb} client, and the rows written in one server life are read back
 * in the next. A private datadir and socket in a temporary directory; the sysctl is restored
 * afterwards, also on failure.
 */
@Timeout(300)
class MariadbTransparentTest {
    private static final String MARIADBD = "/usr/sbin/mariadbd";
    /** What MariaDB 10.6+ logs when InnoDB's AIO is its io_uring (tpool's aio_uring). */
    private static final String USING_IO_URING = "InnoDB: Using io_uring";
    /** What it logs when io_uring_setup failed and it took libaio instead (tpool's create_linux_aio). */
    private static final String FELL_BACK = "falling back to libaio";
    /** Small enough for a shared CI machine; the same for install and every start. */
    private static final List<String> SIZES = List.of("--innodb-buffer-pool-size=16M", "--innodb-log-file-size=4M");

    private static RunHarness h;
    private static IoUringDisabled sysctl;
    private static Path work;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Stream.of(MARIADBD, "/usr/bin/mariadb-install-db", "/usr/bin/mariadb", "/usr/bin/mariadb-admin")
                        .allMatch(p -> Files.isExecutable(Path.of(p))),
                "mariadbd and its client are needed (apt-get install mariadb-server; .ci/run installs it)");
        assumeTrue(IoUringDisabled.available(), "kernel.io_uring_disabled (6.6+) is needed");
        h = new RunHarness();
        // A regular filesystem (InnoDB opens its files O_DIRECT), owned by uid 65534 and no one else's.
        work = Files.createTempDirectory(Path.of("/var/tmp"), "rw-mariadb-");
        Files.setAttribute(work, "unix:uid", RunHarness.NOBODY);
        Files.setAttribute(work, "unix:gid", RunHarness.NOBODY);
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwx------"));
        List<String> install = new ArrayList<>(asNobody());
        install.addAll(List.of("/usr/bin/mariadb-install-db", "--no-defaults", "--datadir=" + work.resolve("data"),
                "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"));
        install.addAll(SIZES);
        RunHarness.Result installed = exec(install);
        assertThat(installed.exit()).as("mariadb-install-db as uid 65534: %s", installed).isZero();
        sysctl = IoUringDisabled.set(1);
    }

    @AfterAll
    static void stop() throws Exception {
        // A failed test may have left a server: end it before its datadir goes.
        AutoCloseable servers = work == null ? null : () -> serversOf(work).forEach(ProcessHandle::destroyForcibly);
        TestCleanup.closeAll(sysctl, servers, TestCleanup.deletingTree(work), h);
    }

    private static List<String> asNobody() {
        return List.of("setpriv", "--reuid=" + RunHarness.NOBODY, "--regid=" + RunHarness.NOBODY, "--clear-groups");
    }

    private static Path socket() {
        return work.resolve("mariadb.sock");
    }

    /** mariadbd in the foreground on the private datadir and socket, its error log on standard output. */
    private static List<String> mariadbd() {
        List<String> cmd = new ArrayList<>(List.of(MARIADBD, "--no-defaults", "--datadir=" + work.resolve("data"),
                "--socket=" + socket(), "--pid-file=" + work.resolve("mariadb.pid"), "--skip-networking",
                "--innodb-use-native-aio=1"));
        cmd.addAll(SIZES);
        // sh only moves the error log (standard error) to where Running reads lines; exec leaves mariadbd.
        List<String> sh = new ArrayList<>(List.of("/bin/sh", "-c", "exec \"$@\" 2>&1", "sh"));
        sh.addAll(cmd);
        return sh;
    }

    /** SQL through the mariadb client on the private socket, tab-separated without headers. */
    private static String sql(String statements) {
        RunHarness.Result r = exec(List.of("/usr/bin/mariadb", "--no-defaults", "--socket=" + socket(), "--user=root",
                "--batch", "--skip-column-names", "-e", statements));
        assertThat(r.exit()).as("mariadb -e %s: %s", statements, r).isZero();
        return r.out();
    }

    /** A clean shutdown (mariadb-admin waits for the server to go), then the server's exit and everything it logged. */
    private static RunHarness.Result shutdown(RunHarness.Running server) throws InterruptedException {
        RunHarness.Result admin = exec(List.of("/usr/bin/mariadb-admin", "--no-defaults", "--socket=" + socket(),
                "--user=root", "shutdown"));
        if (admin.exit() != 0) {
            // A server that cannot write its pages never finishes shutting down: end it, for its log.
            server.close();
            throw new AssertionError("mariadb-admin shutdown: " + admin + "\nthe server, killed: " + server.awaitExit(30));
        }
        return server.awaitExit(120);
    }

    private static RunHarness.Result exec(List<String> cmd) {
        return RunHarness.exec(cmd, 120);
    }

    /** The processes whose command line names {@code dir}: the servers of this test. */
    private static List<ProcessHandle> serversOf(Path dir) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains(dir.toString())).orElse(false))
                .toList();
    }

    @Test
    void innodbDoesItsPageIoThroughTheBrokeredRingAndTheRowsSurviveARestart() throws Exception {
        // Without ringwarden the sysctl refuses uid 65534's ring and InnoDB takes libaio: the
        // log line this test looks for is not one mariadbd prints regardless.
        RunHarness.Result alone;
        List<String> aloneCmd = new ArrayList<>(asNobody());
        aloneCmd.addAll(mariadbd());
        try (RunHarness.Running server = new RunHarness.Running(new ProcessBuilder(aloneCmd).start())) {
            server.awaitLine("ready for connections", 120);
            alone = shutdown(server);
        }
        assertThat(alone.out()).as("mariadbd alone as uid 65534: %s", alone).contains(FELL_BACK).doesNotContain(USING_IO_URING);

        // First life under ringwarden run: a table, 500 rows, a count, a clean shutdown (InnoDB
        // writes its dirty pages through the ring).
        RunHarness.Result first;
        try (RunHarness.Running server = h.start("mariadb", List.of(), mariadbd().toArray(String[]::new))) {
            server.awaitLine("ready for connections", 120);
            sql("""
                    CREATE DATABASE rw;
                    CREATE TABLE rw.t (n INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB;
                    INSERT INTO rw.t (n, v) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 500)
                        SELECT n, REPEAT(CHAR(65 + n % 26), 200) FROM s;
                    FLUSH TABLES;
                    """);
            assertThat(sql("SELECT COUNT(*) FROM rw.t")).isEqualTo("500\n");
            first = shutdown(server);
        }
        assertThat(first.exit()).as("ringwarden run's exit is mariadbd's: %s", first).isZero();
        assertThat(first.out()).as("%s", first).contains(USING_IO_URING).doesNotContain(FELL_BACK)
                .doesNotContain("[ERROR]");

        // Second life: the rows come back from the pages the first one wrote.
        RunHarness.Result second;
        try (RunHarness.Running server = h.start("mariadb", List.of(), mariadbd().toArray(String[]::new))) {
            server.awaitLine("ready for connections", 120);
            assertThat(sql("SELECT COUNT(*), SUM(n), SUM(LENGTH(v)), MIN(v) FROM rw.t"))
                    .as("500 rows, n = 1..500, 200 characters each")
                    .isEqualTo("500\t125250\t100000\t" + "A".repeat(200) + "\n");
            second = shutdown(server);
        }
        assertThat(second.exit()).as("%s", second).isZero();
        assertThat(second.out()).as("%s", second).contains(USING_IO_URING).doesNotContain(FELL_BACK)
                .doesNotContain("[ERROR]");

        assertThat(h.daemon.auditEvents()).as("each life's ring came from the daemon under the mariadb policy")
                .filteredOn(e -> e.kind() == AuditEvent.Kind.DELIVER && "mariadb".equals(e.policy()))
                .as("one ring per server life").hasSize(2)
                .allSatisfy(e -> assertThat(e.detail()).contains("uid 65534").contains("program " + MARIADBD));

        assertThat(serversOf(work)).as("no mariadbd is left running").isEmpty();
        // Both runs have exited, so their connections are closed: the daemon forgets the
        // attachments on its poller thread.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (h.daemon.attachments() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(h.daemon.attachments()).as("no attachment is left once both servers exited").isZero();
    }
}
