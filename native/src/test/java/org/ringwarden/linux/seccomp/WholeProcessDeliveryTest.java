package org.ringwarden.linux.seccomp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.Pidfd;
import org.ringwarden.linux.ProcessInfo;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.RequiresRings;

/**
 * The client side as protocol.md has it, in a separate JVM ({@link SeccompClientMain}): the
 * filter on every thread with {@code TSYNC | TSYNC_ESRCH | WAIT_KILLABLE_RECV}, a thread that
 * existed before the filter trapped too, and the filter kept across {@code execve}. The test
 * plays the daemon; it takes the listener with {@code pidfd_getfd} (root) instead of
 * {@code SCM_RIGHTS}, which keeps the child free of socket plumbing.
 */
@Timeout(120)
@RequiresRings
class WholeProcessDeliveryTest {
    @Test
    void everyThreadAndTheExecdProgramAreTrappedAndTheLastExitHangsUp() throws Exception {
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(javaBin.toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), SeccompClientMain.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        // Watchdog: a blocked readLine cannot be interrupted, but it ends at EOF when the child dies.
        java.util.concurrent.CompletableFuture.delayedExecutor(100, TimeUnit.SECONDS).execute(child::destroyForcibly);
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
             Writer in = child.outputWriter(StandardCharsets.UTF_8)) {
            String[] hello = line(out, "LISTENER");
            int childPid = Integer.parseInt(hello[2]);
            assertThat(childPid).as("pid the child reports").isEqualTo((int) child.pid());
            assertThat(hello[3]).as("child used WAIT_KILLABLE_RECV").isEqualTo(String.valueOf(Seccomp.supportsWaitKillableRecv()));
            try (Pidfd pidfd = Pidfd.open(childPid);
                 SeccompListener l = SeccompListener.adoptVerified(pidfd.getFd(Integer.parseInt(hello[1])))) {
                in.write("go\n");
                in.flush();

                SeccompNotification early = next(l);
                assertThat(early.arg(3)).as("ticket of the thread started before the filter").isEqualTo(1);
                assertThat(early.pid()).as("a thread, not the process").isNotEqualTo(childPid);
                assertThat(ProcessInfo.threadGroupOf(early.pid())).as("its process").isEqualTo(childPid);
                int remote = deliverRing(l, early);
                String[] thread = line(out, "THREAD");
                assertThat(thread[1]).as("tid").isEqualTo(String.valueOf(early.pid()));
                assertThat(thread[2]).as("the early thread's io_uring_setup result").isEqualTo(String.valueOf(remote));
                assertThat(thread[3]).as("what that fd is").isEqualTo("anon_inode:[io_uring]");

                SeccompNotification main = next(l);
                assertThat(main.arg(3)).as("ticket of the main thread").isEqualTo(2);
                remote = deliverRing(l, main);
                String[] mainLine = line(out, "MAIN");
                assertThat(mainLine[2]).as("main thread's io_uring_setup result").isEqualTo(String.valueOf(remote));
                assertThat(mainLine[3]).as("what that fd is").isEqualTo("anon_inode:[io_uring]");

                SeccompNotification perl = next(l);
                assertThat(perl.arg(2)).as("perl's magic").isEqualTo(SeccompClientMain.MAGIC);
                assertThat(perl.arg(3)).as("perl's ticket").isEqualTo(3);
                assertThat(perl.pid()).as("after execve the caller is the process leader").isEqualTo(childPid);
                assertThat(ProcessInfo.exe(childPid).getFileName().toString()).as("exe after execve").startsWith("perl");
                assertThat(l.fail(perl.id(), Errno.EPERM)).as("answer perl").isTrue();
                String[] perlLine = line(out, "PERL");
                assertThat(perlLine[1]).as("perl's pid").isEqualTo(String.valueOf(childPid));
                assertThat(perlLine[2]).as("perl's syscall() result").isEqualTo("-1");
                assertThat(perlLine[3]).as("perl's errno").isEqualTo(String.valueOf(Errno.EPERM.number()));

                assertThat(child.waitFor(30, TimeUnit.SECONDS)).as("child exited").isTrue();
                assertThat(child.exitValue()).as("child exit status").isZero();
                assertThat(l.poll(10_000)).as("listener after the last filtered process exited")
                        .isEqualTo(SeccompListener.Event.HANGUP);
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static SeccompNotification next(SeccompListener l) {
        assertThat(l.poll(30_000)).as("a notification from the child").isEqualTo(SeccompListener.Event.NOTIFICATION);
        SeccompNotification n = l.receive();
        assertThat(n).as("received notification").isNotNull();
        assertThat(n.isX86_64(425)).as("an x86_64 io_uring_setup: %s", n).isTrue();
        assertThat(n.arg(2)).as("magic").isEqualTo(SeccompClientMain.MAGIC);
        return n;
    }

    private static int deliverRing(SeccompListener l, SeccompNotification n) {
        IoUringCalls.CreatedRing ring = IoUringCalls.create(8, 0, 0);
        try {
            assertThat(l.isValid(n.id())).as("still waiting").isTrue();
            int remote = l.addFd(n.id(), ring.fd(), true);
            assertThat(l.respond(n.id(), remote)).as("answered").isTrue();
            return remote;
        } finally {
            Descriptors.close(ring.fd());
        }
    }

    private static String[] line(BufferedReader out, String tag) throws Exception {
        String s = out.readLine();
        assertThat(s).as("child's %s line", tag).isNotNull().startsWith(tag + " ");
        return s.split(" ", 4);
    }
}
