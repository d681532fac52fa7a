package org.ringwarden.daemon.oci;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * runc or crun from Debian, running bundles made here: a read-only rootfs whose {@code /usr}
 * is the host's, bound read-only (no image needed; {@code /bin}, {@code /lib}... are the
 * merged-usr symlinks), {@code /data} bound read-write, the process as uid 65534 with no
 * capabilities and no-new-privs, the given seccomp profile. Also the tests' crun workaround
 * for this VM's cgroup hybrid mode: probed, done only when needed, undone.
 */
final class OciRuntime {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Path HUGETLB_V1 = Path.of("/sys/fs/cgroup/hugetlb");

    final String name;
    final Path state;

    record Result(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    OciRuntime(String name, Path state) {
        this.name = name;
        this.state = state;
    }

    static boolean installed(String name) {
        return Files.isExecutable(Path.of("/usr/bin", name)) || Files.isExecutable(Path.of("/usr/sbin", name));
    }

    /** The shared read-only rootfs under {@code dir}: mount points and the merged-usr links. */
    static Path rootfs(Path dir) throws IOException {
        Path r = dir.resolve("rootfs");
        for (String d : new String[] {"usr", "proc", "dev", "sys", "tmp", "data", "etc"}) {
            Files.createDirectories(r.resolve(d));
        }
        for (String l : new String[] {"bin", "lib", "lib64", "sbin"}) {
            if (!Files.exists(r.resolve(l), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.createSymbolicLink(r.resolve(l), Path.of("usr", l));
            }
        }
        Files.writeString(r.resolve("etc/passwd"), "root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n");
        Files.writeString(r.resolve("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
        return r;
    }

    /** Writes {@code bundle/config.json}. */
    static void bundle(Path bundle, Path rootfs, Path data, List<String> args, ObjectNode seccomp,
                       java.util.Map<String, String> annotations) throws IOException {
        Files.createDirectories(bundle);
        ObjectNode c = JSON.createObjectNode();
        c.put("ociVersion", "1.0.2");
        ObjectNode p = c.putObject("process");
        p.put("terminal", false);
        ObjectNode user = p.putObject("user");
        user.put("uid", 65534);
        user.put("gid", 65534);
        ArrayNode a = p.putArray("args");
        args.forEach(a::add);
        p.putArray("env").add("PATH=/usr/sbin:/usr/bin:/sbin:/bin").add("HOME=/tmp");
        p.put("cwd", "/tmp");
        ObjectNode caps = p.putObject("capabilities");
        for (String set : new String[] {"bounding", "effective", "permitted", "inheritable", "ambient"}) {
            caps.putArray(set);
        }
        p.put("noNewPrivileges", true);
        ObjectNode root = c.putObject("root");
        root.put("path", rootfs.toString());
        root.put("readonly", true);
        c.put("hostname", "rw");
        ArrayNode mounts = c.putArray("mounts");
        mount(mounts, "/proc", "proc", "proc", "nosuid", "noexec", "nodev");
        mount(mounts, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k");
        mount(mounts, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k");
        mount(mounts, "/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro");
        mount(mounts, "/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=1777");
        mount(mounts, "/usr", "bind", "/usr", "rbind", "ro");
        mount(mounts, "/data", "bind", data.toString(), "rbind", "rw");
        ObjectNode ann = c.putObject("annotations");
        annotations.forEach(ann::put);
        ObjectNode linux = c.putObject("linux");
        ArrayNode ns = linux.putArray("namespaces");
        for (String t : new String[] {"pid", "network", "ipc", "uts", "mount"}) {
            ns.addObject().put("type", t);
        }
        linux.set("seccomp", seccomp);
        Files.writeString(bundle.resolve("config.json"), JSON.writeValueAsString(c));
    }

    private static void mount(ArrayNode mounts, String dest, String type, String source, String... options) {
        ObjectNode m = mounts.addObject();
        m.put("destination", dest);
        m.put("type", type);
        m.put("source", source);
        ArrayNode o = m.putArray("options");
        for (String s : options) {
            o.add(s);
        }
    }

    /** {@code RUNTIME --root STATE run --bundle BUNDLE ID}, to its end (bounded, so a hang fails the test). */
    Result run(Path bundle, String id) throws IOException, InterruptedException {
        return exec(List.of(name, "--root", state.toString(), "run", "--bundle", bundle.toString(), id), 300);
    }

    static Result exec(List<String> cmd, long seconds) throws IOException, InterruptedException {
        Path out = Files.createTempFile("rw-oci-", ".out");
        Path err = Files.createTempFile("rw-oci-", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor();
                throw new AssertionError(cmd + " did not end within " + seconds + " s: " + Files.readString(out)
                        + Files.readString(err));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    // ------------------------------------------------------------ crun on this VM's hybrid cgroups

    /**
     * crun 1.8 refuses a cgroup v2 hierarchy that holds a controller while v1 hierarchies are
     * mounted ("cgroups in hybrid mode not supported"). On this VM that controller is hugetlb;
     * mounting it as a v1 hierarchy empties v2. Returns true if it did so (undo
     * with {@link #undoHybridWorkaround}); throws if something else is in the way.
     */
    static boolean hybridWorkaroundIfNeeded(Path probeBundle, Path state) throws IOException, InterruptedException {
        OciRuntime crun = new OciRuntime("crun", state);
        Result r = crun.run(probeBundle, "rw-probe-" + ProcessHandle.current().pid());
        if (r.exit() == 0 || !r.err().contains("hybrid mode not supported")) {
            return false;
        }
        Path v2 = Path.of("/sys/fs/cgroup/unified/cgroup.controllers");
        if (!Files.exists(v2) || !Files.readString(v2).trim().equals("hugetlb") || Files.exists(HUGETLB_V1)) {
            throw new org.opentest4j.TestAbortedException("crun refuses this host's cgroups (hybrid mode) and the "
                    + "hugetlb workaround does not apply: v2 holds " + (Files.exists(v2) ? Files.readString(v2).trim() : "?"));
        }
        Files.createDirectory(HUGETLB_V1);
        Result m = exec(List.of("mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", HUGETLB_V1.toString()), 30);
        if (m.exit() != 0) {
            Files.deleteIfExists(HUGETLB_V1);
            throw new org.opentest4j.TestAbortedException("mounting hugetlb as cgroup v1 failed: " + m.all());
        }
        return true;
    }

    /**
     * Gives hugetlb back to cgroup v2: unmount the v1 hierarchy once it has no child cgroup
     * left (a hierarchy unmounted with a dying child lives on, so mount it again and retry).
     */
    static void undoHybridWorkaround() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); // guards against a hang only
        while (System.nanoTime() - deadline < 0) {
            boolean mounted = Files.readString(Path.of("/proc/self/mountinfo")).contains(" " + HUGETLB_V1 + " ");
            if (!mounted) {
                if (hugetlbOnV2()) {
                    Files.deleteIfExists(HUGETLB_V1);
                    return;
                }
                exec(List.of("mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", HUGETLB_V1.toString()), 30);
                continue;
            }
            boolean children;
            try (var s = Files.list(HUGETLB_V1)) {
                children = s.anyMatch(Files::isDirectory);
            }
            if (!children) {
                exec(List.of("umount", HUGETLB_V1.toString()), 30);
            }
            // A child cgroup is still being torn down by crun, or the hierarchy not yet freed: look again.
            Thread.sleep(10);
        }
        throw new IllegalStateException("hugetlb did not return to cgroup v2; run `umount " + HUGETLB_V1 + "` by hand");
    }

    private static boolean hugetlbOnV2() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/cgroups"))) {
            if (l.startsWith("hugetlb\t")) {
                return l.split("\t")[1].equals("0");
            }
        }
        return false;
    }
}
