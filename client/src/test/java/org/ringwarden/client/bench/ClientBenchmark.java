package org.ringwarden.client.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.ringwarden.client.BrokeredRing;
import org.ringwarden.client.RegisteredBuffer;
import org.ringwarden.client.RingwardenClient;
import org.ringwarden.linux.uring.CompletionHandler;

/**
 * Figures, not tests (bench/run-client runs it; bench/README.md says how to read them).
 *
 * <ul>
 * <li>{@code throughput LIB SOCKET SLICE PAIRS}: NOP (batch 1, 8, 32) and 4 KiB random
 *     READ_FIXED (batch 32) through brokered, restricted rings driven by this client, against
 *     the same loops in bench/read-fixed.c (liburing, a ring it created itself), in alternating
 *     slices in this process so that both meet the same load. The C ring is made before the
 *     client connects (afterwards this process's io_uring_setup belongs to the daemon).
 * <li>{@code acquire SOCKET SECONDS OUT [START]}: attach once, run {@code -Dringwarden.bench.warmup}
 *     (default 2,000) warm-up cycles, then acquire + collect + map + one NOP + close in a loop;
 *     latencies in microseconds to OUT. With START, waits for that file to exist after the
 *     warm-up (bench/run-client starts 32 of these together).
 * <li>{@code aggregate SECONDS FILES...}: rate and p50/p99 over the files.
 * </ul>
 */
public final class ClientBenchmark {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
    private static final int BLOCK = 4096;
    private static long sink;
    private static long rng = 0x9E3779B97F4A7C15L;

    private ClientBenchmark() {
    }

    public static void main(String[] args) throws Throwable {
        switch (args[0]) {
            case "throughput" -> throughput(Path.of(args[1]), Path.of(args[2]), Path.of(args[3]),
                    Double.parseDouble(args[4]), Integer.parseInt(args[5]));
            case "acquire" -> acquire(Path.of(args[1]), Double.parseDouble(args[2]), Path.of(args[3]),
                    args.length > 4 ? Path.of(args[4]) : null);
            case "aggregate" -> aggregate(Double.parseDouble(args[1]), Arrays.copyOfRange(args, 2, args.length));
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.exit(sink == 42 ? 3 : 0);
    }

    // ------------------------------------------------------------------ throughput

    /** One slice's result: ops per CPU-second of this thread, ops per wall second. */
    record Rate(double cpu, double wall) {
    }

    static void throughput(Path lib, Path socket, Path file, double slice, int pairs) throws Throwable {
        Arena arena = Arena.global();
        SymbolLookup c = SymbolLookup.libraryLookup(lib, arena);
        Linker linker = Linker.nativeLinker();
        MethodHandle init = linker.downcallHandle(c.find("rf_init").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        MethodHandle run = linker.downcallHandle(c.find("rf_run").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_DOUBLE, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        int r = (int) init.invokeExact(arena.allocateFrom(file.toString()));
        if (r < 0) {
            throw new IllegalStateException("rf_init: " + r);
        }
        MemorySegment out = arena.allocate(16, 8);
        try (RingwardenClient client = RingwardenClient.connect(socket);
             BrokeredRing nopRing = client.acquire("bench-nop");
             BrokeredRing readRing = client.acquire("bench-read")) {
            long blocks = Files.size(file) / BLOCK;
            String[] names = {"nop", "nop", "nop", "read-fixed"};
            int[] batches = {1, 8, 32, 32};
            for (int k = 0; k < names.length; k++) {
                boolean read = k == 3;
                int batch = batches[k];
                BrokeredRing ring = read ? readRing : nopRing;
                // Warm-up: the JIT, page faults, the page cache.
                for (int w = 0; w < 3; w++) {
                    javaSlice(ring, read, batch, slice, blocks);
                    int rc = (int) run.invokeExact(read ? 1 : 0, batch, slice, out, out.asSlice(8));
                    if (rc != 0) {
                        throw new IllegalStateException("rf_run failed");
                    }
                }
                double[] cCpu = new double[pairs];
                double[] jCpu = new double[pairs];
                double[] cWall = new double[pairs];
                double[] jWall = new double[pairs];
                double[] ratio = new double[pairs];
                for (int p = 0; p < pairs; p++) {
                    int rc = (int) run.invokeExact(read ? 1 : 0, batch, slice, out, out.asSlice(8));
                    if (rc != 0) {
                        throw new IllegalStateException("rf_run failed");
                    }
                    cCpu[p] = out.get(ValueLayout.JAVA_DOUBLE, 0);
                    cWall[p] = out.get(ValueLayout.JAVA_DOUBLE, 8);
                    Rate j = javaSlice(ring, read, batch, slice, blocks);
                    jCpu[p] = j.cpu();
                    jWall[p] = j.wall();
                    ratio[p] = j.cpu() / cCpu[p];
                }
                System.out.printf("%s batch=%d c_cpu_median=%.0f java_cpu_median=%.0f c_cpu_best=%.0f java_cpu_best=%.0f"
                                + " ratio_median=%.3f c_wall_median=%.0f java_wall_median=%.0f%n",
                        names[k], batch, median(cCpu), median(jCpu), max(cCpu), max(jCpu), median(ratio), median(cWall),
                        median(jWall));
                System.out.flush();
            }
            // For the fio comparison: a longer READ_FIXED run, wall and CPU.
            Rate longRun = javaSlice(readRing, true, 32, 5.0, blocks);
            System.out.printf("read-fixed-long batch=32 java_cpu=%.0f java_wall=%.0f%n", longRun.cpu(), longRun.wall());
        }
    }

    private static final class Sum implements CompletionHandler {
        int n;
        int bad;

        @Override
        public void complete(long userData, int res, int flags) {
            n++;
            if (res < 0) {
                bad++;
            }
            sink += userData + res;
        }
    }

    private static final Sum SUM = new Sum();

    static Rate javaSlice(BrokeredRing ring, boolean read, int batch, double seconds, long blocks) {
        RegisteredBuffer io = read ? ring.buffer("io") : null;
        int data = read ? ring.file("data") : 0;
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long cpu0 = MX.getCurrentThreadCpuTime();
        long ops = 0;
        long t = start;
        while (t < end) {
            for (int r = 0; r < 64; r++) {
                for (int i = 0; i < batch; i++) {
                    if (read) {
                        rng ^= rng << 13;
                        rng ^= rng >>> 7;
                        rng ^= rng << 17;
                        long off = Long.remainderUnsigned(rng, blocks) * BLOCK;
                        ring.prepare().readFixed(data, io, (long) i * BLOCK, BLOCK, off).userData(i);
                    } else {
                        ring.prepare().nop().userData(i);
                    }
                }
                ring.submit();
                SUM.n = 0;
                while (true) {
                    ring.reap(SUM);
                    if (SUM.n >= batch) {
                        break;
                    }
                    ring.awaitCompletions(1);
                }
                if (SUM.bad != 0) {
                    throw new IllegalStateException(SUM.bad + " operations failed");
                }
                ops += batch;
            }
            t = System.nanoTime();
        }
        double cpu = (MX.getCurrentThreadCpuTime() - cpu0) / 1e9;
        return new Rate(ops / cpu, ops / ((t - start) / 1e9));
    }

    // ------------------------------------------------------------------ acquire cost

    /**
     * Cycles each client runs before the clock starts: its JIT must have compiled the cycle's
     * code first. With 32 client JVMs (C1 only) on 2 CPUs, the compile thresholds grow with the
     * compile queue and 200 cycles left the library's methods interpreted well into the
     * measurement (-XX:+PrintCompilation showed them compiled tens of seconds late).
     */
    private static final int WARM_UP_CYCLES = Integer.getInteger("ringwarden.bench.warmup", 2_000);

    static void acquire(Path socket, double seconds, Path out, Path start) throws Exception {
        long[] lat = new long[1 << 16];
        int n = 0;
        try (RingwardenClient client = RingwardenClient.connect(socket)) {
            long[] scratch = new long[1];
            for (int i = 0; i < WARM_UP_CYCLES; i++) {
                timedCycles(client, scratch, 0, Long.MAX_VALUE, 1); // 2,000 calls: surely compiled
            }
            if (start != null) {
                Files.createFile(start.resolveSibling(start.getFileName() + ".ready-" + ProcessHandle.current().pid()));
                while (!Files.exists(start)) {
                    Thread.sleep(1);
                }
            }
            // The loop here runs too few times to be compiled (an OSR compile needs tens of
            // thousands of iterations) and an interpreted loop around each cycle was about 3% of
            // a client's CPU with 32 clients: the cycles run in batches inside timedCycles, which
            // the warm-up compiled, and this loop turns once per batch.
            long end = System.nanoTime() + (long) (seconds * 1e9);
            while (System.nanoTime() < end) {
                if (n + BATCH > lat.length) {
                    lat = Arrays.copyOf(lat, lat.length * 2);
                }
                n = timedCycles(client, lat, n, end, BATCH);
            }
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(lat[i]).append('\n');
        }
        Files.writeString(out, b);
    }

    /** Measured cycles per call of {@link #timedCycles}. */
    private static final int BATCH = 16;

    /**
     * Up to {@code batch} cycles, stopping at {@code end} (System.nanoTime); each one's latency
     * in microseconds goes to {@code lat[n++]}. Returns the new {@code n}.
     */
    private static int timedCycles(RingwardenClient client, long[] lat, int n, long end, int batch)
            throws IOException {
        for (int i = 0; i < batch; i++) {
            long t = System.nanoTime();
            if (t >= end) {
                break;
            }
            cycle(client);
            lat[n++] = (System.nanoTime() - t) / 1000;
        }
        return n;
    }

    private static void cycle(RingwardenClient client) throws IOException {
        try (BrokeredRing ring = client.acquire("bench-nop")) {
            ring.prepare().nop().userData(1);
            ring.submitAndWait(1);
            ring.reap(SUM);
        }
    }

    static void aggregate(double seconds, String[] files) throws IOException {
        List<Long> all = new ArrayList<>();
        for (String f : files) {
            for (String line : Files.readAllLines(Path.of(f))) {
                if (!line.isBlank()) {
                    all.add(Long.parseLong(line.strip()));
                }
            }
        }
        long[] a = all.stream().mapToLong(Long::longValue).sorted().toArray();
        if (a.length == 0) {
            System.out.println("clients=" + files.length + " acquisitions=0");
            return;
        }
        System.out.printf("clients=%d acquisitions=%d per_sec=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f%n", files.length,
                a.length, a.length / seconds, a[a.length / 2] / 1000.0, a[(int) (a.length * 0.99)] / 1000.0,
                a[a.length - 1] / 1000.0);
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(0);
    }
}
