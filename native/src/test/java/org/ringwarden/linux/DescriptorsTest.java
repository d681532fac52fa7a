package org.ringwarden.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** fstat and O_NONBLOCK on the running kernel, checked against what the JDK reads from the same files. */
@Timeout(20)
class DescriptorsTest {
    @TempDir
    Path dir;

    @Test
    void fstatOfARegularFileAgreesWithTheJdk() throws Exception {
        Path f = dir.resolve("data");
        Files.write(f, new byte[12345]);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        int fd = Descriptors.open(f.toString(), Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
        try {
            FileStatus st = Descriptors.fstat(fd);
            assertThat(st.type()).isEqualTo(FileType.REGULAR);
            assertThat(st.permissions()).isEqualTo(0640);
            assertThat(st.size()).isEqualTo(12345);
            assertThat(st.mode()).isEqualTo((int) Files.getAttribute(f, "unix:mode"));
            assertThat(st.uid()).isEqualTo((int) Files.getAttribute(f, "unix:uid"));
            assertThat(st.gid()).isEqualTo((int) Files.getAttribute(f, "unix:gid"));
            assertThat(st.inode()).isEqualTo((long) Files.getAttribute(f, "unix:ino"));
            assertThat(st.device()).isEqualTo((long) Files.getAttribute(f, "unix:dev"));
        } finally {
            Descriptors.close(fd);
        }
    }

    @Test
    void fstatTellsDirectoriesAndCharacterDevices() {
        int d = Descriptors.open(dir.toString(), Descriptors.O_RDONLY | Descriptors.O_DIRECTORY | Descriptors.O_CLOEXEC, 0);
        int n = Descriptors.open("/dev/null", Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
        try {
            assertThat(Descriptors.fstat(d).type()).isEqualTo(FileType.DIRECTORY);
            assertThat(Descriptors.fstat(n).type()).isEqualTo(FileType.CHARACTER_DEVICE);
        } finally {
            Descriptors.close(d);
            Descriptors.close(n);
        }
    }

    @Test
    void fstatOfAnOPathDescriptorTellsABlockDeviceWithoutOpeningIt() {
        Path loop = Path.of("/dev/loop0");
        assumeTrue(Files.exists(loop), "a block device node (/dev/loop0)");
        int fd = Descriptors.openat2(loop.toString(), Descriptors.O_PATH | Descriptors.O_CLOEXEC, 0, 0);
        try {
            assertThat(Descriptors.fstat(fd).type()).isEqualTo(FileType.BLOCK_DEVICE);
        } finally {
            Descriptors.close(fd);
        }
    }

    @Test
    void aFifoOpenedNonBlockingForReadingReturnsAtOnceAndIsAFifo() throws Exception {
        Path fifo = mkfifo(dir.resolve("fifo"));
        // Without O_NONBLOCK this open would wait for a writer forever.
        int fd = Descriptors.openat2(fifo.toString(), Descriptors.O_RDONLY | Descriptors.O_NONBLOCK | Descriptors.O_CLOEXEC,
                0, Descriptors.RESOLVE_NO_SYMLINKS);
        try {
            assertThat(Descriptors.fstat(fd).type()).isEqualTo(FileType.FIFO);
        } finally {
            Descriptors.close(fd);
        }
    }

    @Test
    void setNonBlockingSetsAndClearsOnlyONonblock() throws Exception {
        Path f = dir.resolve("log");
        Files.writeString(f, "x");
        int fd = Descriptors.open(f.toString(), Descriptors.O_WRONLY | Descriptors.O_APPEND | Descriptors.O_NONBLOCK
                | Descriptors.O_CLOEXEC, 0);
        try {
            Descriptors.setNonBlocking(fd, false);
            long flags = Descriptors.fcntl(fd, Descriptors.F_GETFL, 0);
            assertThat(flags & Descriptors.O_NONBLOCK).as("cleared").isZero();
            assertThat(flags & Descriptors.O_APPEND).as("kept").isNotZero();
            assertThat(flags & 3).as("access mode kept").isEqualTo(Descriptors.O_WRONLY);
            Descriptors.setNonBlocking(fd, true);
            assertThat(Descriptors.fcntl(fd, Descriptors.F_GETFL, 0) & Descriptors.O_NONBLOCK).as("set again").isNotZero();
        } finally {
            Descriptors.close(fd);
        }
    }

    @Test
    void fstatOfAClosedDescriptorIsEbadf() {
        int closed = 999_999;
        assertThat(Descriptors.isOpen(closed)).isFalse();
        KernelException e = catchThrowableOfType(KernelException.class, () -> Descriptors.fstat(closed));
        assertThat(e).isNotNull();
        assertThat(e.errno()).isEqualTo(Errno.EBADF.number());
    }

    @Test
    void typeBitsMapToTheirConstants() {
        assertThat(FileType.ofMode(0100644)).isEqualTo(FileType.REGULAR);
        assertThat(FileType.ofMode(0060660)).isEqualTo(FileType.BLOCK_DEVICE);
        assertThat(FileType.ofMode(0140777)).isEqualTo(FileType.SOCKET);
        assertThat(FileType.ofMode(0120777)).isEqualTo(FileType.SYMLINK);
        assertThat(FileType.ofMode(0600)).as("no type bits").isEqualTo(FileType.UNKNOWN);
    }

    static Path mkfifo(Path p) throws Exception {
        Process mk = new ProcessBuilder("mkfifo", "-m", "0600", p.toString()).inheritIO().start();
        assertThat(mk.waitFor()).as("mkfifo %s", p).isZero();
        return p;
    }
}
