package org.ringwarden.daemon.learn;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import org.ringwarden.linux.uring.SqeFlag;

/**
 * What the traced tasks did, counted per task: which SQE opcodes and flags they submitted,
 * which register opcodes they called, which requests failed and how; and who forked whom.
 * Filled by {@link org.ringwarden.daemon.trace.IoUringTrace}'s reader thread, read after it stopped.
 */
public final class Observations implements org.ringwarden.daemon.trace.IoUringTrace.Listener {
    private final Map<Integer, Map<String, Long>> byTask = new HashMap<>();
    private final Map<Integer, List<Integer>> children = new HashMap<>();
    private long lost;

    /**
     * What the tasks of one process tree did.
     *
     * @param ops      SQE opcodes by kernel name, with how many requests used each
     * @param sqeFlags SQE flags, with how many requests carried each
     * @param register register opcode numbers, with how many calls
     * @param failed   failed requests by {@code OPCODE error}, e.g. {@code FSYNC EACCES}
     * @param tasks    how many tasks of the tree were seen
     * @param lost     events the kernel dropped (the counts may be low; -1 if unknown)
     */
    public record Usage(Map<String, Long> ops, Map<SqeFlag, Long> sqeFlags, Map<Integer, Long> register,
                        Map<String, Long> failed, int tasks, long lost) {
    }

    @Override
    public void submitted(int tid, String op, long reqFlags) {
        count(tid, "op:" + op);
        // The request's low eight flag bits are the SQE's own (REQ_F_*_BIT == IOSQE_*_BIT).
        for (SqeFlag f : SqeFlag.values()) {
            if ((reqFlags & f.abi()) != 0) {
                count(tid, "flag:" + f.name());
            }
        }
    }

    @Override
    public void registered(int tid, int opcode, long ret) {
        count(tid, "reg:" + opcode);
    }

    @Override
    public void failed(int tid, String op, long reqFlags, int error) {
        count(tid, "fail:" + op + " " + org.ringwarden.linux.Errno.nameOf(-error));
    }

    @Override
    public void forked(int parent, int child) {
        children.computeIfAbsent(parent, k -> new java.util.ArrayList<>()).add(child);
    }

    /** Events the kernel dropped (-1: unknown). */
    public void lost(long n) {
        lost = n;
    }

    private void count(int tid, String key) {
        byTask.computeIfAbsent(tid, k -> new HashMap<>()).merge(key, 1L, Long::sum);
    }

    /** The tree of {@code root} (the task itself, and every task forked from it, threads included). */
    public Usage of(int root) {
        Set<Integer> tree = new HashSet<>();
        ArrayDeque<Integer> todo = new ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            int t = todo.pop();
            if (tree.add(t)) {
                todo.addAll(children.getOrDefault(t, List.of()));
            }
        }
        Map<String, Long> ops = new TreeMap<>();
        Map<SqeFlag, Long> flags = new TreeMap<>();
        Map<Integer, Long> register = new TreeMap<>();
        Map<String, Long> failed = new TreeMap<>();
        int seen = 0;
        for (int tid : tree) {
            Map<String, Long> m = byTask.get(tid);
            if (m == null) {
                continue;
            }
            seen++;
            m.forEach((k, n) -> {
                String v = k.substring(k.indexOf(':') + 1);
                switch (k.substring(0, k.indexOf(':'))) {
                    case "op" -> ops.merge(v, n, Long::sum);
                    case "flag" -> flags.merge(SqeFlag.valueOf(v), n, Long::sum);
                    case "reg" -> register.merge(Integer.parseInt(v), n, Long::sum);
                    default -> failed.merge(v, n, Long::sum);
                }
            });
        }
        return new Usage(ops, flags, register, failed, seen, lost);
    }
}
