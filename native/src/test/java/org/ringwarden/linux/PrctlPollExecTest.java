package org.ringwarden.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(20)
class PrctlPollExecTest {
    @Test
    void noNewPrivsIsPerThread() throws Exception {
        AtomicReference<boolean[]> seen = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            boolean before = Prctl.noNewPrivs();
            Prctl.setNoNewPrivs(); // permanent, for this throwaway thread only
            seen.set(new boolean[] {before, Prctl.noNewPrivs()});
        });
        t.join(10_000);
        assertThat(seen.get()).as("no-new-privs before/after on the throwaway thread").containsExactly(false, true);
        assertThat(Prctl.noNewPrivs()).as("no-new-privs on the test thread").isFalse();
    }

    @Test
    void dumpableCanBeClearedAndRestored() {
        boolean original = Prctl.isDumpable();
        try {
            Prctl.setDumpable(false);
            assertThat(Prctl.isDumpable()).as("after PR_SET_DUMPABLE 0").isFalse();
            Prctl.setDumpable(true);
            assertThat(Prctl.isDumpable()).as("after PR_SET_DUMPABLE 1").isTrue();
        } finally {
            Prctl.setDumpable(original);
        }
    }

    @Test
    void pollReportsReadableAndHangupAndTimesOut() {
        int[] sv = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        try {
            assertThat(Poll.poll(sv[1], Poll.POLLIN, 0)).as("nothing to read yet").isZero();
            UnixRights.sendFds(sv[0], new byte[] {1}, new int[0]);
            assertThat(Poll.has(Poll.poll(sv[1], Poll.POLLIN, 1000), Poll.POLLIN)).as("readable").isTrue();
            Descriptors.close(sv[0]);
            sv[0] = -1;
            assertThat(Poll.has(Poll.poll(sv[1], Poll.POLLIN, 1000), Poll.POLLHUP)).as("hang-up after the peer closed").isTrue();
        } finally {
            Descriptors.closeQuietly(sv[0]);
            Descriptors.close(sv[1]);
        }
    }

    @Test
    void pollRetriesEintrWithTheTimeLeft() throws Exception {
        int[] sv = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        AtomicReference<Object> result = new AtomicReference<>();
        int[] tid = {0};
        try {
            Thread t = Thread.ofPlatform().start(() -> {
                synchronized (tid) {
                    tid[0] = Tasks.gettid();
                    tid.notifyAll();
                }
                long start = System.nanoTime();
                try {
                    int r = Poll.poll(sv[1], Poll.POLLIN, 600);
                    result.set(new long[] {r, (System.nanoTime() - start) / 1_000_000});
                } catch (Throwable e) {
                    result.set(e);
                }
            });
            synchronized (tid) {
                while (tid[0] == 0) {
                    tid.wait();
                }
            }
            // Signal it only once it sleeps in poll(2): a signal before would prove nothing.
            ThreadStates.awaitBlockedIn(tid[0], Syscall.SYS_POLL, Duration.ofSeconds(10));
            // The JVM's SIGPIPE handler ignores it; poll(2) returns EINTR after any handler.
            Tasks.tgkill(Tasks.getpid(), tid[0], Tasks.SIGPIPE);
            t.join(10_000);
            assertThat(result.get()).as("poll outcome").isInstanceOf(long[].class);
            long[] r = (long[]) result.get();
            assertThat(r[0]).as("revents: a timeout, not an error").isZero();
            assertThat(r[1]).as("ms waited despite the signal").isGreaterThanOrEqualTo(590);
        } finally {
            Descriptors.close(sv[0]);
            Descriptors.close(sv[1]);
        }
    }

    @Test
    void execveReportsWhyItFailed(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> Exec.execve("/nonexistent/ringwarden", List.of("x"), List.of()))
                .as("execve of a missing file")
                .isInstanceOfSatisfying(KernelException.class, e -> assertThat(e.is(Errno.ENOENT)).as(e.getMessage()).isTrue());
        Path notExecutable = Files.writeString(dir.resolve("script"), "#!/bin/sh\nexit 0\n");
        assertThatThrownBy(() -> Exec.execve(notExecutable.toString(), List.of("script"), List.of()))
                .as("execve of a file without x bits")
                .isInstanceOfSatisfying(KernelException.class, e -> assertThat(e.is(Errno.EACCES)).as(e.getMessage()).isTrue());
    }

    @Test
    void ioctlEncodingMatchesAsmGenericIoctlH() {
        // Terminal ioctls of <asm-generic/ioctls.h>, built with the same macros.
        assertThat(Ioctl.ior('T', 0x30, 4)).as("TIOCGPTN").isEqualTo(0x80045430L);
        assertThat(Ioctl.iow('T', 0x31, 4)).as("TIOCSPTLCK").isEqualTo(0x40045431L);
        assertThat(Ioctl.io('T', 0x2A)).as("_IO('T', 0x2A)").isEqualTo(0x542AL);
    }
}
