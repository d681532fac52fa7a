package org.ringwarden.client.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.ringwarden.client.BrokeredRing;
import org.ringwarden.client.DaemonErrorException;
import org.ringwarden.client.RingCollectionException;
import org.ringwarden.client.RingwardenClient;
import org.ringwarden.linux.Errno;

/**
 * The victim of bench/run-isolation's soak (bench/README.md, "Per-user isolation"): a figure,
 * not a test.
 *
 * <p>{@code victim SOCKET POLICY WARMUP-CYCLES ALONE-SECONDS SECONDS START}: connects through the
 * client library, runs WARMUP-CYCLES cycles, then cycles for ALONE-SECONDS with nobody else
 * acquiring (the reference), creates {@code START.ready}, waits for START to exist (the hostile
 * users start then) and cycles for SECONDS more. A cycle is what a well-behaved program does:
 * acquire (which collects and maps the ring), one NOP, close (which releases the lease and waits
 * for {@code released}). Every failed cycle is counted by its protocol error code (or
 * {@code COLLECT_<errno>}, {@code IO}); a client the failure closed is connected again, at most
 * {@value #MAX_RECONNECTS} times. Prints one {@code victim phase=...} line per phase, then the
 * errors by code and the first few messages.
 */
public final class IsolationBenchmark {
    private static final int MAX_RECONNECTS = 20;
    private static final int MAX_MESSAGES = 5;

    private IsolationBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 7 || !args[0].equals("victim")) {
            System.err.println("usage: IsolationBenchmark victim SOCKET POLICY WARMUP-CYCLES ALONE-SECONDS SECONDS START");
            System.exit(2);
        }
        Victim v = new Victim(Path.of(args[1]), args[2]);
        int warmup = Integer.parseInt(args[3]);
        Phase warm = v.run("warm-up", Long.MAX_VALUE, warmup);
        if (warm.errors() > 0) {
            warm.print();
            System.err.println("IsolationBenchmark: the victim failed during its warm-up, before any hostile user started");
            System.exit(2);
        }
        v.run("alone", seconds(args[4]), Integer.MAX_VALUE).print();
        Path start = Path.of(args[6]);
        Files.createFile(start.resolveSibling(start.getFileName() + ".ready"));
        long giveUp = System.nanoTime() + 300_000_000_000L;
        while (!Files.exists(start)) {
            if (System.nanoTime() - giveUp > 0) {
                System.err.println("IsolationBenchmark: " + start + " did not appear");
                System.exit(2);
            }
            Thread.sleep(5);
        }
        v.run("attack", seconds(args[5]), Integer.MAX_VALUE).print();
        v.close();
    }

    private static long seconds(String s) {
        return (long) (Double.parseDouble(s) * 1e9);
    }

    /** One phase's cycles: latencies (µs) of the good ones, failures by code, first messages. */
    record Phase(String name, double seconds, long[] latencies, Map<String, Integer> errorsByCode, List<String> messages,
                 int reconnects) {
        int errors() {
            return errorsByCode.values().stream().mapToInt(Integer::intValue).sum();
        }

        void print() {
            long[] a = latencies.clone();
            Arrays.sort(a);
            System.out.printf("victim phase=%s seconds=%.1f cycles=%d ok=%d errors=%d reconnects=%d per_sec=%.0f p50_ms=%.3f"
                            + " p99_ms=%.3f max_ms=%.3f%n", name, seconds, a.length + errors(), a.length, errors(), reconnects,
                    a.length / seconds, pct(a, 0.5), pct(a, 0.99), a.length == 0 ? 0 : a[a.length - 1] / 1000.0);
            if (!errorsByCode.isEmpty()) {
                StringBuilder b = new StringBuilder("victim errors phase=" + name);
                errorsByCode.forEach((k, n) -> b.append(' ').append(k).append('=').append(n));
                System.out.println(b);
                for (String m : messages) {
                    System.out.println("victim error phase=" + name + ": " + m);
                }
            }
            System.out.flush();
        }

        private static double pct(long[] sorted, double p) {
            return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))] / 1000.0;
        }
    }

    private static final class Victim {
        private final Path socket;
        private final String policy;
        private RingwardenClient client;
        private int reconnects;

        Victim(Path socket, String policy) throws IOException {
            this.socket = socket;
            this.policy = policy;
            this.client = RingwardenClient.connect(socket);
        }

        Phase run(String name, long nanos, int maxCycles) {
            long[] lat = new long[1024];
            int n = 0;
            int failures = 0;
            int reconnectsBefore = reconnects;
            Map<String, Integer> errors = new TreeMap<>();
            List<String> messages = new ArrayList<>();
            long begin = System.nanoTime();
            long end = nanos == Long.MAX_VALUE ? Long.MAX_VALUE : begin + nanos;
            long now = begin;
            while (n + failures < maxCycles && (end == Long.MAX_VALUE || now - end < 0)) {
                String error = null;
                try {
                    if (client.isClosed()) {
                        if (reconnects >= MAX_RECONNECTS) {
                            messages.add("gave up after " + MAX_RECONNECTS + " reconnections");
                            break;
                        }
                        reconnects++;
                        client = RingwardenClient.connect(socket);
                    }
                    cycle();
                } catch (DaemonErrorException e) {
                    error = e.code().name();
                    note(messages, e);
                } catch (RingCollectionException e) {
                    error = "COLLECT_" + Errno.nameOf(e.errno());
                    note(messages, e);
                } catch (IOException | RuntimeException e) {
                    error = e instanceof IOException ? "IO" : e.getClass().getSimpleName();
                    note(messages, e);
                }
                long t = System.nanoTime();
                if (error == null) {
                    if (n == lat.length) {
                        lat = Arrays.copyOf(lat, n * 2);
                    }
                    lat[n++] = (t - now) / 1000;
                } else {
                    failures++;
                    errors.merge(error, 1, Integer::sum);
                }
                now = t;
            }
            return new Phase(name, (now - begin) / 1e9, Arrays.copyOf(lat, n), errors, messages, reconnects - reconnectsBefore);
        }

        private void cycle() throws IOException {
            try (BrokeredRing ring = client.acquire(policy)) {
                ring.prepare().nop().userData(1);
                ring.submitAndWait(1);
                int[] res = new int[1];
                ring.reap((userData, r, flags) -> res[0] = r);
                if (res[0] != 0) {
                    throw new IllegalStateException("the NOP completed with " + res[0]);
                }
            }
        }

        private static void note(List<String> messages, Exception e) {
            if (messages.size() < MAX_MESSAGES) {
                messages.add(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }

        void close() {
            client.close();
        }
    }
}
