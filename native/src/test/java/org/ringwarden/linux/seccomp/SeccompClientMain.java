package org.ringwarden.linux.seccomp;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.ringwarden.linux.Exec;
import org.ringwarden.linux.Prctl;
import org.ringwarden.linux.Syscall;
import org.ringwarden.linux.Tasks;

/**
 * A client process for {@link WholeProcessDeliveryTest}, run in its own JVM because it
 * installs its filter on every thread (TSYNC), as a real client does; a test JVM must never.
 * Talks to the test over stdin/stdout, one line per step.
 */
public final class SeccompClientMain {
    static final long MAGIC = 0x52494E47L;

    private SeccompClientMain() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        CountDownLatch go = new CountDownLatch(1);
        // Started before the filter exists: only TSYNC can put it under the filter.
        Thread early = Thread.ofPlatform().name("early").start(() -> {
            try {
                go.await();
            } catch (InterruptedException e) {
                return;
            }
            report("THREAD", Syscall.rawOnThisThread(Syscall.SYS_IO_URING_SETUP, 8, 0, MAGIC, 1, 0, 0));
        });
        Prctl.setNoNewPrivs();
        SeccompListener listener = Seccomp.installListener(SeccompFilter.trappingIoUringSetup(), Seccomp.Scope.ALL_THREADS);
        System.out.println("LISTENER " + listener.fd() + " " + Tasks.getpid() + " " + Seccomp.supportsWaitKillableRecv());
        System.out.flush();
        if (!"go".equals(in.readLine())) {
            System.exit(3);
        }
        go.countDown();
        early.join();
        report("MAIN", Syscall.rawOnThisThread(Syscall.SYS_IO_URING_SETUP, 8, 0, MAGIC, 2, 0, 0));
        // The filter (and no-new-privs) survive execve; the listener fd, close-on-exec, does not.
        Exec.execve("/usr/bin/perl", List.of("perl", "-e",
                "my $r = syscall(425, 8, 0, 0x52494E47, 3); print \"PERL $$ $r \", $!+0, \"\\n\";"), List.of());
    }

    private static synchronized void report(String who, long result) {
        String what = "-";
        if (result >= 0) {
            try {
                what = Files.readSymbolicLink(Path.of("/proc/self/fd/" + result)).toString();
            } catch (Exception e) {
                what = e.toString();
            }
        }
        System.out.println(who + " " + Tasks.gettid() + " " + result + " " + what);
        System.out.flush();
    }
}
