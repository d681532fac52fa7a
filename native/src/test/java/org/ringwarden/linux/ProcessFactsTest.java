package org.ringwarden.linux;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** pidfds, process memory, peer credentials and /proc facts, against real processes. */
@Timeout(30)
class ProcessFactsTest {
    private Process child;

    @AfterEach
    void killChild() throws InterruptedException {
        if (child != null) {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Process startSleeper(String... prefix) throws Exception {
        String[] cmd = new String[prefix.length + 2];
        System.arraycopy(prefix, 0, cmd, 0, prefix.length);
        cmd[prefix.length] = "sleep";
        cmd[prefix.length + 1] = "60";
        child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        // Wait until the child runs sleep itself (setpriv execs it), so /proc shows its final state.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!ProcessInfo.exe((int) child.pid()).toString().endsWith("/sleep")) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("child never exec'd sleep: " + ProcessInfo.exe((int) child.pid()));
            }
            Thread.sleep(5);
        }
        return child;
    }

    @Test
    void pidfdOfAChildBecomesReadableWhenItExits() throws Exception {
        Process p = startSleeper();
        try (Pidfd pidfd = Pidfd.open((int) p.pid())) {
            assertThat(pidfd.isAlive()).as("running child").isTrue();
            assertThat(pidfd.awaitExit(50)).as("no exit within 50 ms").isFalse();
            assertThat(Descriptors.fcntl(pidfd.fd(), Descriptors.F_GETFD, 0) & Descriptors.FD_CLOEXEC)
                    .as("pidfd close-on-exec").isEqualTo(Descriptors.FD_CLOEXEC);
            pidfd.sendSignal(Tasks.SIGTERM);
            assertThat(pidfd.awaitExit(10_000)).as("readable after exit").isTrue();
            assertThat(pidfd.isAlive()).as("exited child").isFalse();
        }
    }

    @Test
    void pidfdGetfdDuplicatesAChildsDescriptor() throws Exception {
        Process p = startSleeper();
        try (Pidfd pidfd = Pidfd.open((int) p.pid())) {
            int dup = pidfd.getFd(1); // the child's stdout: a pipe to us
            try {
                assertThat(Descriptors.isOpen(dup)).as("duplicated fd open here").isTrue();
                assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + dup)).toString())
                        .as("what it is").isEqualTo(Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/fd/1")).toString());
            } finally {
                Descriptors.close(dup);
            }
        }
    }

    @Test
    void pidfdOpenRefusesAThreadIdThatIsNotAProcess() throws Exception {
        // A seccomp notification names a TID: the daemon must map it to its process first.
        AtomicInteger tid = new AtomicInteger();
        Thread blocker = Thread.ofPlatform().start(() -> {
            tid.set(Tasks.gettid());
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                // ends the thread
            }
        });
        try {
            while (tid.get() == 0) {
                Thread.sleep(1);
            }
            assertThat(tid.get()).as("a thread's id").isNotEqualTo(Tasks.getpid());
            assertThatThrownBy(() -> Pidfd.open(tid.get())).as("pidfd_open(TID of a non-leader thread)")
                    .isInstanceOfSatisfying(KernelException.class, e -> assertThat(Errno.of(e.errno()))
                            .as("%s (EINVAL before pidfs; ENOENT observed on 6.18)", e.getMessage())
                            .isIn(Errno.EINVAL, Errno.ENOENT));
            assertThat(ProcessInfo.threadGroupOf(tid.get())).as("its thread group").isEqualTo(Tasks.getpid());
        } finally {
            blocker.interrupt();
            blocker.join();
        }
    }

    @Test
    void processMemoryReadsAndWritesOurOwnMemory() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(4096);
            for (int i = 0; i < 4096; i++) {
                src.set(JAVA_BYTE, i, (byte) (i * 7));
            }
            MemorySegment dst = arena.allocate(4096);
            assertThat(ProcessMemory.read(Tasks.getpid(), src.address(), dst)).as("bytes read").isEqualTo(4096);
            assertThat(dst.mismatch(src)).as("first differing byte").isEqualTo(-1);
            MemorySegment patch = arena.allocateFrom(JAVA_BYTE, new byte[] {1, 2, 3});
            assertThat(ProcessMemory.write(Tasks.getpid(), dst.address() + 100, patch)).as("bytes written").isEqualTo(3);
            assertThat(dst.asSlice(100, 3).toArray(JAVA_BYTE)).as("written bytes").containsExactly(1, 2, 3);
        }
    }

    @Test
    void processMemoryStopsAtTheFirstUnmappedPageAndFailsOnNone() {
        MemorySegment two = Memory.map(8192, Memory.PROT_READ | Memory.PROT_WRITE, Memory.MAP_PRIVATE | Memory.MAP_ANONYMOUS, -1, 0);
        Memory.unmap(two.asSlice(4096, 4096));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(8192);
            assertThat(ProcessMemory.read(Tasks.getpid(), two.address(), dst)).as("partial read").isEqualTo(4096);
            assertThatThrownBy(() -> ProcessMemory.read(Tasks.getpid(), two.address() + 4096, dst))
                    .as("read of an unmapped page")
                    .isInstanceOfSatisfying(KernelException.class, e -> assertThat(e.is(Errno.EFAULT)).as(e.getMessage()).isTrue());
        } finally {
            Memory.unmap(two.asSlice(0, 4096));
        }
    }

    @Test
    void processMemoryWritesAndReadsAChildAsProcMemSeesIt() throws Exception {
        Process p = startSleeper();
        int pid = (int) p.pid();
        long stackLow = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
            if (line.endsWith("[stack]")) {
                stackLow = Long.parseUnsignedLong(line.substring(0, line.indexOf('-')), 16);
            }
        }
        assertThat(stackLow).as("child's [stack] mapping").isPositive();
        // The lowest page of the main stack mapping is far below anything `sleep` touches.
        byte[] pattern = "ringwarden-process-vm".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocateFrom(JAVA_BYTE, pattern);
            assertThat(ProcessMemory.write(pid, stackLow, out)).as("bytes written to the child").isEqualTo(pattern.length);
            MemorySegment in = arena.allocate(pattern.length);
            assertThat(ProcessMemory.read(pid, stackLow, in)).as("bytes read from the child").isEqualTo(pattern.length);
            assertThat(in.toArray(JAVA_BYTE)).as("read back").isEqualTo(pattern);
        }
        try (RandomAccessFile mem = new RandomAccessFile("/proc/" + pid + "/mem", "r")) {
            byte[] viaProc = new byte[pattern.length];
            mem.seek(stackLow);
            mem.readFully(viaProc);
            assertThat(viaProc).as("the same bytes through /proc/PID/mem").isEqualTo(pattern);
        }
    }

    @Test
    void peerCredentialsOfASocketpairAreOurOwn() {
        int[] sv = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        try {
            assertThat(PeerCredentials.of(sv[0])).as("SO_PEERCRED")
                    .isEqualTo(new PeerCredentials(Tasks.getpid(), Tasks.getuid(), Tasks.getgid()));
        } finally {
            Descriptors.close(sv[0]);
            Descriptors.close(sv[1]);
        }
    }

    @Test
    void peerPidfdNamesOurProcess() throws Exception {
        int[] sv = UnixSockets.socketpair(UnixSockets.SOCK_STREAM);
        int pidfd = -1;
        try {
            pidfd = PeerCredentials.peerPidfd(sv[0]);
            Assumptions.assumeTrue(pidfd >= 0, "this kernel has no SO_PEERPIDFD (ENOPROTOOPT)");
            assertThat(Files.readAllLines(Path.of("/proc/self/fdinfo/" + pidfd))).as("fdinfo of the pidfd")
                    .contains("Pid:\t" + Tasks.getpid());
            assertThat(Descriptors.fcntl(pidfd, Descriptors.F_GETFD, 0) & Descriptors.FD_CLOEXEC).as("close-on-exec")
                    .isEqualTo(Descriptors.FD_CLOEXEC);
            try (Pidfd p = Pidfd.adopt(pidfd)) {
                pidfd = -1;
                assertThat(p.isAlive()).as("we are alive").isTrue();
            }
        } finally {
            Descriptors.closeQuietly(pidfd);
            Descriptors.close(sv[0]);
            Descriptors.close(sv[1]);
        }
    }

    @Test
    void procReportsGroupsExeParentAndThreadGroupOfAnotherUser() throws Exception {
        Process p = startSleeper("setpriv", "--reuid=65534", "--regid=65534", "--groups=4,27", "--");
        int pid = (int) p.pid();
        assertThat(ProcessInfo.supplementaryGroups(pid)).as("Groups: of the child").containsExactly(4, 27);
        assertThat(ProcessInfo.exe(pid)).as("exe of the child").isEqualTo(Path.of("/usr/bin/sleep").toRealPath());
        assertThat(ProcessInfo.parentOf(pid)).as("PPid: of the child").isEqualTo(Tasks.getpid());
        assertThat(ProcessInfo.threadGroupOf(pid)).as("Tgid: of a process is its pid").isEqualTo(pid);
    }
}
