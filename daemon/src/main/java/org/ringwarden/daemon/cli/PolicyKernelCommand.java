package org.ringwarden.daemon.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.ringwarden.linux.KernelException;
import org.ringwarden.linux.uring.IoUringCalls;
import org.ringwarden.linux.uring.IoUringOp;
import org.ringwarden.linux.uring.KernelProbe;
import org.ringwarden.policy.CompiledPolicy;
import org.ringwarden.policy.LoadResult;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code ringwarden policy kernel}: what this kernel's io_uring supports, marking what the policies use. */
@Command(name = "kernel", mixinStandardHelpOptions = true,
        description = "Probe this kernel's io_uring (IORING_REGISTER_PROBE) and mark the opcodes the policies use.")
public final class PolicyKernelCommand implements Callable<Integer> {
    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (a mixin)
    @Mixin
    PolicyCliOptions options;

    @SuppressWarnings("NullAway.Init") // picocli sets it before call() (injected)
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        KernelProbe probe;
        try {
            probe = IoUringCalls.probeKernel();
        } catch (KernelException e) {
            cl.getErr().println("ringwarden: cannot probe io_uring: " + e.getMessage() + sysctlHint());
            cl.getErr().flush();
            return 1;
        }
        // The policies are optional here: without a loadable set, still show the kernel.
        LoadResult r = options.load();
        Map<IoUringOp, List<String>> usedBy = new TreeMap<>();
        r.policies().ifPresent(set -> {
            for (CompiledPolicy p : set.all()) {
                for (IoUringOp op : p.allowed().sqeOps()) {
                    usedBy.computeIfAbsent(op, k -> new ArrayList<>()).add(p.name());
                }
            }
        });
        String release = System.getProperty("os.version");
        if (options.json) {
            ObjectNode o = PolicyCliOptions.JSON.createObjectNode();
            o.put("kernel", release);
            o.put("ioUringDisabled", sysctl());
            o.put("lastOp", probe.lastOp());
            o.put("policySource", options.describeSource());
            o.put("policiesLoaded", r.ok());
            ArrayNode ops = o.putArray("ops");
            for (IoUringOp op : IoUringOp.values()) {
                ObjectNode e = ops.addObject();
                e.put("name", op.kernelName());
                e.put("number", op.number());
                e.put("supported", probe.supports(op));
                usedBy.getOrDefault(op, List.of()).forEach(e.putArray("usedBy")::add);
                if (!e.has("usedBy")) {
                    e.putArray("usedBy");
                }
            }
            PolicyCliOptions.printJson(cl.getOut(), o);
            return 0;
        }
        var out = cl.getOut();
        out.println("kernel " + release + ": io_uring knows opcodes 0.." + probe.lastOp() + "; kernel.io_uring_disabled = " + sysctl());
        out.println("policies " + options.where() + (r.ok() ? "" : " (not loadable: " + r.errors().size() + " error(s))"));
        out.println();
        out.printf("  %3s  %-18s %-13s %s%n", "op", "name", "supported", "used by");
        for (IoUringOp op : IoUringOp.values()) {
            List<String> users = usedBy.getOrDefault(op, List.of());
            out.printf("  %3d  %-18s %-13s %s%n", op.number(), op.kernelName(), probe.supports(op) ? "yes" : "NO",
                    users.isEmpty() ? "" : "* " + String.join(", ", users));
        }
        int unknown = probe.lastOp() + 1 - IoUringOp.values().length;
        if (unknown > 0) {
            out.println("  (this kernel knows " + unknown + " opcode(s) newer than this build names)");
        }
        out.flush();
        return 0;
    }

    private static String sysctl() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/io_uring_disabled")).trim();
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String sysctlHint() {
        String v = sysctl();
        return "0".equals(v) || "unknown".equals(v) ? "" : " (kernel.io_uring_disabled = " + v + ")";
    }
}
