package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;
import org.ringwarden.daemon.config.AuditSettings;
import org.ringwarden.daemon.config.DaemonConfig;
import org.ringwarden.daemon.grant.AuditEvent;
import org.ringwarden.daemon.grant.DaemonLimits;
import org.ringwarden.daemon.learn.LearnedPolicy;
import org.ringwarden.daemon.learn.Observations;
import org.ringwarden.daemon.server.Daemon;
import org.ringwarden.daemon.server.GrantBroker;
import org.ringwarden.daemon.trace.IoUringTrace;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.KernelProbe;
import org.ringwarden.linux.uring.SetupFlag;
import org.ringwarden.policy.LoadResult;
import org.ringwarden.policy.PolicyExplainer;
import org.ringwarden.policy.PolicyLoader;
import org.ringwarden.policy.PolicyProblem;
import org.ringwarden.policy.PolicyStore;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ringwarden learn -- PROGRAM ARGS}: runs the program as an unprivileged user under
 * {@code ringwarden run} with a policy that allows all a policy may, watches what its tasks do
 * through the kernel's io_uring tracepoints, writes the smallest policy under which that run
 * succeeds, and runs the program again under it to show that it does.
 */
@Command(name = "learn", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a program under transparent mode with a policy that allows everything a policy may, watch "
                + "what it does with io_uring (the kernel's tracepoints), and write the smallest policy under which the "
                + "same run succeeds. Then run it again under that policy to check. Root only: it starts a private "
                + "daemon and traces through tracefs.",
                "",
                "Exit status: 0 the learned policy validates and the second run succeeded; 1 the program failed "
                        + "(either run) or the policy does not validate; 2 usage; 3 learning itself failed "
                        + "(no tracefs, no setpriv)."},
        footer = {"", "Example:", "  ringwarden learn --user nobody --name fio-read --output /etc/ringwarden/policies.d/fio-read.json \\",
                "      -- fio --name=r --filename=/srv/data --rw=randread --ioengine=io_uring --size=16m"})
public final class LearnCommand implements Callable<Integer> {
    @Option(names = "--user", defaultValue = "nobody", paramLabel = "USER",
            description = "The user the program runs as, and the policy's subject (default: ${DEFAULT-VALUE}).")
    String user = "nobody";

    @Option(names = "--name", paramLabel = "NAME", description = "The learned policy's name (default: the program's file name).")
    @Nullable String name;

    @Option(names = "--output", paramLabel = "FILE", description = "Write the policy here (mode 0644) instead of to standard output.")
    @Nullable Path output;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "Where the private daemon serves the program (default: in a private directory under /var/tmp).")
    @Nullable Path socket;

    @Option(names = "--no-check", description = "Do not run the program a second time under the learned policy.")
    boolean noCheck;

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (required)
    @Parameters(index = "0..*", arity = "1..*", paramLabel = "PROGRAM", description = "The program and its arguments.")
    List<String> program;

    private static final Pattern ASKED = Pattern.compile("asked entries (\\d+) flags (\\S+?);");
    private static final Pattern GIVEN = Pattern.compile("given entries (\\d+)/(\\d+)");

    @Override
    public Integer call() throws Exception {
        if (ProcessHandle.current().info().user().map(u -> !u.equals("root")).orElse(true)) {
            System.err.println("ringwarden learn: run it as root (it starts a private daemon and reads tracefs)");
            return 3;
        }
        int[] ids = DemoCommand.userIds(user);
        if (ids == null) {
            System.err.println("ringwarden learn: no user '" + user + "' in /etc/passwd; pick one with --user");
            return 2;
        }
        Path setpriv = Stream.of("/usr/bin/setpriv", "/bin/setpriv").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElse(null);
        if (setpriv == null) {
            System.err.println("ringwarden learn: setpriv (util-linux) is needed to run the program as '" + user + "'");
            return 3;
        }
        String policyName = name != null ? name : Path.of(program.getFirst()).getFileName().toString()
                .toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
        DemoCommand.quietLogs();
        Path base = Files.createTempDirectory(Path.of("/var/tmp"), "ringwarden-learn-");
        try {
            return learn(base, ids, setpriv, policyName);
        } finally {
            DemoCommand.deleteTree(base);
        }
    }

    private int learn(Path base, int[] ids, Path setpriv, String policyName) throws Exception {
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx--x--x"));
        Path policies = DemoCommand.mkdir(base.resolve("policies"), "rwxr-xr-x");
        Path run = DemoCommand.mkdir(base.resolve("run"), "rwx--x--x");
        Path lib = DemoCommand.mkdir(base.resolve("lib"), "rwxr-xr-x");
        KernelProbe kernel = IoUringCalls.probeKernel();
        String learning = "learn-" + policyName;
        Path learningFile = policies.resolve(learning + ".json");
        Files.writeString(learningFile, LearnedPolicy.learning(learning, user, kernel));
        Files.setPosixFilePermissions(learningFile, PosixFilePermissions.fromString("rw-r--r--"));

        Path sock = socket != null ? socket : run.resolve("ringwarden.sock");
        DaemonConfig config = DaemonConfig.defaults(Map.of())
                .withSocketPath(sock)
                .withAdminSocketPath(run.resolve("admin.sock"))
                .withPolicies(policies)
                .withAudit(new AuditSettings(AuditSettings.Destination.FILE, base.resolve("audit.jsonl")));
        PolicyStore store = PolicyStore.open(new PolicyLoader(PolicyLoader.Options.defaults().withCheckFiles(false)), policies);
        List<AuditEvent> events = new CopyOnWriteArrayList<>();
        GrantBroker broker = GrantBroker.create(store, DaemonLimits.of(config.limits()), events::add);
        String classpath = DemoCommand.readableClasspath(lib);

        int first;
        Observations.Usage usage;
        try (Daemon daemon = Daemon.start(config, broker, Map.of())) {
            System.err.println("ringwarden learn: running " + String.join(" ", program) + " as " + user
                    + " under '" + learning + "' (everything a policy may allow), watched");
            Observations seen = new Observations();
            try (IoUringTrace trace = IoUringTrace.start("learn", IoUringTrace.ALL, Map.of(), seen)) {
                Process p = runUnder(setpriv, ids, classpath, sock, learning);
                first = p.waitFor();
                trace.stop(60);
                seen.lost(trace.lost());
                usage = seen.of((int) p.pid());
            }
            List<LearnedPolicy.RingAsked> rings = rings(events, learning);
            String description = shorten("Learned by ringwarden learn from: " + String.join(" ", program));
            String learned = LearnedPolicy.learned(policyName, description, user, usage, rings);
            System.err.println();
            System.err.println("ringwarden learn: the program exited " + first + "; its tasks used:");
            for (String line : LearnedPolicy.report(usage, rings)) {
                System.err.println("   " + line);
            }
            if (usage.lost() > 0) {
                System.err.println("   (the kernel dropped " + usage.lost() + " trace events: the counts are low, "
                        + "the kinds are complete unless one was used only in what was dropped)");
            }
            if (rings.isEmpty()) {
                System.err.println("   (the program made no ring: the policy allows nothing it needs)");
            }

            // The policy, validated as the daemon will load it.
            Path learnedFile = policies.resolve(policyName + ".json");
            Files.writeString(learnedFile, learned);
            Files.setPosixFilePermissions(learnedFile, PosixFilePermissions.fromString("rw-r--r--"));
            Files.delete(learningFile);
            LoadResult r = store.reload();
            for (PolicyProblem problem : r.problems()) {
                System.err.println("   " + problem.format());
            }
            if (!r.ok()) {
                System.err.println("ringwarden learn: the learned policy does not validate (a bug: please report it)");
                System.out.print(learned);
                return 1;
            }
            System.err.println();
            PolicyExplainer.Explanation e = PolicyExplainer.explain(r.policies().orElseThrow().get(policyName).orElseThrow());
            System.err.println("ringwarden policy explain " + policyName + ":");
            e.can().forEach(line -> System.err.println("   can: " + line));
            e.cannot().forEach(line -> System.err.println("   cannot: " + line));
            int second = 0;
            if (!noCheck && first == 0) {
                System.err.println();
                System.err.println("ringwarden learn: running it again under the learned policy '" + policyName + "'");
                second = runUnder(setpriv, ids, classpath, sock, policyName).waitFor();
                System.err.println("ringwarden learn: " + (second == 0 ? "the program succeeded under the learned policy"
                        : "the program exited " + second + " under the learned policy (a run that differs from the first "
                                + "may need more: learn it again with that run)"));
            }
            if (output != null) {
                Files.writeString(output, learned);
                Files.setPosixFilePermissions(output, PosixFilePermissions.fromString("rw-r--r--"));
                System.err.println("ringwarden learn: wrote " + output);
            } else {
                System.out.print(learned);
                System.out.flush();
            }
            return first == 0 && second == 0 ? 0 : 1;
        }
    }

    /** {@code setpriv ... java ... ringwarden run --socket S --policy P -- PROGRAM}, its output ours. */
    private Process runUnder(Path setpriv, int[] ids, String classpath, Path sock, String policy) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(setpriv.toString(), "--reuid=" + ids[0], "--regid=" + ids[1],
                "--clear-groups", "--", DemoCommand.javaBinary(), "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1",
                "-cp", classpath, org.ringwarden.daemon.Main.class.getName(), "run", "--socket", sock.toString(),
                "--policy", policy, "--"));
        cmd.addAll(program);
        ProcessBuilder b = new ProcessBuilder(cmd).inheritIO();
        if (output == null) {
            // Standard output is the policy's: the program's own output goes where ours to people goes.
            b.redirectOutput(ProcessBuilder.Redirect.appendTo(new java.io.File("/proc/self/fd/2")));
        }
        return b.start();
    }

    /** The rings the daemon made under {@code policy}: what each trapped call asked for (its DELIVER record). */
    static List<LearnedPolicy.RingAsked> rings(List<AuditEvent> events, String policy) {
        List<LearnedPolicy.RingAsked> out = new ArrayList<>();
        for (AuditEvent e : events) {
            if (e.kind() != AuditEvent.Kind.DELIVER || !policy.equals(e.policy())) {
                continue;
            }
            Matcher asked = ASKED.matcher(e.detail());
            Matcher given = GIVEN.matcher(e.detail());
            if (!asked.find()) {
                continue;
            }
            EnumSet<SetupFlag> flags = EnumSet.noneOf(SetupFlag.class);
            for (String f : asked.group(2).split("\\|")) {
                for (SetupFlag s : SetupFlag.values()) {
                    if (s.name().equals(f)) {
                        flags.add(s);
                    }
                }
            }
            int sq = Integer.parseInt(asked.group(1));
            int cq = given.find() ? Integer.parseInt(given.group(2)) : 2 * sq;
            out.add(new LearnedPolicy.RingAsked(sq, cq, flags));
        }
        return out;
    }

    /** One line of at most 200 characters, as a policy's description must be. */
    private static String shorten(String s) {
        String line = s.replaceAll("\\p{Cntrl}", " ");
        return line.length() > 200 ? line.substring(0, 199) + "…" : line;
    }
}
