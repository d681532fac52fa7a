package org.ringwarden.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code /proc/TID/mem} opened under the target's own ids as file-system ids: how the daemon
 * reaches a container process's memory with {@code CAP_SETUID}/{@code CAP_SETGID} and without
 * {@code CAP_SYS_PTRACE} (docs/containers.md). Each case runs on a thread of its own whose
 * effective set lacks {@code CAP_SYS_PTRACE}, as the daemon's threads do.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProcessMemoryFileTest {
    private Process nobody;

    @BeforeEach
    void start() throws Exception {
        assumeTrue(ThreadCredentials.hasEffective(ThreadCredentials.CAP_SETUID)
                && ThreadCredentials.hasEffective(ThreadCredentials.CAP_SETGID), "needs root");
        nobody = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "600")
                .redirectErrorStream(true).start();
        // Wait until it is sleep as uid 65534 (setpriv has exec'd), seen in /proc.
        Path exe = Path.of("/proc", Long.toString(nobody.pid()), "exe");
        while (!(ProcessInfo.uids((int) nobody.pid())[0] == 65534 && Files.readSymbolicLink(exe).toString().endsWith("/sleep"))) {
            Thread.onSpinWait();
        }
        // exe names sleep as soon as the exec begins, before the kernel has mapped the new
        // executable (a first mapping read then was the stack: zeros). Asleep in its
        // nanosleep, sleep is fully loaded.
        Path syscall = Path.of("/proc", Long.toString(nobody.pid()), "syscall");
        while (!isSleeping(Files.readString(syscall))) {
            Thread.onSpinWait();
        }
    }

    @AfterEach
    void stop() {
        if (nobody != null) {
            nobody.destroyForcibly();
        }
    }

    /** True for a /proc/PID/syscall line of a task blocked in nanosleep (35) or clock_nanosleep (230). */
    private static boolean isSleeping(String line) {
        String nr = line.split(" ", 2)[0].trim();
        return nr.equals("35") || nr.equals("230");
    }

    /** Runs {@code task} on a new thread whose effective set lacks CAP_SYS_PTRACE. */
    private static <T> T withoutPtrace(java.util.concurrent.Callable<T> task) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                ThreadCredentials.setEffectiveCapabilities(ThreadCredentials.effectiveCapabilities()
                        & ~(1L << ThreadCredentials.CAP_SYS_PTRACE));
                f.complete(task.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        try {
            return f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception x ? x : e;
        }
    }

    /** The start of the process's first mapping (its executable: the ELF header). */
    private long firstMapping() throws Exception {
        List<String> maps = Files.readAllLines(Path.of("/proc", Long.toString(nobody.pid()), "maps"));
        return Long.parseUnsignedLong(maps.get(0).substring(0, maps.get(0).indexOf('-')), 16);
    }

    @Test
    void readsAnotherUsersProcessUnderItsIdsWithoutPtraceCapabilityAndTheThreadKeepsItsOwnIds() throws Exception {
        long at = firstMapping();
        int pid = (int) nobody.pid();
        byte[] got = withoutPtrace(() -> {
            assertThat(ThreadCredentials.hasEffective(ThreadCredentials.CAP_SYS_PTRACE)).isFalse();
            try (Arena a = Arena.ofConfined(); ProcessMemoryFile m = ProcessMemoryFile.open(pid, 65534, 65534)) {
                MemorySegment buf = a.allocate(4);
                assertThat(m.read(at, buf)).isEqualTo(4);
                // The fs ids are back: the thread's own file access is its own again.
                assertThat(Files.readString(Path.of("/proc/thread-self/status"))).contains("Uid:\t0\t0\t0\t0");
                return buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            }
        });
        assertThat(got).containsExactly(0x7f, 'E', 'L', 'F');
    }

    @Test
    void wrongIdsAreRefusedByTheKernel() throws Exception {
        int pid = (int) nobody.pid();
        assertThatThrownBy(() -> withoutPtrace(() -> ProcessMemoryFile.open(pid, 65534, 0)))
                .isInstanceOf(KernelException.class).hasMessageContaining("EACCES");
        assertThatThrownBy(() -> withoutPtrace(() -> ProcessMemoryFile.open(pid, 1, 65534)))
                .isInstanceOf(KernelException.class).hasMessageContaining("EACCES");
    }
}
