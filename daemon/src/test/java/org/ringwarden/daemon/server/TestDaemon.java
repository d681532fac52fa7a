package org.ringwarden.daemon.server;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.ringwarden.daemon.audit.AuditLog;
import org.ringwarden.daemon.config.AuditSettings;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.config.Limits;
import org.ringwarden.daemon.config.SocketSettings;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.PolicyStore;

/**
 * A daemon started in this JVM on sockets in a fresh temporary directory, with a policy
 * directory of test policies and the audit log in a file there. Closing it stops the daemon
 * and deletes the directory.
 */
final class TestDaemon implements AutoCloseable {
    static final String OPEN = """
            {"name":"open","description":"everyone: NOP and a 4 KiB buffer","subjects":{"everyone":true},
             "sqe":{"ops":["NOP"]},"buffers":[{"name":"io","size":"4 KiB"}],"clientFds":2,
             "limits":{"leasesPerUser":16,"bufferBytesPerUser":"1 MiB"}}
            """;
    static final String ROOT_ONLY = """
            {"name":"secret","description":"root only","subjects":{"users":["root"]},"sqe":{"ops":["NOP"]},
             "limits":{"leasesPerUser":4,"bufferBytesPerUser":"0 B"}}
            """;

    final Path dir;
    final Path policies;
    final Path socket;
    final Path adminSocket;
    final Path auditFile;
    final DaemonConfig config;
    final Daemon daemon;

    private TestDaemon(Path dir, DaemonConfig config, Daemon daemon) {
        this.dir = dir;
        this.policies = dir.resolve("policies");
        this.socket = config.socket().path();
        this.adminSocket = config.adminSocket().path();
        this.auditFile = config.audit().file();
        this.config = config;
        this.daemon = daemon;
    }

    static TestDaemon start() throws IOException {
        return start(l -> l, Map.of());
    }

    static TestDaemon start(java.util.function.UnaryOperator<Limits> limits, Map<String, String> env) throws IOException {
        return start(limits, env, (store, config) -> new MemfdLeaseBroker(store));
    }

    /** Which broker the daemon serves: the memfd test broker or the real {@link GrantBroker}. */
    interface BrokerFactory {
        RingBroker create(PolicyStore store, DaemonConfig config);
    }

    static TestDaemon withGrantService() throws IOException {
        return start(l -> l, Map.of(), (store, config) -> GrantBroker.create(store, config.limits(), new AuditLog()));
    }

    static TestDaemon start(java.util.function.UnaryOperator<Limits> limits, Map<String, String> env,
                            BrokerFactory brokers) throws IOException {
        // World-searchable, so that a client running as another uid (NonRootPeerTest) reaches the sockets.
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "rwd",
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
        Path policies = Files.createDirectory(dir.resolve("policies"));
        Files.writeString(policies.resolve("open.json"), OPEN);
        Files.writeString(policies.resolve("secret.json"), ROOT_ONLY);
        Limits l = limits.apply(new Limits(64, 16, Duration.ofMillis(1500), Duration.ofSeconds(30), Duration.ofSeconds(30),
                64, 16, 64L << 20, 16L << 20));
        DaemonConfig config = new DaemonConfig(new SocketSettings(dir.resolve("client.sock"), 0666, null),
                new SocketSettings(dir.resolve("admin.sock"), 0666, null), null, policies, l,
                new AuditSettings(AuditSettings.Destination.FILE, dir.resolve("audit.jsonl")));
        AuditLog.configure(config.audit());
        try {
            PolicyStore store = PolicyStore.open(new PolicyLoader(PolicyLoader.Options.defaults()), policies);
            Daemon d = Daemon.start(config, brokers.create(store, config), env);
            return new TestDaemon(dir, config, d);
        } catch (Exception e) {
            deleteTree(dir);
            throw e instanceof IOException io ? io : new IOException(e);
        }
    }

    RawClient client() {
        return RawClient.connect(socket);
    }

    RawClient admin() {
        return RawClient.connect(adminSocket);
    }

    /** The audit log's lines so far (every record queued before the call: the log is written behind). */
    List<String> audit() {
        AuditLog.flush();
        try {
            return Files.exists(auditFile) ? Files.readAllLines(auditFile, UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until this process holds {@code expected} descriptors (connection teardown is asynchronous). */
    static int awaitDescriptorCount(int expected, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int n;
        while ((n = Descriptors.countOpen()) != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        return n;
    }

    /**
     * Returns once the idle timeout has run out, on every event loop of the daemon, for a
     * connection opened after this call began: it opens one silent connection per loop (the
     * daemon's two loops take new connections in turn) and waits until the daemon closes each
     * for idling. Any idle timer armed before the call (same timeout, so an earlier deadline)
     * has then fired too: a Netty loop runs its scheduled tasks in deadline order. A test can
     * so prove that a connection was <em>not</em> closed for idling without sleeping.
     */
    void awaitIdleTimeoutRunOut() throws IOException {
        try (RawClient first = client(); RawClient second = client()) {
            Duration generous = config.limits().idleTimeout().multipliedBy(2).plusSeconds(10);
            if (!first.closedByPeer(generous) || !second.closedByPeer(generous)) {
                throw new AssertionError("a silent connection was not closed for idling within " + generous);
            }
        }
    }

    /** Waits until the daemon counts {@code expected} open connections. */
    void awaitConnections(int expected, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (daemon.stats().connections() != expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            daemon.close();
        } finally {
            deleteTree(dir);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
