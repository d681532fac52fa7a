package org.ringwarden.daemon.grant;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.Errno;
import org.ringwarden.linux.FileType;
import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.Memory;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.protocol.ErrorCode;
import org.ringwarden.protocol.RefusedException;

import org.jspecify.annotations.Nullable;

/**
 * Builds one disabled, restricted ring from a {@link RingRecipe} (steps 1 to 5):
 * <ol>
 *   <li>{@code io_uring_setup(entries, R_DISABLED | recipe flags)};</li>
 *   <li>open the recipe's files with {@code openat2} (its mode and resolve flags, {@code O_CLOEXEC}, and
 *       {@code O_NONBLOCK} so that nothing at the path can hold the builder), keep each only if it is of
 *       the type the recipe names ({@link #openPolicyFile}), append the client's descriptors, register
 *       them all as fixed files;</li>
 *   <li>per buffer: {@code memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING)}, {@code ftruncate},
 *       {@code mmap(MAP_SHARED)}; register them all; seal each
 *       ({@code F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL});</li>
 *   <li>register the restrictions;</li>
 *   <li>enable the ring, unless the recipe leaves that to the client.</li>
 * </ol>
 * Any failure undoes every earlier step (every fd closed, every mapping unmapped) and becomes
 * a {@link RefusedException} naming the step, the failing call and its errno.
 *
 * <p>Opening files blocks: call {@link #create} off any event loop. The calling thread becomes
 * the ring's creator, so it will see spurious {@code EINTR} when the ring is torn down
 * (security.md); {@link org.ringwarden.linux.Syscall#checked} retries them.
 */
public final class RingFactory {
    /** {@code F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL}: the client can neither resize nor unseal a buffer. */
    public static final int BUFFER_SEALS = Memory.F_SEAL_SHRINK | Memory.F_SEAL_GROW | Memory.F_SEAL_SEAL;

    /** The prefix of every buffer memfd's name ({@code /proc/PID/maps} shows {@code /memfd:ringwarden:...}). */
    public static final String MEMFD_PREFIX = "ringwarden:";

    private final MemlockCharge charge;

    /** Builds rings charged to the daemon's own user (tests; see {@link MemlockCharge}). */
    public RingFactory() {
        this(MemlockCharge.toDaemon("a factory without per-user charging"));
    }

    /** Builds rings charged as {@code charge} says. One instance serves every thread. */
    public RingFactory(MemlockCharge charge) {
        this.charge = requireNonNull(charge, "charge");
    }

    /** As {@link #create(RingRecipe, int[], int)} for the calling process's own uid. */
    public PreparedRing create(RingRecipe recipe, int[] clientFds) throws RefusedException {
        return create(recipe, clientFds, org.ringwarden.linux.ThreadCredentials.realUid());
    }

    /**
     * Builds a ring, taking ownership of {@code clientFds}: they are closed whatever happens
     * (after registration the ring holds them).
     *
     * @throws RefusedException with {@link ErrorCode#BAD_REQUEST} for a client descriptor the
     *         kernel refuses, {@link ErrorCode#KERNEL_UNSUPPORTED} for setup flags or restrictions
     *         this kernel does not know, {@link ErrorCode#BUSY} when the daemon runs out of
     *         memory, locked memory or descriptors, {@link ErrorCode#INTERNAL} otherwise
     */
    public PreparedRing create(RingRecipe recipe, int[] clientFds, int clientUid) throws RefusedException {
        requireNonNull(recipe, "recipe");
        requireNonNull(clientFds, "clientFds");
        Build b = new Build(recipe, clientFds.clone(), charge, clientUid);
        try {
            return b.run();
        } catch (KernelException e) {
            b.rollback();
            throw b.failure(e);
        } catch (RefusedException | RuntimeException | Error e) {
            b.rollback();
            throw e;
        }
    }

    /**
     * Opens one of a policy's files and returns the descriptor, or refuses a file that is not of
     * {@code f.type()}. Opens with {@code O_NONBLOCK} always: whoever can write a directory on the
     * path can put a FIFO there, and a blocking open of a FIFO waits in the kernel for a peer that
     * never comes, holding a ring-builder thread for good. Then {@code fstat} says what was opened;
     * a file that is kept gets {@code O_NONBLOCK} cleared again (unless the policy asked for it), so
     * that a device behaves for the client as it would have without the flag. A write-only open of a
     * FIFO or socket fails {@code ENXIO} instead; the path's type (through {@code O_PATH}, which opens
     * nothing) then makes the same refusal. The descriptor never outlives a refusal.
     *
     * @throws RefusedException {@link ErrorCode#INTERNAL}, naming the file, what it is and what the policy
     *         says it must be. Not {@code NOT_PERMITTED}: the client asked for nothing it may not have,
     *         and that code also stands for "no such policy"; the daemon cannot serve a policy whose file
     *         is wrong, as when the file is missing or a symlink ({@code ENOENT}, {@code ELOOP}: also
     *         {@code INTERNAL}), and the administrator must look
     * @throws KernelException from {@code openat2}, {@code fstat} or {@code fcntl}
     */
    static int openPolicyFile(String policy, RingRecipe.FileOpen f) throws RefusedException {
        int fd;
        try {
            fd = Descriptors.openat2(f.path(), f.openFlags() | Descriptors.O_CLOEXEC | Descriptors.O_NONBLOCK,
                    f.createMode(), f.resolve());
        } catch (KernelException e) {
            if (e.is(Errno.ENXIO)) {
                refuseIfNot(policy, f, typeAt(f));
            }
            throw e;
        }
        try {
            refuseIfNot(policy, f, Descriptors.fstat(fd).type());
            if ((f.openFlags() & Descriptors.O_NONBLOCK) == 0) {
                Descriptors.setNonBlocking(fd, false);
            }
            return fd;
        } catch (RefusedException | RuntimeException | Error e) {
            Descriptors.closeQuietly(fd);
            throw e;
        }
    }

    private static void refuseIfNot(String policy, RingRecipe.FileOpen f, @Nullable FileType actual) throws RefusedException {
        if (actual != null && actual != f.type()) {
            throw new RefusedException(ErrorCode.INTERNAL, "policy " + policy + ": " + Step.OPEN_FILE.doing() + " "
                    + f.name() + " (" + f.path() + ") refused: it is " + actual.description() + ", not "
                    + f.type().description() + " as the policy says; something at that path may have been replaced");
        }
    }

    /** What is at {@code f}'s path, resolved as its open would be; null if that cannot be told. */
    private static @Nullable FileType typeAt(RingRecipe.FileOpen f) {
        int fd;
        try {
            fd = Descriptors.openat2(f.path(), Descriptors.O_PATH | Descriptors.O_CLOEXEC, 0, f.resolve());
        } catch (KernelException e) {
            return null;
        }
        try {
            return Descriptors.fstat(fd).type();
        } catch (KernelException e) {
            return null;
        } finally {
            Descriptors.closeQuietly(fd);
        }
    }

    /** The steps, for messages and for tests that check which step failed. */
    public enum Step {
        SETUP("io_uring_setup"),
        OPEN_FILE("opening a policy file"),
        REGISTER_FILES("registering fixed files"),
        CREATE_BUFFER("creating a buffer"),
        REGISTER_BUFFERS("registering buffers"),
        SEAL_BUFFER("sealing a buffer"),
        RESTRICT("registering restrictions"),
        ENABLE("enabling the ring");

        private final String doing;

        Step(String doing) {
            this.doing = doing;
        }

        /** E.g. {@code "registering buffers"}. */
        public String doing() {
            return doing;
        }
    }

    /** One build: the resources made so far, so that a failure can give them all back. */
    private static final class Build {
        private final RingRecipe recipe;
        private final MemlockCharge charge;
        private final int clientUid;
        private int[] clientFds;
        private Step step = Step.SETUP;
        private String detail = "";
        private int ringFd = -1;
        private final List<Integer> fileFds = new ArrayList<>();
        private final List<PreparedRing.Buffer> buffers = new ArrayList<>();
        private int pendingMemfd = -1;

        Build(RingRecipe recipe, int[] clientFds, MemlockCharge charge, int clientUid) {
            this.recipe = recipe;
            this.charge = charge;
            this.clientFds = clientFds;
            this.clientUid = clientUid;
        }

        PreparedRing run() throws RefusedException {
            // 1. A disabled ring: nothing can be submitted until restrictions are in place.
            step = Step.SETUP;
            // Charged to the client's accounting uid: the ring's memory, and every buffer registered
            // on it later, by the daemon or by the client, count against that user alone.
            IoUringCalls.CreatedRing ring = charge.retryWhileFreed(() -> charge.charged(clientUid,
                    () -> IoUringCalls.create(recipe.sqEntries(), recipe.cqEntries(),
                            recipe.setupFlags() | SetupFlag.R_DISABLED.abi())));
            ringFd = ring.fd();

            // 2. Fixed files: the policy's, then the client's.
            List<FileSlot> slots = new ArrayList<>();
            step = Step.OPEN_FILE;
            for (RingRecipe.FileOpen f : recipe.files()) {
                detail = " " + f.name() + " (" + f.path() + ")";
                fileFds.add(openPolicyFile(recipe.policy(), f));
                slots.add(new FileSlot(slots.size(), f.name()));
            }
            detail = "";
            for (int i = 0; i < clientFds.length; i++) {
                slots.add(new FileSlot(slots.size(), "client-" + i));
            }
            int[] table = new int[fileFds.size() + clientFds.length];
            for (int i = 0; i < fileFds.size(); i++) {
                table[i] = fileFds.get(i);
            }
            System.arraycopy(clientFds, 0, table, fileFds.size(), clientFds.length);
            if (table.length > 0) {
                step = Step.REGISTER_FILES;
                IoUringCalls.registerFiles(ringFd, table);
            }
            // The ring's file table holds its own references now: the daemon needs no copies.
            closeFiles();

            // 3. Buffers: sealed memfds, mapped shared here, registered at the daemon's addresses.
            if (!recipe.buffers().isEmpty()) {
                step = Step.CREATE_BUFFER;
                for (RingRecipe.BufferSpec spec : recipe.buffers()) {
                    detail = " " + spec.name() + " (" + spec.length() + " bytes)";
                    buffers.add(createBuffer(buffers.size(), spec));
                }
                detail = "";
                step = Step.REGISTER_BUFFERS;
                List<MemorySegment> mappings = new ArrayList<>(buffers.size());
                for (PreparedRing.Buffer buf : buffers) {
                    mappings.add(buf.mapping());
                }
                charge.retryWhileFreed(() -> {
                    IoUringCalls.registerBuffers(ringFd, mappings);
                    return null;
                });
                step = Step.SEAL_BUFFER;
                for (PreparedRing.Buffer buf : buffers) {
                    Memory.addSeals(buf.memfd(), BUFFER_SEALS);
                }
            }

            // 4. Restrictions, always (an empty list still restricts: see security.md).
            step = Step.RESTRICT;
            IoUringCalls.registerRestrictions(ringFd, recipe.restrictions());

            // 5. Enable here, or leave it to the client so that it becomes the single issuer.
            if (recipe.enableInDaemon()) {
                step = Step.ENABLE;
                IoUringCalls.enableRings(ringFd);
            }
            return new PreparedRing(ringFd, ring.params(), recipe.enableInDaemon(), slots, buffers);
        }

        private PreparedRing.Buffer createBuffer(int index, RingRecipe.BufferSpec spec) {
            pendingMemfd = Memory.memfdCreate(MEMFD_PREFIX + recipe.policy() + ":" + spec.name(),
                    Memory.MFD_CLOEXEC | Memory.MFD_ALLOW_SEALING);
            Memory.truncate(pendingMemfd, spec.length());
            // No MAP_POPULATE: registration pins (and so faults in) every page anyway.
            MemorySegment mapping = Memory.map(spec.length(), Memory.PROT_READ | Memory.PROT_WRITE, Memory.MAP_SHARED,
                    pendingMemfd, 0);
            PreparedRing.Buffer buf = new PreparedRing.Buffer(index, spec.name(), pendingMemfd, mapping);
            pendingMemfd = -1;
            return buf;
        }

        private void closeFiles() {
            for (int fd : fileFds) {
                Descriptors.closeQuietly(fd);
            }
            fileFds.clear();
            for (int fd : clientFds) {
                Descriptors.closeQuietly(fd);
            }
            clientFds = new int[0];
        }

        void rollback() {
            closeFiles();
            Descriptors.closeQuietly(pendingMemfd);
            pendingMemfd = -1;
            for (PreparedRing.Buffer buf : buffers) {
                buf.release();
            }
            buffers.clear();
            Descriptors.closeQuietly(ringFd);
            ringFd = -1;
        }

        RefusedException failure(KernelException e) {
            String message = "policy " + recipe.policy() + ": " + step.doing() + detail + " failed: " + e.getMessage()
                    + (step == Step.OPEN_FILE ? openAdvice(Errno.of(e.errno())) : "");
            if (charge.perUser() && e.is(Errno.ENOMEM) && (step == Step.SETUP || step == Step.REGISTER_BUFFERS)) {
                // The accounting uid's locked_vm is this user's alone: its budget, not the daemon's, is spent.
                return new RefusedException(ErrorCode.QUOTA_EXCEEDED, message + ": uid " + Integer.toUnsignedString(clientUid)
                        + " has pinned as much ring and buffer memory as the daemon's RLIMIT_MEMLOCK allows one user", e);
            }
            return new RefusedException(codeFor(step, e), message, e);
        }

        private static ErrorCode codeFor(Step step, KernelException e) {
            if (e.is(Errno.ENOMEM) || e.is(Errno.EAGAIN) || e.is(Errno.EMFILE) || e.is(Errno.ENFILE)
                    || e.is(Errno.ENOSPC)) {
                return ErrorCode.BUSY;
            }
            if (e.is(Errno.ENOSYS) || e.is(Errno.EOPNOTSUPP)) {
                return ErrorCode.KERNEL_UNSUPPORTED;
            }
            return switch (step) {
                // Unknown setup flags or restriction kinds: an older kernel than the policy needs.
                case SETUP, RESTRICT -> e.is(Errno.EINVAL) ? ErrorCode.KERNEL_UNSUPPORTED : ErrorCode.INTERNAL;
                // The policy's own files were opened; a descriptor the kernel will not register is the client's.
                case REGISTER_FILES -> e.is(Errno.EBADF) ? ErrorCode.BAD_REQUEST : ErrorCode.INTERNAL;
                default -> ErrorCode.INTERNAL;
            };
        }
    }

    /**
     * What a policy file that cannot be opened means, in words, after the errno. The code stays
     * {@code INTERNAL} (no other code of protocol.md fits: the peer may use the policy, and
     * retrying does not help): the administrator has to fix the file or the policy.
     */
    static String openAdvice(@Nullable Errno errno) {
        @Nullable String why = errno == null ? null : switch (errno) {
            case ENOENT -> "the file (or a directory above it) does not exist";
            case EACCES, EPERM -> "the daemon's user may not open it with the access the policy asks for";
            case ELOOP -> "a component of the path is a symbolic link, which the policy's resolution refuses";
            case EXDEV -> "the path crosses a mount point or leaves its root, which the policy's resolution refuses";
            case ENOTDIR -> "a component of the path is not a directory";
            case EISDIR -> "it is a directory";
            case EROFS -> "it is on a read-only file system (under systemd: outside ReadWritePaths=)";
            default -> null;
        };
        return why == null ? "; the policy's administrator must fix the file or the policy"
                : ": " + why + "; the policy's administrator must fix the file or the policy";
    }
}
