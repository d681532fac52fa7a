package org.ringwarden.daemon.grant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.FileType;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.Restriction;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.RefusedException;
import org.ringwarden.daemon.IoUringSysctl;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
@IoUringSysctl.RequiresRings
class RingFactoryTest {
    private static final long NO_LINKS = Descriptors.RESOLVE_NO_SYMLINKS | Descriptors.RESOLVE_NO_MAGICLINKS;
    private static final List<Restriction> READER = List.of(
            Restriction.registerOp(RegisterOp.REGISTER_PROBE),
            Restriction.sqeOp(IoUringOp.NOP),
            Restriction.sqeOp(IoUringOp.READ_FIXED),
            Restriction.sqeFlagsRequired((int) SqeFlag.FIXED_FILE.abi()));

    @TempDir
    Path dir;
    private Path data;
    private ResourceSnapshot before;
    private final RingFactory factory = new RingFactory();

    @BeforeEach
    void makeFiles() throws Exception {
        data = dir.resolve("data");
        Files.writeString(data, "hello ring");
        before = ResourceSnapshot.take(dir);
    }

    @AfterEach
    void nothingLeaked() {
        assertThat(ResourceSnapshot.take(dir)).as("every fd and mapping the test's rings used is given back")
                .isEqualTo(before);
    }

    private static RingRecipe recipe(long flags, boolean daemonEnables, List<RingRecipe.FileOpen> files,
                                     List<RingRecipe.BufferSpec> buffers, List<Restriction> restrictions) {
        return new RingRecipe("test", 8, 16, flags, daemonEnables, files, buffers, restrictions, 4);
    }

    private RingRecipe.FileOpen dataFile(long resolve) {
        return new RingRecipe.FileOpen("data", data.toString(), Descriptors.O_RDONLY, 0, resolve);
    }

    @Test
    void daemonEnabledRingIsEnabledAndRestricted() throws Exception {
        try (PreparedRing ring = factory.create(recipe(SetupFlag.SUBMIT_ALL.abi(), true, List.of(dataFile(NO_LINKS)),
                List.of(), READER), new int[0])) {
            assertThat(ring.enabled()).as("the daemon enabled it").isTrue();
            assertThat(ring.params().has(SetupFlag.R_DISABLED)).as("created disabled").isTrue();
            assertThat(ring.params().has(SetupFlag.SUBMIT_ALL)).as("the policy's flag").isTrue();
            assertThat(ring.params().sqEntries()).isEqualTo(8);
            assertThat(ring.params().cqEntries()).isEqualTo(16);
            assertThat(ring.files()).containsExactly(new FileSlot(0, "data"));
            assertThat(IoUringCalls.enter(ring.ringFd(), 0, 0, 0)).as("an enabled ring accepts enter").isZero();
            KernelException again = catchThrowableOfType(KernelException.class,
                    () -> IoUringCalls.registerRestrictions(ring.ringFd(), READER));
            assertThat(again).as("restrictions are in force: RESTRICTIONS is not an allowed register op").isNotNull();
            assertThat(again.errno()).isEqualTo(Errno.EACCES.number());
            assertThat(IoUringCalls.probe(ring.ringFd()).supports(IoUringOp.NOP))
                    .as("PROBE, the one allowed register op, works").isTrue();
        }
    }

    @Test
    void clientEnabledSingleIssuerRingStaysDisabledForTheClient() throws Exception {
        long flags = SetupFlag.SINGLE_ISSUER.abi() | SetupFlag.DEFER_TASKRUN.abi();
        try (PreparedRing ring = factory.create(recipe(flags, false, List.of(), List.of(), READER), new int[0])) {
            assertThat(ring.enabled()).as("left to the client").isFalse();
            assertThat(ring.params().has(SetupFlag.SINGLE_ISSUER)).isTrue();
            assertThat(ring.params().has(SetupFlag.DEFER_TASKRUN)).isTrue();
            KernelException e = catchThrowableOfType(KernelException.class,
                    () -> IoUringCalls.enter(ring.ringFd(), 0, 0, 0));
            assertThat(e).as("a disabled ring refuses enter").isNotNull();
            assertThat(e.errno()).isEqualTo(Errno.EBADFD.number());
            IoUringCalls.enableRings(ring.ringFd());
            assertThat(IoUringCalls.enter(ring.ringFd(), 0, 0, 0)).as("the enabler is the issuer").isZero();
            KernelException denied = catchThrowableOfType(KernelException.class,
                    () -> IoUringCalls.registerRestrictions(ring.ringFd(), READER));
            assertThat(denied).as("restrictions were registered before the client enabled").isNotNull();
            assertThat(denied.errno()).isEqualTo(Errno.EACCES.number());
        }
    }

    @Test
    void symlinkInPathIsRefusedWithEloop() throws Exception {
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, dir);
        RingRecipe.FileOpen viaLink = new RingRecipe.FileOpen("data", link.resolve("data").toString(),
                Descriptors.O_RDONLY, 0, NO_LINKS);
        RefusedException e = catchThrowableOfType(RefusedException.class,
                () -> factory.create(recipe(0, true, List.of(viaLink), List.of(), READER), new int[0]));
        assertThat(e).as("a symlink on the path is refused").isNotNull();
        assertThat(e.getMessage()).contains("opening a policy file data").contains("openat2").contains("ELOOP");
        assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
    }

    @Test
    void symlinkIsFollowedWhenPolicyOptsOut() throws Exception {
        Path link = dir.resolve("link");
        Files.createSymbolicLink(link, dir);
        RingRecipe.FileOpen viaLink = new RingRecipe.FileOpen("data", link.resolve("data").toString(),
                Descriptors.O_RDONLY, 0, 0);
        try (PreparedRing ring = factory.create(recipe(0, true, List.of(viaLink), List.of(), READER), new int[0])) {
            assertThat(ring.files()).as("opened through the link").containsExactly(new FileSlot(0, "data"));
        }
    }

    @Test
    void fifoAtAPolicyFilesPathIsRefusedAtOnceNamingBothTypes() throws Exception {
        Files.delete(data);
        mkfifo(data); // what a user who can write the directory puts there: a blocking open never returns
        for (int access : new int[] {Descriptors.O_RDONLY, Descriptors.O_RDWR, Descriptors.O_WRONLY}) {
            RingRecipe.FileOpen f = new RingRecipe.FileOpen("data", data.toString(), access, 0, NO_LINKS);
            RefusedException e = catchThrowableOfType(RefusedException.class,
                    () -> factory.create(recipe(0, true, List.of(f), List.of(), READER), new int[0]));
            assertThat(e).as("a FIFO opened with access mode %d", access).isNotNull();
            assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
            assertThat(e.getMessage()).as("O_WRONLY fails ENXIO without a reader: the same refusal")
                    .isEqualTo("policy test: opening a policy file data (" + data + ") refused: it is a FIFO, "
                            + "not a regular file as the policy says; something at that path may have been replaced");
        }
    }

    @Test
    void fileOfAnotherTypeThanThePolicyNamesIsRefusedAndADeviceOfTheRightTypeIsKept() throws Exception {
        RingRecipe.FileOpen notADevice = new RingRecipe.FileOpen("data", data.toString(), Descriptors.O_RDONLY, 0,
                NO_LINKS, FileType.CHARACTER_DEVICE);
        RefusedException e = catchThrowableOfType(RefusedException.class,
                () -> factory.create(recipe(0, true, List.of(dataFile(NO_LINKS), notADevice), List.of(), READER),
                        new int[0]));
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("it is a regular file, not a character device as the policy says");
        RingRecipe.FileOpen dirAsFile = new RingRecipe.FileOpen("dir", dir.toString(), Descriptors.O_RDONLY, 0, NO_LINKS);
        assertThat(catchThrowableOfType(RefusedException.class,
                () -> factory.create(recipe(0, true, List.of(dirAsFile), List.of(), READER), new int[0])).getMessage())
                .contains("it is a directory, not a regular file");

        RingRecipe.FileOpen devNull = new RingRecipe.FileOpen("null", "/dev/null", Descriptors.O_RDWR, 0, NO_LINKS,
                FileType.CHARACTER_DEVICE);
        RingRecipe.FileOpen directory = new RingRecipe.FileOpen("dir", dir.toString(), Descriptors.O_RDONLY, 0,
                NO_LINKS, FileType.DIRECTORY);
        try (PreparedRing ring = factory.create(recipe(0, true, List.of(dataFile(NO_LINKS), devNull, directory),
                List.of(), READER), new int[0])) {
            assertThat(ring.files()).containsExactly(new FileSlot(0, "data"), new FileSlot(1, "null"),
                    new FileSlot(2, "dir"));
        }
    }

    @Test
    void aKeptFileLosesTheONonblockItWasOpenedWithUnlessThePolicyAskedForIt() throws Exception {
        int fd = RingFactory.openPolicyFile("test", new RingRecipe.FileOpen("null", "/dev/null", Descriptors.O_RDWR,
                0, NO_LINKS, FileType.CHARACTER_DEVICE));
        try {
            assertThat(Descriptors.fcntl(fd, Descriptors.F_GETFL, 0) & Descriptors.O_NONBLOCK).as("cleared").isZero();
        } finally {
            Descriptors.close(fd);
        }
        fd = RingFactory.openPolicyFile("test", new RingRecipe.FileOpen("null", "/dev/null",
                Descriptors.O_RDWR | Descriptors.O_NONBLOCK, 0, NO_LINKS, FileType.CHARACTER_DEVICE));
        try {
            assertThat(Descriptors.fcntl(fd, Descriptors.F_GETFL, 0) & Descriptors.O_NONBLOCK)
                    .as("the policy's openFlags NONBLOCK").isNotZero();
        } finally {
            Descriptors.close(fd);
        }
    }

    /** {@code mkfifo -m 0600 p}. */
    static Path mkfifo(Path p) throws Exception {
        Process mk = new ProcessBuilder("mkfifo", "-m", "0600", p.toString()).inheritIO().start();
        assertThat(mk.waitFor()).as("mkfifo %s", p).isZero();
        return p;
    }

    @Test
    void clientFdsFollowPolicyFilesAndAreClosed() throws Exception {
        int a = Descriptors.open(data.toString(), Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
        int b = Descriptors.open(data.toString(), Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
        try (PreparedRing ring = factory.create(recipe(0, true, List.of(dataFile(NO_LINKS)), List.of(), READER),
                new int[] {a, b})) {
            assertThat(ring.files()).containsExactly(new FileSlot(0, "data"), new FileSlot(1, "client-0"),
                    new FileSlot(2, "client-1"));
            assertThat(Descriptors.isOpen(a) || Descriptors.isOpen(b))
                    .as("the factory owns the client's fds and closes them once the ring holds them").isFalse();
        }
    }

    @Test
    void invalidClientFdIsBadRequestAndRollsBack() throws Exception {
        int closed = 999_999; // far above any descriptor this JVM has open
        assertThat(Descriptors.isOpen(closed)).isFalse();
        int valid = Descriptors.open(data.toString(), Descriptors.O_RDONLY | Descriptors.O_CLOEXEC, 0);
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> factory.create(
                recipe(0, true, List.of(dataFile(NO_LINKS)), List.of(new RingRecipe.BufferSpec("io", 4096)), READER),
                new int[] {valid, closed}));
        assertThat(e).as("a closed descriptor cannot be registered").isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(e.getMessage()).contains("registering fixed files").contains("EBADF");
        assertThat(Descriptors.isOpen(valid)).as("the client's other fd is closed too").isFalse();
    }

    @Test
    void ringFdAsClientFdIsBadRequest() throws Exception {
        IoUringCalls.CreatedRing other = IoUringCalls.create(1, 0, 0);
        RefusedException e = catchThrowableOfType(RefusedException.class,
                () -> factory.create(recipe(0, true, List.of(), List.of(), READER), new int[] {other.fd()}));
        assertThat(e).as("an io_uring fd cannot be a fixed file").isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST);
        assertThat(Descriptors.isOpen(other.fd())).as("owned and closed").isFalse();
    }

    @Test
    void buffersAreSealedSharedAndRegisteredAtTheDaemonsAddress() throws Exception {
        try (PreparedRing ring = factory.create(recipe(0, true, List.of(),
                List.of(new RingRecipe.BufferSpec("in", 8192), new RingRecipe.BufferSpec("out", 4096)), READER),
                new int[0])) {
            assertThat(ring.buffers()).hasSize(2);
            assertThat(ring.bufferBytes()).isEqualTo(12288);
            PreparedRing.Buffer in = ring.buffers().get(0);
            assertThat(in.toGrant()).isEqualTo(new BufferGrant(0, "in", in.memfd(), 8192, in.mapping().address()));
            assertThat(Memory.seals(in.memfd()) & RingFactory.BUFFER_SEALS)
                    .as("shrink, grow and seal are sealed").isEqualTo(RingFactory.BUFFER_SEALS);
            KernelException grow = catchThrowableOfType(KernelException.class, () -> Memory.truncate(in.memfd(), 1 << 20));
            assertThat(grow).as("the client cannot resize a buffer").isNotNull();
            assertThat(grow.errno()).isEqualTo(Errno.EPERM.number());
            MemorySegment other = Memory.mapShared(in.memfd(), 0, 8192);
            try {
                in.mapping().set(ValueLayout.JAVA_LONG, 4096, 0x1234_5678_9abcL);
                assertThat(other.get(ValueLayout.JAVA_LONG, 4096)).as("a second mapping sees the same bytes")
                        .isEqualTo(0x1234_5678_9abcL);
            } finally {
                Memory.unmap(other);
            }
        }
    }

    @Test
    void nonexistentFileRollsBackTheRing() {
        RingRecipe.FileOpen missing = new RingRecipe.FileOpen("gone", dir.resolve("missing").toString(),
                Descriptors.O_RDONLY, 0, NO_LINKS);
        assertThatThrownBy(() -> factory.create(recipe(0, true, List.of(dataFile(NO_LINKS), missing),
                List.of(), READER), new int[0]))
                .isInstanceOf(RefusedException.class).hasMessageContaining("opening a policy file gone")
                .hasMessageContaining("ENOENT")
                .hasMessageContaining(dir.resolve("missing").toString())
                .hasMessageContaining("does not exist; the policy's administrator must fix the file or the policy")
                .satisfies(e -> assertThat(((RefusedException) e).code()).as("no other code fits").isEqualTo(ErrorCode.INTERNAL));
    }

    @Test
    void aPolicyFileThatCannotBeOpenedIsExplainedInWords() {
        assertThat(RingFactory.openAdvice(Errno.EACCES)).as("EACCES")
                .isEqualTo(": the daemon's user may not open it with the access the policy asks for;"
                        + " the policy's administrator must fix the file or the policy");
        assertThat(RingFactory.openAdvice(Errno.ENOENT)).contains("does not exist");
        assertThat(RingFactory.openAdvice(Errno.ELOOP)).contains("symbolic link");
        assertThat(RingFactory.openAdvice(Errno.EIO)).as("an errno without words of its own")
                .isEqualTo("; the policy's administrator must fix the file or the policy");
    }

    @Test
    void bufferLargerThanTheKernelRegistersRollsBackEveryBuffer() {
        // The kernel refuses a registered buffer over 1 GiB before pinning a page; the memfd is sparse.
        long tooLarge = (1L << 30) + 4096;
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> factory.create(
                recipe(0, true, List.of(dataFile(NO_LINKS)), List.of(new RingRecipe.BufferSpec("ok", 4096),
                        new RingRecipe.BufferSpec("huge", tooLarge)), READER), new int[0]));
        assertThat(e).as("a buffer over 1 GiB cannot be registered").isNotNull();
        assertThat(e.getMessage()).contains("registering buffers").contains("io_uring_register(BUFFERS)");
    }

    @Test
    void unknownRestrictionOpcodeIsKernelUnsupportedAndRollsBack() {
        List<Restriction> bogus = List.of(new Restriction(org.ringwarden.linux.uring.RestrictionType.SQE_OP, 250));
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> factory.create(recipe(0, true,
                List.of(dataFile(NO_LINKS)), List.of(new RingRecipe.BufferSpec("io", 4096)), bogus), new int[0]));
        assertThat(e).as("an opcode past IORING_OP_LAST is refused").isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.KERNEL_UNSUPPORTED);
        assertThat(e.getMessage()).contains("registering restrictions").contains("EINVAL");
    }

    @Test
    void oversizedRingIsRefusedAtSetup() {
        RingRecipe huge = new RingRecipe("test", IoUringCalls.MAX_ENTRIES * 2, 0, 0, true, List.of(), List.of(),
                READER, 0);
        RefusedException e = catchThrowableOfType(RefusedException.class, () -> factory.create(huge, new int[0]));
        assertThat(e).as("more entries than IORING_MAX_ENTRIES without CLAMP").isNotNull();
        assertThat(e.getMessage()).contains("io_uring_setup").contains("EINVAL");
    }

    @Test
    void closeIsIdempotent() throws Exception {
        PreparedRing ring = factory.create(recipe(0, true, List.of(), List.of(new RingRecipe.BufferSpec("io", 4096)),
                READER), new int[0]);
        ring.close();
        ring.close();
        assertThat(ring.isClosed()).isTrue();
    }

    @Test
    void lockedMemoryLimitFailsBufferRegistrationAsBusyAndRollsBack() throws Exception {
        // What a daemon without CAP_IPC_LOCK meets: registered pages count against RLIMIT_MEMLOCK
        // (8 MiB here). Capabilities are per thread, so a throwaway thread drops CAP_IPC_LOCK from
        // its effective set and builds a ring with a 16 MiB buffer; the rest of the JVM keeps it.
        java.util.concurrent.CompletableFuture<RefusedException> result = new java.util.concurrent.CompletableFuture<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                dropEffectiveCapability(14); // CAP_IPC_LOCK
                factory.create(recipe(0, true, List.of(dataFile(NO_LINKS)),
                        List.of(new RingRecipe.BufferSpec("small", 4096), new RingRecipe.BufferSpec("big", 16 << 20)),
                        READER), new int[0]).close();
                result.complete(null);
            } catch (RefusedException e) {
                result.complete(e);
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        t.join();
        RefusedException e = result.get();
        assertThat(e).as("16 MiB over an 8 MiB RLIMIT_MEMLOCK without CAP_IPC_LOCK").isNotNull();
        assertThat(e.code()).isEqualTo(ErrorCode.BUSY);
        assertThat(e.getMessage()).contains("registering buffers").contains("io_uring_register(BUFFERS)")
                .contains("ENOMEM");
    }

    /** {@code capget}/{@code capset} on the calling thread: clears {@code cap} from the effective set. */
    private static void dropEffectiveCapability(int cap) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment header = a.allocate(8, 4);
            header.set(ValueLayout.JAVA_INT, 0, 0x20080522); // _LINUX_CAPABILITY_VERSION_3
            header.set(ValueLayout.JAVA_INT, 4, 0);          // this thread
            MemorySegment data = a.allocate(24, 4);          // two { effective, permitted, inheritable }
            org.ringwarden.linux.Syscall.checked("capget", 125, header.address(), data.address());
            int word = cap / 32;
            int eff = data.get(ValueLayout.JAVA_INT, word * 12L);
            data.set(ValueLayout.JAVA_INT, word * 12L, eff & ~(1 << (cap % 32)));
            org.ringwarden.linux.Syscall.checked("capset", 126, header.address(), data.address());
        }
    }
}
