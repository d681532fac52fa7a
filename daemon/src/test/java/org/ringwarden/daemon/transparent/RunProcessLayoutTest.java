package org.ringwarden.daemon.transparent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ringwarden run} as the program's parent: the invariant Yama's {@code ptrace_scope=1}
 * checks (the process that reads a caller's {@code io_uring_params} is an ancestor of it),
 * signals passed on to the program, its exit status returned, and the refusal of Yama's
 * scopes 2 and 3 at start.
 */
@Timeout(300)
class RunProcessLayoutTest {
    private static RunHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = new RunHarness();
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    /**
     * Yama's {@code task_is_descendant(current, child)} (security/yama/yama_lsm.c) walks from the
     * trapped thread's group leader up the real parents; {@code ringwarden run} must be met on
     * the way for the program, its threads, its child, and an orphan whose parent exited before
     * it trapped. This kernel has no Yama, so the walk is checked as the program saw it.
     */
    @Test
    void ringwardenRunIsAnAncestorOfEveryProcessThatTrapsChildrenThreadsAndOrphansIncluded() {
        RunHarness.Result r = h.run("fio", h.probe.toString(), "ancestry");
        assertThat(r.exit()).as("%s", r).isZero();
        long run = r.pid(); // setpriv execs: the pid of ringwarden run
        assertThat(r.out()).as("%s", r).contains("parent=" + run + " ");
        assertThat(r.out()).as("no thread of ringwarden run itself is under the filter (it would keep the listener"
                + " alive, and be served); %s", r).contains("filtered-tasks-of-parent=0");
        List<String> who = new ArrayList<>();
        Matcher m = Pattern.compile("(\\w+) tid=(\\d+) chain=([\\d,]+)").matcher(r.out());
        while (m.find()) {
            who.add(m.group(1));
            List<Long> chain = Arrays.stream(m.group(3).split(",")).map(Long::parseLong).toList();
            assertThat(chain).as("the ancestry of %s (tid %s) contains ringwarden run %s; %s", m.group(1), m.group(2), run, r)
                    .contains(run);
            assertThat(r.out()).as("%s", r).contains(m.group(1) + " nop res=0");
        }
        assertThat(who).as("%s", r).containsExactlyInAnyOrder("program", "thread0", "thread1", "child", "orphan");
        Matcher orphan = Pattern.compile("orphan tid=\\d+ chain=(\\d+),(\\d+),").matcher(r.out());
        assertThat(orphan.find()).isTrue();
        assertThat(Long.parseLong(orphan.group(2))).as("the orphan was reparented to ringwarden run (its subreaper),"
                + " not to init; %s", r).isEqualTo(run);
    }

    @Test
    void sigintSentToRunReachesTheProgramAndItsOwnExitCodeIsReturned() throws Exception {
        // A shell starts background commands with SIGINT ignored; ringwarden run then leaves it
        // ignored (and so does the program), as env(1) would.
        Assumptions.assumeFalse(ignores(2), "this test runs with SIGINT ignored (started in the background by a shell)");
        try (RunHarness.Running run = h.start("fio", List.of(), "/bin/sh", "-c",
                "trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done")) {
            run.awaitLine("^ready$", 60);
            signal(run.process.pid(), "INT"); // the pid of ringwarden run (setpriv execs it)
            run.awaitLine("^got INT$", 60);
            assertThat(run.awaitExit(60).exit()).isEqualTo(7);
        }
    }

    @Test
    void sigtermSentToRunKillsTheProgramAndRunExitsWith128PlusTheSignal() throws Exception {
        try (RunHarness.Running run = h.start("fio", List.of(), "/bin/sh", "-c", "echo ready; exec sleep 100")) {
            run.awaitLine("^ready$", 60);
            signal(run.process.pid(), "TERM");
            RunHarness.Result r = run.awaitExit(60);
            assertThat(r.exit()).as("128 + SIGTERM; %s", r).isEqualTo(143);
        }
    }

    /**
     * SIGTSTP sent to {@code ringwarden run} reaches the program. Whether it then stops is the
     * kernel's call: it discards SIGTSTP for a process group with no parent in another group
     * of its session (an orphaned group, as under a CI runner), so the program traps it here
     * and says so.
     */
    @Test
    void sigtstpSentToRunReachesTheProgram() throws Exception {
        try (RunHarness.Running run = h.start("fio", List.of(), "/bin/sh", "-c",
                "trap 'echo got TSTP' TSTP; echo ready; while :; do sleep 0.05; done")) {
            run.awaitLine("^ready$", 60);
            signal(run.process.pid(), "TSTP");
            run.awaitLine("^got TSTP$", 60);
            signal(run.process.pid(), "TERM");
            assertThat(run.awaitExit(60).exit()).isEqualTo(143);
        }
    }

    /**
     * A program that stops stops {@code ringwarden run} with it, so that a shell sees the job
     * stop; SIGCONT sent to {@code ringwarden run} resumes both. SIGSTOP, which no process
     * group state can discard, stops the program here.
     */
    @Test
    void aStoppedProgramStopsRunWithItAndSigcontResumesBoth() throws Exception {
        try (RunHarness.Running run = h.start("fio", List.of(), "/bin/sh", "-c", "echo pid $$; exec sleep 100")) {
            long program = Long.parseLong(run.awaitLine("^pid (\\d+)$", 60).group(1));
            long self = run.process.pid();
            signal(program, "STOP");
            awaitState(program, 'T');
            awaitState(self, 'T'); // a shell waiting for ringwarden run sees the job stop
            signal(self, "CONT");
            awaitNotState(program, 'T');
            awaitNotState(self, 'T');
            signal(self, "TERM");
            assertThat(run.awaitExit(60).exit()).isEqualTo(143);
        }
    }

    @Test
    void yamaScopeTwoOrThreeIsRefusedAtStartNamingTheSysctl(@TempDir Path dir) throws IOException {
        int events = h.daemon.auditEvents().size();
        for (String scope : List.of("2", "3")) {
            Path sysctl = Files.writeString(dir.resolve("ptrace_scope-" + scope), scope + "\n");
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int rc = TransparentRun.run(new TransparentRun.Options(h.daemon.socket, "fio", 0, sysctl),
                    List.of("/bin/true"), Map.of(), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertThat(rc).isEqualTo(TransparentRun.EXIT_FAILED);
            assertThat(err.toString(StandardCharsets.UTF_8)).contains("kernel.yama.ptrace_scope is " + scope);
        }
        assertThat(h.daemon.auditEvents()).as("refused before connecting to the daemon").hasSize(events);
    }

    @Test
    void yamaScopesZeroAndOneAndNoYamaAreAccepted(@TempDir Path dir) throws IOException {
        assertThat(YamaScope.read(Files.writeString(dir.resolve("zero"), "0\n")).refusal()).isNull();
        assertThat(YamaScope.read(Files.writeString(dir.resolve("one"), "1\n")).refusal()).isNull();
        assertThat(YamaScope.read(dir.resolve("absent")).refusal()).as("no Yama").isNull();
    }

    /** Whether this process ignores signal {@code n} (and so passes that on to what it starts). */
    private static boolean ignores(int n) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << (n - 1))) != 0;
            }
        }
        return false;
    }

    private static void signal(long pid, String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
    }

    private static char state(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException e) {
            return '?';
        }
    }

    private static void awaitState(long pid, char wanted) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (state(pid) != wanted) {
            assertThat(System.nanoTime()).as("pid %s in state %s, not %s", pid, state(pid), wanted).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private static void awaitNotState(long pid, char unwanted) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (state(pid) == unwanted) {
            assertThat(System.nanoTime()).as("pid %s still in state %s", pid, unwanted).isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
