package org.ringwarden.daemon.trace;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * The kernel's io_uring tracepoints, read through a tracefs instance of our own: what every
 * task did with its rings, whoever created them. A ring of {@code ringwarden run} is created by
 * the daemon, so {@code io_uring_setup} tells nothing about the program; its submissions and
 * register calls are made by the program's own tasks, and those are what
 * {@code io_uring_submit_req}, {@code io_uring_register} and {@code io_uring_req_failed}
 * record, with the task's id. {@code sched_process_fork} gives the process tree, so that a
 * listener can keep one program's tasks and nothing else ({@code ringwarden learn}).
 *
 * <p>A private instance ({@code instances/ringwarden-learn-PID}) leaves the global trace buffer
 * and other users of tracefs alone, and is removed on {@link #close}. Events are folded into
 * counts as they are read: a busy program submits millions of requests, and only which kinds it
 * used matters. A full buffer drops events; the counts may then be low, never a kind that was
 * not used.
 */
public final class IoUringTrace implements AutoCloseable {
    /** Where tracefs is mounted on every current distribution. */
    static final Path TRACEFS = Path.of("/sys/kernel/tracing");
    /** What {@code ringwarden learn} watches: submissions, register calls, failures and forks. */
    public static final List<String> ALL = List.of("io_uring/io_uring_submit_req", "io_uring/io_uring_register",
            "io_uring/io_uring_req_failed", "sched/sched_process_fork");

    /** What the traced tasks did, one event at a time (called on the reader's thread). */
    public interface Listener {
        /** A request was submitted: its opcode by name and the request's flags (the low 8 bits are the SQE's). */
        default void submitted(int tid, String op, long reqFlags) {
        }

        /** A register call returned {@code ret}. */
        default void registered(int tid, int opcode, long ret) {
        }

        /** A request failed before it was issued ({@code error} negative, e.g. -13 for a restriction). */
        default void failed(int tid, String op, long reqFlags, int error) {
        }

        /**
         * {@link #submitted(int, String, long)} with the task's thread group as the kernel
         * recorded it ({@code options/record-tgid}), 0 if it did not: a listener that names the
         * process after it may have exited wants this one.
         */
        default void submitted(int tid, int tgid, String op, long reqFlags) {
            submitted(tid, op, reqFlags);
        }

        /** {@link #failed(int, String, long, int)} with the task's thread group (0 if unknown). */
        default void failed(int tid, int tgid, String op, long reqFlags, int error) {
            failed(tid, op, reqFlags, error);
        }

        /** Task {@code parent} made task {@code child} (a process or a thread). */
        default void forked(int parent, int child) {
        }
    }
    private static final String END = "ringwarden-learn-end";

    /**
     * {@code comm-TID (TGID) [CPU] flags TIMESTAMP: EVENT: fields} (a comm may hold spaces and
     * dashes; the TGID is {@code (-------)} when the kernel has not recorded it).
     */
    private static final Pattern LINE = Pattern.compile(
            "^\\s*.*-(\\d+)\\s+(?:\\(\\s*(\\d+|-+)\\)\\s+)?\\[\\d+\\]\\s+\\S+\\s+[\\d.]+: (\\w+): (.*)$");
    private static final Pattern SUBMIT = Pattern.compile("opcode (\\w+), flags 0x([0-9a-f]+)");
    private static final Pattern REGISTER = Pattern.compile("opcode (\\d+), .*ret (-?\\d+)");
    private static final Pattern FAILED = Pattern.compile("opcode (\\w+), flags 0x([0-9a-f]+),.*error=(-?\\d+)");
    private static final Pattern FORK = Pattern.compile("pid=(\\d+) child_comm=.* child_pid=(\\d+)$");

    private final Path instance;
    private final List<String> events;
    /** The events of a {@link #following} instance, on only while it follows some task. */
    private final List<String> followed = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Listener listener;
    private final CountDownLatch drained = new CountDownLatch(1);
    private final Thread reader;
    private volatile @Nullable IOException failure;

    private IoUringTrace(Path instance, List<String> events, Listener listener) {
        this.instance = instance;
        this.events = List.copyOf(events);
        this.listener = listener;
        this.reader = Thread.ofPlatform().daemon().name("ringwarden-learn-trace").unstarted(this::read);
    }

    /**
     * Starts tracing {@code events} ({@link #ALL} or some of them) of every task into
     * {@code listener}, in instance {@code ringwarden-NAME-PID}; {@code filters} are tracefs
     * filter expressions by event ({@code "error == -13"}), applied by the kernel. Root only
     * (tracefs); mounts tracefs at /sys/kernel/tracing if it is not mounted yet.
     *
     * @throws IOException with what to do, when tracefs or the io_uring events are not there
     */
    public static IoUringTrace start(String name, List<String> events, java.util.Map<String, String> filters,
                                     Listener listener) throws IOException {
        ensureMounted();
        if (!Files.isDirectory(TRACEFS.resolve("events/io_uring"))) {
            throw new IOException("this kernel has no io_uring tracepoints (" + TRACEFS.resolve("events/io_uring")
                    + " is missing; CONFIG_EVENT_TRACING)");
        }
        Path instance = TRACEFS.resolve("instances/ringwarden-" + name + "-" + ProcessHandle.current().pid());
        if (!Files.isDirectory(instance)) {
            Files.createDirectory(instance); // tracefs makes a whole instance on mkdir
        }
        IoUringTrace t = new IoUringTrace(instance, events, listener);
        try {
            write(instance.resolve("buffer_size_kb"), "8192");
            // Each line then names the task's process too, which outlives the task in the trace.
            write(instance.resolve("options/record-tgid"), "1");
            for (String e : events) {
                String filter = filters.get(e);
                if (filter != null) {
                    write(instance.resolve("events/" + e + "/filter"), filter);
                }
                write(instance.resolve("events/" + e + "/enable"), "1");
            }
            write(instance.resolve("tracing_on"), "1");
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        t.reader.start();
        return t;
    }

    /**
     * Starts an instance for {@code events} that traces nobody yet: {@link #follow} names the
     * tasks. The kernel filters by task ({@code set_event_pid}) and adds each task a followed
     * one forks or clones ({@code options/event-fork}), so a program's new threads are seen from
     * their first request. Root only.
     */
    public static IoUringTrace following(String name, List<String> events, Listener listener) throws IOException {
        IoUringTrace t = start(name, List.of(), java.util.Map.of(), listener);
        try {
            write(t.instance.resolve("options/event-fork"), "1");
            t.followed.addAll(events);
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /**
     * Traces exactly the tasks {@code tids} (and what they fork from now on); none: the events
     * are off, since an empty {@code set_event_pid} would mean every task.
     */
    public synchronized void follow(java.util.Collection<Integer> tids) throws IOException {
        if (tids.isEmpty()) {
            for (String e : followed) {
                write(instance.resolve("events/" + e + "/enable"), "0");
            }
            write(instance.resolve("set_event_pid"), ""); // opened with O_TRUNC: the list is cleared
            return;
        }
        StringBuilder list = new StringBuilder();
        for (int tid : tids) {
            list.append(tid).append(' ');
        }
        write(instance.resolve("set_event_pid"), list.toString());
        for (String e : followed) {
            write(instance.resolve("events/" + e + "/enable"), "1");
        }
    }

    private static void ensureMounted() throws IOException {
        if (Files.exists(TRACEFS.resolve("instances"))) {
            return;
        }
        Process p = new ProcessBuilder("mount", "-t", "tracefs", "nodev", TRACEFS.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0 || !Files.exists(TRACEFS.resolve("instances"))) {
                throw new IOException("tracefs is not mounted at " + TRACEFS + " and mounting it failed (" + out
                        + "); mount it (mount -t tracefs nodev " + TRACEFS + ") and try again");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while mounting tracefs", e);
        }
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                Files.newInputStream(instance.resolve("trace_pipe")), StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.contains(END)) {
                    break;
                }
                parse(line);
            }
        } catch (IOException e) {
            failure = e;
        } finally {
            drained.countDown();
        }
    }

    void parse(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.matches()) {
            return;
        }
        int tid = Integer.parseInt(m.group(1));
        int tgid = m.group(2) == null || m.group(2).startsWith("-") ? 0 : Integer.parseInt(m.group(2));
        String fields = m.group(4);
        Matcher f;
        switch (m.group(3)) {
            case "io_uring_submit_req" -> {
                if ((f = SUBMIT.matcher(fields)).find()) {
                    listener.submitted(tid, tgid, f.group(1), Long.parseUnsignedLong(f.group(2), 16));
                }
            }
            case "io_uring_register" -> {
                if ((f = REGISTER.matcher(fields)).find()) {
                    listener.registered(tid, Integer.parseInt(f.group(1)), Long.parseLong(f.group(2)));
                }
            }
            case "io_uring_req_failed" -> {
                if ((f = FAILED.matcher(fields)).find()) {
                    listener.failed(tid, tgid, f.group(1), Long.parseUnsignedLong(f.group(2), 16), Integer.parseInt(f.group(3)));
                }
            }
            case "sched_process_fork" -> {
                if ((f = FORK.matcher(fields)).find()) {
                    listener.forked(Integer.parseInt(f.group(1)), Integer.parseInt(f.group(2)));
                }
            }
            default -> {
                // another event of the instance: none is enabled
            }
        }
    }

    /**
     * Stops tracing. Waits (at most {@code timeoutSeconds}) for the reader to reach the end
     * marker, so that every event recorded before this call has reached the listener.
     */
    public void stop(long timeoutSeconds) throws IOException {
        // The marker follows every event recorded so far in the instance's buffer: the reader
        // stops there, having read them all.
        write(instance.resolve("trace_marker"), END);
        write(instance.resolve("tracing_on"), "0");
        try {
            if (!drained.await(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new IOException("the trace reader did not reach the end within " + timeoutSeconds + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading the trace", e);
        }
        IOException e = failure;
        if (e != null) {
            throw e;
        }
    }

    /** Events the kernel dropped because the buffer was full ({@code per_cpu/cpuN/stats}: overrun); -1 if unknown. */
    public long lost() {
        long total = 0;
        try (var cpus = Files.newDirectoryStream(instance.resolve("per_cpu"))) {
            for (Path cpu : cpus) {
                for (String l : Files.readAllLines(cpu.resolve("stats"))) {
                    if (l.startsWith("overrun:")) {
                        total += Long.parseLong(l.substring(8).strip());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return total;
    }

    /** Turns the events off and removes the instance. Idempotent. */
    @Override
    public void close() {
        if (drained.getCount() > 0) {
            // The reader holds trace_pipe open, and tracefs will not remove a busy instance: end it first.
            try {
                write(instance.resolve("tracing_on"), "1");
                write(instance.resolve("trace_marker"), END);
                drained.await(10, TimeUnit.SECONDS);
            } catch (IOException | RuntimeException e) {
                // the instance is going anyway
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            for (String e : events) {
                write(instance.resolve("events/" + e + "/enable"), "0");
            }
            for (String e : followed) {
                write(instance.resolve("events/" + e + "/enable"), "0");
            }
            write(instance.resolve("tracing_on"), "0");
        } catch (IOException | RuntimeException e) {
            // removing the instance below turns everything off too
        }
        try {
            Files.deleteIfExists(instance); // rmdir: the kernel frees the instance's buffers
        } catch (IOException e) {
            // busy (a reader still open): the next learn run's mkdir reuses it
        }
    }

    private static void write(Path p, String value) throws IOException {
        Files.writeString(p, value);
    }
}
