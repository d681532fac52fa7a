package org.ringwarden.client.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Scratch microbenchmark (a main, not a test): the codec work of one acquire cycle on the
 * client, as the acquire benchmark does it: encode {@code acquire}, decode the benchmark
 * daemon's {@code grant}, encode {@code release}, decode {@code released}. Prints µs per cycle
 * for the databind path ({@code old}) and the streaming path ({@code new}).
 *
 * <pre>
 * java [-XX:TieredStopAtLevel=1] -cp ... org.ringwarden.client.protocol.CodecBench new|old [seconds]
 * (e.g. -cp client/target/classes:client/target/test-classes:native/target/classes:the three Jackson jars)
 * </pre>
 * Run each path in its own JVM so that neither warms code for the other.
 */
public final class CodecBench {
    private static final byte[] GRANT = HotMessagesTest.BENCH_GRANT.getBytes(UTF_8);
    private static final byte[] RELEASED =
            "{\"v\":1,\"type\":\"released\",\"lease\":\"a979656aff5a9a7aad347446a76eff28\"}".getBytes(UTF_8);
    private static final Request.Acquire ACQUIRE = new Request.Acquire("bench-nop", 0);

    private CodecBench() {
    }

    public static void main(String[] args) throws Exception {
        boolean streaming = switch (args.length > 0 ? args[0] : "new") {
            case "new" -> true;
            case "old" -> false;
            default -> throw new IllegalArgumentException("new or old, not " + args[0]);
        };
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        long t0 = System.nanoTime();
        long sink = cycle(streaming);
        long first = System.nanoTime() - t0;
        System.out.printf("%s: first cycle %.0f µs (class loading and interpretation)%n", args.length > 0 ? args[0] : "new",
                first / 1e3);
        long t1 = System.nanoTime();
        for (int i = 0; i < 999; i++) {
            sink += cycle(streaming);
        }
        System.out.printf("  next 999 cycles: %.1f µs/cycle%n", (System.nanoTime() - t1) / 1e3 / 999);
        // warm-up, then five measured rounds
        long warmEnd = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < warmEnd) {
            sink += cycle(streaming);
        }
        // Wall time and this thread's CPU time: on a shared machine the CPU time is the steadier figure.
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        double bestWall = Double.MAX_VALUE;
        double bestCpu = Double.MAX_VALUE;
        for (int round = 0; round < 10; round++) {
            int n = 0;
            long cpu = threads.getCurrentThreadCpuTime();
            long start = System.nanoTime();
            long end = start + (long) (seconds * 1e9 / 5);
            long now;
            do {
                for (int i = 0; i < 100; i++) {
                    sink += cycle(streaming);
                }
                n += 100;
                now = System.nanoTime();
            } while (now < end);
            double wall = (now - start) / 1e3 / n;
            double cpuPerCycle = (threads.getCurrentThreadCpuTime() - cpu) / 1e3 / n;
            bestWall = Math.min(bestWall, wall);
            bestCpu = Math.min(bestCpu, cpuPerCycle);
            System.out.printf("  round %d: %.2f µs/cycle wall, %.2f µs/cycle CPU (%d cycles)%n", round, wall, cpuPerCycle, n);
        }
        System.out.printf("  best: %.2f µs/cycle wall, %.2f µs/cycle CPU%n", bestWall, bestCpu);
        // Many client processes on two CPUs: each cycle finds the caches filled by the others.
        // Sweep 32 MiB between cycles (untimed) and time each cycle alone.
        byte[] sweep = new byte[32 << 20];
        long[] times = new long[2000];
        for (int i = 0; i < times.length; i++) {
            for (int j = 0; j < sweep.length; j += 64) {
                sweep[j]++;
            }
            long start = System.nanoTime();
            sink += cycle(streaming);
            times[i] = System.nanoTime() - start;
        }
        java.util.Arrays.sort(times);
        System.out.printf("  after a cache sweep: median %.2f µs/cycle, p90 %.2f%n", times[times.length / 2] / 1e3,
                times[times.length * 9 / 10] / 1e3);
        System.out.println("  (sink " + (sink & 0xff) + ")");
    }

    private static long cycle(boolean streaming) throws ProtocolException {
        if (streaming) {
            byte[] a = ProtocolCodec.encode(ACQUIRE);
            Response.Grant g = (Response.Grant) ProtocolCodec.decodeResponse(GRANT);
            byte[] r = ProtocolCodec.encode(new Request.Release(g.lease()));
            Response released = ProtocolCodec.decodeResponse(RELEASED);
            return a.length + g.ticket() + r.length + released.hashCode();
        }
        byte[] a = ProtocolCodec.encodeWithDatabind(ACQUIRE);
        Response.Grant g = (Response.Grant) ProtocolCodec.decodeResponseWithDatabind(GRANT);
        byte[] r = ProtocolCodec.encodeWithDatabind(new Request.Release(g.lease()));
        Response released = ProtocolCodec.decodeResponseWithDatabind(RELEASED);
        return a.length + g.ticket() + r.length + released.hashCode();
    }
}
