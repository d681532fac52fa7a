package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.config.AuditSettings;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.server.Daemon;
import org.ringwarden.daemon.server.GrantBroker;
import org.ringwarden.linux.Tasks;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.PolicyStore;
import org.slf4j.LoggerFactory;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import org.jspecify.annotations.Nullable;

/**
 * {@code ringwarden demo}: everything in one command, as root. Starts a daemon on a private
 * socket with one policy, makes a file only root can read, and runs {@link DemoClient} as an
 * unprivileged user under {@code setpriv}: the client reads the file through a brokered ring,
 * sees a disallowed operation refused (by the library, then by the kernel), and finds it cannot
 * make rings of its own. Everything it made is removed afterwards.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Shows what ringwarden does, in a few lines (run as root).",
                "",
                "Starts a daemon on a private socket, creates a file only root may read, and runs a client as an "
                        + "unprivileged user (setpriv) that reads the file through a restricted ring the daemon "
                        + "made for it, and sees what the ring refuses. Cleans up after itself."})
public final class DemoCommand implements Callable<Integer> {
    static final String POLICY = "demo-reader";

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (it has a default)
    @Option(names = "--user", defaultValue = "nobody", description = "The unprivileged user the client runs as (default: ${DEFAULT-VALUE}).")
    String user;

    @Option(names = "--verbose", description = "Show the daemon's log and audit trail.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        if (Tasks.getuid() != 0) {
            System.err.println("ringwarden demo: run it as root (sudo ./ringwarden demo).");
            System.err.println("  The demo plays both sides: the daemon (root, which may open the file and create"
                    + " rings) and a sandboxed client it starts as '" + user + "' with setpriv. Without root there is"
                    + " no second user to show the difference with.");
            return 1;
        }
        int[] ids = userIds(user);
        if (ids == null) {
            System.err.println("ringwarden demo: no user '" + user + "' in /etc/passwd; pick one with --user");
            return 1;
        }
        Path setpriv = Stream.of("/usr/bin/setpriv", "/bin/setpriv").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElse(null);
        if (setpriv == null) {
            System.err.println("ringwarden demo: setpriv (util-linux) is needed to run the client as '" + user + "'");
            return 1;
        }
        if (!verbose) {
            quietLogs();
        }
        Path base = Files.createTempDirectory(Path.of("/var/tmp"), "ringwarden-demo-");
        try {
            return run(base, ids, setpriv);
        } finally {
            deleteTree(base);
        }
    }

    private int run(Path base, int[] ids, Path setpriv) throws Exception {
        // base: traversable by the client, not listable; private/: root only; run/ and lib/: the client's way in.
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        Path priv = mkdir(base.resolve("private"), "rwx------");
        Path run = mkdir(base.resolve("run"), "rwx--x--x");
        Path policies = mkdir(base.resolve("policies"), "rwxr-xr-x");
        Path lib = mkdir(base.resolve("lib"), "rwxr-xr-x");

        Path secret = priv.resolve("secret.txt");
        Files.writeString(secret, "Only root may open this file (mode 0600); the sandboxed client read it through"
                + " a ring the daemon opened it into.\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(policies.resolve(POLICY + ".json"), policyJson(user, secret));
        for (String name : PolicyLoader.BUNDLED) {
            // The embedded defaults too: the client sees only those meant for it.
            try (var in = PolicyLoader.class.getResourceAsStream("bundled/" + name + ".json")) {
                if (in != null) {
                    Files.write(policies.resolve(name + ".json"), in.readAllBytes());
                }
            }
        }
        try (Stream<Path> files = Files.list(policies)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
            }
        }
        Path audit = priv.resolve("audit.jsonl");

        Path socket = run.resolve("ringwarden.sock");
        DaemonConfig config = DaemonConfig.defaults(Map.of())
                .withSocketPath(socket)
                .withAdminSocketPath(run.resolve("admin.sock"))
                .withPolicies(policies)
                .withAudit(new AuditSettings(AuditSettings.Destination.FILE, audit));
        AuditLog.configure(config.audit());
        PolicyStore store = PolicyStore.open(PolicyLoader.withDefaults(), policies);
        GrantBroker broker = GrantBroker.create(store, config.limits(), new AuditLog());

        System.out.println("ringwarden demo");
        System.out.println("   daemon (uid 0) on " + socket + ", the bundled policies and '" + POLICY
                + "': NOP and READ_FIXED on " + secret + ", nothing else");
        System.out.println("   client: uid " + ids[0] + " (" + user + "), started with setpriv");
        System.out.println();
        int status;
        try (Daemon daemon = Daemon.start(config, broker, Map.of())) {
            List<String> cmd = new ArrayList<>(List.of(setpriv.toString(), "--reuid=" + ids[0], "--regid=" + ids[1],
                    "--clear-groups", "--", javaBinary(), "--enable-native-access=ALL-UNNAMED",
                    "-cp", readableClasspath(lib), DemoClient.class.getName(), socket.toString(), secret.toString(), POLICY));
            Process p = new ProcessBuilder(cmd).inheritIO().start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                System.out.println("   the client did not finish within 2 minutes");
                status = 1;
            } else {
                status = p.exitValue();
            }
        }
        System.out.println();
        if (verbose) {
            System.out.println("audit trail:");
            for (String line : Files.readAllLines(audit)) {
                System.out.println("   " + line);
            }
        }
        System.out.println(status == 0
                ? "What happened: the daemon (root) opened the file, made a ring, restricted it to what the policy allows,"
                        + " registered the file and a buffer, and delivered it through the client's own trapped"
                        + " io_uring_setup. The client got exactly that ring and nothing more."
                : "The demo did not go as expected (exit " + status + "); run with --verbose for the daemon's side.");
        return status == 0 ? 0 : 1;
    }

    static String policyJson(String user, Path file) {
        return """
                {
                  "name": "%s",
                  "description": "Demo: read one private file through READ_FIXED, nothing else",
                  "subjects": { "users": ["%s"] },
                  "ring": { "sqEntries": 8, "setupFlags": ["SUBMIT_ALL"] },
                  "sqe": { "ops": ["NOP", "READ_FIXED"], "flagsRequired": ["FIXED_FILE"] },
                  "files": [ { "name": "secret", "path": "%s", "access": "read" } ],
                  "buffers": [ { "name": "io", "size": "64 KiB" } ],
                  "limits": { "leasesPerUser": 2, "bufferBytesPerUser": "128 KiB" }
                }
                """.formatted(POLICY, user, file);
    }

    /** This JVM's java, which the client runs with too. */
    static String javaBinary() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString());
    }

    /**
     * The jars and class directories of this JVM's class path, copied into {@code lib} (world
     * readable) so that the unprivileged client can load them wherever they live (a build tree
     * or ~/.m2 under a private home).
     */
    public static String readableClasspath(Path lib) throws IOException {
        return readableClasspath(lib, List.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator)));
    }

    /**
     * {@code entries} (jars and class directories) copied into {@code lib}, world readable, as a
     * class path: for code run as another user, who may not reach where they are (a checkout in
     * a home directory of mode 0700). {@code lib} and the directories above it must be
     * traversable by that user.
     */
    public static String readableClasspath(Path lib, List<String> entries) throws IOException {
        List<String> out = new ArrayList<>();
        int i = 0;
        for (String entry : entries) {
            if (entry.isEmpty()) {
                continue;
            }
            Path src = Path.of(entry);
            if (!Files.exists(src)) {
                continue;
            }
            Path dst = lib.resolve((i++) + "-" + src.getFileName());
            copyReadable(src, dst);
            out.add(dst.toString());
        }
        return String.join(java.io.File.pathSeparator, out);
    }

    private static void copyReadable(Path src, Path dst) throws IOException {
        if (Files.isDirectory(src)) {
            try (Stream<Path> s = Files.walk(src)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    Path t = dst.resolve(src.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                        Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rwxr-xr-x"));
                    } else {
                        Files.copy(p, t);
                        Files.setPosixFilePermissions(t, PosixFilePermissions.fromString("rw-r--r--"));
                    }
                }
            }
        } else {
            Files.copy(src, dst);
            Files.setPosixFilePermissions(dst, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    static Path mkdir(Path p, String perms) throws IOException {
        Files.createDirectory(p);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        return p;
    }

    /** uid and gid of {@code name} from /etc/passwd; null if it has no entry. */
    static int @Nullable [] userIds(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
            String[] f = line.split(":");
            if (f.length >= 4 && f[0].equals(name)) {
                return new int[] {Integer.parseInt(f[2]), Integer.parseInt(f[3])};
            }
        }
        return null;
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    System.err.println("ringwarden demo: could not remove " + p + ": " + e.getMessage());
                }
            });
        } catch (IOException e) {
            System.err.println("ringwarden demo: could not clean " + root + ": " + e.getMessage());
        }
    }

    /** The demo speaks for itself; the daemon's INFO lines would drown it. */
    static void quietLogs() {
        if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext ctx) {
            ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(ch.qos.logback.classic.Level.WARN);
        }
    }
}
