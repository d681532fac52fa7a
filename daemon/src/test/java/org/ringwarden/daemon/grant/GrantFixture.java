package org.ringwarden.daemon.grant;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Pidfd;
import org.ringwarden.linux.Tasks;

/**
 * A GrantService with an audit log to look at, peers of this JVM, and the resources to give
 * back at the end. One per test.
 */
final class GrantFixture implements AutoCloseable {
    final Path dir;
    final Path data;
    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    final GrantService grants;
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private long nextConnection = 1;

    GrantFixture(Path dir, DaemonLimits limits) throws Exception {
        this(dir, limits, null);
    }

    /** With {@code following} instead of the daemon's bounds for complain-mode rings (null: the daemon's). */
    GrantFixture(Path dir, DaemonLimits limits, @org.jspecify.annotations.Nullable ComplainFollowing following) throws Exception {
        this.dir = dir;
        this.data = dir.resolve("data");
        Files.writeString(data, "hello ring, from a fixed file");
        this.grants = following == null ? new GrantService(limits, audit::add)
                : new GrantService(limits, audit::add, java.time.Clock.systemUTC(), MemlockCharge.probe(), following);
    }

    static DaemonLimits limits() {
        return DaemonLimits.defaults().withTicketExpiry(Duration.ofSeconds(30));
    }

    /** A new connection of this JVM's process (pid, pidfd) as user {@code uid}. */
    Peer peer(int uid) {
        Pidfd pidfd = Pidfd.open(Tasks.getpid());
        toClose.add(pidfd);
        return new Peer(nextConnection++, Tasks.getpid(), uid, uid, new int[0], pidfd.fd(), "test");
    }

    /** A peer that is another process (its pid and pidfd). */
    Peer peerOf(int pid, int uid) {
        Pidfd pidfd = Pidfd.open(pid);
        toClose.add(pidfd);
        return new Peer(nextConnection++, pid, uid, uid, new int[0], pidfd.fd(), "other");
    }

    <T extends AutoCloseable> T closeLater(T c) {
        toClose.add(0, c); // closed before the pidfds
        return c;
    }

    long count(AuditEvent.Kind kind) {
        return audit.stream().filter(e -> e.kind() == kind).count();
    }

    AuditEvent last(AuditEvent.Kind kind) {
        return audit.stream().filter(e -> e.kind() == kind).reduce((a, b) -> b).orElseThrow(
                () -> new AssertionError("no " + kind + " audit event in " + audit));
    }

    int openFd() {
        return Descriptors.open(data.toString(), Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime() < deadline).as("within 10 s: " + what).isTrue();
            Thread.sleep(10);
        }
    }

    @Override
    public void close() throws Exception {
        Exception first = null;
        try {
            grants.close();
        } catch (RuntimeException e) {
            first = e;
        }
        for (AutoCloseable c : toClose) {
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
