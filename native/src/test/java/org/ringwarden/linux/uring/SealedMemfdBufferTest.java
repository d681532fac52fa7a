package org.ringwarden.linux.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.ringwarden.linux.uring.RingFixtures.assertFailsWith;
import static org.ringwarden.linux.uring.RingFixtures.await;
import static org.ringwarden.linux.uring.RingFixtures.sqe;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.Memory;

/**
 * The broker's buffer scheme (security.md): a sealed memfd mapped shared and registered as a
 * fixed buffer; a READ_FIXED into it shows through every other mapping of the memfd (the
 * client's), and the seals stop anyone resizing it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@RequiresRings
class SealedMemfdBufferTest {
    private static final int SIZE = 64 * 1024;

    private int openBefore;

    @BeforeEach
    void countDescriptors() {
        assertThat(openBefore).isZero();
        openBefore = Descriptors.countOpen();
    }

    @AfterEach
    void noDescriptorLeaked() {
        assertThat(Descriptors.countOpen()).as("open descriptors after the test (before: %d): %s", openBefore,
                RingFixtures.openDescriptors())
                .isEqualTo(openBefore);
    }

    @Test
    void readFixedIntoSealedMemfdIsSeenByASecondMappingAndTheMemfdCannotBeResized() throws Exception {
        // A regular file on disk: tmpfs reads are punted to io-wq and prove less (security.md).
        Path dir = Path.of("target").toAbsolutePath();
        Files.createDirectories(dir);
        assertThat(Files.getFileStore(dir).type()).as("file system of %s", dir).isNotEqualTo("tmpfs");
        // Not createTempFile: its SecureRandom keeps /dev/urandom open, which the leak check would count.
        Path file = dir.resolve("read-fixed-" + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".bin");
        try (RingFixtures.Resources res = new RingFixtures.Resources()) {
            res.onClose(() -> Files.deleteIfExists(file));
            byte[] content = new byte[16 * 1024];
            for (int i = 0; i < content.length; i++) {
                content[i] = (byte) (i * 31 + 7);
            }
            Files.write(file, content, java.nio.file.StandardOpenOption.CREATE_NEW);
            int fileFd = res.fd(Descriptors.open(file.toString(), Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0));

            int memfd = res.fd(Memory.memfdCreate("rw-buffer", Memory.MFD_CLOEXEC | Memory.MFD_ALLOW_SEALING));
            Memory.truncate(memfd, SIZE);
            MemorySegment daemonView = Memory.mapShared(memfd, 0, SIZE);
            res.onClose(() -> Memory.unmap(daemonView));
            MemorySegment clientView = Memory.mapShared(memfd, 0, SIZE);
            res.onClose(() -> Memory.unmap(clientView));

            Ring ring = res.newRing(8, 0);
            IoUringCalls.registerBuffers(ring.fd(), List.of(daemonView));
            Memory.addSeals(memfd, Memory.F_SEAL_SHRINK | Memory.F_SEAL_GROW | Memory.F_SEAL_SEAL);
            assertThat(Memory.seals(memfd)).as("seals on the memfd")
                    .isEqualTo(Memory.F_SEAL_SHRINK | Memory.F_SEAL_GROW | Memory.F_SEAL_SEAL);

            long at = 4096;
            int len = 12 * 1024;
            long sqe = sqe(ring);
            Sqe.prepReadFixed(ring.sqes(), sqe, fileFd, daemonView.address() + at, len, 1024, 0);
            Sqe.setUserData(ring.sqes(), sqe, 99);
            assertThat(ring.submitAndWait(1)).as("submitted").isEqualTo(1);
            assertThat(await(ring, 1)).as("READ_FIXED of %d bytes", len).containsOnly(Map.entry(99L, len));

            byte[] expected = new byte[len];
            System.arraycopy(content, 1024, expected, 0, len);
            byte[] seen = clientView.asSlice(at, len).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            assertThat(seen).as("bytes seen through the second mapping").isEqualTo(expected);
            assertThat(clientView.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at - 1)).as("byte before the read")
                    .isZero();

            assertFailsWith(Errno.EPERM, "ftruncate shrinking a SHRINK-sealed memfd", () -> Memory.truncate(memfd, 4096));
            assertFailsWith(Errno.EPERM, "ftruncate growing a GROW-sealed memfd", () -> Memory.truncate(memfd, 2L * SIZE));
            assertFailsWith(Errno.EPERM, "adding a seal after F_SEAL_SEAL",
                    () -> Memory.addSeals(memfd, Memory.F_SEAL_WRITE));
        }
    }
}
