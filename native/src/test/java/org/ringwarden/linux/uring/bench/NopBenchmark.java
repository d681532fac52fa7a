package org.ringwarden.linux.uring.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Arrays;

import org.ringwarden.linux.uring.CompletionHandler;
import org.ringwarden.linux.uring.Ring;
import org.ringwarden.linux.uring.Sqe;

/**
 * NOP throughput through {@link Ring}, the same loop as {@code bench/nop.c} runs with
 * liburing: per round, prepare {@code batch} NOPs, one {@link Ring#submit()}, reap them all.
 * A figure, not a test; {@code bench/run-nop} runs it.
 *
 * <p>Given the C loop as a shared library ({@code nop.c} built with {@code -DNOP_LIBRARY}), it
 * runs C and Java in alternating short slices in this one process, so that both meet the same
 * load on a shared machine, and reports per batch size the best slice of each, the medians,
 * and the median of the ratios of adjacent slices (the figure least moved by noise).
 *
 * <p>Arguments: {@code [--c-library path] [seconds-per-slice] [pairs]}.
 */
public final class NopBenchmark {
    private static final int[] BATCHES = {1, 8, 32};

    private static final class Sum implements CompletionHandler {
        long sum;

        @Override
        public void complete(long userData, int res, int flags) {
            sum += userData + res;
        }
    }

    private NopBenchmark() {
    }

    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

    /**
     * Rounds of {@code batch} NOPs for {@code seconds} of wall time; returns operations per
     * second of this thread's CPU time (user + system), as nop.c does: other load on a shared
     * machine disturbs it far less than wall time.
     */
    static double run(Ring ring, int batch, double seconds, Sum handler) {
        MemorySegment sqes = ring.sqes();
        long ops = 0;
        long cpuStart = THREADS.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long t = start;
        while (t < end) {
            for (int r = 0; r < 64; r++) {
                for (int i = 0; i < batch; i++) {
                    long sqe = ring.nextSqe();
                    Sqe.prepNop(sqes, sqe);
                    Sqe.setUserData(sqes, sqe, i);
                }
                int submitted = ring.submit();
                if (submitted != batch) {
                    throw new IllegalStateException("submitted " + submitted + " of " + batch);
                }
                int seen = 0;
                while (seen < batch) {
                    int n = ring.reap(handler);
                    if (n == 0) {
                        ring.awaitCompletions(1);
                    }
                    seen += n;
                }
                ops += batch;
            }
            t = System.nanoTime();
        }
        return ops / ((THREADS.getCurrentThreadCpuTime() - cpuStart) / 1e9);
    }

    public static void main(String[] args) throws Throwable {
        int a = 0;
        MethodHandle c = null;
        if (args.length > 1 && args[0].equals("--c-library")) {
            SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(args[1]), Arena.global());
            c = Linker.nativeLinker().downcallHandle(lib.find("nop_bench_run").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_DOUBLE, ValueLayout.JAVA_INT, ValueLayout.JAVA_DOUBLE));
            a = 2;
        }
        double seconds = args.length > a ? Double.parseDouble(args[a]) : 0.25;
        int pairs = args.length > a + 1 ? Integer.parseInt(args[a + 1]) : 15;
        Sum handler = new Sum();
        try (Ring ring = Ring.create(64, 0)) {
            // JIT warm-up across every batch size, so that no size runs on a profile shaped by another.
            for (int w = 0; w < 6; w++) {
                for (int batch : BATCHES) {
                    run(ring, batch, 0.2, handler);
                    if (c != null) {
                        double unused = (double) c.invokeExact(batch, 0.05);
                    }
                }
            }
            for (int batch : BATCHES) {
                double[] js = new double[pairs];
                double[] cs = new double[pairs];
                double[] ratios = new double[pairs];
                for (int p = 0; p < pairs; p++) {
                    // Alternate which side goes first, so neither always follows the other.
                    if (c != null && p % 2 == 1) {
                        cs[p] = (double) c.invokeExact(batch, seconds);
                    }
                    js[p] = run(ring, batch, seconds, handler);
                    if (c != null && p % 2 == 0) {
                        cs[p] = (double) c.invokeExact(batch, seconds);
                    }
                    ratios[p] = c == null ? 0 : js[p] / cs[p];
                }
                Arrays.sort(js);
                Arrays.sort(cs);
                Arrays.sort(ratios);
                if (c == null) {
                    System.out.printf("java batch=%d best=%.0f median=%.0f%n", batch, js[pairs - 1], js[pairs / 2]);
                } else {
                    System.out.printf("batch=%d c_best=%.0f java_best=%.0f c_median=%.0f java_median=%.0f ratio_median=%.2f%n",
                            batch, cs[pairs - 1], js[pairs - 1], cs[pairs / 2], js[pairs / 2], ratios[pairs / 2]);
                }
            }
        }
        if (handler.sum == 42) {
            System.out.println();
        }
    }
}
