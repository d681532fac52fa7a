package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.Descriptors;
import org.ringwarden.linux.FileType;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelProbe;
import org.ringwarden.linux.uring.RegisterOp;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.linux.uring.SqeFlag;
import org.ringwarden.policy.JsonTree.Node;

/**
 * The security and consistency rules of one policy, each with its own code and message
 * (docs/policies.md lists them). Errors refuse the policy; warnings point at legal but risky
 * choices. Also resolves users and groups to ids.
 */
final class PolicyRules {
    /** Register opcodes that would undo the boundary: never allowed. */
    static final Map<RegisterOp, String> FORBIDDEN_REGISTER = Map.of(
            RegisterOp.REGISTER_RESTRICTIONS, "it is refused by the kernel once restrictions are set, and means nothing in a policy",
            RegisterOp.REGISTER_ENABLE_RINGS, "enabling is the daemon's or the enabler's call, made before the restrictions apply; set `ring.enabler` instead",
            RegisterOp.REGISTER_PERSONALITY, "it registers credentials for later SQEs; a brokered ring must never carry a personality",
            RegisterOp.UNREGISTER_PERSONALITY, "a brokered ring has no personality to remove");

    /** Register opcodes that change the fixed-file table: allowed only when the policy acknowledges each. */
    static final Set<RegisterOp> FILE_TABLE = EnumSet.of(RegisterOp.REGISTER_FILES, RegisterOp.UNREGISTER_FILES,
            RegisterOp.REGISTER_FILES_UPDATE, RegisterOp.REGISTER_FILES2, RegisterOp.REGISTER_FILES_UPDATE2,
            RegisterOp.REGISTER_FILE_ALLOC_RANGE);

    /** Register opcodes whose pinned pages the kernel charges to the ring creator's user ({@code ctx->user}). */
    static final Set<RegisterOp> CHARGED_TO_DAEMON = EnumSet.of(RegisterOp.REGISTER_BUFFERS, RegisterOp.REGISTER_BUFFERS2,
            RegisterOp.REGISTER_BUFFERS_UPDATE, RegisterOp.REGISTER_CLONE_BUFFERS, RegisterOp.REGISTER_PBUF_RING,
            RegisterOp.REGISTER_MEM_REGION, RegisterOp.REGISTER_ZCRX_IFQ);

    /** Setup flags a ticketed ring may not carry, and why. */
    static final Map<SetupFlag, String> FORBIDDEN_SETUP = Map.of(
            SetupFlag.R_DISABLED, "the daemon always creates rings disabled; leave it out",
            SetupFlag.CQSIZE, "set `cqEntries` instead",
            SetupFlag.CLAMP, "set `clamp` instead",
            SetupFlag.ATTACH_WQ, "it would share the daemon's io-wq backend with the client",
            SetupFlag.NO_MMAP, "the ring memory would be the daemon's, which the client cannot map",
            SetupFlag.REGISTERED_FD_ONLY, "it needs NO_MMAP and a registered ring fd the client cannot use");

    /** Setup flags transparent use may not honour, and why. */
    static final Map<SetupFlag, String> TRANSPARENT_NOT_HONOURABLE = Map.of(
            SetupFlag.ATTACH_WQ, "the program's wq_fd means nothing in the daemon",
            SetupFlag.NO_MMAP, "the ring memory would be the daemon's, which the program cannot map",
            SetupFlag.REGISTERED_FD_ONLY, "it needs NO_MMAP");
    // R_DISABLED, SINGLE_ISSUER and DEFER_TASKRUN may be honoured: a program that asks for
    // R_DISABLED gets the ring disabled, restrictions registered, and becomes its issuer when it
    // enables it; without R_DISABLED the daemon drops SINGLE_ISSUER/DEFER_TASKRUN (TransparentPlan).

    static final int PAGE = 4096;
    static final long MAX_BUFFER = 1L << 30;

    private final Problems problems;
    private final PolicyReader.Origins origins;
    private final PolicyLoader.Options options;
    private final @Nullable KernelProbe probe;

    private PolicyRules(Problems problems, PolicyReader.Origins origins, PolicyLoader.Options options, @Nullable KernelProbe probe) {
        this.problems = problems;
        this.origins = origins;
        this.options = options;
        this.probe = probe;
    }

    /** Checks {@code d} and returns who may acquire it (meaningful only when no error was found). */
    static Acquirers check(PolicyDefinition d, PolicyReader.Origins origins, Problems problems,
                           PolicyLoader.Options options, @Nullable KernelProbe probe) {
        PolicyRules r = new PolicyRules(problems, origins, options, probe);
        r.sqe(d);
        r.register(d);
        r.ring(d);
        r.files(d);
        r.buffers(d);
        r.limits(d);
        r.transparent(d);
        r.everyone(d);
        r.mode(d);
        if (!problems.hasErrors()) {
            r.grantsSomething(d); // a policy with errors grants nothing anyway; do not add noise
        }
        return r.acquirers(d);
    }

    private void mode(PolicyDefinition d) {
        if (d.mode() == PolicyMode.COMPLAIN) {
            String path = "$.mode";
            problems.warning(origins.of(path), path, ProblemCode.COMPLAIN_MODE, "complain mode: the kernel refuses only "
                    + "MSG_RING (and FIXED_FD_INSTALL, FILES_UPDATE unless listed); every other SQE opcode and flag runs, "
                    + "and `ringwarden watch-refusals` reports what the lists leave out. For trying the policy on a "
                    + "program you trust, not for containing a hostile one", null);
        }
    }

    private void sqe(PolicyDefinition d) {
        boolean fixedRequired = d.sqeFlagsRequired().contains(SqeFlag.FIXED_FILE);
        for (IoUringOp op : d.sqeOps()) {
            Node n = requireNonNull(origins.sqeOps.get(op), "the reader records where every op was written");
            if (op == IoUringOp.MSG_RING) {
                problems.error(n.at(), n.path(), ProblemCode.MSG_RING_FORBIDDEN, "`MSG_RING` is refused: with "
                        + "IORING_MSG_SEND_FD it copies a fixed file into a ring the client made itself, where no restriction applies", null);
                continue;
            }
            if (probe != null && !probe.supports(op)) {
                problems.error(n.at(), n.path(), ProblemCode.KERNEL_UNSUPPORTED, "`" + op.kernelName()
                        + "` (opcode " + op.number() + ") is not supported by the running kernel (" + kernelRelease() + ")", null);
            }
            if (op == IoUringOp.FIXED_FD_INSTALL) {
                problems.warning(n.at(), n.path(), ProblemCode.FIXED_FILE_ESCAPE, "`FIXED_FD_INSTALL` hands the client an "
                        + "ordinary descriptor of each fixed file, which it can then use outside this ring's restrictions", null);
            }
            if (op == IoUringOp.FILES_UPDATE) {
                problems.warning(n.at(), n.path(), ProblemCode.FIXED_TABLE_CHANGE, "`FILES_UPDATE` lets the client "
                        + "replace or remove fixed files, putting its own descriptors where the policy's files were; "
                        + "`FIXED_FILE` required then no longer confines it to the policy's files", null);
            }
            if (OpcodeClasses.UNFIXED.contains(op) && !fixedRequired) {
                problems.warning(n.at(), n.path(), ProblemCode.UNFIXED_OPCODE, "`" + op.kernelName() + "` takes a path or no "
                        + "file: it acts with the client's own rights but bypasses its seccomp filter; require `FIXED_FILE` "
                        + "in `sqe.flagsRequired` unless that is intended", null);
            }
        }
    }

    private void register(PolicyDefinition d) {
        for (RegisterOp op : d.registerOps()) {
            Node n = requireNonNull(origins.registerOps.get(op), "the reader records where every op was written");
            String why = FORBIDDEN_REGISTER.get(op);
            if (why != null) {
                problems.error(n.at(), n.path(), ProblemCode.REGISTER_OP_FORBIDDEN,
                        "register opcode `" + op.shortName() + "` is refused: " + why, null);
            } else if (CHARGED_TO_DAEMON.contains(op)) {
                problems.warning(n.at(), n.path(), ProblemCode.DAEMON_CHARGED_MEMORY, "register opcode `" + op.shortName()
                        + "` lets the client pin memory that the kernel charges to the ring's creator, the daemon, "
                        + "outside `limits.bufferBytesPerUser`; size the daemon's LimitMEMLOCK for it", null);
            } else if (FILE_TABLE.contains(op) && !d.acknowledged().contains(op)) {
                problems.error(n.at(), n.path(), ProblemCode.REGISTER_OP_NOT_ACKNOWLEDGED, "register opcode `" + op.shortName()
                        + "` changes the fixed-file table, so a client could replace the files the policy relies on; "
                        + "add it to `register.acknowledge` if that is intended", null);
            }
        }
        if (!d.registerOps().isEmpty() && !d.registerOps().contains(RegisterOp.REGISTER_PROBE)) {
            String path = "$.register.ops";
            problems.warning(origins.of(path), path, ProblemCode.NO_PROBE, "`register.ops` leaves out `PROBE`: listing "
                    + "any register opcode replaces the implicit `PROBE`, so programs that probe the ring first "
                    + "(liburing's io_uring_get_probe_ring, Netty) get EACCES; add `PROBE` unless that is intended", null);
        }
        for (RegisterOp op : d.acknowledged()) {
            if (!FILE_TABLE.contains(op)) {
                String path = "$.register.acknowledge";
                problems.error(origins.of(path), path, ProblemCode.BAD_VALUE, "`" + op.shortName()
                        + "` needs no acknowledgement; only fixed-file table opcodes do (FILES, FILES2, FILES_UPDATE, "
                        + "FILES_UPDATE2, UNREGISTER_FILES, FILE_ALLOC_RANGE)", null);
            }
        }
    }

    private void ring(PolicyDefinition d) {
        PolicyDefinition.Ring r = d.ring();
        Set<SetupFlag> f = r.setupFlags();
        for (SetupFlag flag : f) {
            Node n = origins.setupFlags.get(flag);
            if (n == null) {
                continue; // a default, not written
            }
            if (flag == SetupFlag.SQPOLL || flag == SetupFlag.SQ_AFF) {
                problems.error(n.at(), n.path(), ProblemCode.SQPOLL_FORBIDDEN, "`" + flag.kernelName() + "` is refused: the SQ "
                        + "poll thread would run every SQE with the daemon's credentials", null);
            } else if (FORBIDDEN_SETUP.containsKey(flag)) {
                problems.error(n.at(), n.path(), ProblemCode.SETUP_FLAG_FORBIDDEN,
                        "setup flag `" + flag.kernelName() + "` is refused: " + FORBIDDEN_SETUP.get(flag), null);
            }
        }
        String flagsPath = "$.ring.setupFlags";
        for (SetupFlag single : new SetupFlag[] {SetupFlag.SINGLE_ISSUER, SetupFlag.DEFER_TASKRUN}) {
            if (f.contains(single) && r.enabler() == Enabler.DAEMON) {
                Node n = requireNonNull(origins.setupFlags.get(single), "a flag not in the defaults was written");
                problems.error(n.at(), n.path(), ProblemCode.SETUP_FLAG_CONFLICT, "`" + single.kernelName() + "` needs "
                        + "`\"enabler\": \"client\"`: the task that enables the ring becomes its single issuer, so a ring "
                        + "the daemon enables would fail the client's io_uring_enter with EEXIST", null);
            }
        }
        requires(f, SetupFlag.DEFER_TASKRUN, SetupFlag.SINGLE_ISSUER, flagsPath);
        requires(f, SetupFlag.HYBRID_IOPOLL, SetupFlag.IOPOLL, flagsPath);
        if (f.contains(SetupFlag.TASKRUN_FLAG) && !f.contains(SetupFlag.COOP_TASKRUN) && !f.contains(SetupFlag.DEFER_TASKRUN)) {
            Node n = requireNonNull(origins.setupFlags.get(SetupFlag.TASKRUN_FLAG), "a flag not in the defaults was written");
            problems.error(n.at(), n.path(), ProblemCode.SETUP_FLAG_CONFLICT,
                    "`TASKRUN_FLAG` needs `COOP_TASKRUN` or `DEFER_TASKRUN`", null);
        }
        if (!f.contains(SetupFlag.SUBMIT_ALL) && origins.at.containsKey(flagsPath)) {
            problems.warning(origins.of(flagsPath), flagsPath, ProblemCode.NO_SUBMIT_ALL, "without `SUBMIT_ALL` a refused "
                    + "SQE ends its batch and leaves the rest in the SQ; the client must handle short submissions", null);
        }
        entries(r.sqEntries(), 1, IoUringCalls.MAX_ENTRIES, "$.ring.sqEntries", r.clamp(), "SQ");
        if (r.cqEntries() != 0 || origins.at.containsKey("$.ring.cqEntries")) {
            entries(r.cqEntries(), 1, IoUringCalls.MAX_CQ_ENTRIES, "$.ring.cqEntries", r.clamp(), "CQ");
            if (!r.clamp() && r.cqEntries() > 0 && r.sqEntries() > 0 && r.sqEntries() <= IoUringCalls.MAX_ENTRIES
                    && r.cqEntries() < r.sqEntries()) {
                String p = "$.ring.cqEntries";
                problems.error(origins.of(p), p, ProblemCode.CQ_SMALLER_THAN_SQ, "the CQ (" + r.cqEntries()
                        + " entries) must be at least as large as the SQ (" + r.sqEntries() + ")", null);
            }
        }
    }

    private void requires(Set<SetupFlag> f, SetupFlag flag, SetupFlag needed, String path) {
        if (f.contains(flag) && !f.contains(needed)) {
            Node n = origins.setupFlags.get(flag);
            problems.error(n == null ? origins.of(path) : n.at(), n == null ? path : n.path(), ProblemCode.SETUP_FLAG_CONFLICT,
                    "`" + flag.kernelName() + "` needs `" + needed.kernelName() + "`", null);
        }
    }

    /** Entries must be a power of two in range, unless the policy asked for clamping (then a warning). */
    private void entries(int n, int min, int max, String path, boolean clamp, String what) {
        boolean inRange = n >= min && n <= max;
        boolean pow2 = n > 0 && Integer.bitCount(n) == 1;
        if (inRange && pow2) {
            return;
        }
        if (clamp) {
            problems.warning(origins.of(path), path, ProblemCode.ENTRIES_CLAMPED, what + " entries " + n
                    + " become " + PolicyCompiler.clampEntries(n, min, max) + " (clamp is on)", null);
        } else if (!inRange) {
            problems.error(origins.of(path), path, ProblemCode.ENTRIES_OUT_OF_RANGE, what + " entries " + n
                    + " are out of the kernel's range " + min + ".." + max + " (set `\"clamp\": true` to cap them)", null);
        } else {
            String next = Integer.toString(PolicyCompiler.clampEntries(n, min, max));
            problems.unknown(origins.of(path), path, ProblemCode.ENTRIES_NOT_POWER_OF_TWO, what + " entries " + n
                    + " are not a power of two", next);
        }
    }

    private void files(PolicyDefinition d) {
        Map<String, Integer> names = new HashMap<>();
        boolean fixedUsable = d.sqeFlagsAllowed().contains(SqeFlag.FIXED_FILE) || d.sqeFlagsRequired().contains(SqeFlag.FIXED_FILE);
        for (int i = 0; i < d.files().size(); i++) {
            PolicyDefinition.FileDef f = d.files().get(i);
            String base = "$.files[" + i + "]";
            Integer first = names.putIfAbsent(f.name(), i);
            if (first != null && !f.name().isEmpty()) {
                problems.error(origins.of(base + ".name"), base + ".name", ProblemCode.DUPLICATE_NAME,
                        "file name `" + f.name() + "` is already used by $.files[" + first + "]", null);
            }
            path(f.path(), base + ".path", f.type());
            boolean accessOk = !f.access().isEmpty();
            if (f.access().contains(PolicyDefinition.Access.CREATE) && !f.mayWrite()) {
                problems.error(origins.of(base + ".access"), base + ".access", ProblemCode.BAD_VALUE,
                        "`create` needs `write`, `read-write` or `append`", null);
                accessOk = false;
            } else if (accessOk && !f.mayRead() && !f.mayWrite()) {
                problems.error(origins.of(base + ".access"), base + ".access", ProblemCode.BAD_VALUE,
                        "`access` needs one of read, write, read-write or append", null);
                accessOk = false;
            }
            if (f.type() == FileType.DIRECTORY && f.mayWrite()) {
                problems.error(origins.of(base + ".type"), base + ".type", ProblemCode.BAD_VALUE,
                        "a directory can only be opened for reading: `access` must be `read`", null);
                accessOk = false;
            } else if (f.type() != FileType.REGULAR && f.access().contains(PolicyDefinition.Access.CREATE)) {
                problems.error(origins.of(base + ".type"), base + ".type", ProblemCode.BAD_VALUE, "`create` makes "
                        + "a regular file, not " + f.type().description() + ": leave `create` out of `access`", null);
                accessOk = false;
            }
            int requested = OpcodeClasses.requestedMode(f);
            int least = OpcodeClasses.leastMode(f, d.sqeOps());
            if (requested != least && accessOk) {
                problems.warning(origins.of(base + ".access"), base + ".access", ProblemCode.MODE_NARROWED, "file `" + f.name()
                        + "` is opened " + OpenFlag.describe(least) + ", not " + OpenFlag.describe(requested)
                        + ": that is all its allowed opcodes need", null);
            }
            if (options.checkFiles() && f.path().startsWith("/") && !problems.hasErrors()) {
                String why = unopenable(Path.of(f.path()), least, f.type());
                if (why != null) {
                    problems.warning(origins.of(base + ".path"), base + ".path", ProblemCode.FILE_NOT_OPENABLE,
                            "the daemon cannot open `" + f.path() + "` now: " + why, null);
                }
                for (String who : PathSafety.replaceableBy(Path.of(f.path()), f.followSymlinks(), PathSafety.selfUid())) {
                    problems.warning(origins.of(base + ".path"), base + ".path", ProblemCode.REPLACEABLE_FILE, who, null);
                }
            }
        }
        if ((!d.files().isEmpty() || d.clientFds() > 0) && !fixedUsable) {
            String p = d.files().isEmpty() ? "$.clientFds" : "$.files";
            problems.warning(origins.of(p), p, ProblemCode.UNUSABLE_FILES, "no SQE can use the fixed files: "
                    + "`FIXED_FILE` is neither in `sqe.flagsAllowed` nor in `sqe.flagsRequired`", null);
        }
    }

    private void path(String p, String path, FileType type) {
        if (p.isEmpty()) {
            return; // missing: already reported
        }
        if (p.indexOf('\0') >= 0) {
            problems.error(origins.of(path), path, ProblemCode.BAD_VALUE, "a path cannot contain a NUL character", null);
            return;
        }
        if (!p.startsWith("/")) {
            problems.error(origins.of(path), path, ProblemCode.PATH_NOT_ABSOLUTE, "`" + PolicyReader.printable(p)
                    + "` is not an absolute path; fixed files are named from the root", null);
            return;
        }
        String normal = normalise(p);
        if (!normal.equals(p)) {
            problems.unknown(origins.of(path), path, ProblemCode.PATH_NOT_NORMALISED, "`" + PolicyReader.printable(p)
                    + "` is not normalised (no `.`, `..`, `//` or trailing `/`)", normal);
        } else if (p.equals("/") && type != FileType.DIRECTORY) {
            problems.error(origins.of(path), path, ProblemCode.BAD_VALUE, "`/` is a directory, not a file", null);
        }
    }

    /** Lexical normalisation: drops empty and {@code .} segments, resolves {@code ..} (never above the root). */
    static String normalise(String p) {
        java.util.ArrayDeque<String> parts = new java.util.ArrayDeque<>();
        for (String s : p.split("/")) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(s);
            }
        }
        return "/" + String.join("/", parts);
    }

    /** Why the daemon could not open {@code p} with {@code flags} as {@code type} now; null if it could. Never creates anything. */
    private static @Nullable String unopenable(Path p, int flags, FileType type) {
        try {
            boolean create = (flags & Descriptors.O_CREAT) != 0;
            if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Path dir = p.getParent(); // an absolute path that does not exist is not the root
                if (create && dir != null && Files.isDirectory(dir) && Files.isWritable(dir)) {
                    return null;
                }
                return create ? "its directory does not exist or is not writable" : "it does not exist";
            }
            if (Files.isSymbolicLink(p)) {
                return "it is a symbolic link, which openat2 with RESOLVE_NO_SYMLINKS refuses";
            }
            FileType actual = FileType.ofMode((Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS));
            if (actual != type) {
                return "it is " + actual.description() + ", not " + type.description()
                        + (type == FileType.REGULAR ? "" : " as its `type` says");
            }
            int acc = flags & 3;
            if (acc != Descriptors.O_WRONLY && !Files.isReadable(p)) {
                return "it is not readable";
            }
            if (acc != Descriptors.O_RDONLY && !Files.isWritable(p)) {
                return "it is not writable";
            }
            return null;
        } catch (java.io.IOException | RuntimeException e) {
            return e.getMessage();
        }
    }

    private void buffers(PolicyDefinition d) {
        Set<String> names = new HashSet<>();
        for (int i = 0; i < d.buffers().size(); i++) {
            BufferSpec b = d.buffers().get(i);
            String base = "$.buffers[" + i + "]";
            if (!b.name().isEmpty() && !names.add(b.name())) {
                problems.error(origins.of(base + ".name"), base + ".name", ProblemCode.DUPLICATE_NAME,
                        "buffer name `" + b.name() + "` is used twice", null);
            }
            if (b.bytes() < 0) {
                continue; // unparseable: already reported
            }
            if (b.bytes() == 0 || b.bytes() % PAGE != 0 || b.bytes() > MAX_BUFFER) {
                problems.error(origins.of(base + ".size"), base + ".size", ProblemCode.BAD_SIZE, "a buffer must be a "
                        + "positive multiple of 4 KiB, at most 1 GiB (the kernel's limit); found " + b.bytes() + " bytes", null);
            }
        }
    }

    private void limits(PolicyDefinition d) {
        long perLease = 0;
        for (BufferSpec b : d.buffers()) {
            if (b.bytes() <= 0 || b.bytes() > MAX_BUFFER) {
                return; // a bad size is already reported; a sum over it would only add noise
            }
            perLease += b.bytes();
        }
        if (perLease > d.limits().bufferBytesPerUser()) {
            String p = origins.at.containsKey("$.limits.bufferBytesPerUser") ? "$.limits.bufferBytesPerUser" : "$.buffers";
            problems.error(origins.of(p), p, ProblemCode.LIMIT_CONFLICT, "one lease needs " + ByteSize.format(perLease)
                    + " of buffers but a user may hold only " + ByteSize.format(d.limits().bufferBytesPerUser())
                    + ": no grant could ever succeed", null);
        }
    }

    private void transparent(PolicyDefinition d) {
        PolicyDefinition.Transparent t = d.transparent();
        if (!origins.at.containsKey("$.transparent")) {
            return;
        }
        for (var e : t.dispositions().entrySet()) {
            if (e.getValue() != FlagDisposition.HONOUR) {
                continue;
            }
            Node n = origins.transparentFlags.get(e.getKey());
            if (n == null) {
                continue;
            }
            if (e.getKey() == SetupFlag.SQPOLL || e.getKey() == SetupFlag.SQ_AFF) {
                problems.error(n.at(), n.path(), ProblemCode.SQPOLL_FORBIDDEN, "`" + e.getKey().kernelName()
                        + "` cannot be honoured: the SQ poll thread would run every SQE with the daemon's credentials; "
                        + "list it under `drop` or `refuse`", null);
            } else if (TRANSPARENT_NOT_HONOURABLE.containsKey(e.getKey())) {
                problems.error(n.at(), n.path(), ProblemCode.SETUP_FLAG_FORBIDDEN, "`" + e.getKey().kernelName()
                        + "` cannot be honoured: " + TRANSPARENT_NOT_HONOURABLE.get(e.getKey()), null);
            }
        }
        Node sqpoll = origins.transparentFlags.get(SetupFlag.SQPOLL);
        if (t.enabled() && sqpoll != null && t.dispositions().get(SetupFlag.SQPOLL) == FlagDisposition.DROP) {
            problems.warning(sqpoll.at(), sqpoll.path(), ProblemCode.SQPOLL_DROPPED, "dropping `SQPOLL` gives a program "
                    + "that asked for it a ring without an SQ thread; one that relies on that thread (fio with "
                    + "sqthread_poll) then waits forever for submissions nobody makes; list it under `refuse` so that "
                    + "its io_uring_setup fails with EPERM instead", null);
        }
        entries(t.maxSqEntries(), 1, IoUringCalls.MAX_ENTRIES, "$.transparent.maxSqEntries", false, "transparent SQ");
        if (t.maxCqEntries() != 0 || origins.at.containsKey("$.transparent.maxCqEntries")) {
            entries(t.maxCqEntries(), 1, IoUringCalls.MAX_CQ_ENTRIES, "$.transparent.maxCqEntries", false, "transparent CQ");
            if (t.maxCqEntries() > 0 && t.maxCqEntries() < t.maxSqEntries()) {
                String p = "$.transparent.maxCqEntries";
                problems.error(origins.of(p), p, ProblemCode.CQ_SMALLER_THAN_SQ, "`maxCqEntries` (" + t.maxCqEntries()
                        + ") must be at least `maxSqEntries` (" + t.maxSqEntries() + ")", null);
            }
        }
    }

    /** {@code everyone} with something beyond the client's own rights: the daemon's files, or memory charged to it. */
    private void everyone(PolicyDefinition d) {
        if (!d.subjects().everyone()) {
            return;
        }
        List<String> pins = new ArrayList<>();
        d.buffers().forEach(b -> pins.add("buffer `" + b.name() + "`"));
        d.registerOps().stream().filter(CHARGED_TO_DAEMON::contains).forEach(op -> pins.add("register opcode `"
                + op.shortName() + "`"));
        List<String> files = d.files().stream().map(f -> "`" + f.name() + "`").toList();
        if (pins.isEmpty() && files.isEmpty()) {
            return;
        }
        String does = (pins.isEmpty() ? "" : "pins memory charged to the daemon (" + String.join(", ", pins) + ")")
                + (pins.isEmpty() || files.isEmpty() ? "" : " and ")
                + (files.isEmpty() ? "" : "opens files with the daemon's rights (" + String.join(", ", files) + ")");
        String path = "$.subjects.everyone";
        problems.warning(origins.of(path), path, ProblemCode.OPEN_TO_EVERYONE, "`everyone` may acquire this policy: "
                + "anyone who can connect " + does + "; name the users or groups that need it instead", null);
    }

    private void grantsSomething(PolicyDefinition d) {
        if (!d.subjects().containers().isEmpty() && !d.transparent().enabled()) {
            // A container's listener is served only transparently (docs/containers.md).
            problems.error(origins.of("$.subjects.containers"), "$.subjects.containers", ProblemCode.CONTAINERS_NEED_TRANSPARENT,
                    "`subjects.containers` names containers, but the policy is not for transparent use: add"
                            + " `\"transparent\": {\"enabled\": true, ...}`", null);
        }
        if (d.subjects().isNobody()) {
            problems.warning(origins.of("$.subjects"), "$.subjects", ProblemCode.GRANTS_NOTHING,
                    "nobody may acquire this policy: `subjects` names no user, group, uid, gid or container", null);
        }
        if (d.sqeOps().isEmpty()) {
            problems.warning(origins.of("$.sqe.ops"), "$.sqe.ops", ProblemCode.GRANTS_NOTHING,
                    "the policy allows no SQE opcode: its rings can do nothing", null);
        }
    }

    private Acquirers acquirers(PolicyDefinition d) {
        PolicyDefinition.Subjects s = d.subjects();
        Set<Integer> uids = new TreeSet<>(s.uids());
        Set<Integer> gids = new TreeSet<>(s.gids());
        SubjectResolver resolver = options.subjects();
        for (var e : origins.users.entrySet()) {
            OptionalInt id = resolver.uid(e.getKey());
            if (id.isPresent()) {
                uids.add(id.getAsInt());
            } else {
                problems.unknown(e.getValue().at(), e.getValue().path(), ProblemCode.UNKNOWN_USER, "`"
                        + e.getKey() + "` is not a user of this system", Names.suggest(e.getKey(), resolver.userNames()));
            }
        }
        for (var e : origins.groups.entrySet()) {
            OptionalInt id = resolver.gid(e.getKey());
            if (id.isPresent()) {
                gids.add(id.getAsInt());
            } else {
                problems.unknown(e.getValue().at(), e.getValue().path(), ProblemCode.UNKNOWN_GROUP, "`"
                        + e.getKey() + "` is not a group of this system", Names.suggest(e.getKey(), resolver.groupNames()));
            }
        }
        return new Acquirers(s.everyone(), uids, gids, s.containers());
    }

    private static String kernelRelease() {
        return System.getProperty("os.version", "unknown");
    }
}
