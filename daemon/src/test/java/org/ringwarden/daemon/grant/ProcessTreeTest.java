package org.ringwarden.daemon.grant;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Syscall;

@Timeout(30)
class ProcessTreeTest {
    private static final int SELF = (int) ProcessHandle.current().pid();

    private static int gettid() {
        return (int) Syscall.checked("gettid", Syscall.SYS_GETTID, 0, 0, 0);
    }

    @Test
    void anotherThreadOfTheProcessIsFoundByTheThreadLookup() throws Exception {
        AtomicInteger tid = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        Thread t = Thread.ofPlatform().start(() -> {
            tid.set(gettid());
            started.countDown();
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        started.await();
        int pidfd = (int) Syscall.checked("pidfd_open", Syscall.SYS_PIDFD_OPEN, SELF, 0);
        try {
            assertThat(ProcessTree.isThreadOf(SELF, tid.get())).as("a thread of this process, found by tgkill(pid, tid, 0)").isTrue();
            assertThat(ProcessTree.contains(SELF, pidfd, tid.get())).as("a thread of the peer is in its tree").isTrue();
            assertThat(ProcessTree.isThreadOf(1, tid.get())).as("not a thread of init").isFalse();
        } finally {
            done.countDown();
            t.join();
            Descriptors.closeQuietly(pidfd);
        }
    }

    @Test
    void aChildProcessIsNotAThreadButIsInTheTreeThroughItsParentChain() throws Exception {
        Process child = new ProcessBuilder("sleep", "30").start();
        int pidfd = (int) Syscall.checked("pidfd_open", Syscall.SYS_PIDFD_OPEN, SELF, 0);
        try {
            int childPid = (int) child.pid();
            assertThat(ProcessTree.isThreadOf(SELF, childPid)).as("a child is no thread of ours").isFalse();
            assertThat(ProcessTree.contains(SELF, pidfd, childPid)).as("a child is in our tree (PPid chain)").isTrue();
            assertThat(ProcessTree.contains(childPid, pidfd, SELF)).as("a parent is not in its child's tree").isFalse();
        } finally {
            child.destroyForcibly().waitFor();
            Descriptors.closeQuietly(pidfd);
        }
    }
}
