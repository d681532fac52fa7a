package org.ringwarden.policy;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.jspecify.annotations.Nullable;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.KernelProbe;
import org.ringwarden.policy.JsonTree.Location;
import org.ringwarden.policy.PolicyProblem.Severity;

/**
 * Loads policies: one file, a directory (the set), several paths, or the bundled set.
 * Strict and atomic: every problem of every file is reported with its location, and a single
 * error anywhere yields no set at all (the caller keeps its previous one, see {@link PolicyStore}).
 * Nothing but the documented results leaves a load: bad input is a {@link PolicyProblem}, never
 * another exception.
 *
 * <pre>
 * LoadResult r = PolicyLoader.withDefaults().loadDirectory(PolicyLoader.DEFAULT_DIRECTORY);
 * r.problems().forEach(p -&gt; log.warn(p.format()));
 * PolicySet set = r.orThrow();
 * </pre>
 */
public final class PolicyLoader {
    /** Where the daemon looks for policies by default. */
    public static final Path DEFAULT_DIRECTORY = Path.of("/etc/ringwarden/policies.d");
    /** A policy file larger than this is refused unread: no real policy comes near it. */
    public static final int MAX_FILE_BYTES = 1 << 20;
    /** A directory with more policy files than this is refused. */
    public static final int MAX_FILES = 1024;
    /** The bundled policies, by name: resources {@code org/ringwarden/policy/bundled/NAME.json}. */
    public static final List<String> BUNDLED = List.of("nop", "reader", "appender", "net", "fast-reader", "fio", "qemu", "netty", "mariadb");
    /** The {@link PolicySet#origin()} of the bundled set. */
    public static final String BUNDLED_ORIGIN = "bundled";

    /**
     * How strict a load is.
     *
     * @param strictPermissions refuse a directory or file that anyone but root or the daemon's user may
     *                          write, or that they do not own (as sshd's StrictModes); off only for development
     * @param probeKernel       check every SQE opcode against the running kernel ({@code KERNEL_UNSUPPORTED})
     * @param checkFiles        warn about fixed files the daemon cannot open now
     * @param subjects          resolves user and group names
     */
    public record Options(boolean strictPermissions, boolean probeKernel, boolean checkFiles, SubjectResolver subjects) {
        public Options {
            requireNonNull(subjects, "subjects");
        }

        /** Strict permissions, kernel probe, file checks, the system's passwd and group files. */
        public static Options defaults() {
            return new Options(true, true, true, SubjectResolver.system());
        }

        public Options withStrictPermissions(boolean on) {
            return new Options(on, probeKernel, checkFiles, subjects);
        }

        public Options withProbeKernel(boolean on) {
            return new Options(strictPermissions, on, checkFiles, subjects);
        }

        public Options withCheckFiles(boolean on) {
            return new Options(strictPermissions, probeKernel, on, subjects);
        }

        public Options withSubjects(SubjectResolver resolver) {
            return new Options(strictPermissions, probeKernel, checkFiles, resolver);
        }
    }

    private final Options options;
    private volatile @Nullable Optional<KernelProbe> probe;

    public PolicyLoader(Options options) {
        this.options = requireNonNull(options, "options");
    }

    /** With a probe result given rather than taken from the running kernel: what an older kernel would say. */
    PolicyLoader(Options options, KernelProbe probe) {
        this.options = requireNonNull(options, "options").withProbeKernel(true);
        this.probe = Optional.of(probe);
    }

    public static PolicyLoader withDefaults() {
        return new PolicyLoader(Options.defaults());
    }

    public Options options() {
        return options;
    }

    /** Loads a directory of {@code *.json} policy files as one set. */
    public LoadResult loadDirectory(Path directory) {
        return load(List.of(requireNonNull(directory, "directory")), directory.toString());
    }

    /** Loads one policy file as a set of one. */
    public LoadResult loadFile(Path file) {
        return load(List.of(requireNonNull(file, "file")), file.toString());
    }

    /** Loads files and directories together as one set (names must be unique across all of them). */
    public LoadResult load(List<Path> paths) {
        return load(paths, paths.size() == 1 ? paths.get(0).toString() : paths.toString());
    }

    /** The policies shipped in this jar (the daemon's embedded default). */
    public LoadResult loadBundled() {
        Session s = new Session();
        for (String name : BUNDLED) {
            String display = "bundled:" + name + ".json";
            try (InputStream in = PolicyLoader.class.getResourceAsStream("bundled/" + name + ".json")) {
                if (in == null) {
                    s.fileProblem(display, ProblemCode.IO_ERROR, "the bundled policy is missing from the jar");
                    continue;
                }
                s.add(display, in.readNBytes(MAX_FILE_BYTES + 1));
            } catch (IOException e) {
                s.fileProblem(display, ProblemCode.IO_ERROR, "cannot read the bundled policy: " + e.getMessage());
            }
        }
        return s.finish(BUNDLED_ORIGIN);
    }

    /**
     * Reads one policy from {@code bytes} (no file system checks): the entry point the fuzz tests
     * drive. {@code displayName} is what problems name as the file.
     */
    public LoadResult parse(String displayName, byte[] bytes) {
        Session s = new Session();
        s.add(requireNonNull(displayName, "displayName"), requireNonNull(bytes, "bytes"));
        return s.finish(displayName);
    }

    private LoadResult load(List<Path> paths, String origin) {
        Session s = new Session();
        for (Path p : paths) {
            requireNonNull(p, "path");
            if (Files.isDirectory(p)) {
                directory(s, p);
            } else {
                file(s, p);
            }
        }
        return s.finish(origin);
    }

    private void directory(Session s, Path dir) {
        String display = dir.toString();
        if (options.strictPermissions() && !permissionsOk(s, dir, display)) {
            return;
        }
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
            for (Path p : ds) {
                if (!p.getFileName().toString().startsWith(".")) {
                    files.add(p);
                }
                if (files.size() > MAX_FILES) {
                    s.fileProblem(display, ProblemCode.TOO_LARGE, "more than " + MAX_FILES + " policy files");
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            s.fileProblem(display, ProblemCode.IO_ERROR, "cannot list the directory: " + describe(e));
            return;
        }
        files.sort(null);
        for (Path f : files) {
            byte[] bytes = read(s, f);
            if (bytes != null) {
                s.add(f.toString(), bytes);
            }
        }
        dropIns(s, dir);
    }

    /**
     * The drop-ins of a directory: {@code NAME.d/*.json}, applied to policy {@code NAME} in file
     * name order (systemd's rule), after its own file and its bases ({@link PolicyComposer}).
     */
    private void dropIns(Session s, Path dir) {
        List<Path> dirs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.d")) {
            for (Path p : ds) {
                if (Files.isDirectory(p) && !p.getFileName().toString().startsWith(".")) {
                    dirs.add(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            s.fileProblem(dir.toString(), ProblemCode.IO_ERROR, "cannot list the drop-in directories: " + describe(e));
            return;
        }
        dirs.sort(null);
        for (Path d : dirs) {
            String fileName = d.getFileName().toString();
            String policy = fileName.substring(0, fileName.length() - 2);
            if (options.strictPermissions() && !permissionsOk(s, d, d.toString())) {
                continue;
            }
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, "*.json")) {
                for (Path p : ds) {
                    if (!p.getFileName().toString().startsWith(".")) {
                        files.add(p);
                    }
                    if (files.size() > MAX_FILES) {
                        s.fileProblem(d.toString(), ProblemCode.TOO_LARGE, "more than " + MAX_FILES + " drop-in files");
                        return;
                    }
                }
            } catch (IOException | RuntimeException e) {
                s.fileProblem(d.toString(), ProblemCode.IO_ERROR, "cannot list the directory: " + describe(e));
                continue;
            }
            files.sort(null);
            for (Path f : files) {
                byte[] bytes = read(s, f);
                if (bytes != null) {
                    s.addDropIn(policy, f.toString(), bytes);
                }
            }
        }
    }

    private void file(Session s, Path file) {
        byte[] bytes = read(s, file);
        if (bytes != null) {
            s.add(file.toString(), bytes);
        }
    }

    /** The bytes of a policy or drop-in file, or null (the problem is reported). */
    private byte @Nullable [] read(Session s, Path file) {
        String display = file.toString();
        try {
            if (!Files.exists(file)) {
                s.fileProblem(display, ProblemCode.IO_ERROR, "no such file or directory");
                return null;
            }
            if (!Files.isRegularFile(file)) {
                s.fileProblem(display, ProblemCode.IO_ERROR, "not a regular file");
                return null;
            }
            if (options.strictPermissions() && !permissionsOk(s, file, display)) {
                return null;
            }
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                s.fileProblem(display, ProblemCode.TOO_LARGE, "the file has " + size + " bytes; a policy file may have at most "
                        + MAX_FILE_BYTES + " (1 MiB)");
                return null;
            }
            try (InputStream in = Files.newInputStream(file)) {
                return in.readNBytes(MAX_FILE_BYTES + 1); // it may have grown since
            }
        } catch (IOException | RuntimeException e) {
            s.fileProblem(display, ProblemCode.IO_ERROR, "cannot read: " + describe(e));
            return null;
        }
    }

    /** StrictModes: owned by root or the daemon's user, and writable by no one else (for a symlink, both link and target). */
    private boolean permissionsOk(Session s, Path p, String display) {
        try {
            int self = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            for (LinkOption[] opts : List.of(new LinkOption[] {LinkOption.NOFOLLOW_LINKS}, new LinkOption[0])) {
                int owner = (Integer) Files.getAttribute(p, "unix:uid", opts);
                int mode = (Integer) Files.getAttribute(p, "unix:mode", opts);
                boolean link = Files.isSymbolicLink(p) && opts.length > 0;
                if (owner != 0 && owner != self) {
                    s.fileProblem(display, ProblemCode.INSECURE_PERMISSIONS, (link ? "the link " : "") + "is owned by uid " + owner
                            + ", not by root or the daemon's user (uid " + self + "); relax with --insecure-permissions for development");
                    return false;
                }
                if (!link && (mode & 0022) != 0) {
                    s.fileProblem(display, ProblemCode.INSECURE_PERMISSIONS, String.format("is writable by %s (mode %04o); "
                            + "only its owner may write a policy (chmod go-w), or relax with --insecure-permissions for development",
                            (mode & 0020) != 0 && (mode & 0002) != 0 ? "group and others" : (mode & 0020) != 0 ? "its group" : "others",
                            mode & 07777));
                    return false;
                }
            }
            return true;
        } catch (IOException | RuntimeException e) {
            s.fileProblem(display, ProblemCode.IO_ERROR, "cannot check permissions: " + describe(e));
            return false;
        }
    }

    private @Nullable KernelProbe probe(List<PolicyProblem> problems) {
        if (!options.probeKernel()) {
            return null;
        }
        Optional<KernelProbe> p = probe;
        if (p == null) {
            try {
                p = Optional.of(IoUringCalls.probeKernel());
            } catch (RuntimeException | LinkageError e) {
                problems.add(new PolicyProblem("kernel", 0, 0, "$", Severity.WARNING, ProblemCode.KERNEL_PROBE_FAILED,
                        "cannot probe io_uring on this kernel, opcodes not checked: " + describe(e), null));
                p = Optional.empty();
            }
            probe = p;
        }
        return p.orElse(null);
    }

    private static String describe(Throwable e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /**
     * One load: every file is parsed first, then each policy is composed with its bases and
     * drop-ins ({@link PolicyComposer}), read, checked and compiled.
     */
    private final class Session {
        /** A parsed policy file (root null when it did not parse) and its problems. */
        private record Entry(String display, JsonTree.@Nullable Node root, Problems problems) {
        }

        private final List<PolicyProblem> problems = new ArrayList<>();
        private final List<Entry> entries = new ArrayList<>();
        private final Map<String, List<PolicyComposer.Source>> dropIns = new LinkedHashMap<>();
        private final Map<String, String> dropInDirs = new HashMap<>();

        void fileProblem(String display, ProblemCode code, String message) {
            problems.add(new PolicyProblem(display, 0, 0, "$", Severity.ERROR, code, message, null));
        }

        void add(String display, byte[] bytes) {
            Problems p = new Problems(display);
            entries.add(new Entry(display, parse(bytes, p), p));
        }

        void addDropIn(String policy, String display, byte[] bytes) {
            Problems p = new Problems(display);
            JsonTree.Node root = parse(bytes, p);
            if (root != null) {
                dropIns.computeIfAbsent(policy, k -> new ArrayList<>()).add(new PolicyComposer.Source(display, root));
            }
            dropInDirs.putIfAbsent(policy, Path.of(display).getParent() + "");
            problems.addAll(p.all());
        }

        private JsonTree.@Nullable Node parse(byte[] bytes, Problems p) {
            if (bytes.length > MAX_FILE_BYTES) {
                p.error(Location.FILE, "$", ProblemCode.TOO_LARGE, "the file has more than " + MAX_FILE_BYTES
                        + " bytes (1 MiB), the most a policy file may have", null);
                return null;
            }
            return JsonTreeReader.read(bytes, p);
        }

        LoadResult finish(String origin) {
            // The first file with a name owns it (a second is DUPLICATE_NAME, below).
            Map<String, PolicyComposer.Source> byName = new LinkedHashMap<>();
            Map<String, Problems> problemsByName = new HashMap<>();
            for (Entry e : entries) {
                String name = nameOf(e.root());
                if (name != null && e.root() != null && !byName.containsKey(name)) {
                    byName.put(name, new PolicyComposer.Source(e.display(), e.root()));
                    problemsByName.put(name, e.problems());
                }
            }
            PolicyComposer composer = new PolicyComposer(byName, dropIns, problemsByName);
            List<CompiledPolicy> policies = new ArrayList<>();
            Map<String, EffectivePolicy> effective = new LinkedHashMap<>();
            Map<String, String> nameToFile = new HashMap<>();
            KernelProbe kernel = null;
            boolean probed = false;
            for (Entry e : entries) {
                Problems p = e.problems();
                JsonTree.Node root = e.root();
                if (root != null) {
                    String name = nameOf(root);
                    PolicyComposer.Source owner = name == null ? null : byName.get(name);
                    PolicyComposer.Composed composed = name != null && owner != null && owner.file().equals(e.display())
                            ? composer.compose(name) : new PolicyComposer.Composed(root, List.of(e.display()));
                    if (composed != null) {
                        PolicyReader.Read read = PolicyReader.read(composed.root(), p);
                        PolicyDefinition d = read.definition();
                        if (d != null) {
                            if (!probed) {
                                kernel = probe(problems);
                                probed = true;
                            }
                            Acquirers acquirers = PolicyRules.check(d, read.origins(), p, options, kernel);
                            if (!d.name().isEmpty()) {
                                String first = nameToFile.putIfAbsent(d.name(), e.display());
                                if (first != null) {
                                    p.error(read.origins().of("$.name"), "$.name", ProblemCode.DUPLICATE_NAME,
                                            "policy name `" + d.name() + "` is already used by " + first, null);
                                }
                            }
                            if (!p.hasErrors()) {
                                policies.add(PolicyCompiler.compile(d, acquirers, e.display(), kernel));
                                effective.put(d.name(), EffectiveWriter.write(d.name(), composed, e.display()));
                            }
                        }
                    }
                }
                problems.addAll(p.all());
            }
            for (String orphan : new java.util.TreeSet<>(composer.orphans())) {
                problems.add(new PolicyProblem(dropInDirs.getOrDefault(orphan, orphan + ".d"), 0, 0, "$", Severity.WARNING,
                        ProblemCode.ORPHAN_DROP_IN, "drop-ins for `" + orphan + "`, but there is no policy `" + orphan
                        + "` in this set: they apply to nothing", null));
            }
            // A problem inherited from a base is found again in each policy composed from it.
            List<PolicyProblem> unique = List.copyOf(new java.util.LinkedHashSet<>(problems));
            boolean failed = unique.stream().anyMatch(PolicyProblem::isError);
            return new LoadResult(failed ? Optional.empty() : Optional.of(new PolicySet(policies, origin, effective)), unique);
        }

        /** The {@code name} a parsed policy gives itself, if it is a string. */
        private static @Nullable String nameOf(JsonTree.@Nullable Node root) {
            if (root instanceof JsonTree.Obj o && o.members().get("name") instanceof JsonTree.Member m
                    && m.value() instanceof JsonTree.Str s) {
                return s.value();
            }
            return null;
        }
    }
}
